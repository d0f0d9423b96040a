"""Comment shapes: input validation (a DRF serializer) and the output representation (a plain function, with
serializers that document it for OpenAPI)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.http.formats import iso
from config.http.validators import NotBlank
from tasks.models import MAX_COMMENT, Comment
from tasks.serializers.projects import PersonSerializer, person


def comment_to_dict(comment: Comment) -> dict[str, Any]:
    """A comment as every reader of its task sees it; `author` is null once the author's account is gone."""
    return {
        "id": comment.pk,
        "task": comment.task_id,
        "author": person(comment.author),
        "body": comment.body,
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
    }


# Output shapes, for the schema ----------------------------------------------------------------------------


class CommentSerializer(serializers.Serializer[Any]):
    """A comment on a task."""

    id = serializers.IntegerField(read_only=True)
    task = serializers.IntegerField(read_only=True, help_text="The task's id.")
    author = PersonSerializer(read_only=True, allow_null=True, help_text="null once the author's account is gone.")
    body = serializers.CharField(read_only=True, max_length=MAX_COMMENT)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, help_text="When the body was last edited.")

    def to_representation(self, instance: Comment) -> dict[str, Any]:
        return comment_to_dict(instance)


# Input ------------------------------------------------------------------------------------------------


class CommentWriteSerializer(serializers.Serializer[Any]):
    """The one writable field. Anything else in the body (id, task, author, timestamps) is ignored: read-only
    fields cannot be written. The body is kept as typed (line breaks and indentation mean something in text)."""

    body = serializers.CharField(
        max_length=MAX_COMMENT,
        trim_whitespace=False,
        validators=[NotBlank("A comment cannot be empty.")],
        help_text=f"1 to {MAX_COMMENT:,} characters, not only whitespace.",
    )

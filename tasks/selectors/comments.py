"""Comment reads. A task's comments are for whoever can see the task (every member of its project, a viewer
included, or the creator of a personal task); a task the caller cannot see, or in the trash, is the same 404 as
one that is not there, and so is a comment that is not on that task."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from config.http.errors import NotFound
from tasks.models import Comment
from tasks.selectors.tasks import task_get_for

# Oldest first, as a conversation reads; the id breaks ties so pages never repeat or skip a comment.
DEFAULT_ORDERING = ("created_at", "id")


def comment_not_found() -> NotFound:
    return NotFound("Comment not found.")


def comment_list_for(*, user: Any, task_id: int) -> QuerySet[Comment]:
    """The comments of a task the caller can see, with their authors: one query for the task (visibility), one
    for a page (the index on (task, created_at, id), the author joined and the total counted in the same row)."""
    task = task_get_for(user=user, task_id=task_id)
    return Comment.objects.filter(task_id=task.pk).select_related("author").order_by(*DEFAULT_ORDERING)

"""Notification shapes: the output built by hand (like tasks'), a serializer documenting it for OpenAPI."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.http.formats import iso
from tasks.models import Notification, NotificationKind


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    actor = notification.actor
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "text": notification.text,
        "task": notification.task_id,
        "project": notification.project_id,
        "actor": None if actor is None else {"id": str(actor.pk), "email": actor.email, "full_name": actor.full_name},
        "created_at": iso(notification.created_at),
        "read_at": iso(notification.read_at),
    }


class ActorSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)


class NotificationSerializer(serializers.Serializer[Notification]):
    """An entry of your inbox."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=NotificationKind.values, read_only=True)
    text = serializers.CharField(read_only=True, help_text="What happened, in one sentence.")
    task = serializers.IntegerField(read_only=True, allow_null=True, help_text="The task's id, if any.")
    project = serializers.IntegerField(read_only=True, allow_null=True, help_text="The project's id, if any.")
    actor = ActorSerializer(read_only=True, allow_null=True, help_text="Who caused it; null for reminders.")
    created_at = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="null while unread.")

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        return notification_to_dict(instance)


class ReadAllResultSerializer(serializers.Serializer[Any]):
    updated = serializers.IntegerField(help_text="How many unread notifications were marked read.")

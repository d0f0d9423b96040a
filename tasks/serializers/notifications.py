"""Notification shapes: the output built by hand (like tasks'), a serializer documenting it for OpenAPI."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.http.formats import iso
from tasks.models import Notification, NotificationKind
from tasks.serializers.projects import PersonSerializer, person


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    actor = notification.actor
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "text": notification.text,
        "task": notification.task_id,
        "project": notification.project_id,
        "actor": person(actor),
        "created_at": iso(notification.created_at),
        "read_at": iso(notification.read_at),
    }


class NotificationSerializer(serializers.Serializer[Notification]):
    """An entry of your inbox."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=NotificationKind.values, read_only=True)
    text = serializers.CharField(read_only=True, help_text="What happened, in one sentence.")
    task = serializers.IntegerField(read_only=True, allow_null=True, help_text="The task's id, if any.")
    project = serializers.IntegerField(read_only=True, allow_null=True, help_text="The project's id, if any.")
    actor = PersonSerializer(read_only=True, allow_null=True, help_text="Who caused it; null for reminders.")
    created_at = serializers.DateTimeField(read_only=True)
    read_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="null while unread.")

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        return notification_to_dict(instance)


class ReadAllResultSerializer(serializers.Serializer[Any]):
    updated = serializers.IntegerField(help_text="How many unread notifications were marked read.")

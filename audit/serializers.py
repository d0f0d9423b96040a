from __future__ import annotations

from rest_framework import serializers

from audit.models import Event


class EventSerializer(serializers.ModelSerializer[Event]):
    """One audit entry as the API shows it; every field is read-only (the log has no write path)."""

    # The user's id, or null once that user has been deleted (`email` still says who it was).
    user = serializers.UUIDField(source="user_id", read_only=True, allow_null=True)
    # Who did it (a staff member acting on `user`, or the user themselves); null for anonymous attempts,
    # commands and jobs, or once that account is deleted.
    actor = serializers.UUIDField(source="actor_id", read_only=True, allow_null=True)
    details = serializers.DictField(read_only=True, help_text="A small JSON object; never a password or token.")

    class Meta:
        model = Event
        fields = [
            "id",
            "event",
            "user",
            "email",
            "actor",
            "ip_address",
            "user_agent",
            "request_id",
            "created_at",
            "details",
        ]
        read_only_fields = fields

"""Notification reads: the caller's inbox only."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tasks.models import Notification


def notification_list_for(*, user: Any, unread: bool = False) -> QuerySet[Notification]:
    """The caller's notifications, newest first (the id breaks ties), with the actor joined: one query a page."""
    rows = Notification.objects.filter(recipient=user).select_related("actor").order_by("-created_at", "-id")
    return rows.filter(read_at__isnull=True) if unread else rows

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.models import Event


class ActorFilter(admin.SimpleListFilter):
    """What staff did (`?actor=<id>`): one indexed query on (actor, created_at). Lists the staff as choices."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        staff = get_user_model().objects.filter(is_staff=True).order_by("email").values_list("pk", "email")[:200]
        return [(str(pk), email) for pk, email in staff]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(actor_id=uuid.UUID(value))
        except ValueError:
            return queryset.none()


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The audit log, read-only for every staff member, superusers included: nothing here adds, edits or
    deletes an entry (retention is the `prune_audit` command)."""

    list_display = ("event", "email", "actor_email", "ip_address", "request_id", "created_at")
    list_filter = ("event", ActorFilter, ("created_at", admin.DateFieldListFilter))
    # `=request_id` is an exact match, which the request_id index serves.
    search_fields = ("email", "actor_email", "=request_id")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    # The log grows without bound; a COUNT(*) of the whole table on every page view is not worth it.
    show_full_result_count = False
    actions = None
    fields = (
        "event",
        "created_at",
        "user",
        "email",
        "actor",
        "actor_email",
        "ip_address",
        "user_agent",
        "request_id",
        "details_json",
    )
    readonly_fields = fields

    @admin.display(description="details")
    def details_json(self, obj: Event) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.details, indent=2, sort_keys=True, ensure_ascii=False))

    # Every staff member may read the log, as in the API; nobody may write it.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tasks.models import Task


class TrashFilter(admin.SimpleListFilter):
    title = "trash"
    parameter_name = "trash"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live tasks"), ("trash", "In the trash")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> QuerySet[Task]:
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "trash":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["title", "owner", "status", "priority", "due_at", "in_trash", "updated_at"]
    list_filter = [TrashFilter, "status", "priority", ("due_at", admin.DateFieldListFilter), "created_at"]
    search_fields = ["title", "description", "owner__email"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    # The owner's email search is an exact-prefix lookup on a unique column; the full count of a huge
    # table is skipped.
    show_full_result_count = False
    readonly_fields = ["created_at", "updated_at", "completed_at", "deleted_at", "version"]
    fields = [
        "owner",
        "title",
        "description",
        "status",
        "priority",
        "due_at",
        "tags",
        "created_at",
        "updated_at",
        "completed_at",
        "deleted_at",
        "version",
    ]
    actions = ["move_to_trash", "restore_from_trash"]

    @admin.display(boolean=True, description="in trash", ordering="deleted_at")
    def in_trash(self, task: Task) -> bool:
        return task.deleted_at is not None

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        # Keep the API's invariants: every change moves the ETag, completed_at follows the status.
        now = timezone.now()
        if change:
            obj.version += 1
            obj.updated_at = now
        if obj.status == "completed" and obj.completed_at is None:
            obj.completed_at = now
        elif obj.status != "completed":
            obj.completed_at = None
        super().save_model(request, obj, form, change)

    @admin.action(description="Move selected tasks to the trash")
    def move_to_trash(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        count = queryset.filter(deleted_at__isnull=True).update(deleted_at=timezone.now(), version=F("version") + 1)
        self.message_user(request, f"{count} task(s) moved to the trash.")

    @admin.action(description="Restore selected tasks from the trash")
    def restore_from_trash(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        count = queryset.filter(deleted_at__isnull=False).update(deleted_at=None, version=F("version") + 1)
        self.message_user(request, f"{count} task(s) restored.")

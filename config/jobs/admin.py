"""The queue in the staff console: every job with its status, attempts and last error; dead jobs retried.

Like the rest of the console it opens to every active staff user. Staff cannot add, edit or delete jobs;
the one write is the "retry" action, which puts the chosen failed jobs back in the queue with a fresh set of
attempts. Job arguments are ids and kinds, never a link or a secret (handlers render at run time).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django_tasks import TaskResultStatus
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from config.jobs.models import PeriodicRun, WorkerHeartbeat
from config.jobs.worker import requeue


class StaffReadOnly:
    """Visible to every active staff user; nobody adds, edits or deletes rows by hand."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class JobAdmin(StaffReadOnly, DBTaskResultAdmin):
    list_display = ("task_name", "status", "attempts", "error", "enqueued_at", "display_run_after", "finished_at")  # type: ignore[assignment]
    list_filter = ("status", "queue_name")  # type: ignore[assignment]
    search_fields = ("task_path", "=id")
    actions = ["retry"]

    @admin.display(description="attempts")
    def attempts(self, obj: DBTaskResult) -> int:
        return len(obj.worker_ids)

    @admin.display(description="last error")
    def error(self, obj: DBTaskResult) -> str:
        return obj.exception_class_path.rsplit(".", 1)[-1] if obj.exception_class_path else ""

    @admin.action(description="Retry the selected failed jobs now")
    def retry(self, request: HttpRequest, queryset: QuerySet[DBTaskResult]) -> None:
        ids = [str(pk) for pk in queryset.filter(status=TaskResultStatus.FAILED).values_list("pk", flat=True)]
        retried = requeue(ids, reset_attempts=True)
        self.message_user(request, f"{retried} job(s) queued again.", messages.SUCCESS)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(StaffReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("hostname", "pid", "worker_id", "started_at", "seen_at")


@admin.register(PeriodicRun)
class PeriodicRunAdmin(StaffReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slot", "job_id", "enqueued_at")
    list_filter = ("name",)

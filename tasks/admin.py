"""The tasks admin: staff see every task, trash included, and change them through the same services as the
API, so every rule (version bump, completed_at, trash) lives once and every change is audited with the staff
member as its actor."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.exceptions import ValidationError as DRFValidationError

from accounts.admin import StaffConsoleMixin, show_saved
from audit.context import RequestContext
from config.http.errors import ApplicationError
from tasks.models import Invitation, InvitationStatus, Membership, Project, Task, TaskQuerySet
from tasks.serializers.tasks import TagsField
from tasks.services import tasks as services
from tasks.services.projects import member_make_owner

# What staff may change on a task; the rest (owner once created, timestamps, version) is the services' to set.
EDITABLE = ("title", "description", "status", "priority", "due_at", "tags")


class TrashFilter(admin.SimpleListFilter):
    title = "trash"
    parameter_name = "trash"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live tasks"), ("trash", "In the trash")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> QuerySet[Task]:
        tasks = cast(TaskQuerySet, queryset)  # the admin lists Task.objects
        if self.value() == "live":
            return tasks.live()
        if self.value() == "trash":
            return tasks.trashed()
        return queryset


class TaskAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Task
        fields = ["owner", *EDITABLE]

    def clean_tags(self) -> list[str]:
        # The API's own rules for tags (trimmed, de-duplicated, at most 20 short labels).
        try:
            return list(TagsField().run_validation(self.cleaned_data.get("tags") or []))
        except DRFValidationError as exc:
            detail = exc.detail
            messages_ = detail if isinstance(detail, list) else [str(detail)]
            raise forms.ValidationError([str(m) for m in messages_]) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A recurring task needs its due date (tasks/recurrence.py): the form says so, as the API's 400 does.
        if self.instance.pk and self.instance.recurrence and "due_at" in cleaned and cleaned["due_at"] is None:
            self.add_error("due_at", "A recurring task needs a due date.")
        return cleaned


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = TaskAdminForm
    list_display = ["title", "owner", "project", "status", "priority", "due_at", "in_trash", "updated_at"]
    list_filter = [TrashFilter, "status", "priority", ("due_at", admin.DateFieldListFilter), "created_at"]
    search_fields = ["title", "description", "owner__email", "project__name"]
    list_select_related = ["owner", "project"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    # The owner's email search is an exact-prefix lookup on a unique column; the full count of a huge
    # table is skipped.
    show_full_result_count = False
    fields = [
        "owner",
        *EDITABLE,
        *("project", "parent", "position", "assignee_ids", "comments_count"),
        *("created_at", "updated_at", "completed_at", "deleted_at", "version"),
    ]
    actions = ["move_to_trash", "restore_from_trash"]

    @admin.display(boolean=True, description="in trash", ordering="deleted_at")
    def in_trash(self, task: Task) -> bool:
        return task.deleted_at is not None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Where a task sits (project, parent, order) and who it is assigned to change through the API's moves.
        readonly = [
            *("project", "parent", "position", "assignee_ids", "comments_count"),
            *("created_at", "updated_at", "completed_at", "deleted_at", "version"),
        ]
        # A task changes hands through no door: its owner is fixed once it exists.
        return readonly if obj is None else ["owner", *readonly]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Tasks go to the trash (an action below), as in the API; the trash is purged after its retention.
        return False

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        meta = RequestContext.from_request(request)
        if change:
            data = {field: form.cleaned_data[field] for field in form.changed_data if field in EDITABLE}
            saved = services.task_update(user=obj.owner, task_id=obj.pk, data=data, meta=meta)
        else:
            data = {field: form.cleaned_data[field] for field in EDITABLE if field in form.cleaned_data}
            saved = services.task_create(user=form.cleaned_data["owner"], data=data, meta=meta)
        show_saved(obj, saved)

    def _per_owner(self, request: HttpRequest, queryset: QuerySet[Task], action: str, done: str) -> None:
        """One bulk service call per creator, acting as them (each all or nothing, each audited with the staff
        as actor). A project's task whose creator has gone is left to the project's members."""
        ids_by_owner: dict[Any, list[int]] = defaultdict(list)
        for pk, owner_id in queryset.filter(owner__isnull=False).values_list("pk", "owner_id"):
            ids_by_owner[owner_id].append(pk)
        owners = {user.pk: user for user in get_user_model().objects.filter(pk__in=ids_by_owner)}
        meta = RequestContext.from_request(request)
        count = 0
        for owner_id, ids in ids_by_owner.items():
            try:
                count += services.tasks_bulk(user=owners[owner_id], action=action, ids=ids, meta=meta)
            except ApplicationError as exc:
                self.message_user(request, f"{owners[owner_id]}: {exc.detail}", messages.ERROR)
        self.message_user(request, f"{count} task(s) {done}.")

    @admin.action(description="Move selected tasks to the trash")
    def move_to_trash(self, request: HttpRequest, queryset: TaskQuerySet) -> None:
        self._per_owner(request, queryset.live(), "delete", "moved to the trash")

    @admin.action(description="Restore selected tasks from the trash")
    def restore_from_trash(self, request: HttpRequest, queryset: TaskQuerySet) -> None:
        self._per_owner(request, queryset.trashed(), "restore", "restored")


# Projects ---------------------------------------------------------------------------------------------
# Read-only pages for every staff member: projects with their members and pending invitations. The one change
# staff make here, making a member owner (a project whose owners have gone, a handover), goes through the same
# service as the API's role changes and is audited as `project.role_changed` with the staff member as actor.


class MembershipInline(StaffConsoleMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    fields = ("user", "role", "joined_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("joined_at", "id")


class PendingInvitationInline(StaffConsoleMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Invitation
    verbose_name = "pending invitation"
    verbose_name_plural = "pending invitations"
    fields = ("email", "role", "invited_by", "created_at", "expires_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        return super().get_queryset(request).filter(status=InvitationStatus.PENDING, expires_at__gt=timezone.now())


@admin.register(Project)
class ProjectAdmin(StaffConsoleMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "member_count", "archived", "created_at", "updated_at"]
    list_filter = ["archived", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    ordering = ["name", "id"]
    fields = readonly_fields = ("name", "description", "color", "archived", "created_at", "updated_at")
    inlines = [MembershipInline, PendingInvitationInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        return super().get_queryset(request).annotate(members_count=Count("memberships"))

    @admin.display(description="members", ordering="members_count")
    def member_count(self, project: Project) -> int:
        return int(project.members_count)  # type: ignore[attr-defined]


@admin.register(Membership)
class MembershipAdmin(StaffConsoleMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "project", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["project__name", "user__email"]
    list_select_related = ["user", "project"]
    ordering = ["project__name", "joined_at", "id"]
    fields = readonly_fields = ("project", "user", "role", "joined_at")
    actions = ["make_owner"]

    @admin.action(description="Make the selected members owners of their projects")
    def make_owner(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        meta = RequestContext.from_request(request)
        count = 0
        for project_id, user_id in queryset.values_list("project_id", "user_id"):
            try:
                member_make_owner(project_id=project_id, member_id=user_id, meta=meta)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{user_id}: {exc.detail}", messages.ERROR)
        self.message_user(request, f"{count} member(s) are now owners.")

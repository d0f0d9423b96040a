"""Tasks, their trash, and the idempotency records of task creation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.http.filters import fold, sqlite_fold_function

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
# Ids are bigints: anything larger cannot exist, and must be a 404 rather than an overflow in the driver.
MAX_ID = 2**63 - 1


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class Priority(models.IntegerChoices):
    """Stored as a rank so `ORDER BY priority` is low < medium < high < urgent and can use an index."""

    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


# The API speaks priority names; the database stores ranks.
PRIORITY_NAME: dict[int, str] = {int(p): p.name.lower() for p in Priority}
PRIORITY_RANK: dict[str, int] = {name: rank for rank, name in PRIORITY_NAME.items()}
STATUSES: tuple[str, ...] = tuple(Status.values)


class TagListField(models.JSONField):
    """A JSON list of strings, with a `has_tag` lookup that works on PostgreSQL and SQLite alike."""


@TagListField.register_lookup
class HasTag(models.Lookup):
    """`tags__has_tag="x"`: the list holds "x", in any case (tags are per-user labels: "Home" is "home").

    PostgreSQL compares each element's lower() with the tag's; SQLite asks json_each for an element whose
    case-folded text equals the tag's. Exact otherwise, whatever characters the tag holds (no LIKE).
    """

    lookup_name = "has_tag"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        fold_sql = sqlite_fold_function(connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # `lhs` is the compiled column reference; the tag itself is a bound parameter.
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE {fold_sql}(json_each.value) = %s)"  # noqa: S608
        return sql, (*lhs_params, fold(str(self.rhs)))

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        sql = f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({lhs}) AS tag WHERE lower(tag) = lower(%s))"  # noqa: S608
        return sql, (*lhs_params, str(self.rhs))


# Live tasks and the trash: the one definition of each, used by the queryset methods and the partial indexes.
LIVE = Q(deleted_at__isnull=True)
TRASHED = Q(deleted_at__isnull=False)
PERSONAL = Q(project__isnull=True)


# A task is personal (only its creator sees it) or in a project (every member sees it), and a subtask sits at
# most this many levels deep (a top-level task is level 1).
MAX_DEPTH = 4
MAX_ASSIGNEES = 50


def delete_personal_keep_shared(collector: Any, field: Any, sub_objs: Any, using: str) -> None:
    """`on_delete` of a task's creator: their personal tasks go with the account; the tasks they created in a
    project stay with the project (its creator shown as null). Whatever path deletes the user (API, admin, a
    command) follows the same rule, as it is the foreign key's own."""
    personal: Any
    shared: Any
    if isinstance(sub_objs, models.QuerySet):
        personal, shared = sub_objs.filter(project__isnull=True), sub_objs.filter(project__isnull=False)
    else:
        personal = [task for task in sub_objs if task.project_id is None]
        shared = [task for task in sub_objs if task.project_id is not None]
    models.CASCADE(collector, field, personal, using)
    models.SET_NULL(collector, field, shared, using)


class RecurrenceBasis(models.TextChoices):
    DUE = "due", "Due date"
    COMPLETION = "completion", "Completion"


class TaskQuerySet(models.QuerySet["Task"]):
    def live(self) -> TaskQuerySet:
        return self.filter(LIVE)

    def trashed(self) -> TaskQuerySet:
        return self.filter(TRASHED)

    def owned_by(self, user: Any) -> TaskQuerySet:
        return self.filter(owner=user)

    def visible_to(self, user: Any) -> TaskQuerySet:
        """The caller's personal tasks and every task of the projects they are a member of.

        One condition: an index range on the creator's personal tasks OR'd with the tasks of the projects the
        membership table's (user, project) index lists; no query per project.
        """
        return self.filter(
            Q(project__isnull=True, owner=user)
            | Q(project__in=Membership.objects.filter(user=user).values("project_id"))
        )


class Task(models.Model):
    # The task's creator (`created_by` in the API; `owner` too, for clients of the personal API). Null once the
    # creator of a project's task has deleted their account.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=delete_personal_keep_shared, related_name="tasks"
    )
    project = models.ForeignKey("tasks.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks")
    # A trashed parent's subtasks are in the trash with it; purging keeps any subtask that was restored since.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subtasks")
    # Manual order among siblings (same project and parent), ascending; ties broken by id. New tasks take the
    # current time in microseconds (after every sibling, with no query or lock); moves take a value between
    # their new neighbours, renumbering the siblings when there is no room left.
    position = models.BigIntegerField(default=0)
    # The assignees' ids as the API shows them: a copy of the Assignment rows (the source of truth, which the
    # `assignee` filter reads), kept by the services in the same transaction so a list reads it with its row.
    assignee_ids = models.JSONField(default=list, blank=True, editable=False)
    # Exact: the comment services change it in the comment's transaction.
    comments_count = models.PositiveIntegerField(default=0, editable=False)
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="tasks.Assignment", related_name="assigned_tasks", blank=True
    )
    title = models.CharField(max_length=MAX_TITLE)
    description = models.TextField(max_length=MAX_DESCRIPTION, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    due_at = models.DateTimeField(null=True, blank=True)
    tags = TagListField(default=list, blank=True)
    # Set by the services (not auto_now) so seeding and tests can write history, and so an update that
    # changes nothing does not move them.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Soft delete: set while the task sits in the trash; purge_deleted_tasks removes it after 30 days.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Incremented by every change; the ETag is built from it, and If-Match is checked against it while the
    # row is locked, so two clients holding the same ETag cannot both write (no lost update).
    version = models.PositiveIntegerField(default=1, editable=False)
    # Recurrence and reminders (SPEC 4c; tasks/recurrence.py, tasks/services/reminders.py) ------------------
    # An RFC 5545 RRULE of the supported subset, stored in canonical form; empty: not recurring.
    recurrence = models.CharField(max_length=500, blank=True, default="")
    recurrence_basis = models.CharField(max_length=10, choices=RecurrenceBasis.choices, default=RecurrenceBasis.DUE)
    # IANA name; the creator's profile time zone (else UTC) when the task is created without one.
    timezone = models.CharField(max_length=64, default="UTC")
    # The series' DTSTART: fixed while completions advance due_at, so COUNT and UNTIL end the series.
    recurrence_start = models.DateTimeField(null=True, blank=True, editable=False)
    # Occurrences completed since the rule was set (COUNT of a completion-based series).
    recurrence_done = models.PositiveIntegerField(default=0, editable=False)
    # When the last occurrence was completed: a second completion moments later is the same one, repeated.
    occurrence_completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The reminders as the API shows them ([{"id", "at"} | {"id", "before_due"}]), kept with the Reminder rows
    # by the reminders service: the task list reads them from this column, without a query per page.
    reminders = models.JSONField(default=list, blank=True, editable=False)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Partial indexes over live tasks only: every list query filters `deleted_at IS NULL` and one owner;
        # the trash has its own small index. Ascending columns serve both directions of each ordering.
        indexes = [
            models.Index(fields=["owner", "status"], name="task_owner_status_idx", condition=LIVE),
            models.Index(fields=["owner", "due_at"], name="task_owner_due_idx", condition=LIVE),
            models.Index(fields=["owner", "created_at", "id"], name="task_owner_created_idx", condition=LIVE),
            # The personal half of the default list, newest first (tasks/selectors/tasks.py, TaskListRows).
            models.Index(
                fields=["owner", "created_at", "id"], name="task_personal_created_idx", condition=LIVE & PERSONAL
            ),
            models.Index(fields=["owner", "priority", "id"], name="task_owner_priority_idx", condition=LIVE),
            models.Index(fields=["owner", "deleted_at"], name="task_owner_trash_idx", condition=TRASHED),
            # A project's tasks, newest first (the list of a member); its trash; the siblings of a parent.
            models.Index(fields=["project", "created_at", "id"], name="task_project_created_idx", condition=LIVE),
            models.Index(fields=["project", "deleted_at"], name="task_project_trash_idx", condition=TRASHED),
            models.Index(fields=["parent", "position"], name="task_parent_position_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=STATUSES), name="task_status_valid"),
            models.CheckConstraint(condition=Q(priority__gte=1, priority__lte=4), name="task_priority_valid"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def etag(self) -> str:
        """A strong validator: changes whenever the task does (every change increments `version`)."""
        return f'"{self.pk}-{self.version}"'

    @property
    def created_by_id(self) -> Any:
        return self.owner_id

    @property
    def priority_name(self) -> str:
        return PRIORITY_NAME[self.priority]

    @property
    def is_overdue(self) -> bool:
        return self.due_at is not None and self.status != Status.COMPLETED and self.due_at < timezone.now()


class IdempotencyKey(models.Model):
    """The first response to a create sent with an `Idempotency-Key`, replayed to retries for 24 hours.

    The unique constraint on (user, key) settles races: of two concurrent requests with one key, the second
    insert waits for the first transaction and then fails, and that request replays the stored response.
    """

    TTL_HOURS = 24

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the canonical JSON of the request body: the same key with another body is a conflict.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    # The response body exactly as first rendered (text, since jsonb would reorder its keys).
    response_body = models.TextField(blank=True)
    etag = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="task_idempotency_user_key_uniq")]
        indexes = [models.Index(fields=["created_at"], name="task_idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.key}"


# Projects ---------------------------------------------------------------------------------------------

MAX_PROJECT_NAME = 100
MAX_PROJECT_DESCRIPTION = 2_000
DEFAULT_COLOR = "#808080"
INVITATION_DAYS = 7


class Role(models.TextChoices):
    """What a member may do: an owner everything, an editor the tasks, a viewer read (and comment)."""

    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


ROLES: tuple[str, ...] = tuple(Role.values)


class Project(models.Model):
    name = models.CharField(max_length=MAX_PROJECT_NAME)
    description = models.TextField(max_length=MAX_PROJECT_DESCRIPTION, blank=True, default="")
    color = models.CharField(max_length=7, default=DEFAULT_COLOR)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in a project. Visibility is this table: a project is the caller's when a row joins them."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices)
    joined_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        # The unique index on (user, project) is the one every visibility check walks: "is this user a member
        # of this project, and as what" is an index lookup. The project's own index serves the member list.
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="membership_user_project_uniq"),
            models.CheckConstraint(condition=Q(role__in=ROLES), name="membership_role_valid"),
        ]
        indexes = [models.Index(fields=["project", "joined_at"], name="membership_project_joined_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of {self.project_id}"


class Assignment(models.Model):
    """A user assigned to a task. For a project's task, a member of that project (members removed from a project
    lose its assignments); for a personal task, its creator only."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="assignment_task_user_uniq")]
        # "Assigned to me" walks this index from the user's side.
        indexes = [models.Index(fields=["user", "task"], name="assignment_user_task_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.task_id}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"


PENDING = Q(status=InvitationStatus.PENDING)


class Invitation(models.Model):
    """An invitation of an address (canonical form, accounts/addresses.py) to a project, for 7 days.

    At most one pending invitation per project and address: inviting again renews it.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=8, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "email"], condition=PENDING, name="invitation_pending_uniq"),
            models.CheckConstraint(condition=Q(role__in=ROLES), name="invitation_role_valid"),
        ]
        # "My invitations" looks pending ones up by address.
        indexes = [models.Index(fields=["email", "expires_at"], condition=PENDING, name="invitation_email_idx")]

    def __str__(self) -> str:
        return f"{self.email} to {self.project_id} ({self.status})"


# Comments ---------------------------------------------------------------------------------------------

MAX_COMMENT = 5_000


class Comment(models.Model):
    """A comment on a task, by any member of its project (a viewer too) or by the creator of a personal task.

    The task's `comments_count` is kept exact by the comment services, which change it in the comment's own
    transaction with the task's row locked.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    # Kept when the author deletes their account: the conversation stays readable, its author shown as null.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    body = models.TextField(max_length=MAX_COMMENT)
    # Set by the services (not auto_now), like a task's: an edit that changes nothing does not move them.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        # A task's comments, oldest first: the list walks this index in order; the id breaks ties.
        indexes = [models.Index(fields=["task", "created_at", "id"], name="comment_task_created_idx")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.task_id}"


# Reminders and notifications (SPEC 4c) ------------------------------------------------------------------

MAX_REMINDERS = 5
MAX_BEFORE_DUE_MINUTES = 40_320  # four weeks
ARMED = Q(next_fire_at__isnull=False)


class Reminder(models.Model):
    """One reminder of a task: at an instant (`at`) or some minutes before its due time (`before_due`).

    `next_fire_at` is when it fires next (null: nothing pending) and `occurrence` what that firing is for
    (the due time it reminds of, or `at`). The scheduler finds due reminders by the partial index on
    `next_fire_at`, never by scanning tasks.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reminder_rows")
    at = models.DateTimeField(null=True, blank=True)
    before_due = models.PositiveIntegerField(null=True, blank=True)
    next_fire_at = models.DateTimeField(null=True, blank=True)
    occurrence = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["next_fire_at"], name="reminder_next_fire_idx", condition=ARMED)]
        constraints = [
            models.CheckConstraint(
                condition=Q(at__isnull=False, before_due__isnull=True) | Q(at__isnull=True, before_due__isnull=False),
                name="reminder_at_xor_before_due",
            ),
        ]

    def __str__(self) -> str:
        return f"reminder {self.pk} of task {self.task_id}"


class ReminderDelivery(models.Model):
    """A reminder delivered for one occurrence. The unique key is what makes delivery exactly once: the
    delivery, its notifications and its email jobs commit together, and a second insert fails."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="deliveries")
    occurrence = models.DateTimeField()
    delivered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reminder", "occurrence"], name="reminder_delivery_once"),
        ]

    def __str__(self) -> str:
        return f"reminder {self.reminder_id} for {self.occurrence.isoformat()}"


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    ASSIGNED = "assigned", "Assigned"
    INVITED = "invited", "Invited"
    COMMENTED = "commented", "Commented"


class Notification(models.Model):
    """An entry of a user's in-app inbox."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    text = models.CharField(max_length=500)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The inbox, newest first, and its unread filter (mark-all-read walks the same rows).
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_inbox_idx"),
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                name="notification_unread_idx",
                condition=Q(read_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values), name="notification_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


# The change log behind sync, in its own module; imported here so Django registers the model.
from tasks.changelog import Change, ChangeKind  # noqa: E402, F401

# The live-task counters behind the list's total, likewise.
from tasks.tallies import Tally  # noqa: E402, F401

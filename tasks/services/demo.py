"""Demo data for load tests and trying the product (`manage.py seed_demo`): users, projects and tasks in bulk.

Not a user-facing write: rows go in by batches, with COPY on PostgreSQL and multi-row INSERTs elsewhere (no
audit events, notifications or emails), the password is hashed once for all users, and rows are generated
lazily so memory stays flat (a million tasks take minutes on PostgreSQL). What the services keep consistent,
the seed keeps too:

- the change log behind sync and the lists' ETags: written by the tables' own row triggers (tasks/changelog.py),
  which fire for every row of a COPY or multi-row INSERT as for a service's single one: nothing is written here;
- `assignee_ids` is the sorted copy of the task's Assignment rows, `comments_count` the number of its
  Comment rows: both are decided before the task's row goes in, so no UPDATE follows the INSERT;
- `position` is distinct among siblings and below the clock in microseconds, so a task created later through
  the API still lands after every seeded sibling (tasks/services/tree.py);
- a subtask sits in its parent's project (for a personal task: its creator's personal tasks), at most
  MAX_DEPTH levels deep, is created after its parent, and is completed when its parent is;
- a project has exactly one owner (its first member), and a user only creates tasks in a project where they
  are owner or editor; assignees of a project's task are its members, of a personal task its creator.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from tasks.models import (
    MAX_DEPTH,
    Assignment,
    Comment,
    Membership,
    Priority,
    Project,
    Role,
    Status,
    Task,
)
from tasks.services import tree

DEMO_PASSWORD = "demo password 2024"
TAGS = ["home", "work", "errand", "health", "finance", "family", "urgent-ish", "reading", "garden", "travel"]
VERBS = ["Call", "Email", "Buy", "Fix", "Plan", "Review", "Book", "Clean", "Write", "Pay"]
NOUNS = ["the plumber", "groceries", "quarterly report", "dentist", "birthday gift", "car service", "taxes", "slides"]
PROJECT_NAMES = ["Launch", "Garden", "Move", "Wedding", "Renovation", "Q3 plan", "Hiring", "Website", "Trip"]
COLORS = ["#808080", "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4"]
STATUSES = [Status.PENDING] * 5 + [Status.IN_PROGRESS] * 2 + [Status.COMPLETED] * 3
PRIORITIES = [Priority.LOW] * 3 + [Priority.MEDIUM] * 4 + [Priority.HIGH] * 2 + [Priority.URGENT]
HISTORY = timedelta(days=90)
# Subtasks are seeded two levels below a top-level task at most: deep enough for the tree queries, and a
# task moved under a seeded subtask still fits within MAX_DEPTH.
SEED_DEPTH = min(3, MAX_DEPTH)


@dataclass(frozen=True, slots=True)
class Shape:
    """How the seeded data looks, beyond its size."""

    # Projects in all, each owned by one seeded user in turn; 0: personal tasks only.
    projects: int = 0
    # Members of each project, its owner included (capped at the number of users).
    members: int = 3
    # Share of a user's tasks created in a project they may write to (the rest are personal).
    project_share: float = 0.5
    # Share of tasks that are a subtask of an earlier one of the same project (or personal list).
    subtask_share: float = 0.2
    # Share of tasks with assignees (one or two members; a personal task: its creator).
    assigned_share: float = 0.3
    # Share of tasks with comments (one to three).
    commented_share: float = 0.1

    def __post_init__(self) -> None:
        shares = (self.project_share, self.subtask_share, self.assigned_share, self.commented_share)
        if self.projects < 0 or self.members < 1 or not all(0 <= share <= 1 for share in shares):
            raise ValueError("projects must be at least 0, members at least 1, and every share within 0..1")


@dataclass(slots=True)
class Seeded:
    users: int
    tasks: int
    projects: int = 0
    memberships: int = 0
    assignments: int = 0
    comments: int = 0


@dataclass(slots=True)
class _Pending:
    """A task generated but not inserted yet, with what goes in after it (its parent's id comes first)."""

    task: Task
    depth: int
    parent: _Pending | None
    assignees: list[str]
    commenters: list[Any]
    children: int = 0


@dataclass(slots=True)
class _Scope:
    """The projects each user may write to, and each project's members."""

    writable: dict[Any, list[int]] = field(default_factory=dict)
    members: dict[int, list[Any]] = field(default_factory=dict)


def demo_seed(
    *,
    users: int,
    tasks: int,
    shape: Shape | None = None,
    prefix: str = "demo",
    batch_size: int = 5000,
    seed: int | None = None,
    password: str = DEMO_PASSWORD,
) -> Seeded:
    """{prefix}1@example.com .. {prefix}N@example.com (existing ones reused), each creating `tasks` new tasks,
    and `shape.projects` new projects shared among them."""
    shape = shape or Shape()
    if users < 1 or tasks < 0 or batch_size < 1:
        raise ValueError("users must be at least 1, tasks at least 0, batch_size at least 1")
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = timezone.now()
    owners = _users(users, prefix, password)
    scope = _projects(owners, shape, rng, now, batch_size)
    seeded = Seeded(
        users=len(owners),
        tasks=0,
        projects=len(scope.members),
        memberships=sum(len(members) for members in scope.members.values()),
    )
    # Below the clock (a task created later lands after these) and above every position already stored.
    existing = Task.objects.aggregate(top=Max("position"))["top"] or 0
    positions = iter(range(max(tree.new_position(now) - users * tasks, existing + 1), 2**63))
    batch: list[_Pending] = []
    for pending in _tasks(owners, tasks, scope, shape, rng, now):
        batch.append(pending)
        if len(batch) >= batch_size:
            _insert(batch, positions, rng, seeded)
            batch = []
    _insert(batch, positions, rng, seeded)
    if connection.vendor == "postgresql":
        # Fresh statistics, so the planner picks the per-owner and per-project indexes for the next queries.
        with connection.cursor() as cursor:
            for model in (Task, Project, Membership, Assignment, Comment):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return seeded


def _users(count: int, prefix: str, password: str) -> list[User]:
    emails = [f"{prefix}{i}@example.com" for i in range(1, count + 1)]
    existing = {user.email: user for user in User.objects.filter(email__in=emails)}
    hashed = make_password(password)  # once: Argon2 per user would dominate
    label = prefix.capitalize()
    missing = [
        User(email=email, full_name=f"{label} User {i}", password=hashed, email_verified=True)
        for i, email in enumerate(emails, start=1)
        if email not in existing
    ]
    User.objects.bulk_create(missing, batch_size=1000)
    by_email = {
        **existing,
        **{user.email: user for user in User.objects.filter(email__in=[u.email for u in missing])},
    }
    return [by_email[email] for email in emails]


def _projects(owners: list[User], shape: Shape, rng: random.Random, now: datetime, batch_size: int) -> _Scope:
    """Project j is owned by user j (in turn) and has the next users as members: editors, and a viewer last
    when there are three members or more."""
    scope = _Scope(writable={owner.pk: [] for owner in owners})
    size = min(shape.members, len(owners))
    for start in range(0, shape.projects, batch_size):
        numbers = range(start, min(start + batch_size, shape.projects))
        with transaction.atomic():
            created = Project.objects.bulk_create(
                [
                    Project(
                        name=f"{rng.choice(PROJECT_NAMES)} {number + 1}",
                        description="" if number % 2 else "Generated by seed_demo.",
                        color=rng.choice(COLORS),
                        created_at=now - HISTORY,
                        updated_at=now - HISTORY,
                    )
                    for number in numbers
                ]
            )
            memberships = []
            for number, project in zip(numbers, created, strict=True):
                team = [owners[(number + k) % len(owners)] for k in range(size)]
                for k, member in enumerate(team):
                    role = Role.OWNER if k == 0 else Role.VIEWER if k == size - 1 and size >= 3 else Role.EDITOR
                    memberships.append(Membership(project=project, user=member, role=role, joined_at=now - HISTORY))
                    if role != Role.VIEWER:
                        scope.writable[member.pk].append(project.pk)
                scope.members[project.pk] = [member.pk for member in team]
            Membership.objects.bulk_create(memberships)
    return scope


def _tasks(
    owners: list[User], per_user: int, scope: _Scope, shape: Shape, rng: random.Random, now: datetime
) -> Iterator[_Pending]:
    for owner in owners:
        # Recent tasks of each of the user's lists (a project, or their personal tasks) that may take a subtask.
        parents: dict[int | None, list[_Pending]] = defaultdict(list)
        writable = scope.writable[owner.pk]
        for number in range(per_user):
            # Exactly a `project_share` of the user's tasks, spread evenly: a member's list has a known size.
            in_project = int((number + 1) * shape.project_share) > int(number * shape.project_share)
            project_id = rng.choice(writable) if writable and in_project else None
            candidates = parents[project_id]
            parent = rng.choice(candidates) if candidates and rng.random() < shape.subtask_share else None
            created = now - timedelta(seconds=rng.randrange(int(HISTORY.total_seconds())))
            status = rng.choice(STATUSES)
            # Until when the task could be open: completing a parent completes its open subtasks with it.
            closed_by = now
            if parent is not None:
                created = max(created, parent.task.created_at)
                if parent.task.completed_at is not None:
                    closed_by = parent.task.completed_at
                    created = parent.task.created_at + (closed_by - parent.task.created_at) * rng.random()
                    status = Status.COMPLETED
            due = created + timedelta(days=rng.randrange(-5, 60)) if rng.random() < 0.7 else None
            completed = created + (closed_by - created) * rng.random() if status == Status.COMPLETED else None
            team = scope.members[project_id] if project_id is not None else [owner.pk]
            assignees = (
                sorted({str(pk) for pk in rng.sample(team, min(len(team), rng.choice((1, 1, 2))))})
                if rng.random() < shape.assigned_share
                else []
            )
            commenters = (
                [rng.choice(team) for _ in range(rng.randrange(1, 4))] if rng.random() < shape.commented_share else []
            )
            pending = _Pending(
                task=Task(
                    owner=owner,
                    project_id=project_id,
                    title=f"{rng.choice(VERBS)} {rng.choice(NOUNS)}",
                    description="" if rng.random() < 0.5 else "Generated by seed_demo.",
                    status=status,
                    priority=rng.choice(PRIORITIES),
                    due_at=due,
                    tags=rng.sample(TAGS, rng.randrange(4)),
                    created_at=created,
                    updated_at=completed or created,
                    completed_at=completed,
                    assignee_ids=assignees,
                    comments_count=len(commenters),
                ),
                depth=parent.depth + 1 if parent is not None else 1,
                parent=parent,
                assignees=assignees,
                commenters=commenters,
            )
            if parent is not None:
                parent.children += 1
            if pending.depth < SEED_DEPTH:
                candidates.append(pending)
                # A bounded window of recent tasks: memory stays flat however many tasks a user gets.
                if len(candidates) > 50:
                    candidates.pop(0)
            yield pending


def _insert(batch: list[_Pending], positions: Iterator[int], rng: random.Random, seeded: Seeded) -> None:
    """Inserts a batch with its assignments and comments, in one transaction. The tasks' ids are taken from
    the table's sequence first, so a subtask knows its parent's id before either row is written."""
    if not batch:
        return
    with transaction.atomic():
        for pending, pk in zip(batch, _next_ids(Task, len(batch)), strict=True):
            pending.task.pk = pk
            pending.task.position = next(positions)
            if pending.parent is not None:
                pending.task.parent_id = pending.parent.task.pk
        _store(Task, [pending.task for pending in batch])
        _store(
            Assignment,
            [
                Assignment(task_id=pending.task.pk, user_id=pk, assigned_at=pending.task.created_at)
                for pending in batch
                for pk in pending.assignees
            ],
        )
        _store(
            Comment,
            [
                Comment(
                    task_id=pending.task.pk,
                    author_id=author,
                    body=_comment_body(rng),
                    created_at=pending.task.created_at,
                    updated_at=pending.task.created_at,
                )
                for pending in batch
                for author in pending.commenters
            ],
        )
    seeded.tasks += len(batch)
    seeded.assignments += sum(len(pending.assignees) for pending in batch)
    seeded.comments += sum(len(pending.commenters) for pending in batch)


def _next_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new primary keys of the model's table (inside the caller's transaction)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: writers are serialised, and the transaction holds the write lock from its first write.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - a model's table name
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        first = max(top, row[0] if row else 0) + 1
        return list(range(first, first + count))


def _store(model: type[models.Model], rows: list[Any]) -> None:
    """Writes new rows: on PostgreSQL with COPY (several times faster than INSERT for a million rows; the
    tables' row triggers fire for it all the same), elsewhere with multi-row INSERTs."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(rows, batch_size=1000)
        return
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and rows[0].pk is None)]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    # The values as psycopg dumps them (aware datetimes, UUIDs, JSON as its text): Django's per-value
    # preparation would cost more than the COPY itself.
    dumps = [json.dumps if isinstance(f, models.JSONField) else None for f in fields]
    names = [f.attname for f in fields]
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            values = [getattr(row, name) for name in names]
            copy.write_row([dump(value) if dump else value for dump, value in zip(dumps, values, strict=True)])


def _comment_body(rng: random.Random) -> str:
    return rng.choice(["On it.", "Done on my side.", "Can we move this to next week?", "Looks good to me."])

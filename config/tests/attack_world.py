"""A small populated Taskdesk for the attack tests (config/tests/test_attack_*.py): one owner with something
of every kind an id names, the people who must not reach it, and a fingerprint of the database to prove an
attempt changed nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Model
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, Session, User
from accounts.services.api_tokens import api_token_create
from accounts.services.sessions import session_open
from accounts.tests.factories import UserFactory
from audit.context import SYSTEM
from audit.models import Event, EventType
from audit.services import audit_record
from tasks.models import (
    Assignment,
    Comment,
    Invitation,
    Membership,
    Notification,
    NotificationKind,
    Project,
    Reminder,
    Role,
    Task,
)
from tasks.services.comments import comment_create
from tasks.services.projects import project_create
from tasks.tests.factories import TaskFactory

# What a refused request must leave exactly as it was. Timestamps a read may legitimately move (a session's
# or token's last use, a login) are left out; everything a write could change is in.
WATCHED: dict[type[Model], tuple[str, ...]] = {
    User: ("id", "email", "full_name", "bio", "is_active", "is_staff", "is_superuser", "email_verified", "password"),
    Session: ("id", "user_id", "ended_at", "refresh_jti", "previous_refresh_jti"),
    ApiToken: ("id", "user_id", "name", "scopes", "revoked_at", "expires_at"),
    Project: ("id", "name", "description", "color", "archived", "updated_at"),
    Membership: ("id", "project_id", "user_id", "role"),
    Invitation: ("id", "project_id", "email", "role", "status", "responded_at"),
    Task: (
        "id",
        "owner_id",
        "project_id",
        "parent_id",
        "title",
        "description",
        "status",
        "priority",
        "tags",
        "position",
        "deleted_at",
        "version",
        "assignee_ids",
        "comments_count",
    ),
    Assignment: ("id", "task_id", "user_id"),
    Comment: ("id", "task_id", "author_id", "body", "updated_at"),
    Notification: ("id", "recipient_id", "read_at"),
    Reminder: ("id", "task_id", "at", "before_due", "next_fire_at"),
}


def fingerprint() -> dict[str, list[tuple[Any, ...]]]:
    """Every watched row of the database, in a stable order."""
    return {
        model.__name__: sorted(model.objects.values_list(*fields), key=repr)  # type: ignore[attr-defined]
        for model, fields in WATCHED.items()
    }


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def client_of(user: Any) -> APIClient:
    """A client holding a real access token of a new session of `user` (the full authentication path runs)."""
    _, pair = session_open(user=user, meta=SYSTEM)
    return bearer(pair.access)


@dataclass
class World:
    owner: Any
    editor: Any
    viewer: Any
    outsider: Any
    staff: Any
    superuser: Any
    invitee: Any
    project: Project
    personal_task: Task
    project_task: Task
    trashed_personal: Task
    trashed_project: Task
    comment: Comment
    invitation: Invitation
    notification: Notification
    owner_session: Session
    owner_token: ApiToken
    owner_token_secret: str
    owner_event: Event


def build_world() -> World:
    owner: Any = UserFactory(email="owner@example.com", full_name="Olive Owner")
    editor: Any = UserFactory(email="editor@example.com", full_name="Eddie Editor")
    viewer: Any = UserFactory(email="viewer@example.com", full_name="Vera Viewer")
    outsider: Any = UserFactory(email="outsider@example.com", full_name="Otto Outsider")
    staff: Any = UserFactory(email="staff@example.com", full_name="Stella Staff", is_staff=True)
    superuser: Any = UserFactory(email="root@example.com", full_name="Rita Root", is_staff=True, is_superuser=True)
    invitee: Any = UserFactory(email="invitee@example.com", full_name="Ivan Invitee")
    project = project_create(owner=owner, data={"name": "Launch"}, meta=SYSTEM)
    Membership.objects.create(project=project, user=editor, role=Role.EDITOR)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    now = timezone.now()
    personal_task = TaskFactory(owner=owner, title="Personal", tags=["mine"])
    project_task = TaskFactory(owner=owner, project=project, title="Shared")
    trashed_personal = TaskFactory(owner=owner, title="Binned", deleted_at=now)
    trashed_project = TaskFactory(owner=owner, project=project, title="Binned too", deleted_at=now)
    comment = comment_create(user=owner, task_id=project_task.pk, body="First!", meta=SYSTEM)
    invitation = Invitation.objects.create(
        project=project, email=invitee.email, role=Role.EDITOR, invited_by=owner, expires_at=now + timedelta(days=7)
    )
    notification = Notification.objects.create(
        recipient=owner, kind=NotificationKind.ASSIGNED, text="You were assigned", task=project_task
    )
    owner_session, _ = session_open(user=owner, meta=SYSTEM)
    owner_token, owner_token_secret = api_token_create(
        user=owner, name="laptop", scopes=["tasks:write", "projects:write"], expires_in_days=None, meta=SYSTEM
    )
    owner_event = audit_record(event=EventType.PROFILE_UPDATED, user=owner, meta=SYSTEM, details={"fields": ["bio"]})
    return World(
        owner=owner,
        editor=editor,
        viewer=viewer,
        outsider=outsider,
        staff=staff,
        superuser=superuser,
        invitee=invitee,
        project=project,
        personal_task=personal_task,
        project_task=project_task,
        trashed_personal=trashed_personal,
        trashed_project=trashed_project,
        comment=comment,
        invitation=invitation,
        notification=notification,
        owner_session=owner_session,
        owner_token=owner_token,
        owner_token_secret=owner_token_secret,
        owner_event=owner_event,
    )

"""Project writes: projects, members and roles, invitations. Each runs in one transaction with its audit event.

Who may do what is decided here, from the caller's membership: who is not a member gets 404 for the project
and everything under it (as if it did not exist), a member without the right gets 403 `permission_denied`.

Every project keeps an owner. Changes to the membership lock the project's row first (SELECT ... FOR UPDATE;
on SQLite the IMMEDIATE transaction holds the database's write lock) and only then read the caller's role and
count the owners: two owners demoting or removing each other at the same moment queue on the lock, and the
second sees the first's change (it is no longer an owner: 403; or it is the last owner: 409 `last_owner`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import Conflict, NotFound, PermissionDenied
from config.http.input import assign_changed
from tasks.jobs import send_invitation
from tasks.models import (
    INVITATION_DAYS,
    MAX_ID,
    Invitation,
    InvitationStatus,
    Membership,
    Project,
    Role,
)
from tasks.selectors.projects import owner_only, project_not_found, sole_owned_projects
from tasks.services.assignments import assignments_drop
from tasks.services.notifications import notify_invited

PROJECT_FIELDS = ("name", "description", "color", "archived")


def _last_owner() -> Conflict:
    return Conflict("A project keeps at least one owner: make another member owner first.", code="last_owner")


def _audit(event: EventType, *, user: Any, meta: RequestContext, project_id: int, **details: Any) -> None:
    # Ids, roles and field names: project contents never reach the audit log.
    audit_record(event=event, user=user, meta=meta, details={"project_id": project_id, **details})


def _lock(*, user: Any, project_id: int) -> tuple[Project, Membership]:
    """Locks the project's row, then reads the caller's membership as it stands once the lock is held."""
    if not 0 < project_id <= MAX_ID:
        raise project_not_found()
    project = (
        Project.objects.select_for_update(of=("self",)).filter(pk=project_id, memberships__user=user).order_by().first()
    )
    # Read after the lock is held (a new statement sees what committed while this one waited).
    membership = Membership.objects.filter(user=user, project_id=project_id).first() if project else None
    if project is None or membership is None:
        raise project_not_found()
    return project, membership


def _lock_as_owner(*, user: Any, project_id: int) -> tuple[Project, Membership]:
    project, membership = _lock(user=user, project_id=project_id)
    if membership.role != Role.OWNER:
        raise owner_only()
    return project, membership


def _with_caller(project: Project, role: str) -> Project:
    """The project as the API shows it to the caller: with their role and the number of members."""
    project.role = role  # type: ignore[attr-defined]
    project.members_count = project.memberships.count()  # type: ignore[attr-defined]
    return project


def _owners(project: Project) -> int:
    return project.memberships.filter(role=Role.OWNER).count()


# Projects ---------------------------------------------------------------------------------------------


def project_create(*, owner: Any, data: dict[str, Any], meta: RequestContext) -> Project:
    """Creates the project with the caller as its owner."""
    now = timezone.now()
    fields = {field: data[field] for field in PROJECT_FIELDS if field in data}
    with transaction.atomic():
        project = Project.objects.create(created_at=now, updated_at=now, **fields)
        Membership.objects.create(project=project, user=owner, role=Role.OWNER, joined_at=now)
        _audit(EventType.PROJECT_CREATED, user=owner, meta=meta, project_id=project.pk)
    project.role = Role.OWNER  # type: ignore[attr-defined]
    project.members_count = 1  # type: ignore[attr-defined]
    return project


def project_update(*, user: Any, project_id: int, data: dict[str, Any], meta: RequestContext) -> Project:
    """Owner only. A change that changes nothing records nothing."""
    with transaction.atomic():
        project, membership = _lock_as_owner(user=user, project_id=project_id)
        changed = assign_changed(project, data, PROJECT_FIELDS)
        if changed:
            project.updated_at = timezone.now()
            project.save(update_fields=[*changed, "updated_at"])
            _audit(EventType.PROJECT_UPDATED, user=user, meta=meta, project_id=project.pk, fields=sorted(changed))
        return _with_caller(project, membership.role)


def project_delete(*, user: Any, project_id: int, meta: RequestContext) -> None:
    """Owner only. Deletes the project with everything that belongs to it (its memberships and invitations;
    whatever later hangs off a project by a cascading foreign key goes with it in this one transaction)."""
    with transaction.atomic():
        project, _ = _lock_as_owner(user=user, project_id=project_id)
        _audit(EventType.PROJECT_DELETED, user=user, meta=meta, project_id=project.pk)
        project.delete()


def projects_release_for_deleted_account(*, user: Any, meta: RequestContext) -> int:
    """Call in the transaction that deletes `user`'s account, before it does. A project they own alone is
    deleted with the account when nobody else is in it; when others are, the deletion is refused with 409
    `last_owner` (make another member owner first), so no project is ever left without an owner. Returns how
    many projects were deleted."""
    # The tasks they were assigned to stop showing them (the rows go with the account; this keeps each task's
    # copy in step).
    assignments_drop(user_id=user.pk)
    owned = list(Membership.objects.filter(user=user, role=Role.OWNER).values_list("project_id", flat=True))
    if not owned:
        return 0
    # The same lock as every membership change, so nobody joins or is promoted halfway through.
    list(Project.objects.select_for_update(of=("self",)).filter(pk__in=owned).order_by("pk").values_list("pk"))
    alone, blocked = sole_owned_projects(user=user)
    if blocked:
        raise Conflict(
            "You are the only owner of projects other people are in: make another member owner (or delete the "
            f"project) first. Projects: {', '.join(str(pk) for pk in blocked)}.",
            code="last_owner",
        )
    for project_id in alone:
        _audit(EventType.PROJECT_DELETED, user=user, meta=meta, project_id=project_id, reason="account_deleted")
    return Project.objects.filter(pk__in=alone).delete()[1].get(Project._meta.label, 0)


# Members ----------------------------------------------------------------------------------------------


def _member(project: Project, member_id: Any) -> Membership:
    member = Membership.objects.select_related("user").filter(project=project, user_id=member_id).first()
    if member is None:
        raise NotFound("No such member of this project.")
    return member


def _member_event(event: EventType, *, member: Membership, meta: RequestContext, **details: Any) -> None:
    """An event about a member: recorded as theirs (`user`), with the caller as its actor."""
    _audit(event, user=member.user, meta=meta, project_id=member.project_id, user_id=str(member.user_id), **details)


def _set_role(*, project: Project, member: Membership, role: str, meta: RequestContext, **details: Any) -> None:
    if member.role == role:
        return
    if member.role == Role.OWNER and _owners(project) == 1:
        raise _last_owner()
    previous, member.role = member.role, role
    member.save(update_fields=["role"])
    _member_event(EventType.PROJECT_ROLE_CHANGED, member=member, meta=meta, previous=previous, role=role, **details)


def member_set_role(*, user: Any, project_id: int, member_id: Any, role: str, meta: RequestContext) -> Membership:
    """Owner only: gives a member another role. Demoting the last owner (themselves included) is 409."""
    with transaction.atomic():
        project, _ = _lock_as_owner(user=user, project_id=project_id)
        member = _member(project, member_id)
        _set_role(project=project, member=member, role=role, meta=meta)
    return member


def member_remove(*, user: Any, project_id: int, member_id: Any, meta: RequestContext) -> None:
    """An owner removes a member; any member removes itself (leaves). The last owner cannot go: 409.

    Takes effect on the removed user's next request: every read checks the membership table.
    """
    with transaction.atomic():
        project, membership = _lock(user=user, project_id=project_id)
        leaving = str(member_id) == str(user.pk)
        if not leaving and membership.role != Role.OWNER:
            raise owner_only()
        member = membership if leaving else _member(project, member_id)
        if member.role == Role.OWNER and _owners(project) == 1:
            raise _last_owner()
        member.delete()
        # Assignees are members: who leaves is taken off the project's tasks.
        assignments_drop(user_id=member.user_id, project_ids=[project.pk])
        _member_event(EventType.PROJECT_MEMBER_REMOVED, member=member, meta=meta, role=member.role, left=leaving)


def member_make_owner(*, project_id: int, member_id: Any, meta: RequestContext) -> Membership:
    """Staff (the admin): makes a member owner, e.g. of a project whose owners have gone. Audited as a role
    change with the staff member as its actor; the other members keep their roles."""
    with transaction.atomic():
        project = Project.objects.select_for_update().filter(pk=project_id).first()
        if project is None:
            raise project_not_found()
        member = _member(project, member_id)
        _set_role(project=project, member=member, role=Role.OWNER, meta=meta, by_staff=True)
    return member


# Invitations ------------------------------------------------------------------------------------------


def _already_member() -> Conflict:
    return Conflict("That address already belongs to a member of this project.", code="already_member")


def invitation_send(
    *, user: Any, project_id: int, email: str, role: str, meta: RequestContext, now: datetime | None = None
) -> Invitation:
    """Owner only. Invites a canonical address (whether or not an account has it) for 7 days, and queues the
    mail in the same transaction. Inviting an address that already has a pending invitation renews it (new
    role, inviter and 7 days). Inviting a member (yourself included) is 409 `already_member`."""
    now = now or timezone.now()
    with transaction.atomic():
        # The project's lock, as for any change of its membership: an owner demoted or a project deleted
        # meanwhile cannot send (and the invitation cannot outlive its project).
        _lock_as_owner(user=user, project_id=project_id)
        if Membership.objects.filter(project_id=project_id, user__email=email).exists():
            raise _already_member()
        values = {
            "role": role,
            "invited_by": user,
            "created_at": now,
            "expires_at": now + timedelta(days=INVITATION_DAYS),
        }
        invitation = (
            Invitation.objects.select_for_update()
            .filter(project_id=project_id, email=email, status=InvitationStatus.PENDING)
            .first()
        )
        if invitation is None:
            try:
                with transaction.atomic():
                    invitation = Invitation.objects.create(project_id=project_id, email=email, **values)
            except IntegrityError:  # a concurrent invitation of the same address committed first: renew it
                invitation = Invitation.objects.select_for_update().get(
                    project_id=project_id, email=email, status=InvitationStatus.PENDING
                )
        for field, value in values.items():
            setattr(invitation, field, value)
        invitation.save(update_fields=list(values))
        send_invitation.enqueue(invitation_id=invitation.pk)
        notify_invited(invitation=invitation, inviter=user)
        _audit(
            EventType.PROJECT_INVITATION_SENT,
            user=user,
            meta=meta,
            project_id=project_id,
            invitation_id=invitation.pk,
            email=email,
            role=role,
        )
    return invitation


def invitation_revoke(*, user: Any, project_id: int, invitation_id: int, meta: RequestContext) -> None:
    """Owner only: a pending invitation of this project stops working at once."""
    with transaction.atomic():
        _lock_as_owner(user=user, project_id=project_id)
        invitation = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation_id if 0 < invitation_id <= MAX_ID else 0, project_id=project_id)
            .filter(status=InvitationStatus.PENDING)
            .first()
        )
        if invitation is None:
            raise NotFound("No such pending invitation.")
        _close(invitation, InvitationStatus.REVOKED)
        _audit(
            EventType.PROJECT_INVITATION_REVOKED,
            user=user,
            meta=meta,
            project_id=project_id,
            invitation_id=invitation.pk,
            email=invitation.email,
        )


def _close(invitation: Invitation, status: str) -> None:
    invitation.status = status
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at"])


def _addressed_to(*, user: Any, invitation_id: int) -> Invitation:
    """The invitation, locked, if it is addressed to the caller; else the same 404 as one that is not there.
    An invitation that can no longer be answered (answered, revoked, expired) is 409 and nothing changes.

    The project's row is locked first, then the invitation's: the order in which deleting the project takes
    them, so an answer and a deletion queue rather than deadlock, and nobody joins a project being deleted.
    """
    mine = Invitation.objects.filter(pk=invitation_id if 0 < invitation_id <= MAX_ID else 0, email=user.email)
    project_id = mine.values_list("project_id", flat=True).first()
    project = Project.objects.select_for_update().filter(pk=project_id).first() if project_id else None
    invitation = mine.select_for_update().first() if project is not None else None
    if invitation is None:
        raise NotFound("Invitation not found.")
    if invitation.status != InvitationStatus.PENDING:
        raise Conflict(f"This invitation was already {invitation.status}.", code="invitation_closed")
    if invitation.expires_at <= timezone.now():
        raise Conflict("This invitation has expired.", code="invitation_closed")
    return invitation


def invitation_accept(*, user: Any, invitation_id: int, meta: RequestContext) -> int:
    """Joins the project in the invitation's role; answers the project's id.

    The rows are locked, so of concurrent accepts one joins and the others find it accepted (409);
    the unique (user, project) index backs that up. The caller's email must be verified (403
    `email_unverified`): an invitation goes to a mailbox, and only a verified address shows the caller owns it.
    """
    with transaction.atomic():
        invitation = _addressed_to(user=user, invitation_id=invitation_id)
        if not user.email_verified:
            raise PermissionDenied("Verify your email address before accepting an invitation.", code="email_unverified")
        if Membership.objects.filter(project_id=invitation.project_id, user=user).exists():
            raise _already_member()
        Membership.objects.create(project_id=invitation.project_id, user=user, role=invitation.role)
        _close(invitation, InvitationStatus.ACCEPTED)
        common: dict[str, Any] = {"invitation_id": invitation.pk, "role": invitation.role}
        project_id = invitation.project_id
        _audit(EventType.PROJECT_INVITATION_ACCEPTED, user=user, meta=meta, project_id=project_id, **common)
        _audit(
            EventType.PROJECT_MEMBER_ADDED, user=user, meta=meta, project_id=project_id, user_id=str(user.pk), **common
        )
    return invitation.project_id


def invitation_decline(*, user: Any, invitation_id: int, meta: RequestContext) -> None:
    with transaction.atomic():
        invitation = _addressed_to(user=user, invitation_id=invitation_id)
        _close(invitation, InvitationStatus.DECLINED)
        _audit(
            EventType.PROJECT_INVITATION_DECLINED,
            user=user,
            meta=meta,
            project_id=invitation.project_id,
            invitation_id=invitation.pk,
        )


def invitations_purge_expired(*, now: datetime | None = None, days: int = 30) -> int:
    """Forgets invitations that expired more than `days` ago (answered ones included: every invitation
    expires 7 days after it was sent, whatever became of it)."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return Invitation.objects.filter(expires_at__lt=cutoff).delete()[0]

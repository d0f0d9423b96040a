"""Project reads, always from the caller's side: what they can see is what the membership table joins them to."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from config.http.errors import NotFound, PermissionDenied
from tasks.models import MAX_ID, Invitation, InvitationStatus, Membership, Project, Role

# Alphabetical; the id breaks ties so pages never repeat or skip a project.
DEFAULT_ORDERING = ("name", "id")


def project_not_found() -> NotFound:
    return NotFound("Project not found.")


def owner_only() -> PermissionDenied:
    return PermissionDenied("Only an owner of this project can do that.")


def membership_of(*, user: Any, project_id: int) -> Membership:
    """The caller's membership of the project, or the 404 a non-member gets for anything under it."""
    if not 0 < project_id <= MAX_ID:
        raise project_not_found()
    membership = Membership.objects.filter(user=user, project_id=project_id).first()
    if membership is None:
        raise project_not_found()
    return membership


def owner_of(*, user: Any, project_id: int) -> Membership:
    membership = membership_of(user=user, project_id=project_id)
    if membership.role != Role.OWNER:
        raise owner_only()
    return membership


def _members_count() -> Subquery:
    return Subquery(
        Membership.objects.filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(n=Count("*"))
        .values("n")
    )


def project_list_for(*, user: Any) -> QuerySet[Project]:
    """The caller's projects, each with `role` (the caller's) and `members_count`, in one query.

    Visibility is one join on the membership's unique (user, project) index; the count is a correlated
    subquery per row of the page (an index range on membership's project), not a query per project.
    """
    return (
        Project.objects.annotate(mine=FilteredRelation("memberships", condition=Q(memberships__user=user)))
        .filter(mine__isnull=False)
        .annotate(role=F("mine__role"), members_count=_members_count())
        .order_by(*DEFAULT_ORDERING)
    )


def project_get_for(*, user: Any, project_id: int) -> Project:
    """One of the caller's projects; one they are not a member of is the same 404 as one that is not there."""
    if not 0 < project_id <= MAX_ID:
        raise project_not_found()
    project = project_list_for(user=user).filter(pk=project_id).first()
    if project is None:
        raise project_not_found()
    return project


def member_list_for(*, user: Any, project_id: int) -> QuerySet[Membership]:
    """The members of a project the caller belongs to, oldest first (404 for anyone else)."""
    membership_of(user=user, project_id=project_id)
    return Membership.objects.filter(project_id=project_id).select_related("user").order_by("joined_at", "id")


def _pending() -> QuerySet[Invitation]:
    return Invitation.objects.filter(status=InvitationStatus.PENDING, expires_at__gt=timezone.now())


def invitation_list_for_project(*, user: Any, project_id: int) -> QuerySet[Invitation]:
    """Owner only: the project's invitations still waiting for an answer, newest first."""
    owner_of(user=user, project_id=project_id)
    return _pending().filter(project_id=project_id).select_related("invited_by").order_by("-created_at", "-id")


def invitation_list_for(*, user: Any) -> QuerySet[Invitation]:
    """The pending invitations addressed to the caller's (canonical) email, newest first."""
    return _pending().filter(email=user.email).select_related("project", "invited_by").order_by("-created_at", "-id")


def sole_owned_projects(*, user: Any) -> tuple[list[int], list[int]]:
    """The projects `user` is the only owner of: (those nobody else is in, those others are in). One query."""
    counts = (
        Membership.objects.filter(project__memberships__user=user, project__memberships__role=Role.OWNER)
        .values("project_id")
        .annotate(owners=Count("pk", filter=Q(role=Role.OWNER), distinct=True), members=Count("pk", distinct=True))
        .order_by("project_id")
    )
    alone = [row["project_id"] for row in counts if row["owners"] == 1 and row["members"] == 1]
    shared = [row["project_id"] for row in counts if row["owners"] == 1 and row["members"] > 1]
    return alone, shared

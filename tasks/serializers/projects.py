"""Project shapes: input validation (DRF serializers) and the output representation (plain functions, with
serializers that document them for OpenAPI)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.serializers import Email
from config.http.formats import iso
from config.http.validators import single_line
from tasks.models import DEFAULT_COLOR, MAX_PROJECT_DESCRIPTION, MAX_PROJECT_NAME, ROLES, Invitation, Membership

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


def project_to_dict(project: Any) -> dict[str, Any]:
    """A project as the caller sees it (`role` and `members_count` are annotations or set by the services)."""
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "color": project.color,
        "archived": project.archived,
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
        "role": project.role,
        "members_count": project.members_count,
    }


def person(user: Any, *, with_id: bool = True) -> dict[str, Any] | None:
    """A user as other users see them (members, authors, actors): id, email, name; null once deleted."""
    if user is None:
        return None
    person = {"id": str(user.pk)} if with_id else {}
    return {**person, "email": user.email, "full_name": user.full_name}


def member_to_dict(membership: Membership) -> dict[str, Any]:
    return {
        "user": person(membership.user, with_id=True),
        "role": membership.role,
        "joined_at": iso(membership.joined_at),
    }


def _invitation(invitation: Invitation, **head: Any) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "role": invitation.role,
        "invited_by": person(invitation.invited_by, with_id=False),
        "created_at": iso(invitation.created_at),
        "expires_at": iso(invitation.expires_at),
        **head,
    }


def invitation_to_dict(invitation: Invitation) -> dict[str, Any]:
    """An invitation as the project's owners see it."""
    return _invitation(invitation, email=invitation.email)


def received_invitation_to_dict(invitation: Invitation) -> dict[str, Any]:
    """An invitation as its addressee sees it."""
    return _invitation(invitation, project={"id": invitation.project_id, "name": invitation.project.name})


# Output shapes, for the schema ----------------------------------------------------------------------------


class ProjectSerializer(serializers.Serializer[Any]):
    """A project as the caller sees it."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True, max_length=MAX_PROJECT_NAME)
    description = serializers.CharField(read_only=True, max_length=MAX_PROJECT_DESCRIPTION)
    color = serializers.RegexField(COLOR_PATTERN, read_only=True)
    archived = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    role = serializers.ChoiceField(choices=ROLES, read_only=True, help_text="The caller's role.")
    members_count = serializers.IntegerField(read_only=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return project_to_dict(instance)


class PersonSerializer(serializers.Serializer[Any]):
    """A user as other users see them."""

    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)


class MemberSerializer(serializers.Serializer[Any]):
    user = PersonSerializer(read_only=True)
    role = serializers.ChoiceField(choices=ROLES, read_only=True)
    joined_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        return member_to_dict(instance)


class InviterSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)


class _InvitationShape(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    role = serializers.ChoiceField(choices=ROLES, read_only=True)
    invited_by = InviterSerializer(
        read_only=True, allow_null=True, help_text="null once the inviter's account is gone."
    )
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)


class InvitationSerializer(_InvitationShape):
    """A pending invitation of a project, as its owners see it."""

    email = serializers.EmailField(read_only=True)

    def to_representation(self, instance: Invitation) -> dict[str, Any]:
        return invitation_to_dict(instance)


class ProjectRefSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class ReceivedInvitationSerializer(_InvitationShape):
    """An invitation addressed to the caller."""

    project = ProjectRefSerializer(read_only=True)

    def to_representation(self, instance: Invitation) -> dict[str, Any]:
        return received_invitation_to_dict(instance)


# Input ------------------------------------------------------------------------------------------------


class _Color(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(COLOR_PATTERN, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data)).lower()


class ProjectWriteSerializer(serializers.Serializer[Any]):
    """The writable fields of a project. Anything else in the body (id, role, members_count, timestamps) is
    ignored: read-only fields cannot be written."""

    name = serializers.CharField(
        max_length=MAX_PROJECT_NAME, validators=[single_line], help_text="1 to 100 characters."
    )
    description = serializers.CharField(
        max_length=MAX_PROJECT_DESCRIPTION, allow_blank=True, required=False, trim_whitespace=False
    )
    color = _Color(required=False, help_text=f"#rrggbb; default {DEFAULT_COLOR}.")
    archived = serializers.BooleanField(required=False)


class ProjectPatchSerializer(ProjectWriteSerializer):
    """Any subset of the writable fields."""

    name = serializers.CharField(
        max_length=MAX_PROJECT_NAME, validators=[single_line], required=False, help_text="1 to 100 characters."
    )


class MemberRoleSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=ROLES)


class InvitationCreateSerializer(serializers.Serializer[Any]):
    email = Email(max_length=254, help_text="Stored and matched in canonical form (any case, any spelling).")
    role = serializers.ChoiceField(choices=ROLES)

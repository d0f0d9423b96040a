"""Project endpoints: projects, members and roles, invitations. Views parse input, call one service or
selector, and shape the output; who may do what is the services' and selectors' to decide."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from audit.context import RequestContext
from config.http.errors import NotFound
from config.http.input import validated
from config.http.schema import ErrorSerializer
from config.http.throttling import UserRateThrottle
from tasks.filters import ProjectFilter
from tasks.models import Invitation, Membership, Project
from tasks.selectors import projects as selectors
from tasks.serializers.projects import (
    InvitationCreateSerializer,
    InvitationSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    ProjectPatchSerializer,
    ProjectSerializer,
    ProjectWriteSerializer,
    ReceivedInvitationSerializer,
    invitation_to_dict,
    member_to_dict,
    project_to_dict,
    received_invitation_to_dict,
)
from tasks.services import projects as services
from tasks.views import conditional

# OpenAPI pieces --------------------------------------------------------------------------------------------


class ProjectSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        return ["projects"]


class MemberSchema(ProjectSchema):
    """PATCH of a member takes one required field, `role`: drf-spectacular documents every PATCH body as
    partial (all fields optional), so this one is built as a PUT's would be."""

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> Any:
        if self.method != "PATCH":
            return super()._get_request_for_media_type(serializer, direction)
        self.method = "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = "PATCH"


class InvitationSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        return ["invitations"]


PROJECT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The project's id.")
USER_ID = OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The member's user id.")
INVITATION_ID = OpenApiParameter(
    "invitation_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The invitation's id."
)
NOT_FOUND = OpenApiResponse(ErrorSerializer, "No such project among yours (code not_found).")
MEMBER_NOT_FOUND = OpenApiResponse(
    ErrorSerializer, "No such project among yours, or no such member of it (code not_found)."
)
NOT_OWNER = OpenApiResponse(ErrorSerializer, "You are a member but not an owner (code permission_denied).")
LAST_OWNER = OpenApiResponse(ErrorSerializer, "That would leave the project without an owner (code last_owner).")
CLOSED = OpenApiResponse(
    ErrorSerializer,
    "The invitation was already accepted, declined or revoked, or has expired (code invitation_closed); "
    "nothing changed.",
)
NO_CONTENT = OpenApiResponse(description="Done.")

# Helpers ------------------------------------------------------------------------------------------------------


def _id(kwargs: dict[str, Any], name: str = "id") -> int:
    # The URL pattern admits only 1 to 19 digits; the services and selectors turn anything past a bigint
    # into a 404.
    return int(kwargs[name])


def _member_id(kwargs: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(kwargs["user_id"])
    except ValueError:
        raise NotFound("No such member of this project.") from None


def _project_response(request: Request, project_id: int, status_code: int = status.HTTP_200_OK) -> Response:
    project = selectors.project_get_for(user=request.user, project_id=project_id)
    return Response(project_to_dict(project), status=status_code)


def _page(view: GenericAPIView[Any], rows: Any, render: Any) -> Response:
    page = view.paginate_queryset(rows)
    return view.get_paginated_response([render(row) for row in page or ()])


class InvitationThrottle(UserRateThrottle):
    """Invitations sent, per user (`THROTTLE_INVITATIONS`): each one mails an address the sender chose."""

    scope = "invitations"


# Projects -----------------------------------------------------------------------------------------------------


class ProjectListView(GenericAPIView[Project]):
    token_scope = "projects"
    schema = ProjectSchema()
    filterset_class = ProjectFilter
    serializer_class = ProjectSerializer
    queryset = Project.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Project.objects.none()
        return selectors.project_list_for(user=self.request.user)

    @extend_schema(
        summary="List your projects",
        description="The projects you are a member of, each with your role and its number of members. Sends an "
        "ETag; If-None-Match with it answers 304 while nothing you see has changed.",
        parameters=[conditional.IF_NONE_MATCH, conditional.ETAG],
        responses={200: ProjectSerializer(many=True), 304: conditional.NOT_MODIFIED},
    )
    def get(self, request: Request) -> Response:
        etag, not_modified = conditional.list_etag(request)
        if not_modified is not None:
            return not_modified
        return conditional.with_etag(_page(self, self.filter_queryset(self.get_queryset()), project_to_dict), etag)

    @extend_schema(
        summary="Create a project",
        description="You are its owner.",
        request=ProjectWriteSerializer,
        responses={201: ProjectSerializer},
    )
    def post(self, request: Request) -> Response:
        data = validated(ProjectWriteSerializer, request)
        project = services.project_create(owner=request.user, data=data, meta=RequestContext.from_request(request))
        return Response(project_to_dict(project), status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    token_scope = "projects"
    schema = ProjectSchema()

    @extend_schema(summary="Get a project", parameters=[PROJECT_ID], responses={200: ProjectSerializer, 404: NOT_FOUND})
    def get(self, request: Request, **kwargs: Any) -> Response:
        return _project_response(request, _id(kwargs))

    @extend_schema(
        summary="Update a project",
        description="Owners only: name, description, color, archived.",
        request=ProjectPatchSerializer,
        parameters=[PROJECT_ID],
        responses={200: ProjectSerializer, 403: NOT_OWNER, 404: NOT_FOUND},
    )
    def patch(self, request: Request, **kwargs: Any) -> Response:
        data = validated(ProjectPatchSerializer, request)
        project = services.project_update(
            user=request.user, project_id=_id(kwargs), data=data, meta=RequestContext.from_request(request)
        )
        return Response(project_to_dict(project))

    @extend_schema(
        summary="Delete a project",
        description="Owners only. The project goes with everything in it, for every member.",
        parameters=[PROJECT_ID],
        responses={204: NO_CONTENT, 403: NOT_OWNER, 404: NOT_FOUND},
    )
    def delete(self, request: Request, **kwargs: Any) -> Response:
        services.project_delete(user=request.user, project_id=_id(kwargs), meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Members ------------------------------------------------------------------------------------------------------


class MemberListView(GenericAPIView[Membership]):
    token_scope = "projects"
    schema = ProjectSchema()
    serializer_class = MemberSerializer
    queryset = Membership.objects.none()

    @extend_schema(
        summary="List a project's members",
        description="Oldest member first.",
        parameters=[PROJECT_ID],
        responses={200: MemberSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        return _page(self, selectors.member_list_for(user=request.user, project_id=_id(kwargs)), member_to_dict)


class MemberDetailView(APIView):
    token_scope = "projects"
    schema = MemberSchema()

    @extend_schema(
        summary="Change a member's role",
        description="Owners only. Demoting the last owner (yourself included) is refused.",
        request=MemberRoleSerializer,
        parameters=[PROJECT_ID, USER_ID],
        responses={200: MemberSerializer, 403: NOT_OWNER, 404: MEMBER_NOT_FOUND, 409: LAST_OWNER},
    )
    def patch(self, request: Request, **kwargs: Any) -> Response:
        data = validated(MemberRoleSerializer, request)
        member = services.member_set_role(
            user=request.user,
            project_id=_id(kwargs),
            member_id=_member_id(kwargs),
            role=data["role"],
            meta=RequestContext.from_request(request),
        )
        return Response(member_to_dict(member))

    @extend_schema(
        summary="Remove a member, or leave",
        description="Owners remove anyone; any member may remove itself (leave). The last owner cannot go. "
        "The removed member loses access with their next request.",
        parameters=[PROJECT_ID, USER_ID],
        responses={
            204: NO_CONTENT,
            403: OpenApiResponse(ErrorSerializer, "Removing another member needs an owner (code permission_denied)."),
            404: MEMBER_NOT_FOUND,
            409: LAST_OWNER,
        },
    )
    def delete(self, request: Request, **kwargs: Any) -> Response:
        services.member_remove(
            user=request.user,
            project_id=_id(kwargs),
            member_id=_member_id(kwargs),
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# Invitations of a project (owners) -------------------------------------------------------------------------


class ProjectInvitationListView(GenericAPIView[Invitation]):
    token_scope = "projects"
    schema = ProjectSchema()
    serializer_class = InvitationSerializer
    queryset = Invitation.objects.none()

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        return [*throttles, InvitationThrottle()] if self.request.method == "POST" else throttles

    @extend_schema(
        summary="List a project's pending invitations",
        description="Owners only. Invitations not yet answered, revoked or expired; newest first.",
        parameters=[PROJECT_ID],
        responses={200: InvitationSerializer(many=True), 403: NOT_OWNER, 404: NOT_FOUND},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        invitations = selectors.invitation_list_for_project(user=request.user, project_id=_id(kwargs))
        return _page(self, invitations, invitation_to_dict)

    @extend_schema(
        summary="Invite an email address",
        description="Owners only. Accepted whether or not an account has the address; the address is mailed a "
        "link to the invitations page. The invitation lives 7 days; inviting a pending address again renews it. "
        "Rate-limited per user (THROTTLE_INVITATIONS).",
        request=InvitationCreateSerializer,
        parameters=[PROJECT_ID],
        responses={
            202: InvitationSerializer,
            403: NOT_OWNER,
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, "The address is yours or another member's (code already_member)."),
        },
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        data = validated(InvitationCreateSerializer, request)
        invitation = services.invitation_send(
            user=request.user,
            project_id=_id(kwargs),
            email=data["email"],
            role=data["role"],
            meta=RequestContext.from_request(request),
        )
        return Response(invitation_to_dict(invitation), status=status.HTTP_202_ACCEPTED)


class ProjectInvitationDetailView(APIView):
    token_scope = "projects"
    schema = ProjectSchema()

    @extend_schema(
        summary="Revoke an invitation",
        parameters=[PROJECT_ID, INVITATION_ID],
        responses={
            204: NO_CONTENT,
            403: NOT_OWNER,
            404: OpenApiResponse(ErrorSerializer, "No such project, or no such pending invitation (code not_found)."),
        },
    )
    def delete(self, request: Request, **kwargs: Any) -> Response:
        services.invitation_revoke(
            user=request.user,
            project_id=_id(kwargs),
            invitation_id=_id(kwargs, "invitation_id"),
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# Invitations addressed to the caller ---------------------------------------------------------------------


class InvitationListView(GenericAPIView[Invitation]):
    token_scope = "projects"
    schema = InvitationSchema()
    serializer_class = ReceivedInvitationSerializer
    queryset = Invitation.objects.none()

    @extend_schema(
        summary="List the invitations addressed to you",
        description="Pending invitations to your email address, newest first.",
        responses={200: ReceivedInvitationSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return _page(self, selectors.invitation_list_for(user=request.user), received_invitation_to_dict)


INVITATION_NOT_FOUND = OpenApiResponse(ErrorSerializer, "No such invitation addressed to you (code not_found).")


class InvitationAcceptView(APIView):
    token_scope = "projects"
    schema = InvitationSchema()

    @extend_schema(
        summary="Accept an invitation",
        description="You join the project in the invitation's role.",
        request=None,
        parameters=[INVITATION_ID],
        responses={
            200: ProjectSerializer,
            403: OpenApiResponse(ErrorSerializer, "Your email address is not verified (code email_unverified)."),
            404: INVITATION_NOT_FOUND,
            409: OpenApiResponse(
                ErrorSerializer,
                "Already answered, revoked or expired (code invitation_closed), or you are already a member "
                "(code already_member); nothing changed.",
            ),
        },
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        project_id = services.invitation_accept(
            user=request.user, invitation_id=_id(kwargs, "invitation_id"), meta=RequestContext.from_request(request)
        )
        return _project_response(request, project_id)


class InvitationDeclineView(APIView):
    token_scope = "projects"
    schema = InvitationSchema()

    @extend_schema(
        summary="Decline an invitation",
        request=None,
        parameters=[INVITATION_ID],
        responses={204: NO_CONTENT, 404: INVITATION_NOT_FOUND, 409: CLOSED},
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        services.invitation_decline(
            user=request.user, invitation_id=_id(kwargs, "invitation_id"), meta=RequestContext.from_request(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

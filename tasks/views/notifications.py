"""Notification endpoints (SPEC 4c): your inbox, newest first; mark one or all read."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.http.errors import ValidationFailed
from config.http.schema import ErrorSerializer
from tasks.models import Notification
from tasks.selectors.notifications import notification_list_for
from tasks.serializers.notifications import NotificationSerializer, ReadAllResultSerializer, notification_to_dict
from tasks.services import notifications as services


class NotificationSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        return ["notifications"]


NOTIFICATION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The notification's id.")
UNREAD = OpenApiParameter(
    "unread", OpenApiTypes.BOOL, OpenApiParameter.QUERY, description="true: only the unread ones; false: all."
)
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class NotificationListView(GenericAPIView[Notification]):
    token_scope = "tasks"
    schema = NotificationSchema()
    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()

    @extend_schema(
        summary="List your notifications",
        description="Newest first, paginated: reminders, tasks assigned to you, invitations, comments.",
        parameters=[UNREAD],
        responses={
            200: NotificationSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, "A malformed query parameter (code validation_error)."),
        },
    )
    def get(self, request: Request) -> Response:
        raw = (request.query_params.get("unread") or "false").lower()  # empty, as every list reads it: left out
        if raw not in _BOOLEANS:
            raise ValidationFailed.on("unread", "Use true or false.")
        rows = notification_list_for(user=request.user, unread=_BOOLEANS[raw])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response([notification_to_dict(row) for row in page or ()])


class NotificationReadView(APIView):
    token_scope = "tasks"
    schema = NotificationSchema()

    @extend_schema(
        summary="Mark a notification read",
        description="A notification already read keeps its first read_at.",
        request=None,
        parameters=[NOTIFICATION_ID],
        responses={
            200: NotificationSerializer,
            404: OpenApiResponse(ErrorSerializer, "No such notification of yours (code not_found)."),
        },
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        notification = services.notification_mark_read(user=request.user, notification_id=int(kwargs["id"]))
        return Response(notification_to_dict(notification))


class NotificationReadAllView(APIView):
    token_scope = "tasks"
    schema = NotificationSchema()

    @extend_schema(summary="Mark all your notifications read", request=None, responses={200: ReadAllResultSerializer})
    def post(self, request: Request) -> Response:
        return Response({"updated": services.notifications_mark_all_read(user=request.user)})

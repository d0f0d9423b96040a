"""Comment endpoints, under the task they belong to. Views parse input, call one service or selector, and shape
the output; who may do what is the services' and selectors' to decide."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.context import RequestContext
from config.http.input import validated
from config.http.schema import ErrorSerializer
from tasks.models import Comment
from tasks.selectors.comments import comment_list_for
from tasks.serializers.comments import CommentSerializer, CommentWriteSerializer, comment_to_dict
from tasks.services import comments as services
from tasks.views.projects import MemberSchema


class CommentSchema(MemberSchema):
    """Tagged `comments`; the PATCH body's one field, `body`, is required (see MemberSchema)."""

    def get_tags(self) -> list[str]:
        return ["comments"]


TASK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The task's id.")
COMMENT_ID = OpenApiParameter(
    "comment_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The comment's id (a comment of that task)."
)
TASK_NOT_FOUND = OpenApiResponse(
    ErrorSerializer, "No such task among those you can see, or it is in the trash (code not_found)."
)
COMMENT_NOT_FOUND = OpenApiResponse(
    ErrorSerializer,
    "No such task among those you can see (or it is in the trash), or no such comment on it (code not_found).",
)


def _ids(kwargs: dict[str, Any]) -> dict[str, int]:
    # The URL pattern admits only 1 to 19 digits; the services turn anything past a bigint into a 404.
    ids = {"task_id": int(kwargs["id"])}
    if "comment_id" in kwargs:
        ids["comment_id"] = int(kwargs["comment_id"])
    return ids


class CommentListView(GenericAPIView[Comment]):
    token_scope = "tasks"
    schema = CommentSchema()
    serializer_class = CommentSerializer
    queryset = Comment.objects.none()  # for the schema; requests use the selector

    @extend_schema(
        summary="List a task's comments",
        description="Oldest first. Anyone who can see the task (every member of its project) can read them.",
        parameters=[TASK_ID],
        responses={200: CommentSerializer(many=True), 404: TASK_NOT_FOUND},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        page = self.paginate_queryset(comment_list_for(user=request.user, **_ids(kwargs)))
        return self.get_paginated_response([comment_to_dict(comment) for comment in page or ()])

    @extend_schema(
        summary="Comment on a task",
        description="Anyone who can see the task may comment: every member of its project, a viewer too, or the "
        "creator of a personal task. The task's comments_count goes up by one, and its ETag changes.",
        request=CommentWriteSerializer,
        parameters=[TASK_ID],
        responses={201: CommentSerializer, 404: TASK_NOT_FOUND},
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        data = validated(CommentWriteSerializer, request)
        comment = services.comment_create(
            user=request.user, body=data["body"], meta=RequestContext.from_request(request), **_ids(kwargs)
        )
        return Response(comment_to_dict(comment), status=status.HTTP_201_CREATED)


class CommentDetailView(APIView):
    token_scope = "tasks"
    schema = CommentSchema()

    @extend_schema(
        summary="Edit a comment",
        description="Its author only.",
        request=CommentWriteSerializer,
        parameters=[TASK_ID, COMMENT_ID],
        responses={
            200: CommentSerializer,
            403: OpenApiResponse(ErrorSerializer, "You are not the comment's author (code permission_denied)."),
            404: COMMENT_NOT_FOUND,
        },
    )
    def patch(self, request: Request, **kwargs: Any) -> Response:
        data = validated(CommentWriteSerializer, request)
        comment = services.comment_update(
            user=request.user, body=data["body"], meta=RequestContext.from_request(request), **_ids(kwargs)
        )
        return Response(comment_to_dict(comment))

    @extend_schema(
        summary="Delete a comment",
        description="Its author, or an owner of the task's project. The task's comments_count goes down by one, "
        "and its ETag changes.",
        parameters=[TASK_ID, COMMENT_ID],
        responses={
            204: OpenApiResponse(description="Deleted."),
            403: OpenApiResponse(
                ErrorSerializer, "You are neither the author nor an owner of the project (code permission_denied)."
            ),
            404: COMMENT_NOT_FOUND,
        },
    )
    def delete(self, request: Request, **kwargs: Any) -> Response:
        services.comment_delete(user=request.user, meta=RequestContext.from_request(request), **_ids(kwargs))
        return Response(status=status.HTTP_204_NO_CONTENT)

"""Task endpoints. Views parse input, call one service or selector, and shape the output.

The same views serve `/api/v1/tasks/...` and the compatibility routes `/api/{user_id}/tasks/...`; the latter
add a check that `user_id` is the caller (403 otherwise).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import SessionCheckedByRead, pending_session
from audit.context import RequestContext
from config.http.errors import ValidationFailed
from config.http.input import validated
from config.http.schema import ErrorSerializer
from tasks.filters import ID_OR_NONE_SCHEMA, TaskFilter, TaskFilterBackend, parse_id_or_none
from tasks.models import Task
from tasks.selectors import tasks as selectors
from tasks.selectors.stats import task_stats_for
from tasks.serializers.tasks import (
    TAG_SEPARATOR,
    TASK_COLUMNS,
    TASK_FIELDS,
    TRASH_COLUMNS,
    BulkResultSerializer,
    BulkSerializer,
    MoveSerializer,
    StatsSerializer,
    TaskPatchSerializer,
    TaskSerializer,
    TaskWriteSerializer,
    TrashedTaskSerializer,
    task_row_to_dict,
    task_to_dict,
)
from tasks.services import moves
from tasks.services import tasks as services
from tasks.views import conditional

# OpenAPI pieces --------------------------------------------------------------------------------------------


class TaskSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        return ["tasks"]


TASK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The task's id.")
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag from your last GET; the write is refused with 412 if the task changed since.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    # Printable ASCII; a header value's outer spaces do not survive the trip, so none are documented.
    {"type": "string", "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e]{0,253}[\\x21-\\x7e])?$"},
    OpenApiParameter.HEADER,
    description="Up to 255 printable ASCII characters. A retry with the same key within 24 hours returns the "
    "first response (same status and body, header Idempotent-Replayed: true) and creates nothing; the same key "
    "with another body is 409 idempotency_conflict.",
)
ETAG = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], description="The task's current version."
)
ETAG_CREATED = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[201], description="The new task's version."
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[201],
    enum=["true"],
    description="Present on a replay of the first response to this Idempotency-Key.",
)
EXPORT_FORMAT = OpenApiParameter(
    "format", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=["json", "csv"], default="json", description="File type."
)
NOT_FOUND = OpenApiResponse(ErrorSerializer, "No such task among yours (code not_found).")
READ_ONLY = OpenApiResponse(
    ErrorSerializer, "A task of a project where your role only lets you read (code permission_denied)."
)
STALE = OpenApiResponse(ErrorSerializer, "If-Match does not match the current ETag (code precondition_failed).")
NOT_MODIFIED = OpenApiResponse(description="If-None-Match matched the current ETag: no body.")

# Helpers ------------------------------------------------------------------------------------------------------

IDEMPOTENCY_KEY_MAX = 255


def _task_id(kwargs: dict[str, Any]) -> int:
    # The URL pattern admits only 1 to 19 digits; the services turn anything past a bigint into a 404.
    return int(kwargs["id"])


def _task_response(task: Task, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(task_to_dict(task), status=status_code, headers={"ETag": task.etag})


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_MAX or not all(" " <= ch <= "~" for ch in key):
        raise ValidationFailed.on("Idempotency-Key", "Use 1 to 255 printable ASCII characters.")
    return key


def _etag_in(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/"x" matches "x"."""
    return any(tag.strip().removeprefix("W/") in ("*", etag) for tag in header.split(","))


class IsPathUser(BasePermission):
    """The compatibility routes name the user in the path; only the caller's own id is allowed."""

    message = "You can only reach your own tasks."

    def has_permission(self, request: Request, view: APIView) -> bool:
        try:
            return uuid.UUID(str(view.kwargs.get("user_id"))) == uuid.UUID(str(request.user.pk))
        except ValueError:
            return False


# Collection ---------------------------------------------------------------------------------------------------


class TaskListView(SessionCheckedByRead, GenericAPIView[Task]):
    token_scope = "tasks"
    schema = TaskSchema()
    filter_backends = [TaskFilterBackend]
    filterset_class = TaskFilter
    serializer_class = TaskSerializer
    queryset = Task.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Task.objects.none()
        return selectors.task_list_for(user=self.request.user)

    @extend_schema(
        summary="List your tasks",
        description="Paginated; filters combine with AND. Trashed tasks are never listed here. Sends an ETag "
        "(except with `overdue`, which moves with the clock); If-None-Match with it answers 304 while nothing "
        "you see has changed.",
        parameters=[conditional.IF_NONE_MATCH, conditional.ETAG],
        responses={200: TaskSerializer(many=True), 304: NOT_MODIFIED},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        if TaskFilter.is_filtered(request.query_params):
            etag, not_modified = conditional.list_etag(request)
            if not_modified is not None:
                return not_modified
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values_list(*TASK_COLUMNS))
        else:
            # The default list reads its ETag's position in the page's own query.
            not_modified = conditional.not_modified(request)
            if not_modified is not None:
                return not_modified
            rows: Any = selectors.TaskListRows(
                user=request.user, columns=TASK_COLUMNS, session=pending_session(request)
            )
            page = self.paginate_queryset(rows)
            etag = conditional.etag_for(request, rows.position)
        return conditional.with_etag(self.get_paginated_response([task_row_to_dict(row) for row in page or ()]), etag)

    @extend_schema(
        summary="Create a task",
        request=TaskWriteSerializer,
        parameters=[IDEMPOTENCY_KEY, ETAG_CREATED, REPLAYED],
        responses={
            201: TaskSerializer,
            403: OpenApiResponse(ErrorSerializer, "`project` is one you only read (code permission_denied)."),
            409: OpenApiResponse(
                ErrorSerializer, "Idempotency-Key reused with another body (code idempotency_conflict)."
            ),
        },
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        key = _idempotency_key(request)
        if key is None:
            task = services.task_create(
                user=request.user,
                data=validated(TaskWriteSerializer, request),
                meta=RequestContext.from_request(request),
            )
            return _task_response(task, status.HTTP_201_CREATED)
        fingerprint = services.request_fingerprint(request.data)
        stored = services.idempotency_replay(user=request.user, key=key, fingerprint=fingerprint)
        if stored is None:
            stored = services.task_create_idempotent(
                user=request.user,
                key=key,
                fingerprint=fingerprint,
                data=validated(TaskWriteSerializer, request),
                meta=RequestContext.from_request(request),
                render=task_to_dict,
            )
        response = Response(json.loads(stored.body), status=stored.status, headers={"ETag": stored.etag})
        if stored.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class TrashListView(GenericAPIView[Task]):
    token_scope = "tasks"
    schema = TaskSchema()
    serializer_class = TrashedTaskSerializer
    queryset = Task.objects.none()

    def get_queryset(self) -> Any:
        return selectors.task_trash_for(user=self.request.user)

    @extend_schema(
        summary="List your trash",
        description="Deleted tasks, most recently deleted first; each is purged 30 days after `deleted_at`.",
        responses={200: TrashedTaskSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset().values_list(*TRASH_COLUMNS))
        return self.get_paginated_response([task_row_to_dict(row) for row in page or ()])


# One task -------------------------------------------------------------------------------------------------------


class TaskDetailView(SessionCheckedByRead, APIView):
    token_scope = "tasks"
    schema = TaskSchema()

    @extend_schema(
        summary="Get a task",
        parameters=[
            TASK_ID,
            OpenApiParameter(
                "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="304 if it matches."
            ),
            ETAG,
        ],
        responses={200: TaskSerializer, 304: NOT_MODIFIED, 404: NOT_FOUND},
    )
    def get(self, request: Request, **kwargs: Any) -> Response:
        task = selectors.task_get_for(user=request.user, task_id=_task_id(kwargs), session=pending_session(request))
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match is not None and _etag_in(if_none_match, task.etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": task.etag})
        return _task_response(task)

    @extend_schema(
        summary="Replace a task",
        description="Fields left out take their defaults (description empty, status pending, priority medium, "
        "no due date, no tags).",
        request=TaskWriteSerializer,
        parameters=[TASK_ID, IF_MATCH, ETAG],
        responses={200: TaskSerializer, 403: READ_ONLY, 404: NOT_FOUND, 412: STALE},
    )
    def put(self, request: Request, **kwargs: Any) -> Response:
        task = services.task_update(
            user=request.user,
            task_id=_task_id(kwargs),
            data=validated(TaskWriteSerializer, request),
            replace=True,
            if_match=request.headers.get("If-Match"),
            meta=RequestContext.from_request(request),
        )
        return _task_response(task)

    @extend_schema(
        summary="Update a task",
        description="Changes the fields given. Setting status completed stamps completed_at; any other clears it.",
        request=TaskPatchSerializer,
        parameters=[TASK_ID, IF_MATCH, ETAG],
        responses={200: TaskSerializer, 403: READ_ONLY, 404: NOT_FOUND, 412: STALE},
    )
    def patch(self, request: Request, **kwargs: Any) -> Response:
        task = services.task_update(
            user=request.user,
            task_id=_task_id(kwargs),
            data=validated(TaskPatchSerializer, request),
            if_match=request.headers.get("If-Match"),
            meta=RequestContext.from_request(request),
        )
        return _task_response(task)

    @extend_schema(
        summary="Move a task to the trash",
        parameters=[TASK_ID, IF_MATCH],
        responses={204: OpenApiResponse(description="In the trash."), 403: READ_ONLY, 404: NOT_FOUND, 412: STALE},
    )
    def delete(self, request: Request, **kwargs: Any) -> Response:
        services.task_delete(
            user=request.user,
            task_id=_task_id(kwargs),
            if_match=request.headers.get("If-Match"),
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskCompleteView(APIView):
    token_scope = "tasks"
    schema = TaskSchema()

    @extend_schema(
        summary="Complete a task",
        description="Sets status completed and stamps completed_at (unchanged if already completed).",
        request=None,
        parameters=[TASK_ID, IF_MATCH, ETAG],
        responses={200: TaskSerializer, 403: READ_ONLY, 404: NOT_FOUND, 412: STALE},
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        task = services.task_complete(
            user=request.user,
            task_id=_task_id(kwargs),
            if_match=request.headers.get("If-Match"),
            meta=RequestContext.from_request(request),
        )
        return _task_response(task)


class TaskReopenView(APIView):
    token_scope = "tasks"
    schema = TaskSchema()

    @extend_schema(
        summary="Reopen a task",
        description="Sets status pending and clears completed_at.",
        request=None,
        parameters=[TASK_ID, IF_MATCH, ETAG],
        responses={200: TaskSerializer, 403: READ_ONLY, 404: NOT_FOUND, 412: STALE},
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        task = services.task_reopen(
            user=request.user,
            task_id=_task_id(kwargs),
            if_match=request.headers.get("If-Match"),
            meta=RequestContext.from_request(request),
        )
        return _task_response(task)


class TaskRestoreView(APIView):
    token_scope = "tasks"
    schema = TaskSchema()

    @extend_schema(
        summary="Restore a task from the trash",
        request=None,
        parameters=[TASK_ID, ETAG],
        responses={
            200: TaskSerializer,
            403: READ_ONLY,
            404: OpenApiResponse(ErrorSerializer, "Not in a trash you can see (code not_found)."),
        },
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        task = services.task_restore(
            user=request.user, task_id=_task_id(kwargs), meta=RequestContext.from_request(request)
        )
        return _task_response(task)


class TaskMoveView(APIView):
    token_scope = "tasks"
    schema = TaskSchema()

    @extend_schema(
        summary="Move a task",
        description="To another project (you must edit tasks in both; null: your personal tasks), under another "
        "parent (a task of the destination; null: top level), right after the sibling `after` (null or left out: "
        "first). Its subtasks move along; assignees who are not members of the destination are taken off.",
        request=MoveSerializer,
        parameters=[TASK_ID, ETAG],
        responses={
            200: TaskSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                "A project, parent or after you cannot use there: a cycle, a fifth level, not a sibling "
                "(code validation_error).",
            ),
            403: OpenApiResponse(ErrorSerializer, "You only read one of the projects (code permission_denied)."),
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, **kwargs: Any) -> Response:
        data = validated(MoveSerializer, request)
        task = moves.task_move(
            user=request.user,
            task_id=_task_id(kwargs),
            meta=RequestContext.from_request(request),
            project=data.get("project", moves.UNSET),
            parent=data.get("parent", moves.UNSET),
            after=data.get("after"),
        )
        return _task_response(task)


# Many tasks -----------------------------------------------------------------------------------------------------


class BulkView(APIView):
    token_scope = "tasks"
    schema = TaskSchema()

    @extend_schema(
        summary="Apply one action to many tasks",
        description="All or nothing, in one transaction. `complete`, `reopen`, `delete` and `update` take live "
        "tasks, `restore` takes tasks in the trash; `update` changes only status, priority, due_at and tags "
        "(given in `fields`).",
        request=BulkSerializer,
        responses={
            200: BulkResultSerializer,
            403: OpenApiResponse(
                ErrorSerializer, "An id is a task you may only read: nothing changed (code permission_denied)."
            ),
            404: OpenApiResponse(ErrorSerializer, "An id is not a task you can see: nothing changed (code not_found)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(BulkSerializer, request)
        updated = services.tasks_bulk(
            user=request.user,
            action=data["action"],
            ids=data["ids"],
            fields=data.get("fields"),
            meta=RequestContext.from_request(request),
        )
        return Response({"updated": updated})


class StatsView(APIView):
    token_scope = "tasks"
    schema = TaskSchema()

    @extend_schema(
        summary="Counts of your tasks",
        parameters=[
            OpenApiParameter(
                "project",
                ID_OR_NONE_SCHEMA,
                OpenApiParameter.QUERY,
                description="A project's id (its tasks), or none (your personal tasks); left out: every task you see.",
            )
        ],
        responses={200: StatsSerializer},
    )
    def get(self, request: Request) -> Response:
        project = parse_id_or_none(request.query_params, "project")
        return Response(task_stats_for(user=request.user, project=project))


# Export -----------------------------------------------------------------------------------------------------

EXPORT_CHUNK_ROWS = 2000
_FLUSH_BYTES = 64 * 1024
# A cell starting with one of these is a formula to a spreadsheet (CSV injection); a leading ' defuses it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = TAG_SEPARATOR.join(value)
    elif isinstance(value, list):  # reminders: JSON in one cell
        value = json.dumps(value, separators=(",", ":")) if value else ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_chunks(tasks: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TASK_FIELDS)
    for task in tasks:
        writer.writerow([_csv_cell(task[field]) for field in TASK_FIELDS])
        if buffer.tell() >= _FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_chunks(tasks: Iterable[dict[str, Any]]) -> Iterator[str]:
    yield "["
    separator = ""
    parts: list[str] = []
    size = 0
    for task in tasks:
        part = json.dumps(task, ensure_ascii=False, separators=(",", ":"))
        parts.append(part)
        size += len(part)
        if size >= _FLUSH_BYTES:
            yield separator + ",".join(parts)
            separator, parts, size = ",", [], 0
    if parts:
        yield separator + ",".join(parts)
    yield "]"


_EXPORTS = {
    "json": ("application/json", _json_chunks),
    "csv": ("text/csv; charset=utf-8", _csv_chunks),
}


class ExportView(GenericAPIView[Task]):
    token_scope = "tasks"
    schema = TaskSchema()
    filter_backends = [TaskFilterBackend]
    filterset_class = TaskFilter
    pagination_class = None
    serializer_class = TaskSerializer
    queryset = Task.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Task.objects.none()
        return selectors.task_list_for(user=self.request.user)

    @extend_schema(
        summary="Download your tasks",
        description="Every live task (or those the list filters select), in the list's order, streamed as a file. "
        "JSON: a list of tasks as the API shows them. CSV: a header row of the same field names, tags joined "
        "with ';', cells that a spreadsheet would read as a formula prefixed with '.",
        parameters=[EXPORT_FORMAT],
        responses={
            (200, "application/json"): TaskSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, "CSV with a header row."),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        export_format = request.query_params.get("format") or "json"  # empty, as on every list: left out
        if export_format not in _EXPORTS:
            raise ValidationFailed.on("format", "Choose json or csv.")
        rows = self.filter_queryset(self.get_queryset()).values_list(*TASK_COLUMNS)
        services.tasks_export_record(
            user=request.user, export_format=export_format, meta=RequestContext.from_request(request)
        )
        content_type, chunks = _EXPORTS[export_format]
        tasks = (task_row_to_dict(row) for row in rows.iterator(chunk_size=EXPORT_CHUNK_ROWS))
        response = StreamingHttpResponse(chunks(tasks), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="tasks.{export_format}"'
        response["Cache-Control"] = "no-store"
        return response


# Compatibility routes: /api/{user_id}/tasks/... --------------------------------------------------------------

USER_ID = OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Your own user id.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, "user_id is not you (code permission_denied).")


class CompatTaskSchema(TaskSchema):
    """The compatibility routes: their own tag, the `user_id` path parameter and its 403."""

    def get_tags(self) -> list[str]:
        return ["tasks (user-scoped routes)"]

    def get_override_parameters(self) -> list[Any]:
        return [USER_ID, *super().get_override_parameters()]

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        bodies.setdefault("403", self._get_response_for_code(FORBIDDEN, "403", direction=direction))
        return bodies


class _CompatMixin(APIView):
    permission_classes = [IsAuthenticated, IsPathUser]
    schema = CompatTaskSchema()


class CompatTaskListView(_CompatMixin, TaskListView):
    pass


class CompatTaskDetailView(_CompatMixin, TaskDetailView):
    pass


class CompatTaskCompleteView(_CompatMixin, TaskCompleteView):
    # SPAs on this URL scheme complete with PATCH as well as POST.
    patch = TaskCompleteView.post

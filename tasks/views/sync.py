"""GET /api/v1/sync: a full sync in pages, then deltas (SPEC 4d). The design is in docs/architecture.md, "Sync".

The cursor is opaque to the client: a signed (django.core.signing, salted) record of the user it was issued
to, the change-log position it continues from, when that position was taken, and mid full sync or mid delta
where the next page starts. A cursor that does not verify, or was issued to someone else, is a 400 on `cursor`;
one older than the trash retention (30 days: what the log keeps) is 410 `sync_expired`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.core import signing
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import SessionCheckedByRead, pending_session
from config.http.errors import Gone, ValidationFailed
from config.http.schema import ErrorSerializer
from tasks.selectors import sync as selectors
from tasks.selectors.sync import Position
from tasks.serializers.projects import ProjectSerializer
from tasks.serializers.tasks import TaskSerializer

SALT = "tasks.sync.cursor"
# As long as the trash keeps a deleted task, and the change log its rows (pruned a day later).
RETENTION = timedelta(days=30)
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_PHASES = ("projects", "tasks")


class SyncExpired(Gone):
    code = "sync_expired"
    default_detail = "This sync cursor is too old; start again with a full sync (no cursor)."


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed.on("cursor", "Not a cursor this API issued to you; start again without one.")


@dataclass(frozen=True)
class Cursor:
    """Where a client stands: the change-log position it has seen (and when it was taken); mid full sync, the
    keyset of the next page; mid delta, the key of the next page and the position the delta ends at."""

    position: Position
    taken_at: int
    full_key: tuple[str, int] | None = None
    delta_key: tuple[str, int] | None = None
    delta_end: Position | None = None
    delta_end_at: int = 0

    def encode(self, *, user: Any) -> str:
        payload: dict[str, Any] = {"u": str(user.pk), "x": self.position.to_list(), "t": self.taken_at}
        if self.full_key is not None:
            payload["k"] = list(self.full_key)
        if self.delta_key is not None and self.delta_end is not None:
            payload["d"] = [*self.delta_key, self.delta_end_at, self.delta_end.to_list()]
        return signing.dumps(payload, salt=SALT, compress=True)


def _key(value: Any) -> tuple[str, int]:
    if not (isinstance(value, list) and len(value) == 2 and value[0] in _PHASES and isinstance(value[1], int)):
        raise _bad_cursor()
    return (value[0], value[1])


def decode_cursor(raw: str, *, user: Any) -> Cursor:
    """The cursor this API issued to this user; 400 or 410 as the module says."""
    try:
        payload = signing.loads(raw, salt=SALT)
    except signing.BadSignature:
        raise _bad_cursor() from None
    if not isinstance(payload, dict) or payload.get("u") != str(user.pk):
        raise _bad_cursor()
    position, taken_at = Position.from_list(payload.get("x")), payload.get("t")
    if position is None or not isinstance(taken_at, int):
        raise _bad_cursor()
    cursor = Cursor(position, taken_at)
    if "k" in payload:
        cursor = replace(cursor, full_key=_key(payload["k"]))
    elif "d" in payload:
        delta = payload["d"]
        if not isinstance(delta, list) or len(delta) != 4 or not isinstance(delta[2], int):
            raise _bad_cursor()
        end = Position.from_list(delta[3])
        if end is None:
            raise _bad_cursor()
        cursor = replace(cursor, delta_key=_key(delta[:2]), delta_end=end, delta_end_at=delta[2])
    if timezone.now().timestamp() - taken_at > RETENTION.total_seconds():
        raise SyncExpired()
    return cursor


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    text = raw.strip()
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else 0
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationFailed.on("limit", f"Enter a whole number between 1 and {MAX_LIMIT}.")
    return value


# OpenAPI -------------------------------------------------------------------------------------------------------


class RemovedSerializer(serializers.Serializer[Any]):
    projects = serializers.ListField(child=serializers.IntegerField(), help_text="Ids to drop from your copy.")
    tasks = serializers.ListField(child=serializers.IntegerField(), help_text="Ids to drop from your copy.")


class SyncSerializer(serializers.Serializer[Any]):
    cursor = serializers.CharField(help_text="Opaque: send it back as ?cursor= on the next call.")
    full = serializers.BooleanField(help_text="true for the pages of a full sync (no cursor, or its continuation).")
    has_more = serializers.BooleanField(help_text="More pages of this sync: call again with the cursor now.")
    projects = ProjectSerializer(many=True, help_text="Created or changed projects, as GET /projects/ shows them.")
    tasks = TaskSerializer(many=True, help_text="Created or changed live tasks, as GET /tasks/ shows them.")
    removed = RemovedSerializer(help_text="What you can no longer see (deleted, trashed, moved away, left).")


class SyncSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        return ["sync"]


CURSOR = OpenApiParameter(
    "cursor",
    # django.core.signing's compressed, URL-safe form: base64url segments joined by colons.
    {"type": "string", "pattern": r"^\.?[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)+$"},
    OpenApiParameter.QUERY,
    description="The cursor of your last answer; left out: a full sync.",
)
LIMIT = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    OpenApiParameter.QUERY,
    description=f"Objects (and removed ids) per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
)


class SyncView(SessionCheckedByRead, APIView):
    schema = SyncSchema()
    # It answers tasks and projects: an API token needs both read scopes.
    token_scope = ("tasks", "projects")

    @extend_schema(
        summary="Sync your projects and tasks",
        description="Without a cursor: every project and live task you can see, in pages while `has_more` "
        "(`full: true`). With the cursor of your last answer: what changed since, as the objects now are, and "
        "in `removed` the ids you can no longer see. Apply each answer in order: your copy then equals what "
        "the lists show. A change may be reported twice, never missed. Full syncs and deltas alike come in pages "
        "of at most `limit` objects and ids: call again with the new cursor while `has_more`.",
        parameters=[CURSOR, LIMIT],
        responses={
            200: SyncSerializer,
            400: OpenApiResponse(
                ErrorSerializer, "A malformed, edited or foreign cursor, or a bad limit (code validation_error)."
            ),
            410: OpenApiResponse(
                ErrorSerializer, "The cursor is older than 30 days (code sync_expired): sync again without one."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        limit = _limit(request)
        raw = request.query_params.get("cursor")
        user = request.user
        if not raw:
            # The delta position is taken before the first page: whatever changes while the pages are read
            # comes in the first delta.
            cursor = Cursor(
                selectors.change_position(session=pending_session(request)),
                int(timezone.now().timestamp()),
                full_key=("projects", 0),
            )
        else:
            cursor = decode_cursor(raw, user=user)
        if cursor.full_key is not None:
            page = selectors.sync_full_page(user=user, key=cursor.full_key, limit=limit)
            full, following = True, replace(cursor, full_key=page.next_key)
        else:
            end, end_at = cursor.delta_end, cursor.delta_end_at
            if end is None:
                # Taken before the rows are read: the next delta starts where this one's read is known complete.
                end, end_at = (
                    selectors.change_position(session=pending_session(request)),
                    int(timezone.now().timestamp()),
                )
            page = selectors.sync_changes_since(
                user=user, position=cursor.position, after=cursor.delta_key, limit=limit
            )
            full = False
            if page.next_key is None:
                following = Cursor(end, end_at)
            else:
                following = replace(cursor, delta_key=page.next_key, delta_end=end, delta_end_at=end_at)
        batch = page.batch
        return Response(
            {
                "cursor": following.encode(user=user),
                "full": full,
                "has_more": page.next_key is not None,
                "projects": batch.projects,
                "tasks": batch.tasks,
                "removed": {"projects": batch.removed_projects, "tasks": batch.removed_tasks},
            }
        )

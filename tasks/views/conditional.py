"""Conditional GET on the task and project lists: an `ETag` for the exact query (and page), and 304 to a
matching `If-None-Match`, answered from the change log without building the page.

The ETag carries a change-log position taken before the page was read (`change_position()`: the transactions
it covers had all finished, so the page saw them) and an HMAC of the user, path, query string and position.
It still holds while no row of what the user sees (or saw) exists outside that position: one indexed EXISTS
query, `changed_since`. A write that was in flight while the page was read is outside the position, so it
invalidates the tag when it commits, however late.
"""

from __future__ import annotations

from django.utils.crypto import constant_time_compare, salted_hmac
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import pending_session
from tasks.selectors.sync import Position, change_position, changed_since

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The list's ETag: 304 while it holds."
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="Validates this exact page and query (none with `overdue`).",
)
NOT_MODIFIED = OpenApiResponse(description="If-None-Match matched: nothing you see has changed; no body.")

_SALT = "tasks.list.etag"
# Filters whose answer moves with the clock alone (overdue is "due before now"): no validator can vouch for them.
_TIME_DEPENDENT = ("overdue",)


def _time_dependent(request: Request) -> bool:
    return any(name in request.query_params for name in _TIME_DEPENDENT)


def _digest(request: Request, position: str) -> str:
    query = request.META.get("QUERY_STRING", "")
    return salted_hmac(_SALT, f"{request.user.pk}|{request.path}|{query}|{position}", algorithm="sha256").hexdigest()[
        :32
    ]


def _encode(position: Position) -> str:
    return "-".join(str(value) for value in position.to_list())


def _position(request: Request, tag: str) -> Position | None:
    """The position of a tag this API issued for this user and exact request, else None."""
    value = tag.strip().removeprefix("W/").strip('"')
    encoded, _, digest = value.partition(".")
    if not constant_time_compare(digest, _digest(request, encoded)):
        return None
    return Position.from_list([int(part) for part in encoded.split("-")])


def not_modified(request: Request) -> Response | None:
    """A 304 when If-None-Match holds a tag this API issued for this request that still holds, else None."""
    if _time_dependent(request):
        return None
    header = request.headers.get("If-None-Match")
    if header:
        for tag in header.split(",")[:8]:
            position = _position(request, tag)
            if position is not None and not changed_since(
                user=request.user, position=position, session=pending_session(request)
            ):
                etag = tag.strip()
                return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    return None


def etag_for(request: Request, position: Position | None) -> str | None:
    """The ETag of a page read at `position` (or at a position taken before it was read)."""
    if position is None or _time_dependent(request):
        return None
    encoded = _encode(position)
    return f'W/"{encoded}.{_digest(request, encoded)}"'


def list_etag(request: Request) -> tuple[str | None, Response | None]:
    """(the ETag to send with the page, or a 304 to answer instead of building it). Call it before reading
    the page: its position must not be later than the page's read."""
    response = not_modified(request)
    if response is not None:
        return response["ETag"], response
    if _time_dependent(request):
        return None, None
    return etag_for(request, change_position()), None


def with_etag(response: Response, etag: str | None) -> Response:
    if etag is not None and response.status_code == status.HTTP_200_OK:
        response["ETag"] = etag
    return response

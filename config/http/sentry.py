"""Error tracking: unexpected exceptions go to Sentry (any server speaking its protocol) when SENTRY_DSN is set.

What is sent: the exception and its stack (without local variables), the request's method, path and a few
harmless headers, the request id as the tag `request_id` (the same id as the log line and the answer's
`X-Request-ID`), and the log lines before it as breadcrumbs. What is never sent: request bodies, cookies,
query strings, the `Authorization` header, or anything that looks like a password or a token (keys naming a
secret lose their value, and JWTs, API tokens and `Bearer ...` values are replaced wherever they appear).
Expected failures are not reported: 4xx answers, and 503s for an unreachable database or Redis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from config.http.logging import request_id_var
from config.http.redact import REDACTED, is_secret_key, redact_credentials

if TYPE_CHECKING:
    from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

# Request headers worth having in a report; every other one is dropped (Authorization, Cookie, custom ones).
_SAFE_HEADERS = frozenset({"accept", "content-length", "content-type", "host", "user-agent", "x-request-id"})


def init_sentry(*, dsn: str, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        # send_default_pii stays off (its default): no user, no client address.
        max_request_body_size="never",
        include_local_variables=False,
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 12:
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_key(key) else _clean(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_clean(item, depth + 1) for item in value]
    if isinstance(value, str):
        return redact_credentials(value)
    return value


def _request(request: dict[str, Any]) -> dict[str, Any]:
    headers = request.get("headers") or {}
    return {
        "method": request.get("method"),
        "url": str(request.get("url") or "").split("?", 1)[0],
        "headers": {name: value for name, value in headers.items() if name.lower() in _SAFE_HEADERS},
    }


def before_send(sdk_event: Event, hint: Hint) -> Event:
    event = cast("dict[str, Any]", sdk_event)
    request_id = request_id_var.get()
    if request_id != "-":
        event.setdefault("tags", {})["request_id"] = request_id
    if "request" in event:
        event["request"] = _request(event["request"])
    for frame_list in _frames(event):
        for frame in frame_list:
            frame.pop("vars", None)
    # Messages, exception values, breadcrumbs, contexts, extras: nothing credential-like survives.
    return cast("Event", {key: value if key == "request" else _clean(value) for key, value in event.items()})


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb:
    return cast("Breadcrumb", _clean(crumb))


def _frames(event: dict[str, Any]) -> list[list[dict[str, Any]]]:
    found = []
    for exception in (event.get("exception") or {}).get("values") or []:
        found.append((exception.get("stacktrace") or {}).get("frames") or [])
    for thread in (event.get("threads") or {}).get("values") or []:
        found.append((thread.get("stacktrace") or {}).get("frames") or [])
    return found

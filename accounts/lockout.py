"""Lockout after repeated failed logins, on django-axes.

The rule: `LOCKOUT_FAILURES` consecutive failed logins for one account from one client address lock that
account for that address for `LOCKOUT_MINUTES`. The failure that reaches the limit is still answered as a
failure (401); the attempts after it are refused (429 `account_locked` with `Retry-After`) before any password
is checked, until the cool-off ends or staff unlock the account. A success resets the count.

Where the counts live: axes' database handler (`AXES_HANDLER`), i.e. `axes_accessattempt` rows in the one
shared database. Every app instance and worker reads the same rows, the count survives restarts and a
Redis flush, failures of one attempt row are incremented under `SELECT ... FOR UPDATE`, and the admin lists
the rows as "access attempts". A failure costs a few indexed queries, which is fine on the login path.

Both doors share one count: the API login (`accounts.services.user_login`) and the admin login (axes'
backend and middleware) key attempts on the normalised email (`username_from`) and the trusted client
address (`config.http.net.client_ip`), so a lock engaged through one also holds on the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_credentials, get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import User, normalize_email
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http import metrics

# Set on a request whose lockout outcome the API login answers itself, so AxesMiddleware leaves its
# response alone.
_ANSWERED_BY_SERVICE = "_taskdesk_lockout_answered"


def username_from(request: HttpRequest | None, credentials: dict[str, Any] | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the normalised email, whichever door the attempt came through.

    The API passes the email as `username` to `authenticate`; the admin's login form posts `username`.
    Normalising here means "Ada@Example.com" and "ada@example.com" count against the same account.
    """
    value: Any = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    elif request is not None:
        value = request.POST.get("username") or request.POST.get("email")
    if not isinstance(value, str) or not value.strip():
        return None
    return normalize_email(value)


@dataclass(frozen=True, slots=True)
class LockState:
    locked: bool
    retry_after: int = 0


def _credentials(email: str) -> dict[str, Any]:
    return get_credentials(normalize_email(email))


def _cool_off(request: HttpRequest | None) -> timedelta:
    return get_cool_off(request) or timedelta(minutes=settings.LOCKOUT_MINUTES)


def _seconds_left(*, request: HttpRequest, email: str, limit: int) -> int:
    """Seconds until the failures still inside the cool-off window fall below the limit.

    Axes keeps one row per (account, address, user agent) and sums their failures, each row aging out
    `cool_off` after its last failure; the lock lifts when the row that brings the sum to the limit ages out.
    """
    cool_off = _cool_off(request)
    now = timezone.now()
    rows = (
        AccessAttempt.objects.filter(
            username=normalize_email(email),
            ip_address=getattr(request, "axes_ip_address", None),
            attempt_time__gte=now - cool_off,
        )
        .order_by("-attempt_time")
        .values_list("attempt_time", "failures_since_start")
    )
    total = 0
    until: datetime | None = None
    for attempt_time, failures in rows:
        total += failures
        if total >= limit:
            until = attempt_time + cool_off
            break
    if until is None:
        return 1
    return max(1, math.ceil((until - now).total_seconds()))


def lock_state(*, request: HttpRequest, email: str) -> LockState:
    """Whether this account is locked for the request's client address, and for how long."""
    credentials = _credentials(email)
    if AxesProxyHandler.is_allowed(request, credentials):
        return LockState(locked=False)
    limit = get_failure_limit(request, credentials)
    return LockState(locked=True, retry_after=_seconds_left(request=request, email=email, limit=limit))


def answered_by_service(request: HttpRequest) -> None:
    """Marks a login request whose lockout outcome the caller answers (see `lockout_response`)."""
    setattr(request, _ANSWERED_BY_SERVICE, True)


def failure_engaged_lock(request: HttpRequest) -> bool:
    """After a failed `authenticate`: did exactly this failure bring the count to the limit?

    Axes sets `axes_failures_since_start` only when it recorded the failure; an attempt refused because the
    account was already locked leaves it unset (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is off, so a
    refused attempt neither counts nor extends the cool-off).
    """
    failures = getattr(request, "axes_failures_since_start", None)
    if not getattr(request, "axes_locked_out", False) or failures is None:
        return False
    return bool(failures == get_failure_limit(request, getattr(request, "axes_credentials", None)))


def refused_while_locked(request: HttpRequest) -> bool:
    """After a failed `authenticate`: was the attempt refused by axes because the lock already held?"""
    return bool(getattr(request, "axes_locked_out", False)) and not failure_engaged_lock(request)


def clear_for_address(*, request: HttpRequest, email: str) -> int:
    """A successful login resets the count for this account from this address (AXES_RESET_ON_SUCCESS).

    Axes does this on Django's `user_logged_in` signal, which token logins never send.
    """
    AxesProxyHandler.update_request(request)
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    return reset(ip=address, username=normalize_email(email))


def clear_for_account(*, email: str) -> int:
    """Staff unlock: forgets every failure of this account, from every address. Returns rows removed."""
    return reset(username=normalize_email(email))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse | None:
    """AXES_LOCKOUT_CALLABLE: what AxesMiddleware answers for a request axes flagged as locked out.

    - The API login answered already (401 for the failure that engaged the lock, 429 `account_locked` after
      it), in the SPEC's JSON shape: keep that answer.
    - The failure that engaged the lock through another door (the admin login form) is still answered as a
      failed login, like the API's 5th failure; it is recorded in the audit log here, because that door
      does not go through `user_login`.
    - Any later attempt gets the lockout page: 429 with `Retry-After`.
    """
    if getattr(request, _ANSWERED_BY_SERVICE, False) and original_response is not None:
        return original_response
    email = username_from(request, credentials) or ""
    if failure_engaged_lock(request) and original_response is not None:
        record_locked_out(request=request, email=email)
        return original_response
    limit = get_failure_limit(request, credentials)
    retry_after = _seconds_left(request=request, email=email, limit=limit) if email else 1
    context = {
        **admin.site.each_context(request),
        "title": "Account locked",
        "retry_after": retry_after,
        "retry_after_minutes": max(1, math.ceil(retry_after / 60)),
    }
    response = TemplateResponse(request, "admin/locked_out.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    response.render()
    return response


def record_locked_out(*, request: HttpRequest, email: str) -> None:
    """The audit event and the metric for the lock engaging, once per lock."""
    metrics.locked_out()
    user = User.objects.filter(email=normalize_email(email)).first() if email else None
    audit_record(
        event=EventType.LOCKED_OUT,
        user=user,
        email=normalize_email(email),
        meta=RequestContext.from_request(request),
        details={
            "failures": get_failure_limit(request, None),
            "lockout_seconds": int(_cool_off(request).total_seconds()),
        },
    )

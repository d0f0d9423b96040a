"""The admin's login door on django-axes: its backend and middleware count failures of the admin login form
in the same rows, keyed the same way, as the API login (accounts/lockout.py holds the rule).

These are the callables axes' settings name (AXES_USERNAME_CALLABLE, AXES_LOCKOUT_CALLABLE). They are the
only code that reads axes' attributes off a request; no service does.
"""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_failure_limit
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts import lockout
from accounts.models import normalize_email
from audit.context import RequestContext
from config.http.net import client_ip


def username_from(request: HttpRequest | None, credentials: dict[str, Any] | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the normalised email of the admin login form (`username`)."""
    value: Any = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    elif request is not None:
        value = request.POST.get("username") or request.POST.get("email")
    if not isinstance(value, str) or not value.strip():
        return None
    return normalize_email(value)


def _failure_engaged_lock(request: HttpRequest) -> bool:
    """After a failed admin login: did exactly this failure bring the count to the limit?

    Axes sets `axes_failures_since_start` only when it recorded the failure; an attempt refused because the
    account was already locked leaves it unset (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is off).
    """
    failures = getattr(request, "axes_failures_since_start", None)
    if not getattr(request, "axes_locked_out", False) or failures is None:
        return False
    return bool(failures == get_failure_limit(request, getattr(request, "axes_credentials", None)))


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse | None:
    """AXES_LOCKOUT_CALLABLE: what AxesMiddleware answers for a request axes flagged as locked out.

    - The failure that engaged the lock through another door (the admin login form) is still answered as a
      failed login, like the API's 5th failure; it is recorded in the audit log here, because that door
      does not go through `user_login`.
    - Any later attempt gets the lockout page: 429 with `Retry-After`.
    """
    email = username_from(request, credentials) or ""
    if _failure_engaged_lock(request) and original_response is not None:
        lockout.record_locked_out(email=email, meta=RequestContext.from_request(request))
        return original_response
    state = lockout.lock_state(email=email, ip_address=client_ip(request) or None) if email else None
    retry_after = state.retry_after if state is not None and state.locked else 1
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

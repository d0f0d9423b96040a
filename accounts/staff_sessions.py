"""How long a staff member's admin sign-in (a Django session cookie) lasts.

Two limits, as for the API's sessions: it ends after ADMIN_SESSION_IDLE_MINUTES without a request
(SESSION_COOKIE_AGE, re-armed by every request since SESSION_SAVE_EVERY_REQUEST) and, however busy, after
ADMIN_SESSION_MAX_HOURS from sign-in (this middleware). The admin's next page is then its sign-in form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

SIGNED_IN_AT = "taskdesk_signed_in_at"


class StaffSessionLifetimeMiddleware:
    """Signs an admin session out once it is ADMIN_SESSION_MAX_HOURS old.

    The first request of a signed-in session stamps its start (the sign-in form redirects straight to the
    admin, so that is the moment of sign-in). API requests carry no session cookie and are not looked at:
    reading `request.session` would add `Vary: Cookie` to every API answer.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            now = int(timezone.now().timestamp())
            started = request.session.get(SIGNED_IN_AT)
            if not isinstance(started, int):
                request.session[SIGNED_IN_AT] = now
            elif now - started >= int(timedelta(hours=settings.ADMIN_SESSION_MAX_HOURS).total_seconds()):
                logout(request)
        return self.get_response(request)

"""Who acted and from where, as the services record it: one small typed value, built once at the door.

A view builds it from the request (`RequestContext.from_request`), the admin from the staff member's
request, a command or a background job uses `SYSTEM` (or `RequestContext.system(actor=...)`). Services take
it as plain data and never see an HttpRequest, so they run the same from every door.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest

from config.http.logging import request_id_var
from config.http.net import client_ip

USER_AGENT_MAX = 400


@dataclass(frozen=True, slots=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""
    # The signed-in user who did it (None: anonymous, a command, a job). The audit event's `actor`.
    actor: Any = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> RequestContext:
        # Accept a DRF Request too: it proxies META, but the client address wants the HttpRequest.
        raw = getattr(request, "_request", request)
        user = getattr(request, "user", None)
        return cls(
            ip_address=client_ip(raw) or None,
            user_agent=raw.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
            request_id=getattr(raw, "request_id", "") or request_id_var.get(),
            actor=user if user is not None and getattr(user, "is_authenticated", False) else None,
        )

    def acting_as(self, actor: Any) -> RequestContext:
        """The same context with another actor (a login: the user is known only once it succeeds)."""
        return replace(self, actor=actor)


SYSTEM = RequestContext(request_id="system")

"""Where a request came from, as the services record it."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from config.http.logging import request_id_var
from config.http.net import client_ip

USER_AGENT_MAX = 400


@dataclass(frozen=True, slots=True)
class RequestMeta:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> RequestMeta:
        # Accept a DRF Request too: it proxies META, but the client address wants the HttpRequest.
        raw = getattr(request, "_request", request)
        return cls(
            ip_address=client_ip(raw) or None,
            user_agent=raw.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
            request_id=getattr(raw, "request_id", "") or request_id_var.get(),
        )


SYSTEM = RequestMeta(request_id="system")

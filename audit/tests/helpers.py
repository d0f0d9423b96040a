"""What the audit tests share: a client that says where it comes from, and checks on recorded events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from rest_framework.test import APIClient

from audit.models import Event
from audit.serializers import EventSerializer

USER_AGENT = "AuditTest/1.0 (+probe)"
IP_ADDRESS = "203.0.113.7"


class Origin:
    """Request headers that make every request identifiable in the log: a fixed address and user agent,
    and a fresh X-Request-ID per request (`rid()` makes one, `extra(rid)` sends it)."""

    def __init__(self, ip: str = IP_ADDRESS, user_agent: str = USER_AGENT) -> None:
        self.ip = ip
        self.user_agent = user_agent

    @staticmethod
    def rid() -> str:
        return f"req-{uuid.uuid4().hex}"

    def extra(self, request_id: str) -> dict[str, str]:
        return {"HTTP_X_REQUEST_ID": request_id, "HTTP_USER_AGENT": self.user_agent, "REMOTE_ADDR": self.ip}


def call(client: APIClient, method: str, path: str, data: Any = None, *, origin: Origin, rid: str) -> Any:
    response = getattr(client, method)(path, data, format="json", **origin.extra(rid))
    assert response["X-Request-ID"] == rid
    return response


def events_of(request_id: str) -> list[Event]:
    return list(Event.objects.filter(request_id=request_id).order_by("id"))


def assert_event(
    event: Event,
    *,
    type: str,
    user: Any,
    email: str,
    origin: Origin,
    request_id: str,
    details: dict[str, Any],
) -> None:
    assert event.event == type
    assert event.user_id == (user.pk if user is not None else None)
    assert event.email == email
    assert event.ip_address == origin.ip
    assert event.user_agent == origin.user_agent
    assert event.request_id == request_id
    assert event.details == details
    offset = event.created_at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0


def assert_no_secrets(events: list[Event], *secrets: str) -> None:
    """No secret appears anywhere in any event as the API shows it."""
    body = json.dumps([EventSerializer(event).data for event in events])
    for secret in secrets:
        assert secret
        assert secret not in body, f"a secret leaked into the audit log: {secret[:12]}..."


ACCOUNT_SERVICE_MODULES = ("account", "sessions", "signin", "staff", "two_factor")


@contextmanager
def patch_accounts_audit(**kwargs: Any) -> Iterator[mock.MagicMock]:
    """One mock standing in for `audit_record` in every accounts services module (each imports it)."""
    stand_in = mock.MagicMock(**kwargs)
    with ExitStack() as stack:
        for module in ACCOUNT_SERVICE_MODULES:
            stack.enter_context(mock.patch(f"accounts.services.{module}.audit_record", stand_in))
        yield stand_in

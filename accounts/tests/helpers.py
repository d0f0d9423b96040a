"""Assertions shared by the account tests."""

from __future__ import annotations

from typing import Any

import jwt
from rest_framework.test import APIClient


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the SPEC's JSON error with this status and code; returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    return body


def sid(client: APIClient) -> str:
    """The session id carried by the client's access token."""
    return str(jwt.decode(client.tokens["access"], options={"verify_signature": False})["sid"])  # type: ignore[attr-defined]

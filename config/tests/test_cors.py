from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

ORIGIN = "http://localhost:3000"


def test_a_preflight_from_the_spa_may_send_the_headers_the_api_reads(api_client: Any) -> None:
    response = api_client.options(
        "/api/v1/tasks/",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, if-match, idempotency-key, x-request-id",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {header.strip() for header in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key", "x-request-id"} <= allowed


def test_the_spa_can_read_the_headers_it_relies_on(api_client: Any) -> None:
    response = api_client.get("/health", HTTP_ORIGIN=ORIGIN)
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    exposed = {header.strip().lower() for header in response["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "x-request-id", "retry-after", "content-disposition", "idempotent-replayed"} <= exposed


def test_another_origin_is_not_allowed(api_client: Any) -> None:
    response = api_client.get("/health", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response

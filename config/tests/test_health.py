"""GET /health: liveness, answered without a database query, even while the database is down."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_answers_200_without_a_single_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_it_stays_up_while_the_database_is_down() -> None:
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")):
        assert Client().get("/health").status_code == 200


def test_it_needs_no_token_and_ignores_a_bad_one() -> None:
    assert Client().get("/health", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 200


def test_head_works_too() -> None:
    assert Client().head("/health").status_code == 200


@pytest.mark.parametrize("path", ["/health", "/health/db", "/health/cache", "/health/ready", "/health/worker"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_a_json_405_not_an_html_csrf_page(path: str, method: str) -> None:
    response = Client(enforce_csrf_checks=True).generic(method, path)

    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response["Allow"] == "GET, HEAD"
    body = response.json()
    assert body["code"] == "method_not_allowed"
    assert body["request_id"] == response["X-Request-ID"]

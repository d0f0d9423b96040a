"""No 500 for any malformed input: odd methods, parameters, bodies and headers on every task route."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

ROUTES = [
    "/api/v1/tasks/",
    "/api/v1/tasks/{id}",
    "/api/v1/tasks/{id}/complete",
    "/api/v1/tasks/{id}/reopen",
    "/api/v1/tasks/{id}/restore",
    "/api/v1/tasks/trash/",
    "/api/v1/tasks/bulk/",
    "/api/v1/tasks/export/",
    "/api/v1/tasks/stats/",
]
JUNK_QUERIES = [
    "?page=-1",
    "?page=1e3",
    "?page_size=-1",
    "?ordering=password",
    "?ordering=,,,-",
    "?due_before=yesterday",
    "?due_after=%00",
    "?status[]=x",
    "?priority=%F0%9F%92%A9",
    "?tag=%FF%FE",
    "?search=%25%25%25",
    "?format=",
    "?overdue=%00",
]
JUNK_BODIES: list[Any] = [None, "", "null", "[]", '"text"', "123", '{"title": {"nested": 1}}', '{"ids": null}', "\x00"]


@pytest.mark.parametrize("route", ROUTES)
def test_no_method_query_or_body_gives_a_500(owner_client: Any, task: Any, route: str) -> None:
    path = route.format(id=task.id)
    for method in ("get", "post", "put", "patch", "delete", "options", "head"):
        for query in JUNK_QUERIES:
            response = getattr(owner_client, method)(path + query)
            assert response.status_code < 500, (method, path + query, response.content)
        for body in JUNK_BODIES:
            response = owner_client.generic(method.upper(), path, body or "", content_type="application/json")
            assert response.status_code < 500, (method, path, body, response.content)
            if response.status_code >= 400 and method != "head":
                assert set(response.json()) >= {"detail", "code", "request_id"}


def test_a_body_that_is_not_json_is_a_415(owner_client: Any) -> None:
    response = owner_client.generic(
        "POST", "/api/v1/tasks/", "title=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("header", ["HTTP_IF_MATCH", "HTTP_IF_NONE_MATCH", "HTTP_IDEMPOTENCY_KEY"])
def test_odd_header_values_are_not_a_500(owner_client: Any, task: Any, header: str) -> None:
    for value in ("", ",", '"', "W/", "*,*", "x" * 5000):
        for method, path in (
            ("get", f"/api/v1/tasks/{task.id}"),
            ("patch", f"/api/v1/tasks/{task.id}"),
            ("post", "/api/v1/tasks/"),
        ):
            response = getattr(owner_client, method)(path, {"title": "t"}, format="json", **{header: value})
            assert response.status_code < 500, (header, value, method)

"""The API's JSON renderer writes exactly what DRF's JSONRenderer writes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from config.http.renderers import FastJSONRenderer

CASES: list[Any] = [
    {"count": 2, "next": None, "previous": None, "results": [{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": []}]},
    {"at": datetime(2026, 12, 2, 8, 0, 0, 123456, tzinfo=UTC), "whole": datetime(2026, 1, 1, tzinfo=UTC)},
    {"naive": datetime(2026, 1, 1, 12, 30), "day": date(2026, 2, 3), "clock": time(4, 5, 6), "span": timedelta(1)},
    {"decimal": Decimal("1.50"), "uuid": uuid.UUID(int=7), "lazy": gettext_lazy("Not found.")},
    {"unicode": "ünïcødé, 東京, 🙂, \u200d, \u202e", "separators": "a\u2028b\u2029c", "quote": '"\\'},
    {"big": 2**70, "negative": -(2**63), "float": 0.1, "bool": True, "nested": [[[{"x": None}]]]},
    {1: "integer key", "ok": "string key"},
    ReturnDict({"id": 5}, serializer=None),  # type: ignore[call-overload]
    ReturnList([{"id": 5}], serializer=None),  # type: ignore[call-overload]
    [],
    "plain string",
]


@pytest.mark.parametrize("data", CASES)
def test_the_bytes_are_drfs(data: Any) -> None:
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_nothing_renders_as_an_empty_body() -> None:
    assert FastJSONRenderer().render(None) == b""


def test_an_indent_asked_for_in_the_media_type_is_honoured() -> None:
    body = FastJSONRenderer().render({"a": [1]}, "application/json; indent=2", {})
    assert body == JSONRenderer().render({"a": [1]}, "application/json; indent=2", {})
    assert json.loads(body) == {"a": [1]}


@pytest.mark.django_db
def test_the_api_answers_with_it(user: Any, login_as: Any) -> None:
    owner_client = login_as(user)
    created = owner_client.post("/api/v1/tasks/", {"title": "Line\u2028separated 🙂"}, format="json")
    assert created.status_code == 201
    listed = owner_client.get("/api/v1/tasks/")
    assert b"\\u2028" in listed.content
    assert listed.json()["results"][0]["title"] == "Line\u2028separated 🙂"
    assert listed.json()["results"][0]["created_at"].endswith("Z")

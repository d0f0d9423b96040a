"""One route: the page of 20 rows the floor serves."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# Twenty rows shaped like a page of the task list, so the floor serialises as many bytes as the list does.
ROWS = [
    {
        "id": 1000 + i,
        "title": f"Benchmark task {i}",
        "description": "Something to do, described in a sentence or two.",
        "status": "pending",
        "priority": "medium",
        "due_at": "2026-12-24T09:00:00Z",
        "tags": ["bench", f"group-{i % 5}"],
        "project": None,
        "parent": None,
        "assignees": [],
        "position": 1_700_000_000_000_000 + i,
        "comments_count": 0,
        "created_at": "2026-12-01T09:00:00Z",
        "updated_at": "2026-12-01T09:00:00Z",
        "completed_at": None,
    }
    for i in range(20)
]
PAGE = {"count": 20, "next": None, "previous": None, "results": ROWS}


class Floor(APIView):
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(PAGE)


urlpatterns = [path("floor", Floor.as_view())]

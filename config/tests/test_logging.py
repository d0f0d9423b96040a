from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from config.http.logging import JSONFormatter, RequestIDFilter, TextFormatter, request_id_var


def _record(message: str, *args: Any) -> logging.LogRecord:
    record = logging.LogRecord("taskdesk.request", logging.INFO, __file__, 1, message, args, None)
    RequestIDFilter().filter(record)
    return record


def test_a_newline_in_a_logged_path_cannot_forge_a_text_line() -> None:
    formatter = TextFormatter("%(levelname)s [%(request_id)s] %(message)s")
    line = formatter.format(_record("%s %s", "GET", "/health\n2026-11-24 INFO taskdesk.request [x] GET /admin/ 200"))
    assert "\n" not in line
    assert line.endswith("GET /health\\n2026-11-24 INFO taskdesk.request [x] GET /admin/ 200")


def test_json_lines_carry_the_request_id_and_extra_fields() -> None:
    token = request_id_var.set("req-123")
    try:
        record = _record("GET %s", "/x\ny")
        record.status = 200
        line = JSONFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["request_id"] == "req-123"
    assert payload["message"] == "GET /x\ny"
    assert payload["status"] == 200


@pytest.mark.django_db
def test_every_request_logs_one_line_with_method_path_status_and_request_id(
    api_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="taskdesk.request"):
        api_client.get("/health", HTTP_X_REQUEST_ID="trace-42")
    # The request fields arrive as `extra` attributes, which LogRecord does not declare.
    lines: list[Any] = [r for r in caplog.records if r.name == "taskdesk.request"]
    assert len(lines) == 1
    assert lines[0].request_id == "trace-42"
    assert (lines[0].method, lines[0].path, lines[0].status) == ("GET", "/health", 200)

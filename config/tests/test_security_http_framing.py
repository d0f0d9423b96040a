"""Request smuggling (ASVS 5.0 4.2.1): the HTTP server the app runs under refuses a request whose body length
could be read two ways, so a proxy and gunicorn can never disagree on where one request ends."""

from __future__ import annotations

import io

import pytest
from gunicorn.config import Config
from gunicorn.http.errors import InvalidHeader
from gunicorn.http.parser import RequestParser


class _Socket:
    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def recv(self, size: int) -> bytes:
        return self.data.read(size)


def parse(raw: bytes) -> list[tuple[str, str]]:
    request = next(RequestParser(Config(), _Socket(raw), ("127.0.0.1", 5000)))
    return list(request.headers)


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
        b"Content-Length: 4\r\nContent-Length: 5\r\n",
    ],
    ids=["cl-then-te", "te-then-cl", "two-lengths"],
)
def test_gunicorn_refuses_a_request_whose_length_is_ambiguous(headers: bytes) -> None:
    raw = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: api.example.com\r\n" + headers + b"\r\n0\r\n\r\n"

    with pytest.raises(InvalidHeader):
        parse(raw)


def test_a_plain_request_is_read_as_sent() -> None:
    raw = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 2\r\n\r\n{}"

    assert ("CONTENT-LENGTH", "2") in parse(raw)

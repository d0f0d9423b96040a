"""gzip for large API bodies, and never for a response that carries a secret (BREACH).

BREACH recovers a secret from a compressed response when the same body also reflects something the attacker
chose and the attacker can watch its size. So compression is kept to bodies that hold no secret:

- Never anything under `/api/v1/auth/`: tokens (login, register, refresh, MFA sign-in), TOTP secrets,
  recovery codes, new API tokens, and the endpoints that take email and password links. The whole prefix,
  not a list of views, so an endpoint added there later is covered without anyone remembering this file.
- Never a response that sets a cookie: a refresh token in cookie mode, the admin's session or CSRF cookie.
- Only JSON, CSV and the OpenAPI schema: the admin's HTML pages carry a CSRF token beside reflected input.

`Cache-Control: no-store` is no signal here: NoStoreForCredentialsMiddleware puts it on every response to a
request with credentials (the task list and the export included), since it decides by the request alone.

Below MIN_LENGTH bytes a body is sent as it is: a few hundred bytes save less than the CPU costs. Django's
GZipMiddleware does the rest: the `Vary: Accept-Encoding`, streaming bodies (the export) compressed chunk by
chunk, a body kept as it was when gzip would not make it shorter, and the random padding in the gzip header
(its own BREACH mitigation, for what gets through).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

MIN_LENGTH = 1024
CREDENTIAL_PATHS = ("/api/v1/auth/",)
COMPRESSIBLE_TYPES = ("application/json", "text/csv", "application/vnd.oai.openapi")


def compressible(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Whether this response may be gzipped: no secret in it, a data type, and large enough to be worth it."""
    if request.path.startswith(CREDENTIAL_PATHS) or response.cookies:
        return False
    if not response.get("Content-Type", "").startswith(COMPRESSIBLE_TYPES):
        return False
    # A streamed body's size is unknown until it is sent; the export streams because it is large.
    return bool(response.streaming) or len(response.content) >= MIN_LENGTH  # type: ignore[attr-defined]


class CompressionMiddleware(GZipMiddleware):
    """GZipMiddleware for the responses `compressible` allows; every other response passes untouched."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if not compressible(request, response):
            return response
        return super().process_response(request, response)

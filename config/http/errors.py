"""Domain errors raised by services. The exception handler turns each into the SPEC's error shape."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied


class ApplicationError(Exception):
    status_code = 400
    code = "bad_request"
    default_detail = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        self.errors = errors
        self.headers = headers or {}
        super().__init__(self.detail)


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "validation_error"
    default_detail = "Invalid input."

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        return cls(errors={field: [message]})


class AuthenticationError(ApplicationError):
    status_code = 401
    code = "not_authenticated"
    default_detail = "Authentication credentials were not provided."


class InvalidCredentials(AuthenticationError):
    code = "invalid_credentials"
    default_detail = "The email or password is incorrect."


class TokenInvalid(AuthenticationError):
    code = "token_invalid"
    default_detail = "The token is invalid, expired or revoked."


class TokenReused(AuthenticationError):
    code = "token_reused"
    default_detail = "This refresh token was already used; the session has been ended."


class MfaInvalid(ApplicationError):
    """A wrong, malformed or already used second-factor code: 401 at login, 400 when confirming a setup."""

    status_code = 401
    code = "mfa_invalid"
    default_detail = "The code is incorrect, expired or already used."

    def __init__(self, detail: str | None = None, *, status_code: int = 401) -> None:
        super().__init__(detail)
        self.status_code = status_code


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class InsufficientScope(PermissionDenied):
    """A personal API token used outside its scopes, or on an endpoint no API token may use."""

    code = "insufficient_scope"
    default_detail = "This API token does not allow this request."


class ActionRefused(PermissionDenied, DjangoPermissionDenied):
    """A 403 that Django's own views (the admin) also answer as a 403 should one reach them unhandled."""


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"
    default_detail = "Not found."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class PreconditionFailed(ApplicationError):
    status_code = 412
    code = "precondition_failed"
    default_detail = "The resource has changed since you fetched it (If-Match does not match)."


class RateLimited(ApplicationError):
    status_code = 429
    code = "throttled"
    default_detail = "Too many requests."

    def __init__(self, detail: str | None = None, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class AccountLocked(RateLimited):
    code = "account_locked"
    default_detail = "Too many failed logins; this account is locked for this address for a while."


def error_body(status: int, code: str, detail: Any, request_id: str, errors: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": str(detail), "code": code, "request_id": request_id}
    if errors is not None:
        body["errors"] = errors
    return body


class Gone(ApplicationError):
    """What the request names existed once and is no longer kept (e.g. a sync cursor past its retention)."""

    status_code = 410
    code = "gone"
    default_detail = "This is no longer available."

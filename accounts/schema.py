"""How the OpenAPI schema describes our bearer authentication (loaded by AccountsConfig.ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SessionTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Personal API tokens are listed only on the operations that accept them (views with `token_scope`)."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_requirement(self, auto_schema: Any) -> Any:
        return {self.name: []} if getattr(auto_schema.view, "token_scope", None) else None

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "tdk_ personal API token",
            "description": "Created with POST /api/v1/auth/tokens. Scopes tasks:read, tasks:write, projects:read, "
            "projects:write (write includes read); outside them 403 insufficient_scope.",
        }

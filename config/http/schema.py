"""OpenAPI: the shared error shape, and the error responses every operation can give."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from config.http.validators import NotBlank, single_line

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "detail": serializers.CharField(help_text="A message for humans."),
        "code": serializers.CharField(help_text="A stable machine-readable code, e.g. not_found."),
        "request_id": serializers.CharField(help_text="The X-Request-ID of the request."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation errors by field (code validation_error only).",
        ),
    },
)

_DESCRIPTIONS = {
    "400": "Invalid input (code validation_error or parse_error).",
    "401": "Missing, invalid, expired or revoked token (codes not_authenticated, token_invalid).",
    "403": "Not allowed (code permission_denied).",
    "404": "Not found, or not yours, or a page past the last (code not_found).",
    "413": "Request body too large (code payload_too_large).",
    "415": "Body is not JSON (code unsupported_media_type).",
    "429": "Rate limited (code throttled); see Retry-After.",
    "503": "Database unavailable (code service_unavailable); see Retry-After.",
}


_PUBLIC_401 = "A token was sent and is invalid, expired or revoked (code token_invalid); none is needed here."


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Adds the shared error schema and the errors that apply to every operation of its kind."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {
                "detail": {"type": "string"},
                "code": {"type": "string"},
                "request_id": {"type": "string"},
                "errors": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["detail", "code", "request_id"],
        },
    )
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if "security" in operation:
                # The SECURITY setting repeats what the authentication extension already listed.
                unique: list[dict[str, Any]] = []
                for requirement in operation["security"]:
                    if requirement not in unique:
                        unique.append(requirement)
                operation["security"] = unique
            responses = operation.setdefault("responses", {})
            wanted = ["429", "503", "401"]
            public = operation.get("security") == [{}] or {} in operation.get("security", [])
            if method in {"post", "put", "patch"} or "requestBody" in operation:
                wanted += ["400", "413", "415"]
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "query":
                    continue
                if not parameter.get("required"):
                    # Every list reads an empty parameter (`?tag=`) as one left out, and says so.
                    parameter["allowEmptyValue"] = True
                value = parameter.get("schema", {})
                if value.get("type") == "string" and not {"pattern", "format", "enum", "anyOf"} & set(value):
                    # Query text is read by form fields, which refuse NUL.
                    value["pattern"] = f"^{_NOT_NUL}*$"
            query = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
            if query:
                # Every list and filter validates its query string (SPEC 2): a malformed value is a 400.
                wanted.append("400")
            if "{" in path or "page" in query:
                # A page past the last is a 404, like an id that is not there.
                wanted.append("404")
            for status in wanted:
                # No token is needed here, but one that is sent is checked: an invalid one is a 401.
                description = _PUBLIC_401 if status == "401" and public else _DESCRIPTIONS[status]
                responses.setdefault(status, {"description": description, "content": ref})
    return result


class BodyOnDeleteSchema(AutoSchema):
    """For a view whose DELETE takes a JSON body, such as DELETE /auth/me `{password}`.

    drf-spectacular documents request bodies on POST, PUT and PATCH only; OpenAPI 3 allows one on DELETE, and
    without it the schema would not say that the password is required.
    """

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"  # the body is built like a POST's: every required field required
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


# Text input --------------------------------------------------------------------------------------------------

# What Python's str.strip() and the regex class \s (Unicode White_Space) both count as whitespace, with the
# C0 and C1 controls; a single line of text is none of the controls.
_NOT_NUL = "[^\\x00]"
_NOT_BLANK = "[^\\s\\x00\\x1c-\\x1f]"  # str.strip() also strips U+001C..U+001F
# A single line also refuses the line and paragraph separators and the bidi overrides (`single_line`).
_NOT_CONTROL = "[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e]"
_NOT_CONTROL_OR_BLANK = "[^\\s\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u202a-\\u202e]"


def text_pattern(*, blank: bool, one_line: bool) -> str:
    """The pattern of what a DRF CharField accepts: no NUL ever; something besides whitespace unless blank is
    allowed (the value is trimmed first); no control character at all for a single line."""
    char = _NOT_CONTROL if one_line else _NOT_NUL
    if blank:
        # drf-spectacular adds "" itself, as a second choice of a oneOf: the pattern must not match it too.
        return f"^{char}+$"
    return f"^{char}*{_NOT_CONTROL_OR_BLANK if one_line else _NOT_BLANK}{char}*$"


class TextInputExtension(OpenApiSerializerFieldExtension):
    """Every text field of a request body says in the schema what the field refuses beyond its length.

    DRF refuses NUL in any CharField and trims whitespace before refusing a blank value; names refuse control
    characters (`single_line`). A field with a pattern of its own (a color, an email) keeps it.
    """

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction != "request" or "pattern" in schema or schema.get("format") or "enum" in schema:
            return schema
        field = self.target
        if any(isinstance(validator, RegexValidator) for validator in field.validators):
            return schema  # drf-spectacular writes the validator's own pattern
        blank = (field.allow_blank or not field.trim_whitespace) and not any(
            isinstance(validator, NotBlank) for validator in field.validators
        )
        schema["pattern"] = text_pattern(blank=blank, one_line=single_line in field.validators)
        return schema

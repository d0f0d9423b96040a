"""OpenAPI 3 at /api/schema/, Swagger UI at /api/docs/, ReDoc at /api/redoc/: complete, valid, no CDN."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from django.test import Client
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

# Every accounts endpoint of the SPEC: (path, method) -> (success status, request fields or None, response
# fields or None). Request fields name what the body accepts; None means the operation takes no body.
ACCOUNTS = {
    ("/api/v1/auth/register", "post"): ("201", {"email", "password", "full_name"}, "auth"),
    ("/api/v1/auth/login", "post"): ("200", {"email", "password"}, "auth_or_mfa"),
    ("/api/v1/auth/login/mfa", "post"): ("200", {"mfa_token", "code"}, "auth"),
    ("/api/v1/auth/refresh", "post"): ("200", {"refresh"}, "pair"),
    ("/api/v1/auth/logout", "post"): ("204", {"refresh"}, None),
    ("/api/v1/auth/logout/all", "post"): ("204", None, None),
    ("/api/v1/auth/me", "get"): ("200", None, "user"),
    ("/api/v1/auth/me", "patch"): (
        "200",
        {"full_name", "bio", "avatar_url", "timezone", "email_notifications"},
        "user",
    ),
    ("/api/v1/auth/me", "delete"): ("204", {"password"}, None),
    ("/api/v1/auth/password/change", "post"): ("204", {"current_password", "new_password"}, None),
    ("/api/v1/auth/password/reset", "post"): ("202", {"email"}, None),
    ("/api/v1/auth/password/reset/confirm", "post"): ("204", {"uid", "token", "new_password"}, None),
    ("/api/v1/auth/email/verify", "post"): ("204", {"uid", "token"}, None),
    ("/api/v1/auth/email/resend", "post"): ("202", None, None),
    ("/api/v1/auth/email/change", "post"): ("202", {"new_email", "password"}, None),
    ("/api/v1/auth/email/change/confirm", "post"): ("204", {"uid", "token"}, None),
    ("/api/v1/auth/tokens", "post"): ("201", {"name", "scopes", "expires_in_days"}, "token_created"),
    ("/api/v1/auth/tokens", "get"): ("200", None, "tokens"),
    ("/api/v1/auth/tokens/{token_id}", "delete"): ("204", None, None),
    ("/api/v1/auth/sessions", "get"): ("200", None, "sessions"),
    ("/api/v1/auth/sessions/{session_id}", "delete"): ("204", None, None),
    ("/api/v1/auth/mfa", "get"): ("200", None, {"totp_enabled", "recovery_codes_left"}),
    ("/api/v1/auth/mfa/totp/setup", "post"): ("200", None, {"secret", "otpauth_uri"}),
    ("/api/v1/auth/mfa/totp/confirm", "post"): ("200", {"code"}, {"recovery_codes"}),
    ("/api/v1/auth/mfa/totp", "delete"): ("204", {"password"}, None),
    ("/api/v1/auth/mfa/recovery-codes", "post"): ("200", {"password"}, {"recovery_codes"}),
}
MFA_CHALLENGE_FIELDS = {"mfa_required", "mfa_token", "methods", "expires_in"}
PUBLIC = {"register", "login", "refresh", "reset", "confirm", "verify"}
USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "bio",
    "avatar_url",
    "timezone",
    "email_notifications",
    "is_active",
    "is_staff",
    "email_verified",
    "date_joined",
    "last_login",
    "profile_completion",
}
PAIR_FIELDS = {"access", "refresh", "token_type", "expires_in"}
SESSION_FIELDS = {"id", "created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "current"}
API_TOKEN_FIELDS = {"id", "name", "scopes", "created_at", "expires_at", "last_used_at"}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return resolve(schema, node["allOf"][0])
    return node


def operation(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    paths = {name.rstrip("/"): item for name, item in schema["paths"].items()}
    assert path in paths, f"{path} is missing from the schema"
    assert method in paths[path], f"{method.upper()} {path} is missing from the schema"
    return paths[path][method]  # type: ignore[no-any-return]


def json_schema_of(schema: dict[str, Any], holder: dict[str, Any]) -> dict[str, Any]:
    return resolve(schema, holder["content"]["application/json"]["schema"])


def test_the_schema_is_a_valid_openapi_3_document(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_it_is_yaml_by_default_and_json_on_request() -> None:
    as_yaml = Client().get("/api/schema/")
    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(as_yaml.content)
    validate_schema(document)

    for accept in ("application/json", "application/vnd.oai.openapi+json"):
        as_json = Client().get("/api/schema/", HTTP_ACCEPT=accept)
        assert as_json["Content-Type"].startswith(accept)
        assert as_json.json()["paths"] == document["paths"]

    by_format = Client().get("/api/schema/?format=json", HTTP_ACCEPT="application/yaml")
    assert by_format["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert by_format.json()["paths"] == document["paths"]
    assert yaml.safe_load(Client().get("/api/schema/?format=yaml").content)["paths"] == document["paths"]


def test_it_needs_no_token() -> None:
    assert Client().get("/api/schema/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200


@pytest.mark.parametrize(("path", "method"), list(ACCOUNTS), ids=[f"{m} {p}" for p, m in ACCOUNTS])
def test_every_accounts_operation_is_documented_with_its_bodies(schema: dict[str, Any], path: str, method: str) -> None:
    success, request_fields, response_kind = ACCOUNTS[(path, method)]
    op = operation(schema, path, method)

    assert success in op["responses"], sorted(op["responses"])
    if request_fields is None:
        assert "requestBody" not in op
    else:
        body = json_schema_of(schema, op["requestBody"])
        assert set(body["properties"]) == request_fields
        assert set(body.get("required", [])) <= request_fields

    documented = op["responses"][success]
    if response_kind is None:
        assert "content" not in documented
    else:
        body = json_schema_of(schema, documented)
        if response_kind == "auth_or_mfa":
            either = [set(resolve(schema, option)["properties"]) for option in body["oneOf"]]
            assert either == [PAIR_FIELDS | {"user"}, MFA_CHALLENGE_FIELDS]
        elif isinstance(response_kind, set):
            assert set(body["properties"]) == response_kind
        elif response_kind == "auth":
            assert set(body["properties"]) == PAIR_FIELDS | {"user"}
            assert set(resolve(schema, body["properties"]["user"])["properties"]) == USER_FIELDS
        elif response_kind == "pair":
            assert set(body["properties"]) == PAIR_FIELDS
        elif response_kind == "user":
            assert set(body["properties"]) == USER_FIELDS
        elif response_kind == "token_created":
            assert set(body["properties"]) == API_TOKEN_FIELDS | {"token"}
        else:
            assert set(body["properties"]) >= {"count", "next", "previous", "results"}
            item = resolve(schema, body["properties"]["results"]["items"])
            assert set(item["properties"]) == (API_TOKEN_FIELDS if response_kind == "tokens" else SESSION_FIELDS)


@pytest.mark.parametrize(("path", "method"), list(ACCOUNTS), ids=[f"{m} {p}" for p, m in ACCOUNTS])
def test_every_accounts_operation_documents_its_errors_in_the_error_shape(
    schema: dict[str, Any], path: str, method: str
) -> None:
    _, request_fields, _ = ACCOUNTS[(path, method)]
    op = operation(schema, path, method)
    errors = {status: response for status, response in op["responses"].items() if status >= "400"}

    assert {"429", "503"} <= set(errors)
    if request_fields is not None:
        assert {"400", "413", "415"} <= set(errors)
    public = any(word in path.split("/")[-1] for word in PUBLIC)
    if not public:
        assert "401" in errors
    for status, response in errors.items():
        assert json_schema_of(schema, response) == resolve(schema, {"$ref": "#/components/schemas/Error"}), status


def test_the_specific_error_codes_are_documented(schema: dict[str, Any]) -> None:
    assert "409" in operation(schema, "/api/v1/auth/register", "post")["responses"]
    assert "401" in operation(schema, "/api/v1/auth/login", "post")["responses"]
    assert {"401", "429"} <= set(operation(schema, "/api/v1/auth/login/mfa", "post")["responses"])
    assert "409" in operation(schema, "/api/v1/auth/mfa/totp/setup", "post")["responses"]
    assert {"400", "409"} <= set(operation(schema, "/api/v1/auth/mfa/totp/confirm", "post")["responses"])
    assert {"400", "409"} <= set(operation(schema, "/api/v1/auth/mfa/totp", "delete")["responses"])
    assert "401" in operation(schema, "/api/v1/auth/refresh", "post")["responses"]
    assert "404" in operation(schema, "/api/v1/auth/sessions/{session_id}", "delete")["responses"]
    assert {"400", "429"} <= set(operation(schema, "/api/v1/auth/email/change", "post")["responses"])
    assert {"400", "409"} <= set(operation(schema, "/api/v1/auth/email/change/confirm", "post")["responses"])
    assert "409" in operation(schema, "/api/v1/auth/tokens", "post")["responses"]


def test_the_error_schema_is_the_spec_shape(schema: dict[str, Any]) -> None:
    error = schema["components"]["schemas"]["Error"]

    assert set(error["required"]) == {"detail", "code", "request_id"}
    assert set(error["properties"]) == {"detail", "code", "request_id", "errors"}


def test_authenticated_operations_name_the_bearer_scheme_once(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, method in [("/api/v1/auth/me", "get"), ("/api/v1/auth/sessions", "get"), ("/api/v1/auth/tokens", "get")]:
        assert operation(schema, path, method)["security"] == [{"bearerAuth": []}]


def test_the_task_and_project_operations_also_name_the_api_token_scheme(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    for path, method in [("/api/v1/tasks", "get"), ("/api/v1/projects/{id}", "patch"), ("/api/v1/invitations", "get")]:
        assert {"apiToken": []} in operation(schema, path, method)["security"], path
    for path, method in [("/api/v1/audit/events", "get"), ("/api/v1/users", "get")]:
        assert {"apiToken": []} not in operation(schema, path, method)["security"], path


# The documentation pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_use_only_local_assets_and_those_are_served(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.IGNORECASE), re.findall(r"https?://\S+", page)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = Client().get(asset)
        assert served.status_code == 200, asset
        content = b"".join(served.streaming_content) if served.streaming else served.content  # type: ignore[attr-defined]
        assert content, asset
    assert "/api/schema/" in page


# The schema says what the app enforces (config/tests/test_schema_fuzz.py holds the app to it) -----------------


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return schema["components"]["schemas"][name]  # type: ignore[no-any-return]


def parameter(schema: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    return next(p for p in operation(schema, path, method)["parameters"] if p["name"] == name)


def test_a_new_password_is_documented_with_the_validators_length(schema: dict[str, Any]) -> None:
    for name, field in [
        ("RegisterRequest", "password"),
        ("PasswordChangeRequest", "new_password"),
        ("PasswordResetConfirmRequest", "new_password"),
    ]:
        documented = component(schema, name)["properties"][field]
        assert (documented["minLength"], documented["maxLength"]) == (8, 128), name
    # The current password is any text the user may once have chosen.
    assert component(schema, "PasswordChangeRequest")["properties"]["current_password"]["minLength"] == 1


def test_text_fields_document_what_they_refuse(schema: dict[str, Any]) -> None:
    title = component(schema, "TaskWriteRequest")["properties"]["title"]
    assert re.fullmatch(title["pattern"], "Pay rent")
    assert not re.fullmatch(title["pattern"], "   ")  # trimmed, then blank
    assert not re.fullmatch(title["pattern"], "a\x00b")
    name = component(schema, "ProjectWriteRequest")["properties"]["name"]
    assert re.fullmatch(name["pattern"], "Home")
    assert not re.fullmatch(name["pattern"], "Home\nAway")  # a name is one line
    tag = component(schema, "TaskWriteRequest")["properties"]["tags"]["items"]
    assert re.fullmatch(tag["pattern"], "work")
    assert not re.fullmatch(tag["pattern"], "a;b")
    assert tag["maxLength"] == 50
    assert component(schema, "ProjectWriteRequest")["properties"]["color"]["pattern"] == "^#[0-9a-fA-F]{6}$"


def test_time_zones_are_the_iana_names(schema: dict[str, Any]) -> None:
    zones = component(schema, "TimezoneEnum")["enum"]
    assert "Europe/Paris" in zones and "UTC" in zones
    assert "Mars/Olympus" not in zones and "" not in zones


def test_bulk_fields_refuse_other_keys_and_the_avatar_may_be_empty(schema: dict[str, Any]) -> None:
    assert component(schema, "BulkFieldsRequest")["additionalProperties"] is False
    avatar = component(schema, "User")["properties"]["avatar_url"]
    assert {"type": "string", "maxLength": 0} in avatar["oneOf"]


def test_list_parameters_say_which_values_they_take(schema: dict[str, Any]) -> None:
    assert parameter(schema, "/api/v1/tasks", "get", "overdue")["schema"]["type"] == "boolean"
    project = parameter(schema, "/api/v1/tasks", "get", "project")["schema"]["pattern"]
    assert re.fullmatch(project, "none") and re.fullmatch(project, "12") and not re.fullmatch(project, "0")
    assignee = parameter(schema, "/api/v1/tasks", "get", "assignee")["schema"]["pattern"]
    assert re.fullmatch(assignee, "me") and not re.fullmatch(assignee, "you")
    events = parameter(schema, "/api/v1/audit/events", "get", "event")["schema"]
    assert "auth.login_failed" in events["items"]["enum"]
    assert parameter(schema, "/api/v1/sync", "get", "limit")["schema"]["maximum"] == 1000
    for path in ("/api/v1/tasks", "/api/v1/projects", "/api/v1/audit/events", "/api/v1/notifications"):
        for documented in operation(schema, path, "get")["parameters"]:
            if documented["in"] == "query":
                assert documented["allowEmptyValue"] is True, (path, documented["name"])


def test_the_idempotency_key_is_printable_ascii(schema: dict[str, Any]) -> None:
    key = parameter(schema, "/api/v1/tasks", "post", "Idempotency-Key")["schema"]["pattern"]
    assert re.fullmatch(key, "order-42 retry")
    assert not re.fullmatch(key, "clé") and not re.fullmatch(key, " padded")

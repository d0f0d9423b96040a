"""Staff user management: /api/v1/users/ (is_staff only)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import UserFactory
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db


def paths(user_id: Any) -> list[tuple[str, str]]:
    return [
        ("get", "/api/v1/users/"),
        ("get", "/api/v1/users"),
        ("get", f"/api/v1/users/{user_id}"),
        ("patch", f"/api/v1/users/{user_id}/"),
        ("delete", f"/api/v1/users/{user_id}"),
        ("post", f"/api/v1/users/{user_id}/unlock"),
        ("post", f"/api/v1/users/{user_id}/sessions/revoke/"),
    ]


def call(client: APIClient, method: str, path: str) -> Any:
    if method in {"post", "patch"}:
        return getattr(client, method)(path, {"is_staff": True, "full_name": "Hacked"}, format="json")
    return getattr(client, method)(path)


def events(kind: EventType) -> list[Event]:
    return list(Event.objects.filter(event=kind).order_by("id"))


@pytest.mark.parametrize("target", ["outsider", "missing", "malformed"])
def test_non_staff_get_403_on_every_path(auth_client: APIClient, outsider: Any, target: str) -> None:
    user_id = {"outsider": outsider.pk, "missing": uuid.uuid4(), "malformed": "not-a-uuid"}[target]
    for method, path in paths(user_id):
        response = call(auth_client, method, path)
        assert response.status_code == 403, (method, path, response.content)
        assert response.json()["code"] == "permission_denied"
    outsider.refresh_from_db()
    assert (outsider.is_staff, outsider.full_name, outsider.is_active) == (False, "Otto Outsider", True)


def test_nobody_signed_in_gets_401_on_every_path(api_client: APIClient, outsider: Any) -> None:
    for method, path in paths(outsider.pk):
        response = call(api_client, method, path)
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_user_demoted_from_staff_loses_access_on_the_next_request(
    staff: Any, staff_client: APIClient, db: Any
) -> None:
    assert staff_client.get("/api/v1/users/").status_code == 200
    User.objects.filter(pk=staff.pk).update(is_staff=False)
    assert staff_client.get("/api/v1/users/").status_code == 403


# List -------------------------------------------------------------------------------------------------


@pytest.fixture
def people(staff: Any) -> dict[str, Any]:
    now = timezone.now()
    return {
        "staff": staff,
        "ada": UserFactory(email="ada@example.com", full_name="Ada Lovelace", last_login=now - timedelta(days=1)),
        "bob": UserFactory(email="bob@example.com", full_name="Bob Byte", is_active=False),
        # Later than the staff's own sign-in in the staff_client fixture.
        "cy": UserFactory(email="cy@corp.test", full_name="Cy Ada", is_staff=True, last_login=now + timedelta(hours=1)),
    }


def emails(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["email"] for row in response.json()["results"]]


def test_staff_list_every_user_paginated(staff_client: APIClient, people: dict[str, Any]) -> None:
    response = staff_client.get("/api/v1/users/")
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 4
    assert emails(response) == ["ada@example.com", "bob@example.com", "cy@corp.test", "staff@example.com"]
    first = body["results"][0]
    assert first["id"] == str(people["ada"].pk)
    assert "password" not in first
    page = staff_client.get("/api/v1/users/?page_size=2&page=2").json()
    assert [row["email"] for row in page["results"]] == ["cy@corp.test", "staff@example.com"]
    assert page["next"] is None and page["previous"]


def test_the_list_costs_two_queries(
    staff_client: APIClient, people: dict[str, Any], django_assert_num_queries: Any
) -> None:
    # 1. the token's session joined to its user, 2. the page, with the total as a window count.
    with django_assert_num_queries(2):
        assert staff_client.get("/api/v1/users/?search=a&ordering=-date_joined").status_code == 200


def test_search_matches_email_and_name(staff_client: APIClient, people: dict[str, Any]) -> None:
    assert emails(staff_client.get("/api/v1/users/?search=ADA")) == ["ada@example.com", "cy@corp.test"]
    assert emails(staff_client.get("/api/v1/users/?search=corp.test")) == ["cy@corp.test"]
    assert emails(staff_client.get("/api/v1/users/?search=nothing-like-it")) == []


def test_filters_on_active_and_staff(staff_client: APIClient, people: dict[str, Any]) -> None:
    assert emails(staff_client.get("/api/v1/users/?is_active=false")) == ["bob@example.com"]
    assert emails(staff_client.get("/api/v1/users/?is_staff=true")) == ["cy@corp.test", "staff@example.com"]
    assert emails(staff_client.get("/api/v1/users/?is_staff=false&is_active=true")) == ["ada@example.com"]


def test_a_bad_filter_value_is_a_400(staff_client: APIClient, people: dict[str, Any]) -> None:
    response = staff_client.get("/api/v1/users/?is_active=maybe")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "is_active" in response.json()["errors"]


def test_ordering(staff_client: APIClient, people: dict[str, Any]) -> None:
    assert emails(staff_client.get("/api/v1/users/?ordering=-email"))[0] == "staff@example.com"
    assert emails(staff_client.get("/api/v1/users/?ordering=full_name")) == [
        "ada@example.com",
        "bob@example.com",
        "cy@corp.test",
        "staff@example.com",
    ]
    # Never signed in comes last, both ways.
    by_last_login = ["ada@example.com", "staff@example.com", "cy@corp.test", "bob@example.com"]
    assert emails(staff_client.get("/api/v1/users/?ordering=last_login")) == by_last_login
    newest_login_first = ["cy@corp.test", "staff@example.com", "ada@example.com", "bob@example.com"]
    assert emails(staff_client.get("/api/v1/users/?ordering=-last_login")) == newest_login_first
    newest_first = emails(staff_client.get("/api/v1/users/?ordering=-date_joined"))
    assert newest_first[0] == "cy@corp.test"


@pytest.mark.parametrize("query", ["ordering=password", "ordering=-is_superuser", "is_staff=maybe", "page=0"])
def test_a_malformed_list_parameter_is_a_400_naming_it(
    staff_client: APIClient, people: dict[str, Any], query: str
) -> None:
    response = staff_client.get(f"/api/v1/users/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["errors"]) == [query.split("=")[0]]


def test_search_is_case_insensitive_beyond_ascii(staff_client: APIClient, people: dict[str, Any]) -> None:
    UserFactory(email="zoe@example.com", full_name="Zoë Ünal")
    assert emails(staff_client.get("/api/v1/users/?search=ünal")) == ["zoe@example.com"]
    assert emails(staff_client.get("/api/v1/users/?search=ZOË")) == ["zoe@example.com"]


# Detail -----------------------------------------------------------------------------------------------


def test_staff_get_one_user(staff_client: APIClient, outsider: Any) -> None:
    response = staff_client.get(f"/api/v1/users/{outsider.pk}/")
    assert response.status_code == 200
    assert response.json()["email"] == "outsider@example.com"


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid", "12345"])
def test_an_unknown_or_malformed_id_is_404(staff_client: APIClient, user_id: str) -> None:
    for method, path in paths(user_id)[2:]:
        response = call(staff_client, method, path)
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"


def test_staff_change_the_allowed_fields(staff_client: APIClient, outsider: Any) -> None:
    body = {
        "full_name": "Otto Renamed",
        "bio": "Hello",
        "avatar_url": "https://example.com/a.png",
        "timezone": "Europe/Paris",
        "email_verified": False,
    }
    response = staff_client.patch(f"/api/v1/users/{outsider.pk}", body, format="json")
    assert response.status_code == 200
    assert {key: response.json()[key] for key in body} == body
    outsider.refresh_from_db()
    assert (outsider.full_name, outsider.timezone, outsider.email_verified) == ("Otto Renamed", "Europe/Paris", False)
    [event] = events(EventType.PROFILE_UPDATED)
    assert event.user == outsider
    assert event.actor_email == "staff@example.com"
    assert sorted(event.details["fields"]) == sorted(body)


def test_staff_cannot_change_email_password_or_id(staff_client: APIClient, outsider: Any) -> None:
    old_password = outsider.password
    body = {
        "email": "new@example.com",
        "password": "a brand new passphrase",
        "id": str(uuid.uuid4()),
        "is_superuser": True,
        "date_joined": "2000-01-01T00:00:00Z",
    }
    response = staff_client.patch(f"/api/v1/users/{outsider.pk}", body, format="json")
    assert response.status_code == 200
    outsider.refresh_from_db()
    assert outsider.email == "outsider@example.com"
    assert outsider.password == old_password
    assert outsider.is_superuser is False
    assert outsider.date_joined.year != 2000
    assert not Event.objects.exists() or not events(EventType.PROFILE_UPDATED)


def test_invalid_values_are_a_400(staff_client: APIClient, outsider: Any) -> None:
    response = staff_client.patch(
        f"/api/v1/users/{outsider.pk}", {"timezone": "Mars/Olympus", "is_active": "perhaps"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"timezone", "is_active"}


def test_deactivation_ends_every_session_at_once(
    staff_client: APIClient, outsider: Any, login_as: Any, outsider_client: APIClient
) -> None:
    second_device = login_as(outsider)
    assert outsider_client.get("/api/v1/auth/me").status_code == 200
    response = staff_client.patch(f"/api/v1/users/{outsider.pk}", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    assert second_device.get("/api/v1/auth/me").status_code == 401
    refresh = APIClient().post(
        "/api/v1/auth/refresh", {"refresh": cast(Any, outsider_client).tokens["refresh"]}, format="json"
    )
    assert refresh.status_code == 401
    assert not Session.objects.filter(user=outsider, ended_at__isnull=True).exists()
    assert set(Session.objects.filter(user=outsider).values_list("end_reason", flat=True)) == {"deactivated"}
    [event] = events(EventType.USER_DEACTIVATED)
    assert event.details["sessions_ended"] == 2
    assert event.actor_email == "staff@example.com"
    # And they cannot sign in again.
    assert (
        APIClient()
        .post(
            "/api/v1/auth/login", {"email": outsider.email, "password": "correct horse battery staple"}, format="json"
        )
        .status_code
        == 401
    )


def test_reactivation_is_recorded(staff_client: APIClient, outsider: Any) -> None:
    staff_client.patch(f"/api/v1/users/{outsider.pk}", {"is_active": False}, format="json")
    response = staff_client.patch(f"/api/v1/users/{outsider.pk}", {"is_active": True}, format="json")
    assert response.json()["is_active"] is True
    assert len(events(EventType.USER_ACTIVATED)) == 1
    # Setting what is already set records nothing.
    staff_client.patch(f"/api/v1/users/{outsider.pk}", {"is_active": True}, format="json")
    assert len(events(EventType.USER_ACTIVATED)) == 1


def test_staff_flag_changes_are_recorded(staff_client: APIClient, outsider: Any) -> None:
    response = staff_client.patch(f"/api/v1/users/{outsider.pk}", {"is_staff": True}, format="json")
    assert response.json()["is_staff"] is True
    staff_client.patch(f"/api/v1/users/{outsider.pk}", {"is_staff": False}, format="json")
    assert [event.details["is_staff"] for event in events(EventType.STAFF_CHANGED)] == [True, False]


@pytest.mark.parametrize(("body", "field"), [({"is_active": False}, "is_active"), ({"is_staff": False}, "is_staff")])
def test_staff_cannot_lock_themselves_out(
    staff: Any, staff_client: APIClient, body: dict[str, Any], field: str
) -> None:
    response = staff_client.patch(f"/api/v1/users/{staff.pk}", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    staff.refresh_from_db()
    assert staff.is_active and staff.is_staff
    assert staff_client.get("/api/v1/users/").status_code == 200


def test_staff_may_edit_their_own_profile(staff: Any, staff_client: APIClient) -> None:
    response = staff_client.patch(f"/api/v1/users/{staff.pk}", {"full_name": "S", "is_staff": True}, format="json")
    assert response.status_code == 200
    assert response.json()["full_name"] == "S"


def test_staff_delete_a_user_with_their_sessions(staff_client: APIClient, outsider: Any, outsider_client: Any) -> None:
    response = staff_client.delete(f"/api/v1/users/{outsider.pk}")
    assert response.status_code == 204
    assert not User.objects.filter(pk=outsider.pk).exists()
    assert not Session.objects.filter(user_id=outsider.pk).exists()
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    [event] = events(EventType.ACCOUNT_DELETED)
    assert (event.user, event.email) == (None, "outsider@example.com")
    assert event.details["user_id"] == str(outsider.pk)
    assert event.actor_email == "staff@example.com"
    assert staff_client.get(f"/api/v1/users/{outsider.pk}").status_code == 404


def test_staff_cannot_delete_themselves(staff: Any, staff_client: APIClient) -> None:
    response = staff_client.delete(f"/api/v1/users/{staff.pk}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert User.objects.filter(pk=staff.pk).exists()


def test_staff_revoke_every_session_of_a_user(
    staff_client: APIClient, outsider: Any, outsider_client: APIClient, login_as: Any
) -> None:
    login_as(outsider)
    response = staff_client.post(f"/api/v1/users/{outsider.pk}/sessions/revoke")
    assert response.status_code == 200
    assert response.json() == {"sessions_ended": 2}
    assert outsider_client.get("/api/v1/auth/me").status_code == 401
    [event] = events(EventType.SESSION_REVOKED)
    assert event.user == outsider
    assert event.details["sessions_ended"] == 2
    # The account itself still works.
    outsider.refresh_from_db()
    assert outsider.is_active
    assert staff_client.post(f"/api/v1/users/{outsider.pk}/sessions/revoke/").json() == {"sessions_ended": 0}


def test_unlocking_an_account_that_is_not_locked_is_harmless(staff_client: APIClient, outsider: Any) -> None:
    response = staff_client.post(f"/api/v1/users/{outsider.pk}/unlock/")
    assert response.status_code == 200
    assert response.json() == {"attempts_cleared": 0}
    assert len(events(EventType.UNLOCKED)) == 1


def test_the_staff_paths_are_in_the_openapi_schema(staff_client: APIClient) -> None:
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    for path in ("/api/v1/users/", "/api/v1/users/{user_id}", "/api/v1/users/{user_id}/unlock"):
        assert any(known.rstrip("/") == path.rstrip("/") for known in schema["paths"]), path

"""The audit trail end to end, as a client sees it through the API only.

A user registers, fails a login, logs in, refreshes, reuses the rotated refresh token, changes the
password, creates, updates, deletes and restores tasks, runs a bulk action and an export. Then the user's
own event list and the staff's filtered list show exactly those events, newest first, each with the
client's address, user agent and request id; no event body holds a password or a token; and the log
cannot be written.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from audit.models import Event

ADDRESS = "198.51.100.23"
AGENT = "ScenarioBrowser/2.0 (X11; Linux x86_64)"
FIRST_PASSWORD = "an entirely decent passphrase"
WRONG_PASSWORD = "not my passphrase at all"
NEW_PASSWORD = "a second decent passphrase"
EVENTS = "/api/v1/audit/events/"


class Browser:
    """One user's client: every request from one address and user agent, each with its own request id."""

    def __init__(self, address: str, agent: str) -> None:
        self.client = APIClient()
        self.address = address
        self.agent = agent
        self.sent: list[tuple[str, str]] = []  # (expected event, request id), oldest first

    def send(self, method: str, path: str, data: Any = None, *, expect: list[str] | None = None) -> Any:
        request_id = f"scn-{uuid.uuid4().hex[:16]}"
        response = getattr(self.client, method)(
            path,
            data,
            format="json",
            HTTP_X_REQUEST_ID=request_id,
            HTTP_USER_AGENT=self.agent,
            REMOTE_ADDR=self.address,
        )
        assert response["X-Request-ID"] == request_id
        self.sent += [(event, request_id) for event in expect or []]
        return response

    def bearer(self, access: str) -> None:
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")


def every_page(client: APIClient, query: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """All results of the event list across pages, and the raw bodies."""
    results: list[dict[str, Any]] = []
    bodies: list[str] = []
    page = 1
    while True:
        response = client.get(EVENTS, {**query, "page": str(page), "page_size": "5"})
        assert response.status_code == 200, response.content
        bodies.append(response.content.decode())
        results += response.json()["results"]
        if not response.json()["next"]:
            return results, bodies
        page += 1


@pytest.mark.django_db(transaction=True)
def test_the_audit_trail_of_a_user_s_session(settings: Any, mailoutbox: Any, run_jobs: Any) -> None:
    # Past the grace window at once, so presenting the rotated refresh token again is reuse.
    settings.REFRESH_GRACE_SECONDS = 0
    me = Browser(ADDRESS, AGENT)
    secrets: list[str] = [FIRST_PASSWORD, WRONG_PASSWORD, NEW_PASSWORD]

    # Accounts ---------------------------------------------------------------------------------------
    response = me.send(
        "post",
        "/api/v1/auth/register",
        {"email": "Scenario@Example.com", "password": FIRST_PASSWORD, "full_name": "Sam Scenario"},
        expect=["auth.registered", "auth.login_succeeded", "auth.email_verification_sent"],
    )
    assert response.status_code == 201, response.content
    registered = response.json()
    user_id = registered["user"]["id"]
    secrets += [registered["access"], registered["refresh"]]
    run_jobs()
    (verification,) = mailoutbox
    secrets += re.findall(r"token=([^\s&\"<]+)", verification.body) + re.findall(r"https?://\S+", verification.body)

    response = me.send(
        "post",
        "/api/v1/auth/login",
        {"email": "scenario@example.com", "password": WRONG_PASSWORD},
        expect=["auth.login_failed"],
    )
    assert response.status_code == 401

    response = me.send(
        "post",
        "/api/v1/auth/login",
        {"email": "scenario@example.com", "password": FIRST_PASSWORD},
        expect=["auth.login_succeeded"],
    )
    assert response.status_code == 200
    login = response.json()
    secrets += [login["access"], login["refresh"]]

    response = me.send("post", "/api/v1/auth/refresh", {"refresh": login["refresh"]}, expect=["auth.token_refreshed"])
    assert response.status_code == 200
    secrets += [response.json()["access"], response.json()["refresh"]]

    response = me.send(
        "post", "/api/v1/auth/refresh", {"refresh": login["refresh"]}, expect=["auth.refresh_reuse_detected"]
    )
    assert response.status_code == 401 and response.json()["code"] == "token_reused"

    me.bearer(registered["access"])
    response = me.send(
        "post",
        "/api/v1/auth/password/change",
        {"current_password": FIRST_PASSWORD, "new_password": NEW_PASSWORD},
        expect=["auth.password_changed"],
    )
    assert response.status_code == 204, response.content

    # Tasks ------------------------------------------------------------------------------------------
    first = me.send("post", "/api/v1/tasks/", {"title": "Write the report"}, expect=["task.created"])
    second = me.send("post", "/api/v1/tasks/", {"title": "Review the report"}, expect=["task.created"])
    assert first.status_code == second.status_code == 201, first.content
    first_id, second_id = first.json()["id"], second.json()["id"]

    response = me.send("patch", f"/api/v1/tasks/{first_id}", {"priority": "high"}, expect=["task.updated"])
    assert response.status_code == 200, response.content
    assert me.send("delete", f"/api/v1/tasks/{first_id}", expect=["task.deleted"]).status_code == 204
    assert me.send("post", f"/api/v1/tasks/{first_id}/restore", expect=["task.restored"]).status_code == 200
    response = me.send(
        "post", "/api/v1/tasks/bulk/", {"action": "complete", "ids": [first_id, second_id]}, expect=["task.bulk_action"]
    )
    assert response.status_code == 200 and response.json() == {"updated": 2}
    response = me.send("get", "/api/v1/tasks/export/?format=json", expect=["task.exported"])
    assert response.status_code == 200
    b"".join(response.streaming_content)

    expected = [(event, request_id) for event, request_id in reversed(me.sent)]

    # The user's own list ----------------------------------------------------------------------------
    own, own_bodies = every_page(me.client, {})
    assert [(item["event"], item["request_id"]) for item in own] == expected
    for item in own:
        assert item["user"] == user_id
        assert item["email"] == "scenario@example.com"
        assert item["ip_address"] == ADDRESS
        assert item["user_agent"] == AGENT
        assert item["created_at"].endswith("Z")
    stamps = [datetime.fromisoformat(item["created_at"]) for item in own]
    assert stamps == sorted(stamps, reverse=True)
    by_type = {item["event"]: item["details"] for item in own}
    assert by_type["task.bulk_action"]["action"] == "complete"
    assert by_type["task.exported"] == {"format": "json"}

    # Staff, filtering by that user, by event types and by time ----------------------------------------
    staff_user: Any = UserFactory(email="auditor@example.com", is_staff=True)
    staff = Browser("192.0.2.50", "StaffConsole/1.0")
    response = staff.send("post", "/api/v1/auth/login", {"email": staff_user.email, "password": PASSWORD})
    staff.bearer(response.json()["access"])

    theirs, staff_bodies = every_page(staff.client, {"user": user_id})
    assert theirs == own
    failures, _ = every_page(staff.client, {"user": user_id, "event": "auth.login_failed,auth.refresh_reuse_detected"})
    assert [item["event"] for item in failures] == ["auth.refresh_reuse_detected", "auth.login_failed"]
    since = own[-1]["created_at"]
    tasks_only, _ = every_page(staff.client, {"event": "task.created,task.updated,task.deleted", "since": since})
    assert [item["event"] for item in tasks_only] == ["task.deleted", "task.updated", "task.created", "task.created"]
    everyone, _ = every_page(staff.client, {})
    assert {item["email"] for item in everyone} == {"scenario@example.com", "auditor@example.com"}

    # No password, token or link in any event body ------------------------------------------------------
    text = "\n".join(own_bodies + staff_bodies)
    for secret in secrets:
        assert secret not in text, f"secret found in the audit log: {secret[:16]}..."
    for item in own:
        assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", json.dumps(item))

    # The log cannot be written ---------------------------------------------------------------------------
    one = f"{EVENTS}{own[0]['id']}"
    for client in (me.client, staff.client):
        for method in ("post", "put", "patch", "delete"):
            for path in (EVENTS, one):
                response = getattr(client, method)(path, {"event": "auth.registered"}, format="json")
                assert response.status_code == 405, (method, path)
                assert response.json()["code"] == "method_not_allowed"
    assert every_page(me.client, {})[0] == own


@pytest.mark.django_db(transaction=True)
def test_the_audit_trail_of_a_lockout_and_of_staff_managing_the_account(settings: Any) -> None:
    settings.LOCKOUT_FAILURES = settings.AXES_FAILURE_LIMIT = 5
    victim: Any = UserFactory(email="victim@example.com")
    staff_user: Any = UserFactory(email="admin@example.com", is_staff=True)
    attacker = Browser("203.0.113.66", "curl/8.0")
    owner = Browser(ADDRESS, AGENT)
    staff = Browser("192.0.2.50", "StaffConsole/1.0")
    signed_in = staff.send("post", "/api/v1/auth/login", {"email": staff_user.email, "password": PASSWORD})
    staff.bearer(signed_in.json()["access"])
    trail: list[tuple[Browser, str, str]] = []  # (who sent it, event, request id), oldest first

    def step(browser: Browser, method: str, path: str, data: Any = None, *, expect: list[str]) -> Any:
        before = len(browser.sent)
        response = browser.send(method, path, data, expect=expect)
        trail.extend((browser, event, request_id) for event, request_id in browser.sent[before:])
        return response

    def log_in(browser: Browser, password: str, expect: list[str]) -> Any:
        return step(browser, "post", "/api/v1/auth/login", {"email": victim.email, "password": password}, expect=expect)

    def staff_sets(data: dict[str, Any], event: str) -> None:
        response = step(staff, "patch", f"/api/v1/users/{victim.pk}", data, expect=[event])
        assert response.status_code == 200, response.content

    # Five wrong passwords from one address: the fifth engages the lock (and is still a 401).
    for attempt in range(5):
        expect = ["auth.login_failed"] + (["auth.locked_out"] if attempt == 4 else [])
        assert log_in(attacker, f"guess {attempt} of many", expect).status_code == 401
    locked = attacker.send("post", "/api/v1/auth/login", {"email": victim.email, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
    # Whatever a refused attempt records (see the report on lockouts), it is never a login.
    refused = list(Event.objects.filter(request_id=locked["X-Request-ID"], user=victim).order_by("id"))
    assert "auth.login_succeeded" not in {event.event for event in refused}
    trail.extend((attacker, event.event, event.request_id) for event in refused)

    assert step(staff, "post", f"/api/v1/users/{victim.pk}/unlock", expect=["auth.unlocked"]).status_code == 200
    response = log_in(owner, PASSWORD, ["auth.login_succeeded"])
    assert response.status_code == 200
    owner.bearer(response.json()["access"])

    staff_sets({"is_active": False}, "account.deactivated")
    assert owner.send("get", EVENTS).status_code == 401  # deactivation ended the session
    staff_sets({"is_active": True}, "account.activated")
    staff_sets({"is_staff": True}, "account.staff_changed")
    staff_sets({"is_staff": False}, "account.staff_changed")
    revoke = step(staff, "post", f"/api/v1/users/{victim.pk}/sessions/revoke", expect=["auth.session_revoked"])
    assert revoke.status_code == 200
    owner.bearer(log_in(owner, PASSWORD, ["auth.login_succeeded"]).json()["access"])

    expected = [(event, request_id) for _, event, request_id in reversed(trail)]
    own, _ = every_page(owner.client, {})
    theirs, _ = every_page(staff.client, {"user": str(victim.pk)})
    assert [(item["event"], item["request_id"]) for item in own] == expected
    assert theirs == own
    sender = {request_id: browser for browser, _, request_id in trail}
    for item in own:
        assert item["user"] == str(victim.pk) and item["email"] == "victim@example.com"
        assert item["ip_address"] == sender[item["request_id"]].address
        assert item["user_agent"] == sender[item["request_id"]].agent

    details = {item["event"]: item["details"] for item in reversed(own)}  # the latest of each type
    actors = {item["event"]: item["actor"] for item in own}
    for event in ("account.deactivated", "account.activated", "account.staff_changed", "auth.session_revoked"):
        assert actors[event] == str(staff_user.pk), event
    assert actors["auth.unlocked"] == str(staff_user.pk)
    assert actors["auth.locked_out"] is None
    assert details["account.deactivated"] == {"sessions_ended": 1}
    assert details["account.activated"] == {}
    staff_changes = [item["details"] for item in own if item["event"] == "account.staff_changed"]
    assert staff_changes == [{"is_staff": False}, {"is_staff": True}]
    assert details["auth.session_revoked"] == {"sessions_ended": 0}
    done_by_staff, _ = every_page(staff.client, {"actor": str(staff_user.pk)})
    assert {item["event"] for item in done_by_staff} >= {"account.deactivated", "auth.unlocked"}
    assert all(item["actor"] == str(staff_user.pk) for item in done_by_staff)
    assert "failures" in details["auth.locked_out"]

    lockouts, _ = every_page(staff.client, {"event": "auth.locked_out,auth.unlocked"})
    assert [item["event"] for item in lockouts] == ["auth.unlocked", "auth.locked_out"]

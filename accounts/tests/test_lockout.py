"""Lockout: 5 consecutive failures for one account from one address lock it there for the cool-off."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests import servers
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.servers import post_json
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db
app_instances = servers.app_instances  # gunicorn instances on loopback, for the multi-process test

PROXY = "10.0.0.1"
WRONG = "not the password at all"


@pytest.fixture(autouse=True)
def _no_login_throttle(settings: Any) -> None:
    # These tests send many logins from one address; the rate limit has its own tests.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "1000/min"},
    }
    settings.TRUSTED_PROXIES = [PROXY]


def attempt(email: str, password: str, *, ip: str = "203.0.113.5", forwarded: str | None = None) -> Any:
    extra: dict[str, Any] = {"REMOTE_ADDR": ip}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json", **extra)


def fail(email: str, times: int, **where: Any) -> list[int]:
    return [attempt(email, WRONG, **where).status_code for _ in range(times)]


def assert_locked(response: Any, *, near: int = 15 * 60) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "account_locked"
    assert set(body) == {"detail", "code", "request_id"}
    assert near - 5 <= int(response["Retry-After"]) <= near


def events(kind: EventType) -> list[Event]:
    return list(Event.objects.filter(event=kind).order_by("id"))


def test_the_fifth_failure_is_still_a_401_and_the_sixth_attempt_is_refused(user: Any) -> None:
    assert fail(user.email, 5) == [401] * 5
    assert attempt(user.email, WRONG).json()["code"] == "account_locked"


def test_the_right_password_is_refused_while_locked_and_opens_no_session(user: Any) -> None:
    fail(user.email, 5)
    response = attempt(user.email, PASSWORD)
    assert_locked(response)
    assert "access" not in response.json()
    assert not Session.objects.filter(user=user).exists()


def test_a_lockout_holds_only_for_the_address_it_came_from(user: Any) -> None:
    fail(user.email, 5, ip="203.0.113.5")
    assert_locked(attempt(user.email, PASSWORD, ip="203.0.113.5"))
    assert attempt(user.email, PASSWORD, ip="198.51.100.77").status_code == 200


def test_another_client_of_a_trusted_proxy_is_another_address(user: Any) -> None:
    fail(user.email, 5, ip=PROXY, forwarded="198.51.100.1")
    assert_locked(attempt(user.email, PASSWORD, ip=PROXY, forwarded="198.51.100.1"))
    assert attempt(user.email, PASSWORD, ip=PROXY, forwarded="198.51.100.2").status_code == 200


def test_a_forged_x_forwarded_for_from_an_untrusted_client_does_not_dodge_the_lock(user: Any) -> None:
    fail(user.email, 5, ip="203.0.113.5")
    for forged in ("198.51.100.9", f"198.51.100.9, {PROXY}", "1.2.3.4, 5.6.7.8"):
        assert_locked(attempt(user.email, PASSWORD, ip="203.0.113.5", forwarded=forged))


def test_a_forged_hop_in_front_of_a_trusted_proxy_does_not_dodge_the_lock(user: Any) -> None:
    # The client writes its own X-Forwarded-For; our proxy appends the address it really came from.
    fail(user.email, 5, ip=PROXY, forwarded="198.51.100.1")
    assert_locked(attempt(user.email, PASSWORD, ip=PROXY, forwarded="6.6.6.6, 198.51.100.1"))


def test_failures_spread_over_forged_headers_still_count_together(user: Any) -> None:
    statuses = [attempt(user.email, WRONG, ip="203.0.113.5", forwarded=f"198.51.100.{n}").status_code for n in range(5)]
    assert statuses == [401] * 5
    assert_locked(attempt(user.email, PASSWORD, ip="203.0.113.5"))


def test_a_success_resets_the_count(user: Any) -> None:
    assert fail(user.email, 4) == [401] * 4
    assert attempt(user.email, PASSWORD).status_code == 200
    assert fail(user.email, 4) == [401] * 4
    assert attempt(user.email, PASSWORD).status_code == 200


def test_a_success_from_another_address_does_not_lift_the_lock(user: Any) -> None:
    fail(user.email, 5, ip="203.0.113.5")
    assert attempt(user.email, PASSWORD, ip="198.51.100.77").status_code == 200
    assert_locked(attempt(user.email, PASSWORD, ip="203.0.113.5"))


def test_retry_after_counts_down_and_the_lock_lifts_when_the_cool_off_ends(user: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        fail(user.email, 5)
        assert_locked(attempt(user.email, PASSWORD), near=900)
        clock.shift(timedelta(minutes=10))
        # Attempts while locked neither count nor extend the cool-off.
        assert_locked(attempt(user.email, WRONG), near=300)
        assert_locked(attempt(user.email, PASSWORD), near=300)
        clock.shift(timedelta(minutes=5, seconds=1))
        assert attempt(user.email, PASSWORD).status_code == 200


def test_the_count_and_the_cool_off_follow_the_settings(user: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=2)
    assert fail(user.email, 3) == [401] * 3
    assert_locked(attempt(user.email, PASSWORD), near=120)


def test_an_unknown_email_locks_the_same_way_so_nothing_is_enumerated(db: Any) -> None:
    assert fail("nobody@example.com", 5) == [401] * 5
    assert_locked(attempt("nobody@example.com", WRONG))


def test_the_email_counts_in_any_case(user: Any) -> None:
    for email in ("OWNER@example.com", "Owner@Example.com", " owner@example.com", "owner@EXAMPLE.com", user.email):
        assert attempt(email, WRONG).status_code == 401
    assert_locked(attempt("OWNER@EXAMPLE.COM", PASSWORD))


def test_one_account_locked_does_not_lock_another_from_the_same_address(user: Any, outsider: Any) -> None:
    fail(user.email, 5)
    assert attempt(outsider.email, PASSWORD).status_code == 200


def test_it_records_the_failures_and_the_lock_once(user: Any) -> None:
    fail(user.email, 7)
    failed = events(EventType.LOGIN_FAILED)
    # Five wrong passwords, then two attempts refused unchecked while locked.
    assert [e.details.get("reason") for e in failed] == [None] * 5 + ["locked"] * 2
    [locked] = events(EventType.LOCKED_OUT)
    assert locked.user == user
    assert locked.email == user.email
    assert locked.ip_address == "203.0.113.5"
    assert locked.details["failures"] == 5


def test_the_counts_live_in_the_shared_database(user: Any) -> None:
    fail(user.email, 3)
    [row] = AccessAttempt.objects.all()
    assert (row.username, row.ip_address, row.failures_since_start) == (user.email, "203.0.113.5", 3)


def test_staff_unlock_lifts_the_lock_and_is_recorded(user: Any, staff_client: APIClient) -> None:
    fail(user.email, 5)
    assert_locked(attempt(user.email, PASSWORD))
    response = staff_client.post(f"/api/v1/users/{user.pk}/unlock")
    assert response.status_code == 200
    assert response.json() == {"attempts_cleared": 1}
    assert attempt(user.email, PASSWORD).status_code == 200
    [unlocked] = events(EventType.UNLOCKED)
    assert unlocked.user == user
    assert unlocked.actor_email == "staff@example.com"
    assert unlocked.details["attempts_cleared"] == 1


def test_staff_unlock_lifts_the_lock_from_every_address(user: Any, staff_client: APIClient) -> None:
    fail(user.email, 5, ip="203.0.113.5")
    fail(user.email, 5, ip="203.0.113.6")
    assert staff_client.post(f"/api/v1/users/{user.pk}/unlock/").json() == {"attempts_cleared": 2}
    assert attempt(user.email, PASSWORD, ip="203.0.113.5").status_code == 200
    assert attempt(user.email, PASSWORD, ip="203.0.113.6").status_code == 200


def test_an_inactive_account_answers_like_a_wrong_password_and_counts(db: Any) -> None:
    inactive = cast(User, UserFactory(email="gone@example.com", is_active=False))
    assert [attempt(inactive.email, PASSWORD).status_code for _ in range(5)] == [401] * 5
    assert_locked(attempt(inactive.email, PASSWORD))


def test_two_app_instances_share_the_lockout(app_instances: Any) -> None:
    # Failures alternate between two gunicorn instances (two workers each) on one database: the counts live
    # in the database, so the lock engages on the 5th failure whichever process served it.
    ports = app_instances(THROTTLE_LOGIN="100/min")
    statuses = []
    for n in range(7):
        status, body, headers = post_json(
            ports[n % 2], "/api/v1/auth/login", {"email": "victim@example.com", "password": "wrong password"}
        )
        statuses.append((status, body.get("code"), headers.get("Retry-After") is not None))
    assert statuses[:5] == [(401, "invalid_credentials", False)] * 5
    assert statuses[5:] == [(429, "account_locked", True)] * 2


def test_a_locked_account_answers_account_locked_even_over_the_login_rate(
    user: Any, outsider: Any, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "6/min"},
    }
    assert fail(user.email, 5) == [401] * 5
    for _ in range(3):  # the 6th request is within the rate, the next ones over it
        assert_locked(attempt(user.email, PASSWORD))
    # Another account from that address is simply over the rate.
    over = attempt(outsider.email, PASSWORD)
    assert over.status_code == 429
    assert over.json()["code"] == "throttled"


def test_an_attempt_refused_while_locked_is_recorded_as_a_failed_login(user: Any) -> None:
    fail(user.email, 5)
    assert_locked(attempt(user.email, PASSWORD))
    refused = [e for e in events(EventType.LOGIN_FAILED) if e.details.get("reason") == "locked"]
    assert len(refused) == 1
    assert (refused[0].user_id, refused[0].email, refused[0].ip_address) == (user.pk, user.email, "203.0.113.5")


def test_failures_spread_over_user_agents_lock_the_api_and_show_in_the_admin(user: Any, staff: Any) -> None:
    for n in range(5):
        response = APIClient().post(
            "/api/v1/auth/login",
            {"email": user.email, "password": WRONG},
            format="json",
            REMOTE_ADDR="203.0.113.5",
            HTTP_USER_AGENT=f"Browser/{n % 2}",
        )
        assert response.status_code == 401
    assert AccessAttempt.objects.filter(username=user.email).count() == 2
    assert_locked(attempt(user.email, PASSWORD))

    admin = APIClient()
    admin.force_login(staff)

    def listed(locked: str) -> set[str]:
        response = admin.get("/admin/accounts/user/", {"locked": locked})
        assert response.status_code == 200
        return {u.email for u in response.context["cl"].result_list}

    assert listed("yes") == {user.email}
    assert listed("no") == {staff.email}

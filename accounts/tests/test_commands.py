"""Operator commands: createsuperuser (email-based), unlock_user, revoke_sessions, prune_sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Session, User
from accounts.tests.factories import PASSWORD
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

COMMANDS = ["unlock_user", "revoke_sessions", "prune_sessions"]


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # manage.py closes every connection when a command ends; on PostgreSQL that would drop the test's
    # transaction with it.
    monkeypatch.setattr(connections, "close_all", lambda: None)


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """Runs a command as `manage.py` does (exit status included), in this process and its test database."""
    code = 0
    try:
        execute_from_command_line(["manage.py", *argv])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fail_logins(email: str, times: int = 5) -> None:
    for _ in range(times):
        APIClient().post("/api/v1/auth/login", {"email": email, "password": "wrong password"}, format="json")


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(capsys: Any, command: str) -> None:
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0
    assert f"usage: manage.py {command}" in out
    assert len(out.splitlines()) > 3


@pytest.mark.parametrize("command", ["unlock_user", "revoke_sessions"])
def test_an_unknown_email_is_a_clear_error_and_a_non_zero_exit(capsys: Any, command: str) -> None:
    code, out, err = run_cli(capsys, command, "Nobody@Example.com")
    assert code == 1
    assert out == ""
    assert "No user with email 'nobody@example.com'" in err
    assert "Traceback" not in err
    with pytest.raises(CommandError):
        call_command(command, "nobody@example.com")


def test_createsuperuser_takes_an_email_without_prompting(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough admin passphrase")
    code, out, _ = run_cli(capsys, "createsuperuser", "--noinput", "--email", "Root@Example.com")
    assert code == 0
    assert "Superuser created successfully." in out
    root = User.objects.get(email="root@example.com")
    assert root.is_superuser and root.is_staff and root.is_active
    assert root.check_password("a long enough admin passphrase")
    # The same email again, in another case, is refused.
    code, _, err = run_cli(capsys, "createsuperuser", "--noinput", "--email", "ROOT@example.com")
    assert code == 1
    assert "already taken" in err


def test_unlock_user(capsys: Any, user: Any) -> None:
    fail_logins(user.email)
    code, out, _ = run_cli(capsys, "unlock_user", "OWNER@example.com")
    assert code == 0
    assert out.strip() == "Unlocked owner@example.com: 1 failed-login record(s) cleared."
    assert not AccessAttempt.objects.exists()
    [event] = Event.objects.filter(event=EventType.UNLOCKED)
    assert (event.user, event.actor, event.request_id) == (user, None, "system")
    login = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200


def test_revoke_sessions(capsys: Any, user: Any, auth_client: APIClient, login_as: Any) -> None:
    login_as(user)
    code, out, _ = run_cli(capsys, "revoke_sessions", user.email)
    assert code == 0
    assert out.strip() == "Revoked 2 session(s) of owner@example.com."
    assert auth_client.get("/api/v1/auth/me").status_code == 401
    assert Event.objects.filter(event=EventType.SESSION_REVOKED, user=user).count() == 1


def _session(user: Any, *, expires_in: timedelta, ended_ago: timedelta | None = None) -> Session:
    now = timezone.now()
    return Session.objects.create(
        user=user,
        created_at=now - timedelta(days=40),
        last_used_at=now - timedelta(days=20),
        expires_at=now + expires_in,
        ended_at=None if ended_ago is None else now - ended_ago,
        refresh_jti="x",
    )


def test_prune_sessions_deletes_only_long_ended_or_expired_ones(capsys: Any, user: Any) -> None:
    keep = [
        _session(user, expires_in=timedelta(days=3)),  # live
        _session(user, expires_in=timedelta(days=3), ended_ago=timedelta(days=2)),  # ended recently
        _session(user, expires_in=-timedelta(days=1)),  # expired recently
    ]
    gone = [
        _session(user, expires_in=timedelta(days=3), ended_ago=timedelta(days=8)),
        _session(user, expires_in=-timedelta(days=10)),
        _session(user, expires_in=-timedelta(days=10), ended_ago=timedelta(days=12)),
    ]
    code, out, _ = run_cli(capsys, "prune_sessions", "--days", "7")
    assert code == 0
    assert out.strip() == "Deleted 3 session(s) ended or expired more than 7 day(s) ago."
    assert set(Session.objects.values_list("pk", flat=True)) == {session.pk for session in keep}
    assert not Session.objects.filter(pk__in=[session.pk for session in gone]).exists()


def test_prune_sessions_keeps_a_week_by_default(capsys: Any, user: Any) -> None:
    _session(user, expires_in=timedelta(days=3), ended_ago=timedelta(days=6))
    _session(user, expires_in=timedelta(days=3), ended_ago=timedelta(days=8))
    assert run_cli(capsys, "prune_sessions")[1].strip().startswith("Deleted 1 session(s)")
    assert run_cli(capsys, "prune_sessions", "--days", "0")[1].strip().startswith("Deleted 1 session(s)")


def test_prune_sessions_refuses_a_negative_retention(capsys: Any) -> None:
    code, _, err = run_cli(capsys, "prune_sessions", "--days", "-1")
    assert code == 1
    assert "--days must be 0 or more." in err

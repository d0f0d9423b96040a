"""purge_deleted_tasks and seed_demo."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from tasks.models import IdempotencyKey, Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def run(*args: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_purge_deletes_only_tasks_in_the_trash_for_over_30_days(user: Any) -> None:
    now = timezone.now()
    old = TaskFactory.create_batch(3, owner=user, deleted_at=now - timedelta(days=31))
    recent = TaskFactory(owner=user, deleted_at=now - timedelta(days=29))
    live = TaskFactory(owner=user, created_at=now - timedelta(days=400))

    output = run("purge_deleted_tasks")

    assert output.strip().splitlines() == [
        "Purged 3 tasks deleted more than 30 days ago and 0 expired idempotency keys."
    ]
    assert not Task.objects.filter(pk__in=[t.pk for t in old]).exists()
    assert Task.objects.filter(pk__in=[recent.pk, live.pk]).count() == 2


def test_purge_takes_days(user: Any) -> None:
    TaskFactory(owner=user, deleted_at=timezone.now() - timedelta(days=8))
    assert "Purged 0 tasks" in run("purge_deleted_tasks", "--days", "10")
    assert "Purged 1 task deleted more than 7 days" in run("purge_deleted_tasks", "--days", "7")


def test_purge_works_in_batches(user: Any) -> None:
    from tasks.services.tasks import tasks_purge_deleted

    TaskFactory.create_batch(12, owner=user, deleted_at=timezone.now() - timedelta(days=40))
    assert tasks_purge_deleted(batch_size=5) == 12
    assert Task.objects.count() == 0


def test_purge_forgets_expired_idempotency_keys(user: Any) -> None:
    IdempotencyKey.objects.create(
        user=user, key="old", fingerprint="x", created_at=timezone.now() - timedelta(hours=25)
    )
    IdempotencyKey.objects.create(user=user, key="new", fingerprint="x")
    assert "and 1 expired idempotency key." in run("purge_deleted_tasks")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_seed_demo_creates_users_and_tasks_in_bulk() -> None:
    output = run("seed_demo", "--users", "3", "--tasks", "25", "--batch-size", "10", "--seed", "7")
    assert len(output.strip().splitlines()) == 1
    assert "Seeded 3 demo users" in output
    assert "75 tasks" in output
    assert User.objects.filter(email__startswith="demo").count() == 3
    assert Task.objects.count() == 75
    for user in User.objects.all():
        assert Task.objects.filter(owner=user).count() == 25
    assert User.objects.get(email="demo1@example.com").check_password("demo password 2024")
    for task in Task.objects.all():
        assert (task.status == "completed") == (task.completed_at is not None)
        assert task.created_at <= timezone.now()


def test_seed_demo_reuses_existing_demo_users() -> None:
    run("seed_demo", "--users", "2", "--tasks", "1")
    run("seed_demo", "--users", "3", "--tasks", "1")
    assert User.objects.count() == 3
    assert Task.objects.count() == 5


def test_seeded_users_can_sign_in_and_list(api_client: Any) -> None:
    run("seed_demo", "--users", "1", "--tasks", "30")
    response = api_client.post(
        "/api/v1/auth/login", {"email": "demo1@example.com", "password": "demo password 2024"}, format="json"
    )
    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert api_client.get("/api/v1/tasks/").json()["count"] == 30


@pytest.mark.parametrize("command", ["seed_demo", "purge_deleted_tasks"])
def test_the_commands_have_help(command: str, capsys: Any) -> None:
    with pytest.raises(SystemExit):
        call_command(command, "--help")
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args", [("--users", "0"), ("--project-share", "1.5"), ("--members", "0"), ("--prefix", "no spaces")]
)
def test_seed_demo_refuses_nonsense(args: tuple[str, str]) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo", *args)
    assert not User.objects.exists()

"""prune_audit: retention of the audit log, in batches."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from audit.management.commands.prune_audit import Command
from audit.models import Event, EventType
from audit.services import audit_record

pytestmark = pytest.mark.django_db


def record_days_ago(days: int, user: User) -> Event:
    with time_machine.travel(timezone.now() - timedelta(days=days), tick=False):
        return audit_record(event=EventType.LOGIN_SUCCEEDED, user=user)


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_audit", *args, stdout=out)
    return out.getvalue()


def test_it_deletes_entries_older_than_a_year_by_default_and_says_how_many(user: User) -> None:
    old = [record_days_ago(400, user), record_days_ago(366, user)]
    kept = [record_days_ago(364, user), record_days_ago(0, user)]

    output = prune()

    assert output.startswith("Deleted 2 audit events older than ")
    assert set(Event.objects.values_list("id", flat=True)) == {event.id for event in kept}
    assert not Event.objects.filter(id__in=[event.id for event in old]).exists()


def test_days_sets_the_retention(user: User) -> None:
    record_days_ago(40, user)
    record_days_ago(20, user)

    assert prune("--days", "30").startswith("Deleted 1 audit events")
    assert Event.objects.count() == 1


def test_it_deletes_in_batches_of_ids(user: User) -> None:
    for _ in range(5):
        record_days_ago(100, user)
    record_days_ago(1, user)

    with CaptureQueriesContext(connection) as queries:
        output = prune("--days", "30", "--batch-size", "2")

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("DELETE")]
    assert output.startswith("Deleted 5 audit events")
    # 2 + 2 + 1: no statement touches more than a batch.
    assert len(deletes) == 3
    assert Event.objects.count() == 1


def test_a_dry_run_counts_and_deletes_nothing(user: User) -> None:
    record_days_ago(400, user)

    assert prune("--dry-run").startswith("Would delete 1 audit events")
    assert Event.objects.count() == 1


def test_nothing_to_prune_is_fine(db: Any) -> None:
    assert prune().startswith("Deleted 0 audit events")


@pytest.mark.parametrize("args", [("--days", "0"), ("--days", "-5"), ("--batch-size", "0")])
def test_nonsense_arguments_are_refused(db: Any, args: tuple[str, str]) -> None:
    with pytest.raises(CommandError):
        prune(*args)


def test_help_documents_the_options() -> None:
    text = Command().create_parser("manage.py", "prune_audit").format_help()

    assert "--days" in text and "365" in text and "--batch-size" in text and "--dry-run" in text

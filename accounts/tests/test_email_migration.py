"""The migration that gives existing addresses their canonical form, and reports rather than merges collisions."""

from __future__ import annotations

from typing import Any

BEFORE = ("accounts", "0001_initial")
AFTER = ("accounts", "0002_canonical_emails")


def seed(migrate: Any, rows: dict[str, str]) -> dict[str, Any]:
    """Users named `name` with these raw addresses, written before the migration; returns their ids by name."""
    old = migrate(BEFORE).get_model("accounts", "User")
    return {name: old.objects.create(email=email, full_name=name, password="!").pk for name, email in rows.items()}


def emails(apps: Any) -> dict[str, str]:
    return dict(apps.get_model("accounts", "User").objects.values_list("full_name", "email"))


def test_existing_addresses_take_their_canonical_form(migrate: Any, caplog: Any) -> None:
    seed(
        migrate,
        {
            "ada": "ada@b\u00fccher.de",
            "bob": "bob@exam\u00adple.org",
            "carol": "carol@\uff45xample.net",
            "dave": "dave@example.com",
        },
    )

    apps = migrate(AFTER)

    assert emails(apps) == {
        "ada": "ada@xn--bcher-kva.de",
        "bob": "bob@example.org",
        "carol": "carol@example.net",
        "dave": "dave@example.com",
    }
    assert "3 email address(es) rewritten in canonical form" in caplog.text
    assert "share the mailbox" not in caplog.text


def test_addresses_of_one_mailbox_are_reported_and_left_unchanged(migrate: Any, caplog: Any) -> None:
    raw = {
        "victim": "victim@example.com",
        "impostor": "victim@\uff45xample.com",
        "other": "vic\u00adtim@example.com",
    }
    ids = seed(migrate, {**raw, "zed": "zed@\uff45xample.com"})

    apps = migrate(AFTER)

    assert emails(apps) == {**raw, "zed": "zed@example.com"}
    assert apps.get_model("accounts", "User").objects.count() == 4
    [warning] = [record for record in caplog.records if "share the mailbox" in record.getMessage()]
    assert warning.levelname == "WARNING"
    message = warning.getMessage()
    assert "3 users share the mailbox 'victim@example.com'" in message
    for name in raw:
        assert f"(id {ids[name]})" in message

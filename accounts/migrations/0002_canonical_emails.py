"""Existing addresses take their canonical form (accounts/addresses.py): one account per mailbox.

Rows whose addresses reach the same mailbox (`victim@example.com`, and the same spelt with a fullwidth e) are not merged
and not changed: each such group is reported as a warning, for staff to resolve by hand (delete or rename
the impostor; saving an account stores its canonical form).
"""

import logging
from collections import defaultdict

from django.db import migrations, models

import accounts.validators
from accounts.addresses import normalize_email

logger = logging.getLogger("taskdesk.migrations")


def canonicalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    groups = defaultdict(list)
    for pk, email in User.objects.using(schema_editor.connection.alias).values_list("pk", "email").iterator():
        groups[normalize_email(email)].append((pk, email))
    changed = 0
    for canonical, rows in groups.items():
        if len(rows) > 1:
            listed = ", ".join(f"{email!r} (id {pk})" for pk, email in sorted(rows, key=lambda row: row[1]))
            logger.warning(
                "accounts: %d users share the mailbox %r and were left unchanged: %s", len(rows), canonical, listed
            )
            continue
        [(pk, email)] = rows
        if email != canonical:
            User.objects.using(schema_editor.connection.alias).filter(pk=pk).update(email=canonical)
            changed += 1
    if changed:
        logger.warning("accounts: %d email address(es) rewritten in canonical form", changed)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="email",
            field=models.EmailField(
                max_length=254, unique=True, validators=[accounts.validators.validate_email_characters]
            ),
        ),
        migrations.RunPython(canonicalise_emails, migrations.RunPython.noop),
    ]

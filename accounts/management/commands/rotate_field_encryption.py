"""`manage.py rotate_field_encryption`: re-encrypts stored secrets with the first FIELD_ENCRYPTION_KEY."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts import services


class Command(BaseCommand):
    help = (
        "Re-encrypt every TOTP secret with the first key of FIELD_ENCRYPTION_KEY. Run it after putting a new key "
        "first; once it is done the old keys can be removed from the list."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = services.two_factor.totp_secrets_reencrypt()
        self.stdout.write(f"Re-encrypted {count} TOTP secret(s) with the first key.")

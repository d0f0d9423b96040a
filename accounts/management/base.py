from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User, normalize_email


class AccountCommand(BaseCommand):
    """A command that acts on one account named by its email; exits non-zero for an unknown email."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The account's email (any case).")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        user = User.objects.filter(email=normalize_email(email)).first()
        if user is None:
            raise CommandError(f"No user with email {normalize_email(email)!r}.")
        self.stdout.write(self.act(user))

    def act(self, user: User) -> str:
        """Does the work and returns the one-line result."""
        raise NotImplementedError

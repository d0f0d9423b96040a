"""`manage.py unlock_user EMAIL`: lifts the login lockout of an account, from every address."""

from __future__ import annotations

from accounts import services
from accounts.management.base import AccountCommand
from accounts.models import User
from audit.context import SYSTEM


class Command(AccountCommand):
    help = "Lift the login lockout of the account with this email, from every address (as staff unlock does)."

    def act(self, user: User) -> str:
        cleared = services.staff.user_unlock(actor=None, user=user, meta=SYSTEM)
        return f"Unlocked {user.email}: {cleared} failed-login record(s) cleared."

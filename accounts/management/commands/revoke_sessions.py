"""`manage.py revoke_sessions EMAIL`: signs an account out everywhere."""

from __future__ import annotations

from accounts import services
from accounts.management.base import AccountCommand
from accounts.models import User
from audit.context import SYSTEM


class Command(AccountCommand):
    help = "End every live session of the account with this email; its tokens fail from the next request on."

    def act(self, user: User) -> str:
        ended = services.staff.user_sessions_revoke(actor=None, user=user, meta=SYSTEM)
        return f"Revoked {ended} session(s) of {user.email}."

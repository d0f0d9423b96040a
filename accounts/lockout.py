"""Lockout after repeated failed logins, on django-axes.

The rule: `LOCKOUT_FAILURES` consecutive failed logins for one account from one client address lock that
account for that address for `LOCKOUT_MINUTES`. The failure that reaches the limit is still answered as a
failure (401); the attempts after it are refused (429 `account_locked` with `Retry-After`) before any password
is checked, until the cool-off ends or staff unlock the account. A success resets the count.

Where the counts live: axes' database handler (`AXES_HANDLER`), i.e. `axes_accessattempt` rows in the one
shared database. Every app instance and worker reads the same rows, the count survives restarts and a
Redis flush, failures of one attempt row are incremented under `SELECT ... FOR UPDATE`, and the admin lists
the rows as "access attempts". A failure costs a few indexed queries, which is fine on the login path.

Both doors share one count. The API login (`accounts.services.user_login`) asks this module, with plain
values (email, client address, user agent): `lock_state` before the password is checked, `record_failure`
after a wrong one. The admin login goes through axes' backend and middleware (accounts/lockout_axes.py), which
write the same rows keyed on the same normalised email and trusted client address. Whatever door a failure
came through, and whatever user agent sent it, the lock is the sum over (account, address) inside the
cool-off: `lock_state` for one account and address, `locked_emails` for the admin's list, one rule.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt, AccessFailureLog
from axes.utils import reset
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from accounts.models import User, normalize_email
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http import metrics

# axes' column widths.
_USER_AGENT_MAX = 255
_PATH_MAX = 255


@dataclass(frozen=True, slots=True)
class LockState:
    locked: bool
    retry_after: int = 0
    failures: int = 0


class Failure(enum.Enum):
    COUNTED = "counted"
    # This failure brought the count to the limit: still answered as a failed login, and audited once.
    ENGAGED = "engaged"
    # The lock already held (another attempt engaged it meanwhile): refused, and not counted.
    REFUSED = "refused"


# The limits axes applies at the admin door too (set from LOCKOUT_FAILURES and LOCKOUT_MINUTES).
def cool_off() -> timedelta:
    return settings.AXES_COOLOFF_TIME  # type: ignore[no-any-return]


def failure_limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def _live(now: datetime) -> QuerySet[AccessAttempt]:
    return AccessAttempt.objects.filter(attempt_time__gte=now - cool_off())


def lock_state(*, email: str, ip_address: str | None, now: datetime | None = None) -> LockState:
    """Whether this account is locked for this client address, and for how long. One indexed query.

    axes keeps one row per (account, address, user agent), each aging out `cool_off` after its last failure;
    the lock lifts when the row that brings the sum to the limit ages out.
    """
    now = now or timezone.now()
    rows = (
        _live(now)
        .filter(username=normalize_email(email), ip_address=ip_address)
        .order_by("-attempt_time")
        .values_list("attempt_time", "failures_since_start")
    )
    limit = failure_limit()
    total = 0
    until: datetime | None = None
    for attempt_time, failures in rows:
        total += failures
        if until is None and total >= limit:
            until = attempt_time + cool_off()
    if until is None:
        return LockState(locked=False, failures=total)
    return LockState(locked=True, retry_after=max(1, math.ceil((until - now).total_seconds())), failures=total)


def locked_emails(now: datetime | None = None) -> QuerySet[AccessAttempt]:
    """The accounts locked for at least one address right now, as `username` values (for the admin)."""
    return (
        _live(now or timezone.now())
        .values("username", "ip_address")
        .annotate(total=Sum("failures_since_start"))
        .filter(total__gte=failure_limit())
        .values("username")
    )


def record_failure(*, email: str, ip_address: str | None, user_agent: str, path: str = "") -> Failure:
    """Counts a failed login for this account from this address, in the rows the admin door writes too."""
    email = normalize_email(email)
    now = timezone.now()
    user_agent = user_agent[:_USER_AGENT_MAX]
    with transaction.atomic():
        before = lock_state(email=email, ip_address=ip_address, now=now)
        if before.locked:
            return Failure.REFUSED
        # An expired row starts the count over, as axes does when it cleans them.
        AccessAttempt.objects.filter(username=email, attempt_time__lt=now - cool_off()).delete()
        key = {"username": email, "ip_address": ip_address, "user_agent": user_agent}
        updated = AccessAttempt.objects.filter(**key).update(
            failures_since_start=F("failures_since_start") + 1, attempt_time=now, path_info=path[:_PATH_MAX]
        )
        if not updated:
            try:
                with transaction.atomic():
                    AccessAttempt.objects.create(
                        **key, failures_since_start=1, path_info=path[:_PATH_MAX], get_data="", post_data=""
                    )
            except IntegrityError:  # a concurrent failure created the row first
                AccessAttempt.objects.filter(**key).update(failures_since_start=F("failures_since_start") + 1)
        engaged = before.failures + 1 >= failure_limit()
        AccessFailureLog.objects.create(**key, path_info=path[:_PATH_MAX], locked_out=engaged)
    return Failure.ENGAGED if engaged else Failure.COUNTED


def clear_for_address(*, email: str, ip_address: str | None) -> int:
    """A successful login resets the count for this account from this address."""
    if not ip_address:
        return 0
    return reset(ip=ip_address, username=normalize_email(email))


def clear_for_account(*, email: str) -> int:
    """Staff unlock: forgets every failure of this account, from every address. Returns rows removed."""
    return reset(username=normalize_email(email))


def record_locked_out(*, email: str, meta: RequestContext) -> None:
    """The audit event and the metric for the lock engaging, once per lock."""
    metrics.locked_out()
    email = normalize_email(email)
    audit_record(
        event=EventType.LOCKED_OUT,
        user=User.objects.filter(email=email).first() if email else None,
        email=email,
        meta=meta,
        details={"failures": failure_limit(), "lockout_seconds": int(cool_off().total_seconds())},
    )

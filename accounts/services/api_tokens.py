"""Personal API tokens: creating one (its secret shown once), revoking one, revoking all of a user's."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts import apitokens
from accounts.models import ApiToken, User
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import Conflict, TokenInvalid
from config.http.formats import iso

MAX_LIVE_PER_USER = 20
# `last_used_at` is written at most this often, like a session's: reads do not each cost a write.
TOUCH_SECONDS = 60


def api_token_create(
    *, user: User, name: str, scopes: list[str], expires_in_days: int | None, meta: RequestContext
) -> tuple[ApiToken, str]:
    """A new token of the user and its secret, which exists nowhere else (only its digest is stored).

    At most MAX_LIVE_PER_USER live tokens per user: the 21st is 409 `token_limit` (revoke one first). The
    user row is locked while counting, so two concurrent creations cannot both take the last place. Mails a
    security notice. `expires_in_days` None: the token does not expire (it is still revoked by a password
    reset, a deactivation, or by hand).
    """
    # Imported here: the account module imports this one (a password reset revokes every token).
    from accounts.services.account import security_notice

    now = timezone.now()
    scopes = [scope for scope in apitokens.SCOPES if scope in set(scopes)]
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.is_active:
            # Deactivated while this request was on its way: that revoked every token under this lock, and
            # one made now would come back to life on reactivation.
            raise TokenInvalid()
        if ApiToken.objects.live().filter(user=locked).count() >= MAX_LIVE_PER_USER:
            raise Conflict(
                f"You already have {MAX_LIVE_PER_USER} API tokens; revoke one before creating another.",
                code="token_limit",
            )
        secret = apitokens.new_secret()
        token = ApiToken.objects.create(
            user=locked,
            name=name,
            scopes=scopes,
            secret_hash=apitokens.digest(secret),
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        audit_record(
            event=EventType.API_TOKEN_CREATED,
            user=locked,
            meta=meta,
            details={"id": str(token.pk), "name": name, "scopes": scopes, "expires_at": iso(token.expires_at)},
        )
        security_notice(kind="api_token_created", user=locked, meta=meta, name=name)
    return token, apitokens.compose(token.pk, secret)


def api_token_revoke(*, token: ApiToken, meta: RequestContext, reason: str = ApiToken.RevokeReason.USER) -> bool:
    """Revokes the token: it fails from the next request on. Answers whether it was still unrevoked."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoke_reason=reason
        )
        if revoked:
            audit_record(
                event=EventType.API_TOKEN_REVOKED,
                user=token.user,
                meta=meta,
                details={"id": str(token.pk), "name": token.name, "reason": reason},
            )
    return bool(revoked)


def api_tokens_revoke_all(*, user: User, reason: str, meta: RequestContext) -> int:
    """Revokes every token of the user (a password reset, a deactivation). Call it inside the transaction of
    the change that causes it. Answers how many were revoked, and records one event when any was."""
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason
    )
    if revoked:
        audit_record(
            event=EventType.API_TOKEN_REVOKED, user=user, meta=meta, details={"reason": reason, "count": revoked}
        )
    return revoked


def api_token_touch(*, token: ApiToken) -> None:
    """Marks use at most once a minute: the conditional UPDATE is skipped on most requests."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=TOUCH_SECONDS)
    if token.last_used_at is not None and token.last_used_at > cutoff:
        return
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=cutoff).update(last_used_at=now)
    token.last_used_at = now

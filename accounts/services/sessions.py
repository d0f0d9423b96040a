"""Sessions (signed-in devices) and their tokens: opening, rotating the refresh token, ending one or all, retention."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import Token

from accounts.models import MfaChallenge, Session, User
from accounts.tokens import SESSION_CLAIM, TokenPair, decode_refresh, issue_pair
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_event, audit_record, event_insert_sql
from config.db.cursors import prepared_cursor
from config.http import metrics
from config.http.errors import TokenInvalid, TokenReused


def _new_jti() -> str:
    return secrets.token_hex(16)


def _pair_for(session: Session) -> TokenPair:
    return issue_pair(
        user_id=str(session.user_id),
        session_id=str(session.id),
        refresh_jti=session.refresh_jti,
        session_expires_at=session.expires_at,
    )


def session_open(*, user: User, meta: RequestContext) -> tuple[Session, TokenPair]:
    now = timezone.now()
    session = Session.objects.create(
        user=user,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=settings.SESSION_MAX_DAYS),
        refresh_jti=_new_jti(),
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
    )
    return session, _pair_for(session)


def session_end(*, session: Session, reason: str, meta: RequestContext, event: EventType | None = None) -> None:
    """Ends one session; its access and refresh tokens fail from the next request on."""
    with transaction.atomic():
        updated = Session.objects.open().filter(pk=session.pk).update(ended_at=timezone.now(), end_reason=reason)
        if updated:
            metrics.sessions_revoked(reason=reason)
        if updated and event is not None:
            audit_record(event=event, user=session.user, meta=meta, details={"session_id": str(session.pk)})


def session_revoke(*, session: Session, meta: RequestContext) -> None:
    session_end(session=session, reason=Session.EndReason.REVOKED, meta=meta, event=EventType.SESSION_REVOKED)


def sessions_end_all(
    *,
    user: User,
    reason: str,
    event: EventType,
    meta: RequestContext,
    details: dict[str, Any] | None = None,
    except_session_id: Any = None,
) -> int:
    """Ends every live session of the user (but one, when given) and records `event` with how many ended.

    Call it inside the transaction of the change that ends them, so the event and the ends commit together.
    """
    sessions = Session.objects.open().filter(user=user)
    if except_session_id is not None:
        sessions = sessions.exclude(pk=except_session_id)
    ended = sessions.update(ended_at=timezone.now(), end_reason=reason)
    # A sign-in waiting for its second factor is a session about to open: it must not outlive this either
    # (its password may be the one just changed or reset).
    mfa_challenges_spend(user=user)
    metrics.sessions_revoked(reason=reason, count=ended)
    audit_record(event=event, user=user, meta=meta, details={**(details or {}), "sessions_ended": ended})
    return ended


def session_touch(*, session: Session) -> None:
    """Marks use at most once a minute: the conditional UPDATE is skipped on most requests."""
    now = timezone.now()
    if now - session.last_used_at < timedelta(seconds=settings.SESSION_TOUCH_SECONDS):
        return
    Session.objects.filter(
        pk=session.pk, last_used_at__lt=now - timedelta(seconds=settings.SESSION_TOUCH_SECONDS)
    ).update(last_used_at=now)
    session.last_used_at = now


def token_refresh(*, raw_refresh: str, meta: RequestContext) -> TokenPair:
    """Rotates the session's refresh token.

    The row lock serialises concurrent refreshes of one session. The token in force is rotated; the one it
    just replaced still yields the current pair for REFRESH_GRACE_SECONDS (SPA tabs refreshing at once);
    any other token of a live session is a replay, which ends the session.
    """
    token = decode_refresh(raw_refresh)
    jti = token.get("jti")
    rotated = _rotate_at_once(token, meta=meta)
    if rotated is not None:
        return rotated
    reused = False
    with transaction.atomic():
        session = (
            # of=("self",): lock the session row only; its user row stays free for logins and profile edits.
            Session.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=token[SESSION_CLAIM], user_id=token["user_id"])
            .first()
        )
        if session is None or not session.is_live or not session.user.is_active:
            raise TokenInvalid()
        now = timezone.now()
        if jti == session.refresh_jti:
            session.previous_refresh_jti = session.refresh_jti
            session.refresh_jti = _new_jti()
            session.rotated_at = now
            session.last_used_at = now
            session.save(update_fields=["previous_refresh_jti", "refresh_jti", "rotated_at", "last_used_at"])
            audit_record(
                event=EventType.TOKEN_REFRESHED,
                user=session.user,
                meta=meta.acting_as(session.user),
                details={"session_id": str(session.pk)},
            )
        elif (
            jti == session.previous_refresh_jti
            and session.rotated_at is not None
            and now - session.rotated_at <= timedelta(seconds=settings.REFRESH_GRACE_SECONDS)
        ):
            pass  # A concurrent refresh won the race: hand out the pair it got, same session.
        else:
            session.ended_at = now
            session.end_reason = Session.EndReason.REUSE_DETECTED
            session.save(update_fields=["ended_at", "end_reason"])
            audit_record(
                event=EventType.REFRESH_REUSE_DETECTED,
                user=session.user,
                meta=meta,
                details={"session_id": str(session.pk)},
            )
            metrics.refresh_reuse_detected()
            metrics.sessions_revoked(reason=Session.EndReason.REUSE_DETECTED)
            reused = True
    if reused:
        raise TokenReused()
    return _pair_for(session)


# The refresh an SPA makes every quarter of an hour: the token in force of a live session of an active user,
# rotated and recorded in one statement. The row lock the UPDATE takes serialises it with every other change
# of the session, as the locked path's SELECT ... FOR UPDATE does: a concurrent refresh with the same token
# finds `refresh_jti` changed, updates nothing, and takes the locked path (the grace window).
_ROTATE = """
    WITH rotated AS (
        UPDATE accounts_session AS session
        SET previous_refresh_jti = session.refresh_jti, refresh_jti = %s, rotated_at = %s, last_used_at = %s
        FROM accounts_user AS account
        WHERE session.id = %s AND session.user_id = %s AND session.refresh_jti = %s AND account.id = session.user_id
          AND account.is_active AND session.ended_at IS NULL AND session.expires_at > %s
          AND COALESCE(session.rotated_at, session.created_at) > %s
        RETURNING session.id, session.user_id, session.expires_at, account.email
    ), recorded AS ({record})
    SELECT id, user_id, expires_at FROM rotated
"""


def _rotate_at_once(token: Token, *, meta: RequestContext) -> TokenPair | None:
    """The refresh of the token in force, in one statement (PostgreSQL); None when that is not the case (another
    token, an ended session, an inactive user, another database), which `token_refresh` then decides under
    the row lock. The same checks as `Session.is_live` (SessionQuerySet.live()), the same event."""
    jti = token.get("jti")
    connection = connections[router.db_for_write(Session)]
    if connection.vendor != "postgresql" or not isinstance(jti, str):
        return None
    now = timezone.now()
    new_jti = _new_jti()
    event = audit_event(event=EventType.TOKEN_REFRESHED, meta=meta)
    record, record_params = event_insert_sql(
        event,
        connection,
        source="rotated",
        details=("jsonb_build_object('session_id', rotated.id::text)", []),
        columns={
            "user": "rotated.user_id",
            "email": "rotated.email",
            "actor": "rotated.user_id",
            "actor_email": "rotated.email",
        },
    )
    session_id, user_id = uuid.UUID(str(token[SESSION_CLAIM])), uuid.UUID(str(token["user_id"]))
    issued_after = now - timedelta(days=settings.REFRESH_TOKEN_DAYS)
    params = [new_jti, now, now, session_id, user_id, jti, now, issued_after, *record_params]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_ROTATE.format(record=record), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return issue_pair(user_id=str(row[1]), session_id=str(row[0]), refresh_jti=new_jti, session_expires_at=row[2])


def logout(*, user: User, session_id: Any, raw_refresh: str | None, meta: RequestContext) -> None:
    """Ends the session of the presented access token, and that of the refresh token if it is another."""
    ids = set()
    if session_id:
        ids.add(str(session_id))
    if raw_refresh:
        # A refresh token that does not verify (expired, forged, garbage) names no session we can trust; it
        # must not stop the session of the access token from ending (it used to answer 401 and end nothing).
        token: Token | None
        try:
            token = decode_refresh(raw_refresh)
        except TokenInvalid:
            token = None
        if token is not None and str(token["user_id"]) == str(user.pk):
            ids.add(str(token[SESSION_CLAIM]))
    with transaction.atomic():
        for session in Session.objects.open().filter(pk__in=ids, user=user):
            session_end(session=session, reason=Session.EndReason.LOGOUT, meta=meta, event=EventType.LOGOUT)


def logout_all(*, user: User, meta: RequestContext) -> None:
    with transaction.atomic():
        sessions_end_all(user=user, reason=Session.EndReason.LOGOUT_ALL, event=EventType.LOGOUT_ALL, meta=meta)


def mfa_challenges_spend(*, user: User) -> None:
    """Ends the user's sign-ins still waiting for a second factor; their mfa_tokens answer token_invalid."""
    MfaChallenge.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())


def sessions_prune(*, older_than: timedelta) -> int:
    """Deletes sessions that ended or expired more than `older_than` ago. Returns how many were deleted.

    Live sessions are never touched; an ended or expired one is kept for the retention so staff can still
    see the device in the admin after it was signed out.
    """
    cutoff = timezone.now() - older_than
    deleted, _ = Session.objects.filter(
        models.Q(ended_at__lt=cutoff) | models.Q(ended_at__isnull=True, expires_at__lt=cutoff)
    ).delete()
    return deleted

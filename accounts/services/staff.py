"""Staff user management (the staff API, the admin's user pages and actions, the commands): one set of rules,
whatever the door. `actor` is the staff user acting, or None for a command (the operator's authority)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts import lockout
from accounts.models import PROFILE_FIELDS, ApiToken, Session, User, normalize_email
from accounts.services.account import release_projects
from accounts.services.api_tokens import api_token_revoke, api_tokens_revoke_all
from accounts.services.sessions import session_revoke, sessions_end_all
from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import ActionRefused, Conflict, ValidationFailed
from config.http.input import assign_changed

STAFF_EDITABLE = (*PROFILE_FIELDS, "is_active", "is_staff", "email_verified")


def as_actor(actor: User | None, meta: RequestContext) -> RequestContext:
    """The context whose events name `actor` as the one who acted (a command passes None: the system)."""
    return meta.acting_as(actor) if actor is not None else meta


SUPERUSER_ONLY = (
    "Only a superuser can change, deactivate, delete, unlock, sign out, reset the two-factor sign-in of or set "
    "the password of a superuser."
)


def staff_may_act_on(*, actor: User | None, user: User) -> bool:
    """Only a superuser may act on a superuser's account; any staff member may act on everyone else's.

    Without it a plain staff member could take a superuser's account over: set its password or email (then
    sign in as them, or have the reset link mailed to themselves), or deactivate, demote or delete them.
    A command (`actor` None) runs with the operator's authority.
    """
    return actor is None or actor.is_superuser or not user.is_superuser


def ensure_staff_may_act(
    *, actor: User | None, user: User, action: str, meta: RequestContext, details: dict[str, Any] | None = None
) -> None:
    """Raises ActionRefused (403 permission_denied) when `staff_may_act_on` says no, and records the attempt.

    Call it before the transaction of the change: the refusal is recorded even though nothing else commits.
    """
    if staff_may_act_on(actor=actor, user=user):
        return
    audit_record(
        event=EventType.STAFF_ACTION_REFUSED,
        user=user,
        meta=as_actor(actor, meta),
        details={"action": action, "reason": "target_is_superuser", **(details or {})},
    )
    raise ActionRefused(SUPERUSER_ONLY)


def _refuse_self_lockout(*, actor: User | None, user: User, data: dict[str, Any]) -> None:
    """Staff cannot take away their own access: the console would lock its last door behind them."""
    if actor is None or actor.pk != user.pk:
        return
    errors: dict[str, list[str]] = {}
    if data.get("is_active") is False:
        errors["is_active"] = ["You cannot deactivate your own account."]
    if data.get("is_staff") is False:
        errors["is_staff"] = ["You cannot remove your own staff status."]
    if errors:
        raise ValidationFailed(errors=errors)


# The admin's user form also edits the address and the superuser flag (the staff API does not).
ADMIN_EDITABLE = (*STAFF_EDITABLE, "email", "is_superuser")


def user_update_by_staff(
    *,
    actor: User | None,
    user: User,
    data: dict[str, Any],
    meta: RequestContext,
    editable: tuple[str, ...] = STAFF_EDITABLE,
) -> User:
    """Changes the fields of `editable` given in `data` (others are ignored).

    Deactivation ends every session of the user at once (their tokens fail on the next request), revokes their
    API tokens, and records USER_DEACTIVATED; reactivation records USER_ACTIVATED; a staff or superuser flag
    change records STAFF_CHANGED; profile fields, the address and `email_verified` record PROFILE_UPDATED. Only
    a superuser grants or takes away superuser.
    """
    data = {field: data[field] for field in editable if field in data}
    if "email" in data:
        data["email"] = normalize_email(data["email"])
    ensure_staff_may_act(actor=actor, user=user, action="change", meta=meta, details={"fields": sorted(data)})
    _refuse_self_lockout(actor=actor, user=user, data=data)
    with transaction.atomic():
        # The row lock orders concurrent staff edits of one user, so each event matches a real change.
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not staff_may_act_on(actor=actor, user=locked):  # made a superuser since it was read
            raise ActionRefused(SUPERUSER_ONLY)
        changed = assign_changed(locked, data, editable)
        if not changed:
            return locked
        if "is_superuser" in changed and actor is not None and not actor.is_superuser:
            raise ActionRefused("Only a superuser can grant or take away superuser status.")
        if "email" in changed and User.objects.filter(email=locked.email).exclude(pk=locked.pk).exists():
            raise Conflict("An account with this email already exists.", code="email_taken")
        locked.save(update_fields=changed)
        meta = as_actor(actor, meta)
        if "is_active" in changed:
            if locked.is_active:
                audit_record(event=EventType.USER_ACTIVATED, user=locked, meta=meta)
            else:
                sessions_end_all(
                    user=locked,
                    reason=Session.EndReason.DEACTIVATED,
                    event=EventType.USER_DEACTIVATED,
                    meta=meta,
                )
                # Revoked, not merely refused while inactive: reactivating must not bring them back.
                api_tokens_revoke_all(user=locked, reason=ApiToken.RevokeReason.DEACTIVATED, meta=meta)
        flags: dict[str, Any] = {
            flag: getattr(locked, flag) for flag in ("is_staff", "is_superuser") if flag in changed
        }
        if flags:
            audit_record(event=EventType.STAFF_CHANGED, user=locked, meta=meta, details=flags)
        profile = [field for field in changed if field not in {"is_active", "is_staff", "is_superuser"}]
        if profile:
            audit_record(event=EventType.PROFILE_UPDATED, user=locked, meta=meta, details={"fields": profile})
    return locked


def user_create_by_staff(
    *, actor: User | None, email: str, full_name: str = "", password: str | None, meta: RequestContext
) -> User:
    """An account made by staff (the admin's add form); `password` None makes one that cannot sign in until a
    password is set. Recorded as ACCOUNT_CREATED with the staff member as actor."""
    email = normalize_email(email)
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise Conflict("An account with this email already exists.", code="email_taken")
        user = User(email=email, full_name=full_name)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        audit_record(event=EventType.ACCOUNT_CREATED, user=user, meta=as_actor(actor, meta))
    return user


def user_set_active(*, actor: User | None, user: User, is_active: bool, meta: RequestContext) -> User:
    return user_update_by_staff(actor=actor, user=user, data={"is_active": is_active}, meta=meta)


def user_delete_by_staff(*, actor: User | None, user: User, meta: RequestContext) -> None:
    """Deletes the user, their sessions and their tasks; the audit log keeps the event with the email."""
    if actor is not None and actor.pk == user.pk:
        raise ValidationFailed(
            "You cannot delete your own account here.",
            errors={"id": ["You cannot delete your own account here; use DELETE /api/v1/auth/me."]},
        )
    ensure_staff_may_act(actor=actor, user=user, action="delete", meta=meta)
    with transaction.atomic():
        release_projects(user=user, meta=as_actor(actor, meta))
        audit_record(
            event=EventType.ACCOUNT_DELETED,
            user=None,
            email=user.email,
            meta=as_actor(actor, meta),
            details={"user_id": str(user.pk)},
        )
        user.delete()


def user_unlock(*, actor: User | None, user: User, meta: RequestContext) -> int:
    """Lifts every lockout of the account, from every address, and forgets its failures.

    Returns the number of attempt records removed (0 when nothing was locked or counting). A superuser's
    lockout is lifted only by a superuser: unlocking it again and again would let a plain staff member
    guess the superuser's password without limit.
    """
    ensure_staff_may_act(actor=actor, user=user, action="unlock", meta=meta)
    with transaction.atomic():
        cleared = lockout.clear_for_account(email=user.email)
        audit_record(
            event=EventType.UNLOCKED, user=user, meta=as_actor(actor, meta), details={"attempts_cleared": cleared}
        )
    return cleared


def user_sessions_revoke(*, actor: User | None, user: User, meta: RequestContext) -> int:
    """Ends every live session of the user (the staff's "sign out everywhere"). Returns how many ended."""
    ensure_staff_may_act(actor=actor, user=user, action="revoke_sessions", meta=meta)
    with transaction.atomic():
        return sessions_end_all(
            user=user, reason=Session.EndReason.REVOKED, event=EventType.SESSION_REVOKED, meta=as_actor(actor, meta)
        )


def session_revoke_by_staff(*, actor: User | None, session: Session, meta: RequestContext) -> None:
    """Ends one session of any user (the admin's sessions page)."""
    ensure_staff_may_act(actor=actor, user=session.user, action="revoke_session", meta=meta)
    session_revoke(session=session, meta=meta)


def api_token_revoke_by_staff(*, actor: User | None, token: ApiToken, meta: RequestContext) -> bool:
    """Revokes one API token of any user (the admin's user page). Answers whether it was still unrevoked."""
    ensure_staff_may_act(actor=actor, user=token.user, action="revoke_api_token", meta=meta)
    return api_token_revoke(token=token, meta=as_actor(actor, meta), reason=ApiToken.RevokeReason.STAFF)


def user_password_set_by_staff(*, actor: User | None, user: User, password: str | None, meta: RequestContext) -> User:
    """Staff set a user's password (the admin's password form; validated there), or remove it (`password`
    None: no password sign-in until one is set). Every session ends and every API token is revoked, as after
    a reset."""
    ensure_staff_may_act(actor=actor, user=user, action="set_password", meta=meta)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not staff_may_act_on(actor=actor, user=locked):  # made a superuser since it was read
            raise ActionRefused(SUPERUSER_ONLY)
        if password is None:
            locked.set_unusable_password()
        else:
            locked.set_password(password)
        locked.save(update_fields=["password"])
        sessions_end_all(
            user=locked,
            reason=Session.EndReason.PASSWORD_RESET,
            event=EventType.PASSWORD_CHANGED,
            meta=as_actor(actor, meta),
        )
        api_tokens_revoke_all(user=locked, reason=ApiToken.RevokeReason.PASSWORD_RESET, meta=as_actor(actor, meta))
    return locked

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class EventType(models.TextChoices):
    REGISTERED = "auth.registered", "Registered"
    LOGIN_SUCCEEDED = "auth.login_succeeded", "Login succeeded"
    LOGIN_FAILED = "auth.login_failed", "Login failed"
    LOCKED_OUT = "auth.locked_out", "Locked out"
    UNLOCKED = "auth.unlocked", "Unlocked"
    LOGOUT = "auth.logout", "Logout"
    LOGOUT_ALL = "auth.logout_all", "Logout all"
    TOKEN_REFRESHED = "auth.token_refreshed", "Token refreshed"
    REFRESH_REUSE_DETECTED = "auth.refresh_reuse_detected", "Refresh reuse detected"
    SESSION_REVOKED = "auth.session_revoked", "Session revoked"
    PASSWORD_CHANGED = "auth.password_changed", "Password changed"
    PASSWORD_RESET_REQUESTED = "auth.password_reset_requested", "Password reset requested"
    PASSWORD_RESET_COMPLETED = "auth.password_reset_completed", "Password reset completed"
    EMAIL_VERIFICATION_SENT = "auth.email_verification_sent", "Email verification sent"
    EMAIL_VERIFIED = "auth.email_verified", "Email verified"
    MFA_SETUP_STARTED = "auth.mfa_setup_started", "MFA setup started"
    MFA_ENABLED = "auth.mfa_enabled", "MFA enabled"
    MFA_DISABLED = "auth.mfa_disabled", "MFA disabled"
    MFA_CHALLENGE_PASSED = "auth.mfa_challenge_passed", "MFA challenge passed"
    MFA_FAILED = "auth.mfa_failed", "MFA code refused"
    RECOVERY_CODES_REGENERATED = "auth.recovery_codes_regenerated", "Recovery codes regenerated"
    RECOVERY_CODE_USED = "auth.recovery_code_used", "Recovery code used"
    MFA_RESET_BY_STAFF = "auth.mfa_reset_by_staff", "MFA reset by staff"
    REAUTH_FAILED = "auth.reauth_failed", "Password re-check failed"
    EMAIL_CHANGE_REQUESTED = "auth.email_change_requested", "Email change requested"
    EMAIL_CHANGED = "auth.email_changed", "Email changed"
    API_TOKEN_CREATED = "auth.api_token_created", "API token created"
    API_TOKEN_REVOKED = "auth.api_token_revoked", "API token revoked"
    PROFILE_UPDATED = "account.profile_updated", "Profile updated"
    ACCOUNT_CREATED = "account.created", "Account created by staff"
    ACCOUNT_DELETED = "account.deleted", "Account deleted"
    USER_DEACTIVATED = "account.deactivated", "User deactivated"
    USER_ACTIVATED = "account.activated", "User activated"
    STAFF_CHANGED = "account.staff_changed", "Staff flag changed"
    STAFF_ACTION_REFUSED = "account.staff_action_refused", "Staff action refused"
    TASK_CREATED = "task.created", "Task created"
    TASK_UPDATED = "task.updated", "Task updated"
    TASK_DELETED = "task.deleted", "Task deleted"
    TASK_RESTORED = "task.restored", "Task restored"
    TASK_COMPLETED = "task.completed", "Task occurrence completed"
    TASK_BULK = "task.bulk_action", "Bulk action"
    TASK_MOVED = "task.moved", "Task moved"
    TASK_ASSIGNED = "task.assigned", "Task assignees changed"
    TASKS_EXPORTED = "task.exported", "Tasks exported"
    PROJECT_CREATED = "project.created", "Project created"
    PROJECT_UPDATED = "project.updated", "Project updated"
    PROJECT_DELETED = "project.deleted", "Project deleted"
    PROJECT_MEMBER_ADDED = "project.member_added", "Project member added"
    PROJECT_MEMBER_REMOVED = "project.member_removed", "Project member removed"
    PROJECT_ROLE_CHANGED = "project.role_changed", "Project role changed"
    PROJECT_INVITATION_SENT = "project.invitation_sent", "Project invitation sent"
    PROJECT_INVITATION_ACCEPTED = "project.invitation_accepted", "Project invitation accepted"
    PROJECT_INVITATION_DECLINED = "project.invitation_declined", "Project invitation declined"
    PROJECT_INVITATION_REVOKED = "project.invitation_revoked", "Project invitation revoked"
    COMMENT_CREATED = "comment.created", "Comment created"
    COMMENT_UPDATED = "comment.updated", "Comment updated"
    COMMENT_DELETED = "comment.deleted", "Comment deleted"


class Event(models.Model):
    """One entry of the append-only audit log. Nothing updates or deletes it but retention pruning."""

    event = models.CharField(max_length=64, choices=EventType.choices)
    # Kept (as null) when the user is deleted; `email` remembers who it was.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.CharField(max_length=254, blank=True)
    # Who did it: the signed-in user behind the request (a staff member acting on `user`, or the user
    # themselves), null for anonymous attempts, commands and jobs. `actor_email` outlives the actor's account.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    actor_email = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="audit_user_created_idx"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_created_idx"),
            models.Index(fields=["event", "-created_at"], name="audit_event_created_idx"),
            models.Index(fields=["request_id"], name="audit_request_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.email or '-'} {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only: an entry is written once. Deleting a user nulls `user` through the ORM's
        # on_delete update and retention pruning deletes by queryset; neither goes through here.
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed once recorded.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted one by one; retention is `prune_audit`.")


class AppendOnlyError(Exception):
    """Raised by any attempt to change or delete a recorded audit event."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

import bcrypt
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone as dj_timezone

from accounts.addresses import normalize_email
from accounts.validators import validate_email_characters

__all__ = [
    "PROFILE_FIELDS",
    "SETTINGS_FIELDS",
    "ApiToken",
    "ApiTokenQuerySet",
    "MfaChallenge",
    "RecoveryCode",
    "Session",
    "SessionQuerySet",
    "TotpDevice",
    "User",
    "UserManager",
    "normalize_email",
]

PROFILE_FIELDS = ("full_name", "bio", "avatar_url", "timezone")
# What a user may change on themselves: the profile, and preferences that do not count toward its completion.
SETTINGS_FIELDS = (*PROFILE_FIELDS, "email_notifications")

# Django's BCryptPasswordHasher prefix, and the most of a password that bcrypt ever looked at.
_LEGACY_BCRYPT = "bcrypt"
_BCRYPT_MAX_BYTES = 72


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("email_verified", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Stored in its canonical form (accounts/addresses.py), so the unique index means one account per mailbox.
    email = models.EmailField(unique=True, max_length=254, validators=[validate_email_characters])
    full_name = models.CharField(max_length=150, blank=True)
    bio = models.TextField(max_length=2000, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    # Empty means UTC.
    timezone = models.CharField(max_length=64, blank=True)
    # Reminders and other notifications are also mailed unless the user turns this off (in-app ones stay).
    email_notifications = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    email_verified = models.BooleanField(default=False)
    # A confirmed TOTP device exists. Kept on the user row, which the login reads anyway, so signing in
    # without two-factor costs no extra query.
    mfa_enabled = models.BooleanField("two-factor sign-in", default=False)
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every write path (admin, shell, factories, staff edits) stores the canonical address, so the unique
        # index on `email` is one per mailbox and login (which canonicalises) finds the account.
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def check_password(self, raw_password: str | None) -> bool:
        """Django's check (legacy hashes verify and are upgraded to Argon2), plus long passwords on bcrypt.

        The legacy `bcrypt$` hashes were made by libraries that silently used only the first 72 bytes of the
        password; bcrypt 5 refuses such a password with ValueError instead (a 500 at login). Verify them as
        they were made, then rehash the whole password with Argon2, which truncates nothing.
        """
        encoded = self.password or ""
        if raw_password is not None and encoded.startswith(f"{_LEGACY_BCRYPT}$"):
            secret = raw_password.encode()
            if len(secret) > _BCRYPT_MAX_BYTES:
                try:
                    matches = bcrypt.checkpw(secret[:_BCRYPT_MAX_BYTES], encoded[len(_LEGACY_BCRYPT) + 1 :].encode())
                except ValueError:  # a mangled hash verifies nothing
                    return False
                if not matches:
                    return False
                self.set_password(raw_password)
                self._password = None
                self.save(update_fields=["password"])
                return True
        try:
            return super().check_password(raw_password)
        except ValueError:
            # A stored hash its hasher cannot read (a mangled import, say) verifies nothing; never a 500.
            return False

    @property
    def profile_completion(self) -> int:
        filled = sum(1 for field in PROFILE_FIELDS if getattr(self, field))
        return filled * 100 // len(PROFILE_FIELDS)


class SessionQuerySet(models.QuerySet["Session"]):
    def open(self) -> SessionQuerySet:
        """Not ended (it may have expired): what ending a session acts on."""
        return self.filter(ended_at__isnull=True)

    def live(self) -> SessionQuerySet:
        """Not ended, before its absolute end, and its refresh token in force not yet expired."""
        now = dj_timezone.now()
        issued_after = now - timedelta(days=settings.REFRESH_TOKEN_DAYS)
        refreshable = models.Q(rotated_at__gt=issued_after) | models.Q(
            rotated_at__isnull=True, created_at__gt=issued_after
        )
        return self.open().filter(refreshable, expires_at__gt=now)


class Session(models.Model):
    """One signed-in device: opened by login or register, carried in every token it issues.

    The refresh token in force is the one whose `jti` is `refresh_jti`; the one it replaced is kept in
    `previous_refresh_jti` for the short grace window in which concurrent tabs may still present it.
    """

    class EndReason(models.TextChoices):
        LOGOUT = "logout"
        LOGOUT_ALL = "logout_all"
        REVOKED = "revoked"
        PASSWORD_CHANGED = "password_changed"
        PASSWORD_RESET = "password_reset"
        REUSE_DETECTED = "reuse_detected"
        DEACTIVATED = "deactivated"
        MFA_DISABLED = "mfa_disabled"
        EMAIL_CHANGED = "email_changed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(default=dj_timezone.now)
    # Absolute end, however often the session refreshes.
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, choices=EndReason.choices, blank=True)
    refresh_jti = models.CharField(max_length=64)
    previous_refresh_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "ended_at", "-created_at"], name="session_user_live_idx"),
            models.Index(fields=["expires_at"], name="session_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        """The row-level twin of SessionQuerySet.live(): not ended, and not past when it ends if unused."""
        return self.ended_at is None and self.ends_if_unused_at > dj_timezone.now()

    @property
    def ends_if_unused_at(self) -> datetime:
        """When the session ends if nobody uses it: its refresh token in force expires, or its absolute end."""
        issued = self.rotated_at or self.created_at
        return min(self.expires_at, issued + timedelta(days=settings.REFRESH_TOKEN_DAYS))


# Two-factor sign-in -------------------------------------------------------------------------------------


class TotpDevice(models.Model):
    """The user's authenticator app: its RFC 6238 secret, encrypted (accounts/fields.py).

    Unconfirmed until a code from the app is shown back (`confirmed_at`); a new setup replaces an unconfirmed
    one. `last_used_step` is the 30 s time step of the last accepted code: a code is accepted only for a later
    step, under this row's lock, so no code works twice.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="totp_device")
    secret_encrypted = models.TextField()
    created_at = models.DateTimeField(default=dj_timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"TOTP of {self.user_id}"


class RecoveryCode(models.Model):
    """One single-use recovery code, stored as the SHA-256 of a 120-bit random code (never in clear; codes made
    before that length are 80-bit and still work until replaced)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=dj_timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of {self.user_id}"


class MfaChallenge(models.Model):
    """The second step of a login: the password was right, a code is still due.

    The client holds `mfa_token` (random, opaque, not a JWT); only its SHA-256 is kept. It is bound to the
    user, lives MFA_TOKEN_SECONDS, is spent by the login it completes, and dies after LOCKOUT_FAILURES wrong
    codes.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"MFA challenge {self.pk} of {self.user_id}"


# Personal API tokens -------------------------------------------------------------------------------------


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> ApiTokenQuerySet:
        """Not revoked and not expired: the tokens that authenticate, list and count toward the limit."""
        now = dj_timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal API token for scripts: `tdk_<id hex>_<secret>`, shown once.

    Only the SHA-256 of the secret is kept: the secret is 256 random bits, so the digest cannot be searched back
    to a token, and a database dump yields nothing that authenticates. The id in the token is the primary key,
    so checking a token is one lookup by primary key (joined to its user) and one constant-time comparison.
    """

    class Scope(models.TextChoices):
        TASKS_READ = "tasks:read"
        TASKS_WRITE = "tasks:write"
        PROJECTS_READ = "projects:read"
        PROJECTS_WRITE = "projects:write"

    class RevokeReason(models.TextChoices):
        USER = "user"
        STAFF = "staff"
        PASSWORD_RESET = "password_reset"
        DEACTIVATED = "deactivated"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        indexes = [models.Index(fields=["user", "revoked_at", "-created_at"], name="apitoken_user_live_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"

    @property
    def is_live(self) -> bool:
        """The row-level twin of ApiTokenQuerySet.live()."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > dj_timezone.now())

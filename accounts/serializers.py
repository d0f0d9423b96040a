from __future__ import annotations

import zoneinfo
from typing import Any, cast

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import apitokens
from accounts.addresses import INVISIBLE_MESSAGE, refused_characters
from accounts.models import ApiToken, Session, User, normalize_email
from config.http.formats import iso
from config.http.validators import single_line

_TIMEZONES = frozenset(zoneinfo.available_timezones())

PASSWORD_FIELD: dict[str, Any] = {"write_only": True, "trim_whitespace": False, "max_length": 4096}


def _password_option(validator: str, option: str) -> int:
    """An option of one of the AUTH_PASSWORD_VALIDATORS, so the schema states what the validators enforce."""
    entries = cast("list[dict[str, Any]]", settings.AUTH_PASSWORD_VALIDATORS)
    entry = next(entry for entry in entries if entry["NAME"].endswith(f".{validator}"))
    return int(entry["OPTIONS"][option])


class NewPassword(serializers.CharField):
    """A password being chosen. Its length is checked here, with the password validators' own bounds and
    messages, so the schema states it; the other rules (not common, not all digits, not like the email or
    name) stay with the validators."""

    def __init__(self, **kwargs: Any) -> None:
        low = _password_option("MinimumLengthValidator", "min_length")
        high = _password_option("MaximumLengthValidator", "max_length")
        messages = {
            "min_length": f"This password is too short. It must contain at least {low} characters.",
            "max_length": f"This password is too long. It must contain at most {high} characters.",
        }
        options = {**PASSWORD_FIELD, "min_length": low, "max_length": high, "error_messages": messages}
        super().__init__(**{**options, **kwargs})


@extend_schema_field({"type": "string", "enum": ["", *sorted(_TIMEZONES)]})
class TimeZoneName(serializers.CharField):
    """An IANA time zone name, or empty (UTC)."""


class Email(serializers.EmailField):
    """An address, refused if it holds invisible characters, and validated and returned in canonical form.

    `victim@example.com` spelt with a fullwidth e is `victim@example.com` from here on
    (accounts/addresses.py): the account, the throttles and the emails all see the one mailbox it reaches.
    """

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if refused_characters(value):
            raise serializers.ValidationError(INVISIBLE_MESSAGE)
        return normalize_email(value)


# Django's URLValidator takes these schemes only; an empty value (allow_blank) is added by drf-spectacular.
@extend_schema_field({"type": "string", "format": "uri", "pattern": "^(https?|ftps?)://", "maxLength": 500})
class AvatarUrl(serializers.URLField):
    pass


class UserSerializer(serializers.ModelSerializer[User]):
    avatar_url = AvatarUrl(read_only=True, allow_blank=True, help_text="A URL, or empty: no avatar.")
    profile_completion = serializers.IntegerField(read_only=True, min_value=0, max_value=100)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "bio",
            "avatar_url",
            "timezone",
            "email_notifications",
            "is_active",
            "is_staff",
            "email_verified",
            "date_joined",
            "last_login",
            "profile_completion",
        ]
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any]:
        # The same body DRF would build from the fields above, without building them: a ModelSerializer
        # introspects the model for every instance, which cost more than the whole rest of GET /auth/me.
        return user_to_dict(instance)


def user_to_dict(user: User) -> dict[str, Any]:
    return {
        "id": str(user.pk),
        "email": user.email,
        "full_name": user.full_name,
        "bio": user.bio,
        "avatar_url": user.avatar_url,
        "timezone": user.timezone,
        "email_notifications": user.email_notifications,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "email_verified": user.email_verified,
        "date_joined": iso(user.date_joined),
        "last_login": iso(user.last_login),
        "profile_completion": user.profile_completion,
    }


class ProfileUpdateSerializer(serializers.Serializer[Any]):
    """The only fields a user may change on themselves; anything else in the body is ignored."""

    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False, validators=[single_line])
    bio = serializers.CharField(max_length=2000, allow_blank=True, required=False, trim_whitespace=False)
    avatar_url = AvatarUrl(max_length=500, allow_blank=True, required=False)
    timezone = TimeZoneName(max_length=64, allow_blank=True, required=False)
    email_notifications = serializers.BooleanField(
        required=False, help_text="Also mail reminders and other notifications (default true)."
    )

    def validate_timezone(self, value: str) -> str:
        if value and value not in _TIMEZONES:
            raise serializers.ValidationError("Unknown time zone; use an IANA name such as Europe/Paris.")
        return value


class RegisterSerializer(serializers.Serializer[Any]):
    email = Email(max_length=254)
    password = NewPassword()
    full_name = serializers.CharField(
        max_length=150, allow_blank=True, required=False, default="", validators=[single_line]
    )


class LoginSerializer(serializers.Serializer[Any]):
    # Any text: an unknown or malformed address is the same 401 as a wrong password (and is audited as
    # tried). The service looks it up in canonical form, so every spelling of a mailbox is one account.
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(**PASSWORD_FIELD)


class RefreshSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(max_length=4096)


class LogoutSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(max_length=4096, required=False)


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField(
        required=False, help_text="Absent in cookie mode (X-Refresh-Mode: cookie): it is in the cookie instead."
    )
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class AuthResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class PasswordSerializer(serializers.Serializer[Any]):
    password = serializers.CharField(**PASSWORD_FIELD)


class LoginMfaSerializer(serializers.Serializer[Any]):
    # Long enough for any token a client might mix up (an access token is refused as 401, not 400).
    mfa_token = serializers.CharField(max_length=4096)
    code = serializers.CharField(
        max_length=64, help_text="A current code of the authenticator app, or an unused recovery code."
    )


class MfaCodeSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=64, help_text="The code the authenticator app shows now.")


class MfaChallengeSerializer(serializers.Serializer[Any]):
    mfa_required = serializers.BooleanField(help_text="Always true: send a code to POST /auth/login/mfa.")
    mfa_token = serializers.CharField(help_text="Single use, bound to this sign-in; not an access token.")
    methods = serializers.ListField(child=serializers.ChoiceField(choices=["totp", "recovery_code"]))
    expires_in = serializers.IntegerField(help_text="Seconds until mfa_token expires (300).")


class TotpSetupSerializer(serializers.Serializer[Any]):
    secret = serializers.CharField(help_text="Base32 secret, for typing into an authenticator app.")
    otpauth_uri = serializers.CharField(help_text="otpauth://totp/... URI, for a QR code (SHA1, 6 digits, 30 s).")


class RecoveryCodesSerializer(serializers.Serializer[Any]):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Ten single-use codes, shown this once; each signs in once."
    )


class MfaStatusSerializer(serializers.Serializer[Any]):
    totp_enabled = serializers.BooleanField()
    recovery_codes_left = serializers.IntegerField()


class EmailChangeSerializer(serializers.Serializer[Any]):
    new_email = Email(max_length=254)
    password = serializers.CharField(**PASSWORD_FIELD)


class EmailChangeConfirmSerializer(serializers.Serializer[Any]):
    uid = serializers.CharField(max_length=200)
    # The link's token names both addresses (accounts/links.py), so it is longer than the other links'.
    token = serializers.CharField(max_length=2048)


class PasswordChangeSerializer(serializers.Serializer[Any]):
    current_password = serializers.CharField(**PASSWORD_FIELD)
    new_password = NewPassword()


class PasswordResetSerializer(serializers.Serializer[Any]):
    email = Email(max_length=254)


class UidTokenSerializer(serializers.Serializer[Any]):
    uid = serializers.CharField(max_length=200)
    token = serializers.CharField(max_length=200)


class PasswordResetConfirmSerializer(UidTokenSerializer):
    new_password = NewPassword()


class SessionSerializer(serializers.ModelSerializer[Session]):
    current = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(
        source="ends_if_unused_at",
        read_only=True,
        help_text="When the session ends if left unused: the earlier of its refresh token's expiry and its "
        "absolute end (SESSION_MAX_DAYS after sign-in).",
    )

    class Meta:
        model = Session
        fields = ["id", "created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "current"]
        read_only_fields = fields

    def get_current(self, session: Session) -> bool:
        return str(session.pk) == str(self.context.get("current_session_id"))


class ApiTokenCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, validators=[single_line])
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(apitokens.SCOPES)),
        min_length=1,
        max_length=len(apitokens.SCOPES),
        help_text="tasks:read, tasks:write, projects:read, projects:write; a write scope includes its read.",
    )
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=365, required=False, allow_null=True, help_text="Omitted or null: never expires."
    )

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value.strip()


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scopes", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.SerializerMethodField(help_text="The token, `tdk_...`: shown this once, stored hashed.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ["id", "name", "scopes", "token", "created_at", "expires_at", "last_used_at"]
        read_only_fields = fields

    def get_token(self, obj: ApiToken) -> str:
        return str(self.context["raw_token"])


# Staff user management ----------------------------------------------------------------------------------


class StaffUserUpdateSerializer(ProfileUpdateSerializer):
    """What staff may change on a user; anything else in the body (email, password, id, ...) is ignored."""

    is_active = serializers.BooleanField(required=False)
    is_staff = serializers.BooleanField(required=False)
    email_verified = serializers.BooleanField(required=False)
    # A preference of the user's own, not for staff to change.
    email_notifications = None  # type: ignore[assignment]


class UnlockResultSerializer(serializers.Serializer[Any]):
    attempts_cleared = serializers.IntegerField(help_text="Failed-login records forgotten (0: nothing was locked).")


class SessionsRevokeResultSerializer(serializers.Serializer[Any]):
    sessions_ended = serializers.IntegerField(help_text="Live sessions that were ended.")

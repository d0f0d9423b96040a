from __future__ import annotations

import zoneinfo
from typing import Any

from rest_framework import serializers

from accounts.models import Session, User

_TIMEZONES = frozenset(zoneinfo.available_timezones())

PASSWORD_FIELD = {"write_only": True, "trim_whitespace": False, "max_length": 4096}


class UserSerializer(serializers.ModelSerializer[User]):
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
            "is_active",
            "is_staff",
            "email_verified",
            "date_joined",
            "last_login",
            "profile_completion",
        ]
        read_only_fields = fields


class ProfileUpdateSerializer(serializers.Serializer[Any]):
    """The only fields a user may change on themselves; anything else in the body is ignored."""

    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    bio = serializers.CharField(max_length=2000, allow_blank=True, required=False, trim_whitespace=False)
    avatar_url = serializers.URLField(max_length=500, allow_blank=True, required=False)
    timezone = serializers.CharField(max_length=64, allow_blank=True, required=False)

    def validate_timezone(self, value: str) -> str:
        if value and value not in _TIMEZONES:
            raise serializers.ValidationError("Unknown time zone; use an IANA name such as Europe/Paris.")
        return value


class RegisterSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(**PASSWORD_FIELD)
    full_name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")


class LoginSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(**PASSWORD_FIELD)


class RefreshSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(max_length=4096)


class LogoutSerializer(serializers.Serializer[Any]):
    refresh = serializers.CharField(max_length=4096, required=False)


class TokenPairSerializer(serializers.Serializer[Any]):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class AuthResponseSerializer(TokenPairSerializer):
    user = UserSerializer()


class PasswordSerializer(serializers.Serializer[Any]):
    password = serializers.CharField(**PASSWORD_FIELD)


class PasswordChangeSerializer(serializers.Serializer[Any]):
    current_password = serializers.CharField(**PASSWORD_FIELD)
    new_password = serializers.CharField(**PASSWORD_FIELD)


class PasswordResetSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)


class UidTokenSerializer(serializers.Serializer[Any]):
    uid = serializers.CharField(max_length=200)
    token = serializers.CharField(max_length=200)


class PasswordResetConfirmSerializer(UidTokenSerializer):
    new_password = serializers.CharField(**PASSWORD_FIELD)


class SessionSerializer(serializers.ModelSerializer[Session]):
    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = ["id", "created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "current"]
        read_only_fields = fields

    def get_current(self, session: Session) -> bool:
        return str(session.pk) == str(self.context.get("current_session_id"))

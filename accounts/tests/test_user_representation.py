from __future__ import annotations

from typing import Any, cast

import pytest
from django.utils import timezone
from rest_framework import serializers

from accounts.models import User
from accounts.serializers import UserSerializer
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class DRFUserSerializer(serializers.ModelSerializer[User]):
    """What DRF itself renders for the same fields: the reference the fast path must match."""

    profile_completion = serializers.IntegerField(read_only=True)

    class Meta:
        model = User
        fields = UserSerializer.Meta.fields


@pytest.mark.parametrize("last_login", [None, timezone.now()], ids=["never signed in", "signed in"])
def test_the_user_body_is_exactly_what_a_model_serializer_renders(last_login: Any) -> None:
    user = cast(User, UserFactory(bio="Bio", timezone="Europe/Paris", avatar_url="https://example.com/a.png"))
    user.last_login = last_login
    assert UserSerializer(user).data == DRFUserSerializer(user).data
    assert UserSerializer([user], many=True).data == DRFUserSerializer([user], many=True).data

"""The per-request session lookup runs precompiled SQL; it must give exactly what the ORM gives."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.models import Session
from accounts.selectors import session_with_user

pytestmark = pytest.mark.django_db


def test_it_returns_the_session_and_its_user_as_the_orm_does(user: Any, django_assert_num_queries: Any) -> None:
    now = timezone.now()
    session = Session.objects.create(
        user=user, expires_at=now + timedelta(days=30), refresh_jti="abc", ip_address="2001:db8::1", user_agent="UA"
    )
    expected = Session.objects.select_related("user").get(pk=session.pk)

    with django_assert_num_queries(1):
        found = session_with_user(session.pk)
        assert found is not None
        assert found.user.email == user.email  # the user came with the session: no second query

    assert model_to_dict(found) == model_to_dict(expected)
    assert (found.pk, found.created_at, found.expires_at) == (expected.pk, expected.created_at, expected.expires_at)
    assert model_to_dict(found.user) == model_to_dict(expected.user)
    assert found.user.date_joined == expected.user.date_joined


def test_an_unknown_session_is_none(db: Any) -> None:
    assert session_with_user(uuid.uuid4()) is None

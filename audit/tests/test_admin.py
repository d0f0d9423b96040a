"""The admin shows the audit log and offers no way to add, change or delete an entry, to anyone."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from audit.context import RequestContext
from audit.models import Event, EventType
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db: Any) -> Any:
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def event(user: User) -> Event:
    meta = RequestContext(ip_address="203.0.113.9", user_agent="UA", request_id="req-admin-1")
    return audit_record(event=EventType.LOGIN_FAILED, user=user, email="<b>owner</b>@example.com", meta=meta)


@pytest.fixture
def other_event(outsider: User) -> Event:
    meta = RequestContext(ip_address="203.0.113.10", user_agent="UA", request_id="req-admin-2")
    return audit_record(event=EventType.PROFILE_UPDATED, user=outsider, meta=meta, details={"fields": ["bio"]})


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(params=["superuser", "staff"])
def admin_client_of(request: Any) -> Client:
    return signed_in(request.getfixturevalue(request.param))


def changelist() -> str:
    return reverse("admin:audit_event_changelist")


def test_staff_and_superusers_can_read_the_log(admin_client_of: Client, event: Event, other_event: Event) -> None:
    response = admin_client_of.get(changelist())

    assert response.status_code == 200
    content = response.content.decode()
    assert "req-admin-1" in content and "req-admin-2" in content
    # User-supplied strings are escaped, never rendered.
    assert "&lt;b&gt;owner&lt;/b&gt;@example.com" in content
    assert "<b>owner</b>" not in content


def test_an_entry_opens_read_only(admin_client_of: Client, other_event: Event) -> None:
    url = reverse("admin:audit_event_change", args=[other_event.pk])

    response = admin_client_of.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "req-admin-2" in content and "&quot;bio&quot;" in content
    assert 'name="_save"' not in content
    assert "deletelink" not in content


def test_nothing_can_be_added_changed_or_deleted(admin_client_of: Client, event: Event) -> None:
    before = list(Event.objects.values())

    assert admin_client_of.get(reverse("admin:audit_event_add")).status_code == 403
    assert admin_client_of.post(reverse("admin:audit_event_add"), {"event": "auth.registered"}).status_code == 403
    change = reverse("admin:audit_event_change", args=[event.pk])
    assert admin_client_of.post(change, {"event": "auth.registered", "email": "x@example.com"}).status_code == 403
    assert admin_client_of.get(reverse("admin:audit_event_delete", args=[event.pk])).status_code == 403
    assert (
        admin_client_of.post(reverse("admin:audit_event_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    admin_client_of.post(changelist(), {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})

    assert list(Event.objects.values()) == before


def test_no_permission_or_action_allows_a_write_even_for_a_superuser(superuser: User, event: Event) -> None:
    model_admin = admin.site._registry[Event]
    request = type("Request", (), {"user": superuser, "GET": {}})()

    assert model_admin.has_view_permission(request) is True
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request, event) is False
    assert model_admin.has_delete_permission(request, event) is False
    assert model_admin.get_actions(request) == {}
    content = signed_in(superuser).get(changelist()).content.decode()
    assert "delete_selected" not in content and 'name="action"' not in content
    assert reverse("admin:audit_event_add") not in content


def test_a_user_who_is_not_staff_cannot_read_the_log(user: User, event: Event) -> None:
    response = signed_in(user).get(changelist())

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_list_shows_event_email_actor_address_request_id_and_time(superuser: User, event: Event) -> None:
    model_admin = admin.site._registry[Event]

    assert list(model_admin.list_display) == ["event", "email", "actor_email", "ip_address", "request_id", "created_at"]


def test_it_filters_by_event_type_and_searches_by_email_and_request_id(
    superuser: User, event: Event, other_event: Event
) -> None:
    client = signed_in(superuser)

    by_type = client.get(changelist(), {"event__exact": "account.profile_updated"}).content.decode()
    by_email = client.get(changelist(), {"q": "outsider@"}).content.decode()
    by_request = client.get(changelist(), {"q": "req-admin-1"}).content.decode()
    by_date = client.get(
        changelist(), {"created_at__gte": "2000-01-01 00:00:00+00:00", "created_at__lt": "2000-01-02 00:00:00+00:00"}
    )

    assert "req-admin-2" in by_type and "req-admin-1" not in by_type
    assert "req-admin-2" in by_email and "req-admin-1" not in by_email
    assert "req-admin-1" in by_request and "req-admin-2" not in by_request
    assert by_date.status_code == 200 and "req-admin-1" not in by_date.content.decode()

"""One account per mailbox: addresses are stored and compared in one canonical form.

NFKC, case-folded, the domain in IDNA (punycode) form, invisible characters dropped for comparison and
refused in any address a user or staff member submits (400 `validation_error` on `email`).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.addresses import INVISIBLE_MESSAGE, normalize_email
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tests.helpers import assert_error
from accounts.tests.test_admin import USERS, post_change
from audit.models import Event, EventType

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.com"
FULLWIDTH_E = "\uff45"
SOFT_HYPHEN = "\u00ad"
# Addresses whose mail reaches the victim's mailbox.
LOOK_ALIKES = {
    "fullwidth domain": f"victim@{FULLWIDTH_E}xample.com",
    "fullwidth local part": "\uff56ictim@example.com",
    "upper case": "VICTIM@Example.COM",
    "fullwidth at sign": "victim\uff20example.com",
    "root dot": "victim@example.com.",
}
# Addresses with characters no address may hold.
INVISIBLE = {
    "soft hyphen in the domain": f"victim@exam{SOFT_HYPHEN}ple.com",
    "soft hyphen in the local part": f"vic{SOFT_HYPHEN}tim@example.com",
    "zero-width space": "victim@exa\u200bmple.com",
    "zero-width joiner": "vic\u200dtim@example.com",
    "right-to-left override": "victim@\u202eexample.com",
    "left-to-right mark": "victim\u200e@example.com",
    "byte order mark": "\ufeffvictim@example.com",
    "word joiner": "victim@example\u2060.com",
    "variation selector": "victim@example.com\ufe0f",
}


@pytest.fixture
def victim(db: Any) -> Any:
    return UserFactory(email=VICTIM, full_name="Vera Victim")


def register(email: str) -> Any:
    body = {"email": email, "password": "an unguessable passphrase", "full_name": "Mallory"}
    return APIClient().post("/api/v1/auth/register", body, format="json")


# The canonical form ------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", [*LOOK_ALIKES.values(), *INVISIBLE.values()])
def test_every_address_of_the_victims_mailbox_has_the_victims_canonical_form(address: str) -> None:
    assert normalize_email(address) == VICTIM


def test_an_international_domain_is_stored_in_its_punycode_form() -> None:
    assert normalize_email("Ada@B\u00fccher.DE") == "ada@xn--bcher-kva.de"
    assert normalize_email("ada@xn--bcher-kva.de") == "ada@xn--bcher-kva.de"


@pytest.mark.parametrize("address", ["ada@b\u00fccher.de", "x@a..b", "", "no-at-sign", "a@\u00e9" * 3, "@"])
def test_the_canonical_form_is_stable_and_never_raises(address: str) -> None:
    once = normalize_email(address)
    assert normalize_email(once) == once


def test_the_manager_and_the_model_store_the_canonical_form(db: Any) -> None:
    user = User.objects.create_user(f"Ada@B\u00fccher.de{SOFT_HYPHEN}", "a long passphrase")
    assert User.objects.get(pk=user.pk).email == "ada@xn--bcher-kva.de"
    user.email = f"ADA@{FULLWIDTH_E}xample.com"
    user.save()
    assert User.objects.get(pk=user.pk).email == "ada@example.com"


# Sign-up ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_of_an_existing_address_cannot_register(victim: Any, address: str) -> None:
    assert_error(register(address), 409, "email_taken")
    assert User.objects.count() == 1


@pytest.mark.parametrize("address", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_an_address_with_invisible_characters_is_refused_at_registration(db: Any, address: str) -> None:
    body = assert_error(register(address), 400, "validation_error")
    assert body["errors"]["email"] == [INVISIBLE_MESSAGE]
    assert not User.objects.exists()
    assert not Event.objects.exists()


def test_a_new_international_address_registers_in_punycode_and_gets_its_mail(
    db: Any, mailoutbox: list[Any], run_jobs: Any
) -> None:
    response = register("Mallory@B\u00fccher.de")
    assert response.status_code == 201, response.content
    run_jobs()
    assert response.json()["user"]["email"] == "mallory@xn--bcher-kva.de"
    assert [message.to for message in mailoutbox] == [["mallory@xn--bcher-kva.de"]]


# Sign-in and lockout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_login_finds_the_account_under_any_form_of_its_address(victim: Any, address: str) -> None:
    response = APIClient().post("/api/v1/auth/login", {"email": address, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == str(victim.pk)


def test_login_reads_invisible_characters_as_the_address_without_them(victim: Any) -> None:
    # Login stores nothing: a spelling with a soft hyphen is the same mailbox, and counts for the same lockout.
    address = INVISIBLE["soft hyphen in the domain"]
    response = APIClient().post("/api/v1/auth/login", {"email": address, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(victim.pk)


def test_failed_logins_under_look_alike_addresses_lock_the_one_account(victim: Any) -> None:
    client = APIClient()
    for address in [*LOOK_ALIKES.values()][:5]:
        response = client.post("/api/v1/auth/login", {"email": address, "password": "wrong guess"}, format="json")
        assert response.status_code == 401
    response = client.post("/api/v1/auth/login", {"email": VICTIM, "password": PASSWORD}, format="json")
    assert_error(response, 429, "account_locked")


def test_the_admin_login_takes_a_look_alike_address(victim: Any) -> None:
    User.objects.filter(pk=victim.pk).update(is_staff=True)
    response = Client().post("/admin/login/", {"username": LOOK_ALIKES["fullwidth domain"], "password": PASSWORD})
    assert response.status_code == 302


# Password reset -----------------------------------------------------------------------------------------


def test_a_reset_asked_for_a_look_alike_goes_to_the_one_mailbox(
    victim: Any, mailoutbox: list[Any], run_jobs: Any
) -> None:
    response = APIClient().post(
        "/api/v1/auth/password/reset", {"email": LOOK_ALIKES["fullwidth domain"]}, format="json"
    )
    assert response.status_code == 202
    run_jobs()
    assert [message.to for message in mailoutbox] == [[VICTIM]]
    [event] = Event.objects.filter(event=EventType.PASSWORD_RESET_REQUESTED)
    assert (event.email, event.user_id) == (VICTIM, victim.pk)


def test_a_reset_for_an_address_with_invisible_characters_is_refused(victim: Any) -> None:
    response = APIClient().post("/api/v1/auth/password/reset", {"email": INVISIBLE["zero-width space"]}, format="json")
    assert assert_error(response, 400, "validation_error")["errors"]["email"] == [INVISIBLE_MESSAGE]
    assert not mail.outbox


def test_the_per_mailbox_reset_limit_counts_look_alikes_together(victim: Any, settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "password_reset": "3/hour"},
    }
    addresses = [LOOK_ALIKES["fullwidth domain"], LOOK_ALIKES["upper case"], LOOK_ALIKES["fullwidth local part"]]
    for n, address in enumerate(addresses):
        # A new client address each time: only the per-mailbox limit can stop them.
        client = APIClient(REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert client.post("/api/v1/auth/password/reset", {"email": address}, format="json").status_code == 202
    last = APIClient(REMOTE_ADDR="198.51.100.99").post("/api/v1/auth/password/reset", {"email": VICTIM}, format="json")
    assert_error(last, 429, "throttled")


# Staff: search and the admin's forms --------------------------------------------------------------------


@pytest.mark.parametrize("term", [LOOK_ALIKES["fullwidth domain"], "VICTIM", "\uff56ictim", "Vera"])
def test_the_staff_search_finds_the_canonical_address(staff_client: APIClient, victim: Any, term: str) -> None:
    response = staff_client.get("/api/v1/users/", {"search": term})
    assert response.status_code == 200
    assert [row["email"] for row in response.json()["results"]] == [VICTIM]


def test_the_staff_search_finds_an_international_domain_as_written(staff_client: APIClient) -> None:
    UserFactory(email="ada@b\u00fccher.de")
    for term in ("b\u00fccher", "B\u00dcCHER.de", "xn--bcher"):
        results = staff_client.get("/api/v1/users/", {"search": term}).json()["results"]
        assert [row["email"] for row in results] == ["ada@xn--bcher-kva.de"], term


def test_the_admin_user_search_finds_the_canonical_address(staff: Any, victim: Any) -> None:
    console = Client()
    console.force_login(staff)
    for term in (LOOK_ALIKES["fullwidth domain"], "\uff56ictim", "Vera Victim"):
        results = console.get(USERS, {"q": term}).content.decode().split('id="result_list"')[1]
        assert VICTIM in results, term
        assert "staff@example.com" not in results


def test_the_admin_refuses_to_add_a_look_alike_of_an_existing_address(staff: Any, victim: Any) -> None:
    console = Client()
    console.force_login(staff)
    for address, message in (
        (LOOK_ALIKES["fullwidth domain"], "A user with this email already exists."),
        (INVISIBLE["soft hyphen in the domain"], "invisible, formatting or control characters"),
    ):
        response = console.post(
            f"{USERS}add/",
            {
                "email": address,
                "full_name": "Mallory",
                "usable_password": "true",
                "password1": "a long enough passphrase",
                "password2": "a long enough passphrase",
            },
        )
        assert response.status_code == 200
        assert message in response.content.decode()
    assert User.objects.filter(full_name="Mallory").count() == 0


def test_the_admin_refuses_to_change_an_address_to_a_look_alike_or_an_invisible_one(
    staff: Any, victim: Any, outsider: Any
) -> None:
    console = Client()
    console.force_login(staff)
    for address, message in (
        (LOOK_ALIKES["fullwidth domain"], "A user with this email already exists."),
        (INVISIBLE["zero-width space"], "invisible, formatting or control characters"),
        (INVISIBLE["zero-width joiner"], "Enter a valid email address."),
    ):
        response = post_change(console, outsider, email=address)
        assert response.status_code == 200
        assert message in response.content.decode()
    outsider.refresh_from_db()
    assert outsider.email == "outsider@example.com"
    assert post_change(console, outsider, email=f"Otto@{FULLWIDTH_E}xample.org").status_code == 302
    outsider.refresh_from_db()
    assert outsider.email == "otto@example.org"


def test_commands_find_the_account_under_a_look_alike_address(victim: Any) -> None:
    call_command("revoke_sessions", LOOK_ALIKES["fullwidth domain"])
    assert Event.objects.filter(event=EventType.SESSION_REVOKED, user=victim).exists()

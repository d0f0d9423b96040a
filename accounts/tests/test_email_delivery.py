"""Account emails over real SMTP: a mail server that is down or slow never touches the request, and the mail
arrives, once, when the server comes back."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from accounts.jobs import email_user
from accounts.models import User

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An SMTP server's mailbox that answers `451 try again later` to the first `refusals` messages."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            self.refusals -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp(settings: Any) -> Iterator[Callable[[Inbox], None]]:
    """Points Django at a local SMTP port where nothing listens yet; calling the fixture starts a server."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    controllers: list[Controller] = []

    def start(inbox: Inbox) -> None:
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)

    yield start
    for controller in controllers:
        controller.stop()


def register(email: str = "ada@example.com") -> Any:
    return APIClient().post(
        "/api/v1/auth/register",
        {"email": email, "password": "quiet lantern over the harbour", "full_name": "Ada"},
        format="json",
    )


def due_now() -> timedelta:
    """Brings the waiting job's retry forward to now; answers how long the worker had asked it to wait."""
    job = DBTaskResult.objects.get()
    assert job.status == "READY"
    assert job.started_at is not None
    wait: timedelta = job.run_after - job.started_at
    DBTaskResult.objects.update(run_after=timezone.now())
    return wait


def test_a_refusing_then_accepting_mail_server_gets_every_mail_exactly_once(
    smtp: Callable[[Inbox], None], run_jobs: Callable[[], int]
) -> None:
    assert register().status_code == 201

    # Down: nothing listens on the port.
    assert run_jobs() == 1
    assert DBTaskResult.objects.get().exception_class_path == "builtins.ConnectionRefusedError"
    first_wait = due_now()

    # Up, but refusing: 451 to the message.
    inbox = Inbox(refusals=1)
    smtp(inbox)
    assert run_jobs() == 1
    assert DBTaskResult.objects.get().exception_class_path == "smtplib.SMTPDataError"
    second_wait = due_now()
    assert inbox.messages == []
    assert timedelta(seconds=9) < first_wait < timedelta(seconds=11)
    assert timedelta(seconds=19) < second_wait < timedelta(seconds=21)

    # Accepting.
    assert run_jobs() == 1
    job = DBTaskResult.objects.get()
    assert job.status == "SUCCESSFUL"
    assert len(job.worker_ids) == 3
    (raw,) = inbox.messages
    message = message_from_bytes(raw)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Confirm your Taskdesk email address"

    assert run_jobs() == 0
    assert len(inbox.messages) == 1


def test_a_mail_server_that_hangs_does_not_slow_the_request(settings: Any, run_jobs: Callable[[], int]) -> None:
    # A server that accepts connections and never says a word: a sender would wait for its timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent.getsockname()[1]

        started = time.monotonic()
        response = APIClient().post("/api/v1/auth/password/reset", {"email": "nobody@example.com"}, format="json")
        assert response.status_code == 202
        response = register()
        assert response.status_code == 201
        assert time.monotonic() - started < 2
        silent.settimeout(0)
        with pytest.raises(BlockingIOError):
            silent.accept()  # the request never even connected
    assert DBTaskResult.objects.get().status == "READY"


def test_an_email_is_enqueued_in_the_transaction_of_its_change(user: User) -> None:
    with pytest.raises(Boom), transaction.atomic():
        email_user(kind="verify_email", user=user)
        assert DBTaskResult.objects.count() == 1  # a row of this very transaction
        raise Boom
    assert not DBTaskResult.objects.exists()

    with transaction.atomic():
        email_user(kind="verify_email", user=user)
    (job,) = DBTaskResult.objects.all()
    assert job.status == "READY"
    assert job.task_path == "accounts.jobs.send_email"
    assert job.args_kwargs == {"args": [], "kwargs": {"kind": "verify_email", "user_id": str(user.pk)}}


def test_a_job_run_again_after_its_mail_went_out_does_not_send_it_twice(
    user: User, mailoutbox: list[Any], run_jobs: Callable[[], int]
) -> None:
    with transaction.atomic():
        email_user(kind="verify_email", user=User.objects.create(email="new@example.com"))
    assert run_jobs() == 1
    # As if the worker had died between the send and recording success: the job runs once more.
    DBTaskResult.objects.update(status="READY")

    assert run_jobs() == 1
    assert DBTaskResult.objects.get().return_value == "already sent"
    assert len(mailoutbox) == 1


def test_a_mail_repeated_by_a_crash_before_its_mark_is_the_same_message(
    smtp: Callable[[Inbox], None], run_jobs: Callable[[], int], settings: Any
) -> None:
    # The one repeat at least once allows: the worker died after the server took the mail, before the mark.
    from config.jobs.models import Effect

    inbox = Inbox()
    smtp(inbox)
    assert register().status_code == 201
    assert register("bob@example.com").status_code == 201
    assert run_jobs() == 2
    ada_job = DBTaskResult.objects.get(args_kwargs__kwargs__user_id=str(User.objects.get(email="ada@example.com").pk))
    Effect.objects.filter(key=f"email:{ada_job.pk}").delete()
    DBTaskResult.objects.filter(pk=ada_job.pk).update(status="READY")
    assert run_jobs() == 1

    messages = [message_from_bytes(raw) for raw in inbox.messages]
    assert [message["To"] for message in messages] == ["ada@example.com", "bob@example.com", "ada@example.com"]
    ada_first, bob, ada_again = (message["Message-ID"] for message in messages)
    assert ada_first == ada_again
    assert bob != ada_first
    assert ada_first.endswith("@taskdesk.local>")

    # Another installation (another SECRET_KEY) names the same job's mail differently.
    from config.jobs.effects import message_id

    settings.SECRET_KEY = "another installation " * 3
    assert message_id(f"email:{ada_job.pk}") != ada_first

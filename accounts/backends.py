from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import normalize_email


class EmailBackend(ModelBackend):
    """ModelBackend keyed on the email, in any case.

    ModelBackend already runs the password hasher for an unknown email, so an unknown account and a wrong
    password take about the same time.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        email = kwargs.get("email", username)
        return super().authenticate(request, username=normalize_email(email or ""), password=password)

"""Rate limits, counted in the shared cache (Redis when REDIS_URL is set) by the trusted client address."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.request import Request

from config.net import client_ip


class _ClientAddressMixin:
    def get_ident(self, request: Request) -> str:
        return client_ip(request._request)


class AnonRateThrottle(_ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_ClientAddressMixin, throttling.UserRateThrottle):
    pass


class ScopedAddressThrottle(_ClientAddressMixin, throttling.SimpleRateThrottle):
    """One scope's rate per client address, whether or not the caller is signed in."""

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(ScopedAddressThrottle):
    scope = "login"


class RegisterThrottle(ScopedAddressThrottle):
    scope = "register"


class PasswordResetThrottle(ScopedAddressThrottle):
    scope = "password_reset"

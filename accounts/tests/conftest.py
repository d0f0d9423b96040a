"""Fixtures of the two-factor tests (accounts/tests/test_mfa_*.py)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.tests.mfa_helpers import T0
from accounts.tests.refresh_modes import MODES, RefreshMode


@pytest.fixture
def mfa_clock(time_machine: Any) -> Any:
    """Time stands still at T0, the start of a 30 s step. Ask for it before signing anyone in: a token minted
    now must not come from the future of the test's clock."""
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def many_logins(settings: Any) -> None:
    # These tests sign in many times from one address; the login rate has its own tests.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "1000/min"},
    }


@pytest.fixture(params=MODES)
def mode(request: Any) -> RefreshMode:
    """Refresh tokens in the body, or in the cookie of the cookie mode (SPEC 3b): a test that takes it runs in
    both, since every rule of rotation, reuse and the grace window holds in both."""
    return RefreshMode(request.param)

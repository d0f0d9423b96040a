"""DJANGO_ENV=production: refuses to start without SECRET_KEY or ALLOWED_HOSTS; with both, passes check --deploy.

Each case runs in a fresh interpreter with a clean environment: settings are read once, at startup. Every
variable of .env.example is set (to empty when the case does not want it), so that neither the developer's
environment nor a .env beside manage.py (python-dotenv never overrides a variable that is set) can leak in.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def clean_env(**values: str) -> dict[str, str]:
    names = [
        line.split("=", 1)[0].strip()
        for line in (BASE_DIR / ".env.example").read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    ]
    env = {name: "" for name in names}
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        HOME=os.environ.get("HOME", "/tmp"),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(values)
    return env


def run(*args: str, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=clean_env(**values),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SETUP = ("-c", "import django; django.setup()")
STRONG_KEY = secrets.token_urlsafe(64)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run(*SETUP, DJANGO_ENV="production", ALLOWED_HOSTS="api.example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts() -> None:
    result = run(*SETUP, DJANGO_ENV="production", SECRET_KEY=STRONG_KEY)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr


def test_manage_py_refuses_too() -> None:
    result = run("manage.py", "check", DJANGO_ENV="production")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_with_both_passes_the_deploy_checks_without_a_warning() -> None:
    result = run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="api.example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_turns_debug_off_by_default() -> None:
    result = run(
        "-c",
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DJANGO_ENV="production",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="api.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("env", ["staging", "prod", "PRODUCTION "])
def test_an_unknown_django_env_is_refused(env: str) -> None:
    result = run(*SETUP, DJANGO_ENV=env, SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="api.example.com")

    assert result.returncode != 0
    assert "DJANGO_ENV" in result.stderr


def test_development_starts_with_no_configuration_at_all() -> None:
    result = run(*SETUP)

    assert result.returncode == 0, result.stderr

"""The TypeScript types of the API, generated from the schema the app serves, compile under `tsc --strict`.

clients/typescript pins openapi-typescript and TypeScript (package-lock.json); `npm ci` installs them. The types
are generated, never written by hand: clients/typescript/usage.ts only uses them, as a client would. Without
npm on the machine the test is skipped, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "typescript"
NPM = shutil.which("npm")

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(NPM is None, reason="npm is not installed: the TypeScript client is not checked"),
]


def run(*command: str) -> str:
    done = subprocess.run(command, cwd=CLIENT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_generated_types_compile_strictly() -> None:
    assert NPM is not None
    run(NPM, "ci", "--no-audit", "--no-fund", "--prefer-offline")
    build = CLIENT / "build"
    build.mkdir(exist_ok=True)
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    (build / "openapi.json").write_bytes(response.content)

    run(str(CLIENT / "node_modules" / ".bin" / "openapi-typescript"), "build/openapi.json", "-o", "build/api.d.ts")
    types = (build / "api.d.ts").read_text()
    assert '"/api/v1/tasks/": {' in types and "Error: {" in types

    output = run(str(CLIENT / "node_modules" / ".bin" / "tsc"), "--strict", "--noEmit", "-p", ".")
    assert output == ""

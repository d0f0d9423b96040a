"""The password hasher every new hash and every upgrade uses: Argon2id with explicit parameters.

Django's Argon2PasswordHasher defaults (5.2) are 100 MiB, 2 iterations, 8 lanes: about 300 ms of CPU per
hash on our 2-core hosts, 100 MiB per login in flight, and the 8 lanes buy nothing on 2 cores. OWASP's
Password Storage Cheat Sheet sets the floor for Argon2id at 19 MiB, 2 iterations, 1 lane; we hash exactly
at it (p50 about 40 ms of CPU here, measured in docs/performance.md), so a login stays well under 100 ms.

The algorithm name stays `argon2`, so every existing `argon2$...` hash still verifies with this class, and
Django's `must_update` (parameters differ from these) rehashes it on the next successful login. The dummy
hash ModelBackend computes for an unknown email is made by this first hasher too, so an unknown email and
a wrong password still cost the same.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    # Argon2id is what argon2-cffi's params() uses (Type.ID); these are the three numbers it does not fix.
    memory_cost = 19 * 1024  # KiB: 19 MiB
    time_cost = 2
    parallelism = 1

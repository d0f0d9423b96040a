"""Settings for the test suite: production's, with what only slows tests down or reaches outside swapped out.

- Passwords hash with Argon2 at its cheapest parameters: the same algorithm and `argon2$argon2id$` hashes,
  a fraction of the time. The tests of hashing itself put PRODUCTION_PASSWORD_HASHERS back.
- Email stays in memory (`django.core.mail.outbox`), whatever EMAIL_BACKEND the environment names.
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher

from config.settings import *  # noqa: F403
from config.settings import PASSWORD_HASHERS


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 64
    parallelism = 1


PRODUCTION_PASSWORD_HASHERS = list(PASSWORD_HASHERS)
PASSWORD_HASHERS = ["config.test_settings.FastArgon2PasswordHasher", *PRODUCTION_PASSWORD_HASHERS[1:]]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Schema fuzzing (config/tests/test_schema_fuzz.py): examples per operation, a seed (0: derandomized, the same
# examples every run), and Schemathesis' coverage phase (boundary values of every keyword: ~120 requests an
# operation, too long for every run). `FUZZ_EXAMPLES=200 FUZZ_SEED=7 FUZZ_COVERAGE=true` runs it all, longer.
FUZZ_EXAMPLES = env_int("FUZZ_EXAMPLES", 20, minimum=1)  # noqa: F405
FUZZ_SEED = env_int("FUZZ_SEED", 0)  # noqa: F405
FUZZ_COVERAGE = env_bool("FUZZ_COVERAGE", False)  # noqa: F405

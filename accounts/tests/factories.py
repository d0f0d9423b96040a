from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User

PASSWORD = "correct horse battery staple"
# Hashing once at import keeps factories fast; Argon2 per user would dominate the suite's time.
_PASSWORD_HASH = make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = _PASSWORD_HASH
    email_verified = True

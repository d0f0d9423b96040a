from __future__ import annotations

from typing import TYPE_CHECKING, Any

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from tasks.models import Priority, Status, Task


class TaskFactory(factory.django.DjangoModelFactory[Task]):
    class Meta:
        model = Task

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    description = ""
    status = Status.PENDING
    priority = Priority.MEDIUM
    tags = factory.LazyFunction(list)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda task: task.created_at)
    completed_at = factory.LazyAttribute(lambda task: task.updated_at if task.status == Status.COMPLETED else None)

    if TYPE_CHECKING:
        # Calling the factory creates a Task; say so to the type checker.
        def __new__(cls, *args: Any, **kwargs: Any) -> Task: ...  # type: ignore[misc]

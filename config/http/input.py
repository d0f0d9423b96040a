"""Request input: a body validated by a serializer (or the SPEC's 400 validation_error), and applied to a row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework.request import Request


def validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def assign_changed(instance: Any, values: Mapping[str, Any], fields: Iterable[str]) -> list[str]:
    """Sets on `instance` those of `fields` that `values` gives and that differ; returns their names.

    Every service that applies input to a row uses it, then saves only those fields (`update_fields`), so an
    edit that changes nothing writes nothing and records nothing.
    """
    changed = [field for field in fields if field in values and getattr(instance, field) != values[field]]
    for field in changed:
        setattr(instance, field, values[field])
    return changed

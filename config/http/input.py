"""Request input: a body validated by a serializer (or the SPEC's 400 validation_error), and applied to a row.

JSON types are strict, on every body alike: where the schema says string, a number, boolean, list or object is
a 400 on that field, and so for the other types. DRF's fields coerce (the number 123 becomes the title "123",
"yes" and 1 become true, "30" becomes 30); `validated` checks each value's JSON type against its field first,
so no serializer needs a field class of its own for it (config/tests/test_strict_json.py).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

# The JSON type each DRF field expects, as drf-spectacular writes it into the schema. Most specific first:
# a ChoiceField is checked by its choices, an unknown custom Field is left to its own to_internal_value.
_STRING: tuple[type, ...] = (
    serializers.CharField,  # EmailField, URLField, RegexField, SlugField, IPAddressField
    serializers.UUIDField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.TimeField,
    serializers.DurationField,
)
_MESSAGES = {
    "string": "Must be a JSON string.",
    "integer": "Must be a JSON integer.",
    "number": "Must be a JSON number.",
    "boolean": "Must be true or false.",
    "array": "Must be a JSON array.",
    "object": "Must be a JSON object.",
}


def _json_type(field: serializers.Field) -> str | None:  # type: ignore[type-arg]
    if isinstance(field, serializers.BooleanField):
        return "boolean"
    if isinstance(field, serializers.IntegerField):
        return "integer"
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return "number"
    if isinstance(field, serializers.MultipleChoiceField):
        return "array"
    if isinstance(field, serializers.ChoiceField):
        return "string" if all(isinstance(key, str) for key in field.choices) else None
    if isinstance(field, _STRING):
        return "string"
    if isinstance(field, (serializers.ListField, serializers.ListSerializer)):
        return "array"
    if isinstance(field, (serializers.DictField, serializers.Serializer)):
        return "object"
    return None


def _is(value: Any, json_type: str) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if json_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def type_errors(field: serializers.Field, value: Any) -> Any:  # type: ignore[type-arg]
    """The JSON type errors of `value` for `field`, shaped as DRF shapes its errors (None: there are none).

    A list's items are checked against its child (errors by index), an object's keys against its fields.
    """
    if value is None:
        return None  # null: allow_null is the field's own rule
    json_type = _json_type(field)
    if json_type is None:
        return None
    if not _is(value, json_type):
        return [_MESSAGES[json_type]]
    if json_type == "array" and isinstance(field, (serializers.ListField, serializers.ListSerializer)):
        child = field.child
        items = {index: type_errors(child, item) for index, item in enumerate(value)} if child is not None else {}
        return {index: errors for index, errors in items.items() if errors} or None
    if json_type == "object" and isinstance(field, serializers.DictField):
        entries = {key: type_errors(field.child, item) for key, item in value.items()}
        return {key: errors for key, errors in entries.items() if errors} or None
    if json_type == "object" and isinstance(field, serializers.Serializer):
        return _fields_type_errors(field, value) or None
    return None


def _fields_type_errors(serializer: serializers.Serializer[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    errors = {}
    for name, field in serializer.fields.items():
        if field.read_only or name not in data:
            continue
        found = type_errors(field, data[name])
        if found:
            errors[name] = found
    return errors


class SharedFieldsMixin:
    """For input serializers on hot paths: each instance gets a shallow copy of each declared field.

    DRF deep-copies the declared fields for every serializer instance, and a field's deep copy runs its
    `__init__` again (validators, choices, the nested serializers of list fields): about an eighth of a task
    create's CPU. Binding a field to its serializer only sets attributes on it (name, parent, source), so a
    shallow copy is enough for that; what the copies share (validators, choices, a list field's child) is
    read, never changed, while validating. Only for serializers that keep no per-request state in their fields.
    """

    _declared_fields: dict[str, Any]

    def get_fields(self) -> dict[str, Any]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


def validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    wrong_types = _fields_type_errors(serializer, request.data) if isinstance(request.data, Mapping) else {}
    if serializer.is_valid() and not wrong_types:
        return dict(serializer.validated_data)
    # A value of the wrong type is named as such, whatever DRF made of it after coercing it.
    raise ValidationError({**serializer.errors, **wrong_types})


def assign_changed(instance: Any, values: Mapping[str, Any], fields: Iterable[str]) -> list[str]:
    """Sets on `instance` those of `fields` that `values` gives and that differ; returns their names.

    Every service that applies input to a row uses it, then saves only those fields (`update_fields`), so an
    edit that changes nothing writes nothing and records nothing.
    """
    changed = [field for field in fields if field in values and getattr(instance, field) != values[field]]
    for field in changed:
        setattr(instance, field, values[field])
    return changed

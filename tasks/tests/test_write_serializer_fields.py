"""TaskWriteSerializer's fields are shallow copies of its declared ones (config.http.input.SharedFieldsMixin):
each instance binds its own, and nothing one validation does is seen by the next."""

from __future__ import annotations

from typing import Any

from tasks.serializers.tasks import TaskPatchSerializer, TaskWriteSerializer


def test_each_instance_binds_its_own_fields() -> None:
    first, second = TaskWriteSerializer(data={}), TaskWriteSerializer(data={})
    for name in ("title", "tags", "reminders", "priority"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    assert TaskPatchSerializer(data={}).fields["title"].required is False
    assert TaskWriteSerializer(data={}).fields["title"].required is True


def test_validations_in_turn_do_not_leak_into_each_other() -> None:
    bad: Any = TaskWriteSerializer(
        data={"title": "", "tags": ["x;y"], "priority": "extreme", "reminders": [{"before_due": "soon"}]}
    )
    good: Any = TaskWriteSerializer(
        data={"title": "Fine", "tags": ["Home", "home"], "priority": "high", "reminders": [{"before_due": 30}]}
    )
    assert not bad.is_valid()
    assert good.is_valid(), good.errors
    assert set(bad.errors) == {"title", "tags", "priority", "reminders"}
    assert good.validated_data["tags"] == ["Home"]
    assert good.validated_data["reminders"] == [{"before_due": 30}]
    again: Any = TaskWriteSerializer(data={"title": "Again", "reminders": [{"before_due": "soon"}]})
    assert not again.is_valid()
    assert set(again.errors) == {"reminders"}

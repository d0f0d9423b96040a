"""Request input: a body validated by a serializer, or the SPEC's 400 validation_error."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request


def validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)

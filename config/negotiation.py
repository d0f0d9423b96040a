from __future__ import annotations

from typing import Any

from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request


class JSONOnlyNegotiation(BaseContentNegotiation):
    """The API speaks JSON whatever the Accept header says, so no client ever gets a 406."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        for parser in parsers:
            if parser.media_type == request.content_type.split(";")[0].strip():
                return parser
        return None

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type

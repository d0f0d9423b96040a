from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotAcceptable, ParseError
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

_NESTING_SAFE: dict[type[BaseParser], type[BaseParser]] = {}


def _nesting_safe(parser_class: type[BaseParser]) -> type[BaseParser]:
    """`parser_class`, except that a body nested too deeply to parse is a 400 parse_error.

    `json.load` gives up on a body like `[[[[...]]]]` with RecursionError, which is not a ValueError, so
    DRF would let it through as a 500. A subclass, not a wrapper: DRF reads the body through
    `request.body` (and so the upload limit) only for instances of its own JSONParser.
    """
    if parser_class not in _NESTING_SAFE:

        def parse(self: BaseParser, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
            try:
                return parser_class.parse(self, stream, media_type, parser_context)
            except RecursionError:
                raise ParseError("JSON parse error - the body is nested too deeply.") from None

        attrs = {"parse": parse, "__module__": __name__}
        _NESTING_SAFE[parser_class] = type(parser_class.__name__, (parser_class,), attrs)
    return _NESTING_SAFE[parser_class]


class JSONOnlyNegotiation(BaseContentNegotiation):
    """The API speaks JSON whatever the Accept header says, so no client ever gets a 406."""

    def select_parser(self, request: Request, parsers: Iterable[Any]) -> Any:
        # Media types are case-insensitive (RFC 9110): "Application/JSON" is JSON.
        content_type = request.content_type.split(";")[0].strip().lower()
        for parser in parsers:
            if parser.media_type == content_type:
                return _nesting_safe(type(parser))()
        return None

    def select_renderer(self, request: Request, renderers: Iterable[Any], format_suffix: str | None = None) -> Any:
        # The API views have one renderer (JSON). Views that offer several, like the OpenAPI schema (YAML or
        # JSON), honour Accept; an Accept that matches none gets the first, never a 406.
        renderers = list(renderers)
        if len(renderers) > 1:
            # `?format=json` or `?format=yaml` picks the format, whatever Accept says.
            wanted = request.query_params.get("format", "").strip().lower()
            for renderer in renderers:
                if wanted and renderer.format == wanted:
                    return renderer, renderer.media_type
            try:
                return DefaultContentNegotiation().select_renderer(request, renderers, format_suffix)
            except NotAcceptable:
                pass
        return renderers[0], renderers[0].media_type

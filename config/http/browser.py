"""The middleware that only the browser-facing pages need (the admin, the API docs' static files), skipped for
the JSON API.

Sessions, CSRF, `request.user` from the session cookie, messages, django-axes and static files serve the
admin; the API authenticates with bearer tokens and its views are CSRF-exempt, yet every API request would
pay for each of those layers. `BrowserOnlyMiddleware` runs the chain named by `settings.BROWSER_MIDDLEWARE`
for every path outside `/api/` exactly as Django would if they were listed in MIDDLEWARE at its place (each
wrapped so an exception becomes a response, their `process_view`, `process_exception` and
`process_template_response` hooks called in Django's order), and goes straight on for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


class BrowserOnlyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._view_hooks: list[Callable[..., Any]] = []
        self._exception_hooks: list[Callable[..., Any]] = []
        self._template_hooks: list[Callable[..., Any]] = []
        # As django.core.handlers.base.BaseHandler.load_middleware builds the outer chain.
        handler: Callable[[HttpRequest], Any] = convert_exception_to_response(get_response)
        for path in reversed(settings.BROWSER_MIDDLEWARE):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_hooks.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_hooks.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_hooks.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._browser = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request):
            return self.get_response(request)
        return self._browser(request)  # type: ignore[no-any-return]

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if is_api(request):
            return None
        for hook in self._view_hooks:
            response = hook(request, view, args, kwargs)
            if response is not None:
                return response  # type: ignore[no-any-return]
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_api(request):
            return None
        for hook in self._exception_hooks:
            response = hook(request, exception)
            if response is not None:
                return response  # type: ignore[no-any-return]
        return None

    def process_template_response(self, request: HttpRequest, response: Any) -> Any:
        if is_api(request):
            return response
        for hook in self._template_hooks:
            response = hook(request, response)
        return response

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request

from audit import selectors
from audit.filters import EventFilter
from audit.models import Event
from audit.serializers import EventSerializer
from config.http.schema import ErrorSerializer


class ReadOnlyLogView:
    """The log has no write path: any other method is 405 `method_not_allowed`, before authentication."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # DRF authenticates before looking the method up, so an anonymous POST would read 401; the answer
        # to "can this be written?" is no, for anyone.
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):  # type: ignore[attr-defined]
            raise MethodNotAllowed(request.method or "")
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


class EventListView(ReadOnlyLogView, ListAPIView[Event]):
    serializer_class = EventSerializer
    filterset_class = EventFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to scope to
            return Event.objects.none()
        return selectors.event_list_for(user=self.request.user)

    @extend_schema(
        summary="The audit log",
        description=(
            "Newest first. A user sees the events recorded against their own account; staff see everyone's "
            "and may filter by `user`. A malformed filter is a 400 validation_error."
        ),
        responses={
            200: EventSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, "A malformed filter (code validation_error)."),
        },
        tags=["audit"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)


class EventDetailView(ReadOnlyLogView, RetrieveAPIView[Event]):
    serializer_class = EventSerializer

    def get_object(self) -> Event:
        return selectors.event_get_for(user=self.request.user, event_id=int(self.kwargs["pk"]))

    @extend_schema(
        summary="One audit event",
        description="One event of the caller's (any event, for staff).",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: EventSerializer, 404: OpenApiResponse(ErrorSerializer, "Not found, or not visible to you.")},
        tags=["audit"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

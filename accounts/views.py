from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import Session
from accounts.serializers import (
    AuthResponseSerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    PasswordSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisterSerializer,
    SessionSerializer,
    TokenPairSerializer,
    UidTokenSerializer,
    UserSerializer,
)
from accounts.tokens import TokenPair
from audit.context import RequestMeta
from config.schema import ErrorSerializer
from config.throttling import LoginThrottle, PasswordResetThrottle, RegisterThrottle


def _valid(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _token_response(pair: TokenPair, *, user: Any = None, status_code: int = 200) -> Response:
    body = pair.as_dict()
    if user is not None:
        body = {"user": UserSerializer(user).data, **body}
    # Tokens must never sit in a shared or browser cache.
    return Response(body, status=status_code, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


NO_CONTENT = OpenApiResponse(description="Done; no body.")


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        request=RegisterSerializer,
        responses={201: AuthResponseSerializer, 409: OpenApiResponse(ErrorSerializer, "code email_taken")},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(RegisterSerializer, request)
        user, pair = services.user_register(
            email=data["email"],
            password=data["password"],
            full_name=data["full_name"],
            meta=RequestMeta.from_request(request),
        )
        return _token_response(pair, user=user, status_code=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: AuthResponseSerializer,
            401: OpenApiResponse(ErrorSerializer, "code invalid_credentials"),
            429: OpenApiResponse(ErrorSerializer, "codes account_locked, throttled; see Retry-After"),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(LoginSerializer, request)
        user, pair = services.user_login(
            request=request._request,
            email=data["email"],
            password=data["password"],
            meta=RequestMeta.from_request(request),
        )
        return _token_response(pair, user=user)


class RefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(ErrorSerializer, "codes token_invalid, token_reused"),
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(RefreshSerializer, request)
        pair = services.token_refresh(raw_refresh=data["refresh"], meta=RequestMeta.from_request(request))
        return _token_response(pair)


class LogoutView(APIView):
    @extend_schema(request=LogoutSerializer, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = _valid(LogoutSerializer, request)
        services.logout(
            user=request.user,
            session_id=request.session_id,
            raw_refresh=data.get("refresh"),
            meta=RequestMeta.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    @extend_schema(request=None, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request: Request) -> Response:
        services.logout_all(user=request.user, meta=RequestMeta.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: UserSerializer}, tags=["profile"])
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(request=ProfileUpdateSerializer, responses={200: UserSerializer}, tags=["profile"])
    def patch(self, request: Request) -> Response:
        data = _valid(ProfileUpdateSerializer, request)
        user = services.profile_update(user=request.user, data=data, meta=RequestMeta.from_request(request))
        return Response(UserSerializer(user).data)

    @extend_schema(request=PasswordSerializer, responses={204: NO_CONTENT}, tags=["profile"])
    def delete(self, request: Request) -> Response:
        data = _valid(PasswordSerializer, request)
        services.account_delete(user=request.user, password=data["password"], meta=RequestMeta.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    @extend_schema(request=PasswordChangeSerializer, responses={204: NO_CONTENT}, tags=["password"])
    def post(self, request: Request) -> Response:
        data = _valid(PasswordChangeSerializer, request)
        services.password_change(
            user=request.user,
            current_password=data["current_password"],
            new_password=data["new_password"],
            current_session_id=request.session_id,
            meta=RequestMeta.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [PasswordResetThrottle]

    @extend_schema(
        request=PasswordResetSerializer,
        responses={202: OpenApiResponse(description="Accepted, whether or not the account exists.")},
        tags=["password"],
    )
    def post(self, request: Request) -> Response:
        data = _valid(PasswordResetSerializer, request)
        services.password_reset_request(email=data["email"], meta=RequestMeta.from_request(request))
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=PasswordResetConfirmSerializer, responses={204: NO_CONTENT}, tags=["password"])
    def post(self, request: Request) -> Response:
        data = _valid(PasswordResetConfirmSerializer, request)
        services.password_reset_confirm(
            uid=data["uid"],
            token=data["token"],
            new_password=data["new_password"],
            meta=RequestMeta.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=UidTokenSerializer, responses={204: NO_CONTENT}, tags=["email"])
    def post(self, request: Request) -> Response:
        data = _valid(UidTokenSerializer, request)
        services.email_verify(uid=data["uid"], token=data["token"], meta=RequestMeta.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailResendView(APIView):
    @extend_schema(
        request=None, responses={202: OpenApiResponse(description="Sent unless already verified.")}, tags=["email"]
    )
    def post(self, request: Request) -> Response:
        services.email_verification_resend(user=request.user, meta=RequestMeta.from_request(request))
        return Response(status=status.HTTP_202_ACCEPTED)


class SessionListView(GenericAPIView[Any]):
    serializer_class = SessionSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Session.objects.none()
        return selectors.session_list_for(user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "current_session_id": getattr(self.request, "session_id", None)}

    @extend_schema(responses={200: SessionSerializer(many=True)}, tags=["sessions"])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class SessionDetailView(APIView):
    @extend_schema(request=None, responses={204: NO_CONTENT}, tags=["sessions"])
    def delete(self, request: Request, session_id: Any) -> Response:
        session = selectors.session_get_for(user=request.user, session_id=session_id)
        services.session_revoke(session=session, meta=RequestMeta.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

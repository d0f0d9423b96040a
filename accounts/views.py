from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import cookies, lockout, selectors, services
from accounts.filters import StaffUserFilter
from accounts.models import ApiToken, Session, User
from accounts.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    AuthResponseSerializer,
    EmailChangeConfirmSerializer,
    EmailChangeSerializer,
    LoginMfaSerializer,
    LoginSerializer,
    LogoutSerializer,
    MfaChallengeSerializer,
    MfaCodeSerializer,
    MfaStatusSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    PasswordSerializer,
    ProfileUpdateSerializer,
    RecoveryCodesSerializer,
    RefreshSerializer,
    RegisterSerializer,
    SessionSerializer,
    SessionsRevokeResultSerializer,
    StaffUserUpdateSerializer,
    TokenPairSerializer,
    TotpSetupSerializer,
    UidTokenSerializer,
    UnlockResultSerializer,
    UserSerializer,
)
from accounts.throttling import EmailChangeThrottle, PasswordResetEmailThrottle
from accounts.tokens import TokenPair
from audit.context import RequestContext
from config.http.errors import AccountLocked, AuthenticationError
from config.http.input import validated
from config.http.net import client_ip
from config.http.schema import BodyOnDeleteSchema, ErrorSerializer
from config.http.throttling import (
    LoginThrottle,
    PasswordResetThrottle,
    RegisterThrottle,
    UserRateThrottle,
)


def _no_store(body: Any, status_code: int = 200) -> Response:
    # Tokens and second-factor secrets must never sit in a shared or browser cache.
    return Response(body, status=status_code, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _token_response(request: Request, pair: TokenPair, *, user: Any = None, status_code: int = 200) -> Response:
    """The tokens of a session; in cookie mode (accounts/cookies.py) the refresh token goes in the cookie."""
    body = pair.as_dict()
    in_cookie = cookies.requested(request)
    if in_cookie:
        del body["refresh"]
    if user is not None:
        body = {"user": UserSerializer(user).data, **body}
    response = _no_store(body, status_code)
    if in_cookie:
        cookies.set_refresh(response, pair)
    return response


def _user(request: Request) -> User:
    """The signed-in user (IsAuthenticated, the default permission, let no one else through)."""
    return cast(User, request.user)


def _session_id(request: Request) -> Any:
    """The session of the presented access token, set by SessionTokenAuthentication."""
    return getattr(request, "session_id", None)


NO_CONTENT = OpenApiResponse(description="Done; no body.")

MFA_NOT_ENABLED = OpenApiResponse(ErrorSerializer, "Two-factor sign-in is not on (code mfa_not_enabled).")
WRONG_PASSWORD = OpenApiResponse(
    ErrorSerializer, "Wrong password (code validation_error on `password`); counts toward the lockout."
)
LOCKED = OpenApiResponse(ErrorSerializer, "codes account_locked (too many wrong passwords), throttled")
COOKIE_MODE = OpenApiParameter(
    cookies.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="`cookie` (any case): the refresh token travels in the HttpOnly cookie `taskdesk_refresh` (Secure, "
    "SameSite=Strict, Path=/api/v1/auth/) instead of the body: answers carry no `refresh`, and refresh and "
    "logout read the cookie (only with this header). Any other value, or none: the body.",
)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        request=RegisterSerializer,
        responses={201: AuthResponseSerializer, 409: OpenApiResponse(ErrorSerializer, "code email_taken")},
        tags=["auth"],
        parameters=[COOKIE_MODE],
    )
    def post(self, request: Request) -> Response:
        data = validated(RegisterSerializer, request)
        user, pair = services.signin.user_register(
            email=data["email"],
            password=data["password"],
            full_name=data["full_name"],
            meta=RequestContext.from_request(request),
        )
        return _token_response(request, pair, user=user, status_code=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [LoginThrottle]

    def check_throttles(self, request: Request) -> None:
        """Over the address's login rate, a locked account still answers `account_locked`.

        Both are 429s; the lockout is the more useful answer (and the longer wait) for a client that keeps
        trying one locked account, and its answer must not change with how fast it tries. The lock is
        looked up only on this rare path; the hit still counts against the rate.
        """
        try:
            super().check_throttles(request)
        except Throttled:
            data = request.data
            email = data.get("email") if isinstance(data, Mapping) else None
            if isinstance(email, str) and email.strip():
                state = lockout.lock_state(email=email, ip_address=client_ip(request._request) or None)
                if state.locked:
                    raise AccountLocked(retry_after=state.retry_after) from None
            raise

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="LoginResult",
                    serializers=[AuthResponseSerializer, MfaChallengeSerializer],
                    resource_type_field_name=None,
                ),
                "Either the tokens of a new session (AuthResponse), or, for a user with two-factor sign-in on, "
                "a challenge (MfaChallenge: `mfa_required` true, no token): send its `mfa_token` with a code "
                "to POST /api/v1/auth/login/mfa within `expires_in` seconds.",
            ),
            401: OpenApiResponse(ErrorSerializer, "code invalid_credentials"),
            429: OpenApiResponse(ErrorSerializer, "codes account_locked, throttled; see Retry-After"),
        },
        tags=["auth"],
        parameters=[COOKIE_MODE],
    )
    def post(self, request: Request) -> Response:
        data = validated(LoginSerializer, request)
        user, result = services.signin.user_login(
            email=data["email"],
            password=data["password"],
            meta=RequestContext.from_request(request),
        )
        if isinstance(result, services.signin.MfaRequired):
            return _no_store(result.as_dict())
        return _token_response(request, result, user=user)


class LoginMfaView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    # The login's rate, per client address: the two steps of one sign-in share it.
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=LoginMfaSerializer,
        responses={
            200: AuthResponseSerializer,
            401: OpenApiResponse(
                ErrorSerializer,
                "code mfa_invalid: a wrong, malformed or already used code (counts toward the lockout); "
                "code token_invalid: mfa_token unknown, expired (5 minutes), already used or spent by "
                "too many wrong codes: sign in again",
            ),
            429: OpenApiResponse(ErrorSerializer, "codes account_locked, throttled; see Retry-After"),
        },
        tags=["auth"],
        parameters=[COOKIE_MODE],
        description="The second step of signing in with two-factor on: `code` is the authenticator app's "
        "current code (one step of clock drift tolerated, each code works once) or an unused recovery code.",
    )
    def post(self, request: Request) -> Response:
        data = validated(LoginMfaSerializer, request)
        user, pair = services.signin.login_mfa(
            mfa_token=data["mfa_token"], code=data["code"], meta=RequestContext.from_request(request)
        )
        return _token_response(request, pair, user=user)


class RefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(
                ErrorSerializer,
                "codes token_invalid, token_reused; not_authenticated in cookie mode without the cookie",
            ),
        },
        tags=["auth"],
        parameters=[COOKIE_MODE],
        description="Rotates the session's refresh token (the one presented is dead from now on, but for a "
        "short grace window for concurrent tabs). In cookie mode the body is not read: the token comes from the "
        "`taskdesk_refresh` cookie, and the new one goes back in it.",
    )
    def post(self, request: Request) -> Response:
        if cookies.requested(request):
            raw = cookies.refresh_from(request)
            if raw is None:
                raise AuthenticationError(f"No {cookies.COOKIE_NAME} cookie was sent; sign in again.")
        else:
            raw = validated(RefreshSerializer, request)["refresh"]
        pair = services.sessions.token_refresh(raw_refresh=raw, meta=RequestContext.from_request(request))
        return _token_response(request, pair)


class LogoutView(APIView):
    @extend_schema(
        request=LogoutSerializer,
        responses={204: NO_CONTENT},
        tags=["auth"],
        parameters=[COOKIE_MODE],
        description="Ends the session of the access token, and that of `refresh` (in cookie mode: of the "
        "refresh cookie) if it is another. Clears the refresh cookie.",
    )
    def post(self, request: Request) -> Response:
        if cookies.requested(request):
            raw_refresh = cookies.refresh_from(request)
        else:
            raw_refresh = validated(LogoutSerializer, request).get("refresh")
        services.sessions.logout(
            user=_user(request),
            session_id=_session_id(request),
            raw_refresh=raw_refresh,
            meta=RequestContext.from_request(request),
        )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        cookies.clear_refresh(response)
        return response


class LogoutAllView(APIView):
    @extend_schema(request=None, responses={204: NO_CONTENT}, tags=["auth"])
    def post(self, request: Request) -> Response:
        services.sessions.logout_all(user=_user(request), meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    schema = BodyOnDeleteSchema()

    @extend_schema(responses={200: UserSerializer}, tags=["profile"])
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(_user(request)).data)

    @extend_schema(request=ProfileUpdateSerializer, responses={200: UserSerializer}, tags=["profile"])
    def patch(self, request: Request) -> Response:
        data = validated(ProfileUpdateSerializer, request)
        user = services.account.profile_update(
            user=_user(request), data=data, meta=RequestContext.from_request(request)
        )
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=PasswordSerializer, responses={204: NO_CONTENT, 400: WRONG_PASSWORD, 429: LOCKED}, tags=["profile"]
    )
    def delete(self, request: Request) -> Response:
        data = validated(PasswordSerializer, request)
        services.account.account_delete(
            user=_user(request), password=data["password"], meta=RequestContext.from_request(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MfaStatusView(APIView):
    @extend_schema(responses={200: MfaStatusSerializer}, tags=["mfa"])
    def get(self, request: Request) -> Response:
        return Response(services.two_factor.mfa_status(user=_user(request)))


class TotpSetupView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: TotpSetupSerializer,
            409: OpenApiResponse(ErrorSerializer, "Already on (code mfa_already_enabled): turn it off first."),
        },
        tags=["mfa"],
        description="A new secret for an authenticator app; nothing changes at login until it is confirmed. "
        "Calling it again replaces an unconfirmed secret.",
    )
    def post(self, request: Request) -> Response:
        setup = services.two_factor.totp_setup(user=_user(request), meta=RequestContext.from_request(request))
        return _no_store({"secret": setup.secret, "otpauth_uri": setup.otpauth_uri})


class TotpConfirmView(APIView):
    @extend_schema(
        request=MfaCodeSerializer,
        responses={
            200: RecoveryCodesSerializer,
            400: OpenApiResponse(ErrorSerializer, "Wrong or malformed code (code mfa_invalid)."),
            409: OpenApiResponse(
                ErrorSerializer, "No setup to confirm (code mfa_setup_required), or already on (mfa_already_enabled)."
            ),
        },
        tags=["mfa"],
        description="Turns two-factor sign-in on with a code from the app; answers ten recovery codes, shown "
        "this once. Mails a security notice.",
    )
    def post(self, request: Request) -> Response:
        data = validated(MfaCodeSerializer, request)
        codes = services.two_factor.totp_confirm(
            user=_user(request), code=data["code"], meta=RequestContext.from_request(request)
        )
        return _no_store({"recovery_codes": codes})


class TotpView(APIView):
    schema = BodyOnDeleteSchema()

    @extend_schema(
        request=PasswordSerializer,
        responses={204: NO_CONTENT, 400: WRONG_PASSWORD, 409: MFA_NOT_ENABLED, 429: LOCKED},
        tags=["mfa"],
        description="Turns two-factor sign-in off (the secret and recovery codes are deleted); every other "
        "session ends. Mails a security notice.",
    )
    def delete(self, request: Request) -> Response:
        data = validated(PasswordSerializer, request)
        services.two_factor.totp_disable(
            user=_user(request),
            password=data["password"],
            current_session_id=_session_id(request),
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RecoveryCodesView(APIView):
    @extend_schema(
        request=PasswordSerializer,
        responses={200: RecoveryCodesSerializer, 400: WRONG_PASSWORD, 409: MFA_NOT_ENABLED, 429: LOCKED},
        tags=["mfa"],
        description="Ten new recovery codes, shown this once; the old ones stop working. Mails a security notice.",
    )
    def post(self, request: Request) -> Response:
        data = validated(PasswordSerializer, request)
        codes = services.two_factor.recovery_codes_regenerate(
            user=_user(request), password=data["password"], meta=RequestContext.from_request(request)
        )
        return _no_store({"recovery_codes": codes})


class PasswordChangeView(APIView):
    @extend_schema(
        request=PasswordChangeSerializer,
        responses={
            204: NO_CONTENT,
            400: OpenApiResponse(
                ErrorSerializer,
                "code validation_error: a wrong `current_password` (counts toward the lockout) or a weak "
                "`new_password`",
            ),
            429: LOCKED,
        },
        tags=["password"],
    )
    def post(self, request: Request) -> Response:
        data = validated(PasswordChangeSerializer, request)
        services.account.password_change(
            user=_user(request),
            current_password=data["current_password"],
            new_password=data["new_password"],
            current_session_id=_session_id(request),
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    # Per client address and per email: many addresses must not flood one mailbox either.
    throttle_classes = [PasswordResetThrottle, PasswordResetEmailThrottle]

    @extend_schema(
        request=PasswordResetSerializer,
        responses={202: OpenApiResponse(description="Accepted, whether or not the account exists.")},
        tags=["password"],
    )
    def post(self, request: Request) -> Response:
        data = validated(PasswordResetSerializer, request)
        services.account.password_reset_request(email=data["email"], meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=PasswordResetConfirmSerializer, responses={204: NO_CONTENT}, tags=["password"])
    def post(self, request: Request) -> Response:
        data = validated(PasswordResetConfirmSerializer, request)
        services.account.password_reset_confirm(
            uid=data["uid"],
            token=data["token"],
            new_password=data["new_password"],
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=UidTokenSerializer, responses={204: NO_CONTENT}, tags=["email"])
    def post(self, request: Request) -> Response:
        data = validated(UidTokenSerializer, request)
        services.account.email_verify(uid=data["uid"], token=data["token"], meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailResendView(APIView):
    @extend_schema(
        request=None, responses={202: OpenApiResponse(description="Sent unless already verified.")}, tags=["email"]
    )
    def post(self, request: Request) -> Response:
        services.account.email_verification_resend(user=_user(request), meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_202_ACCEPTED)


class EmailChangeView(APIView):
    # The per-user rate, and the email change's own: every request mails an address the caller chose.
    throttle_classes = [UserRateThrottle, EmailChangeThrottle]

    @extend_schema(
        request=EmailChangeSerializer,
        responses={
            202: OpenApiResponse(
                description="Accepted, whether or not another account has the address (no enumeration)."
            ),
            400: OpenApiResponse(
                ErrorSerializer,
                "code validation_error: a wrong `password` (counts toward the lockout), or a `new_email` that "
                "is malformed or already this account's (in any spelling)",
            ),
            429: LOCKED,
        },
        tags=["email"],
        description="Mails a single-use link (valid one hour) to `new_email` and a security notice to the current "
        "address. Nothing changes until the link is confirmed with POST /api/v1/auth/email/change/confirm. An "
        "address that belongs to another account gets no mail.",
    )
    def post(self, request: Request) -> Response:
        data = validated(EmailChangeSerializer, request)
        services.account.email_change_request(
            user=_user(request),
            new_email=data["new_email"],
            password=data["password"],
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class EmailChangeConfirmView(APIView):
    """Open to anyone holding the link. A signed-in caller of the same account (the SPA that opened the link)
    keeps its session; every other session of the account ends."""

    permission_classes = [AllowAny]

    @extend_schema(
        request=EmailChangeConfirmSerializer,
        responses={
            204: NO_CONTENT,
            400: OpenApiResponse(
                ErrorSerializer, "code validation_error on `token`: invalid, expired (one hour) or already used"
            ),
            409: OpenApiResponse(ErrorSerializer, "code email_taken: another account took the address meanwhile"),
        },
        tags=["email"],
        description="Changes the account's email to the address the link was sent to; it counts as verified. "
        "Every other session ends, and a security notice goes to the old address. Works without "
        "authentication; with the access token of the same account, that session is kept.",
    )
    def post(self, request: Request) -> Response:
        data = validated(EmailChangeConfirmSerializer, request)
        services.account.email_change_confirm(
            uid=data["uid"],
            token=data["token"],
            current_session_id=_session_id(request),
            meta=RequestContext.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionListView(GenericAPIView[Any]):
    serializer_class = SessionSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Session.objects.none()
        return selectors.session_list_for(user=_user(self.request))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "current_session_id": getattr(self.request, "session_id", None)}

    @extend_schema(responses={200: SessionSerializer(many=True)}, tags=["sessions"])
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class SessionDetailView(APIView):
    @extend_schema(request=None, responses={204: NO_CONTENT}, tags=["sessions"])
    def delete(self, request: Request, session_id: Any) -> Response:
        session = selectors.session_get_for(user=_user(request), session_id=session_id)
        services.sessions.session_revoke(session=session, meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Personal API tokens ----------------------------------------------------------------------------------


class ApiTokenListView(GenericAPIView[Any]):
    serializer_class = ApiTokenSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.api_token_list_for(user=_user(self.request))

    @extend_schema(
        responses={200: ApiTokenSerializer(many=True)},
        tags=["tokens"],
        description="Your live personal API tokens (not revoked, not expired), newest first, without their secret.",
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={
            201: ApiTokenCreatedSerializer,
            409: OpenApiResponse(ErrorSerializer, "code token_limit: 20 live tokens already; revoke one first"),
        },
        tags=["tokens"],
        description="A personal API token for scripts: `Authorization: Bearer tdk_...` on the task and project "
        "endpoints within its scopes (elsewhere 403 insufficient_scope). `token` is shown this once and stored "
        "hashed. A password reset or a deactivation revokes every token. Mails a security notice.",
    )
    def post(self, request: Request) -> Response:
        data = validated(ApiTokenCreateSerializer, request)
        token, raw = services.api_tokens.api_token_create(
            user=_user(request),
            name=data["name"],
            scopes=data["scopes"],
            expires_in_days=data.get("expires_in_days"),
            meta=RequestContext.from_request(request),
        )
        body = ApiTokenCreatedSerializer(token, context={"raw_token": raw}).data
        return _no_store(body, status.HTTP_201_CREATED)


class ApiTokenDetailView(APIView):
    @extend_schema(
        request=None,
        responses={204: NO_CONTENT},
        tags=["tokens"],
        description="Revokes the token: it fails with 401 from the next request on.",
    )
    def delete(self, request: Request, token_id: Any) -> Response:
        token = selectors.api_token_get_for(user=_user(request), token_id=token_id)
        services.api_tokens.api_token_revoke(token=token, meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Staff user management ----------------------------------------------------------------------------------


def _actor(request: Request) -> User:
    """The signed-in staff user (IsStaff let no one else through)."""
    return cast(User, request.user)


class IsStaff(BasePermission):
    """Staff only. Anyone else signed in gets 403 permission_denied; nobody signed in, 401."""

    message = "Only staff can manage users."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


STAFF_ERRORS = {
    403: OpenApiResponse(
        ErrorSerializer,
        "Not staff, or the user is a superuser and you are not one (code permission_denied).",
    ),
}


class StaffUserListView(ListAPIView[Any]):
    permission_classes = [IsStaff]
    serializer_class = UserSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = StaffUserFilter

    def get_queryset(self) -> Any:
        return selectors.user_list_for_staff()

    @extend_schema(
        responses={200: UserSerializer(many=True), **STAFF_ERRORS},
        tags=["staff"],
        description="Every user. `search` matches email and name; `ordering` takes email, date_joined, "
        "last_login or full_name (prefix `-` for descending).",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class StaffUserDetailView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: UserSerializer, **STAFF_ERRORS}, tags=["staff"])
    def get(self, request: Request, user_id: str) -> Response:
        return Response(UserSerializer(selectors.user_get_for_staff(user_id=user_id)).data)

    @extend_schema(
        request=StaffUserUpdateSerializer,
        responses={200: UserSerializer, **STAFF_ERRORS},
        tags=["staff"],
        description="Changes full_name, bio, avatar_url, timezone, is_active, is_staff, email_verified; other "
        "fields are ignored. `is_active=false` ends every session of the user at once. Staff cannot "
        "deactivate or demote themselves (400). Only a superuser may change a superuser (403).",
    )
    def patch(self, request: Request, user_id: str) -> Response:
        user = selectors.user_get_for_staff(user_id=user_id)
        data = validated(StaffUserUpdateSerializer, request)
        user = services.staff.user_update_by_staff(
            actor=_actor(request), user=user, data=data, meta=RequestContext.from_request(request)
        )
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=None,
        responses={
            204: NO_CONTENT,
            400: OpenApiResponse(ErrorSerializer, "Staff cannot delete themselves here (code validation_error)."),
            **STAFF_ERRORS,
        },
        tags=["staff"],
        description="Deletes the user with their sessions and tasks. Staff cannot delete themselves here (400); "
        "only a superuser may delete a superuser (403).",
    )
    def delete(self, request: Request, user_id: str) -> Response:
        user = selectors.user_get_for_staff(user_id=user_id)
        services.staff.user_delete_by_staff(actor=_actor(request), user=user, meta=RequestContext.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffUserUnlockView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=None,
        responses={200: UnlockResultSerializer, **STAFF_ERRORS},
        tags=["staff"],
        description="Lifts the login lockout of the account from every address (a superuser's: superusers only).",
    )
    def post(self, request: Request, user_id: str) -> Response:
        user = selectors.user_get_for_staff(user_id=user_id)
        cleared = services.staff.user_unlock(
            actor=_actor(request), user=user, meta=RequestContext.from_request(request)
        )
        return Response({"attempts_cleared": cleared})


class StaffUserSessionsRevokeView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=None,
        responses={200: SessionsRevokeResultSerializer, **STAFF_ERRORS},
        tags=["staff"],
        description="Ends every live session of the user; their tokens fail from the next request on (a "
        "superuser's: superusers only).",
    )
    def post(self, request: Request, user_id: str) -> Response:
        user = selectors.user_get_for_staff(user_id=user_id)
        ended = services.staff.user_sessions_revoke(
            actor=_actor(request), user=user, meta=RequestContext.from_request(request)
        )
        return Response({"sessions_ended": ended})

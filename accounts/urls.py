from django.urls import re_path

from accounts import views
from config.http.filters import UUID_PATTERN as UUID

# Every route answers with or without a trailing slash.
urlpatterns = [
    re_path(r"^auth/register/?$", views.RegisterView.as_view(), name="auth-register"),
    re_path(r"^auth/login/?$", views.LoginView.as_view(), name="auth-login"),
    re_path(r"^auth/login/mfa/?$", views.LoginMfaView.as_view(), name="auth-login-mfa"),
    re_path(r"^auth/mfa/?$", views.MfaStatusView.as_view(), name="auth-mfa"),
    re_path(r"^auth/mfa/totp/?$", views.TotpView.as_view(), name="auth-mfa-totp"),
    re_path(r"^auth/mfa/totp/setup/?$", views.TotpSetupView.as_view(), name="auth-mfa-totp-setup"),
    re_path(r"^auth/mfa/totp/confirm/?$", views.TotpConfirmView.as_view(), name="auth-mfa-totp-confirm"),
    re_path(r"^auth/mfa/recovery-codes/?$", views.RecoveryCodesView.as_view(), name="auth-mfa-recovery-codes"),
    re_path(r"^auth/refresh/?$", views.RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^auth/logout/?$", views.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/logout/all/?$", views.LogoutAllView.as_view(), name="auth-logout-all"),
    re_path(r"^auth/me/?$", views.MeView.as_view(), name="auth-me"),
    re_path(r"^auth/password/change/?$", views.PasswordChangeView.as_view(), name="auth-password-change"),
    re_path(r"^auth/password/reset/?$", views.PasswordResetView.as_view(), name="auth-password-reset"),
    re_path(
        r"^auth/password/reset/confirm/?$",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    re_path(r"^auth/email/verify/?$", views.EmailVerifyView.as_view(), name="auth-email-verify"),
    re_path(r"^auth/email/resend/?$", views.EmailResendView.as_view(), name="auth-email-resend"),
    re_path(r"^auth/email/change/?$", views.EmailChangeView.as_view(), name="auth-email-change"),
    re_path(r"^auth/email/change/confirm/?$", views.EmailChangeConfirmView.as_view(), name="auth-email-change-confirm"),
    re_path(r"^auth/tokens/?$", views.ApiTokenListView.as_view(), name="auth-tokens"),
    re_path(rf"^auth/tokens/(?P<token_id>{UUID})/?$", views.ApiTokenDetailView.as_view(), name="auth-token-detail"),
    re_path(r"^auth/sessions/?$", views.SessionListView.as_view(), name="auth-sessions"),
    re_path(
        rf"^auth/sessions/(?P<session_id>{UUID})/?$", views.SessionDetailView.as_view(), name="auth-session-detail"
    ),
]

# Staff user management: the id is matched loosely so a non-staff caller gets 403 on every path, and staff
# get a JSON 404 for a malformed or unknown id.
urlpatterns += [
    re_path(r"^users/?$", views.StaffUserListView.as_view(), name="staff-users"),
    re_path(r"^users/(?P<user_id>[^/]+)/?$", views.StaffUserDetailView.as_view(), name="staff-user-detail"),
    re_path(r"^users/(?P<user_id>[^/]+)/unlock/?$", views.StaffUserUnlockView.as_view(), name="staff-user-unlock"),
    re_path(
        r"^users/(?P<user_id>[^/]+)/sessions/revoke/?$",
        views.StaffUserSessionsRevokeView.as_view(),
        name="staff-user-sessions-revoke",
    ),
]

"""The Django admin as the staff's console: users, their sessions (devices), API tokens and login lockouts.

`is_staff` is the staff role everywhere in Taskdesk (the staff API checks nothing else), so these pages open
to every active staff user without per-model permissions; what only a superuser may do (grant superuser,
groups and permissions) stays read-only for the others. Every action goes through the same services as the
staff API, so it ends sessions and records the same audit events.

A superuser's account is a superuser's business (`services.staff.staff_may_act_on`): for a plain staff member its
page is read-only and its password, delete and lockout pages are 403; actions skip it with an error message.
Every refused attempt is recorded (`account.staff_action_refused`), before the admin opens its transaction
so that the record survives the refusal.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, cast

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accounts import lockout, services
from accounts.filters import user_search
from accounts.models import ApiToken, ApiTokenQuerySet, Session, SessionQuerySet, User, normalize_email
from accounts.validators import validate_email_characters
from audit.context import RequestContext
from config.http.errors import AccountLocked, ActionRefused, MfaInvalid
from tasks.selectors.projects import sole_owned_projects

admin.site.site_header = "Taskdesk administration"
admin.site.site_title = "Taskdesk administration"
admin.site.index_title = "Staff console"


class StaffAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in asks a staff member who turned two-factor on for their code, as the API's login does.

    Without it, a staff password alone would open the admin (the most powerful door) while the API asked for
    a second factor. The code is checked and spent by the same service as `login/mfa`, and a wrong one counts
    toward the same lockout; an empty one is only a prompt (the password was right, nothing is spent).
    """

    code = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=64,
        help_text="Only if two-factor sign-in is on: the code from your app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.mfa_enabled:
            return
        code = self.cleaned_data.get("code") or ""
        if not code:
            raise forms.ValidationError("Enter the code from your authenticator app, or a recovery code.")
        # The admin's login view always builds this form with its request (AuthenticationForm(request, ...)).
        request = cast(HttpRequest, self.request)
        try:
            services.signin.second_factor_verify(
                user=user, code=code, meta=RequestContext.from_request(request), via="admin"
            )
        except AccountLocked:
            raise forms.ValidationError("Too many failed sign-ins for this account; try again later.") from None
        except MfaInvalid:
            raise forms.ValidationError("The two-factor code is incorrect, expired or already used.") from None


admin.site.login_form = StaffAuthenticationForm


def _actor(request: HttpRequest) -> User:
    """The signed-in staff user (the admin lets no one else this far)."""
    return cast(User, request.user)


def _is_staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


def _may_act_on(request: HttpRequest, user: Any) -> bool:
    return user is None or services.staff.staff_may_act_on(actor=_actor(request), user=user)


def _refused(request: HttpRequest, user: User, action: str) -> bool:
    """Asks the services whether the staff member may do `action` to `user`.

    A refusal is recorded there; here it becomes an error message on the next page. Returns True if refused.
    """
    try:
        services.staff.ensure_staff_may_act(
            actor=_actor(request), user=user, action=action, meta=RequestContext.from_request(request)
        )
    except ActionRefused as exc:
        messages.error(request, f"{user.email}: {exc.detail}")
        return True
    return False


def _guard_post(request: HttpRequest, user: User | None, action: str) -> None:
    """On a form that would `action` the user: refuse (403, recorded) what the staff member may not do."""
    if request.method == "POST" and user is not None and _refused(request, user, action):
        raise ActionRefused(services.staff.SUPERUSER_ONLY)


def _keeps_projects(request: HttpRequest, user: User) -> bool:
    """A user who alone owns projects other people are in is not deleted (no project is left without an
    owner): says so, and answers True."""
    _, shared = sole_owned_projects(user=user)
    if shared:
        messages.error(
            request,
            f"{user.email} is the only owner of projects others are in ({', '.join(map(str, shared))}): make "
            "another member owner first (Memberships: make owner).",
        )
    return bool(shared)


def show_saved(obj: Any, saved: Any) -> None:
    """After a service saved the row behind an admin form: the admin goes on with `obj` (its change message,
    log entry and redirect), so it must see what was saved, the primary key of a new row included."""
    for field in type(obj)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


class StaffConsoleMixin:
    """Opens a page to every active staff user; `staff_can_*` say what they may do there."""

    staff_can_add = False
    staff_can_change = False
    staff_can_delete = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_staff(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.staff_can_add and _is_staff(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.staff_can_change and _is_staff(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.staff_can_delete and _is_staff(request)


# Users ------------------------------------------------------------------------------------------------


def canonical_unused_email(value: str, *, user: User | None) -> str:
    """The address as submitted must hold no invisible character; in canonical form, belong to nobody else.

    The model's validator would only see the canonical form, from which invisible characters are gone.
    """
    validate_email_characters(value)
    email = normalize_email(value)
    others = User.objects.filter(email=email)
    if user is not None and user.pk is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise forms.ValidationError("A user with this email already exists.")
    return email


class StaffUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self) -> str:
        return canonical_unused_email(self.cleaned_data.get("email", ""), user=None)


# The request of the password page being served (per thread and task), for its form's save().
_password_page_request: ContextVar[HttpRequest | None] = ContextVar("password_page_request", default=None)


class StaffPasswordForm(AdminPasswordChangeForm):
    """Django's admin password form, saved by the accounts service, with the staff member as actor."""

    def save(self, commit: bool = True) -> Any:
        request = _password_page_request.get()
        if request is None:  # only UserAdmin.user_change_password serves this form
            raise RuntimeError("StaffPasswordForm is saved only from the admin's password page")
        usable = self.cleaned_data.get("set_usable_password", True)
        return services.staff.user_password_set_by_staff(
            actor=_actor(request),
            user=self.user,
            password=self.cleaned_data["password1"] if usable else None,
            meta=RequestContext.from_request(request),
        )


class StaffUserChangeForm(UserChangeForm):
    avatar_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    # Set per request by UserAdmin.get_form: staff cannot lock themselves out of the console.
    current_user: Any = None

    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return canonical_unused_email(self.cleaned_data.get("email", ""), user=self.instance)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.current_user is not None and self.instance.pk == self.current_user.pk:
            if cleaned.get("is_active") is False:
                self.add_error("is_active", "You cannot deactivate your own account.")
            if cleaned.get("is_staff") is False:
                self.add_error("is_staff", "You cannot remove your own staff status.")
        return cleaned


class LockedFilter(admin.SimpleListFilter):
    title = "locked out"
    parameter_name = "locked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Locked out"), ("no", "Not locked out")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(is_locked=True)
        if self.value() == "no":
            return queryset.filter(is_locked=False)
        return queryset


class _LiveRowsInline(StaffConsoleMixin, admin.TabularInline):  # type: ignore[type-arg]
    """A read-only list, on the user's page, of the user's live rows of a model whose queryset has `live()`."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return cast(Any, super().get_queryset(request)).live()  # type: ignore[no-any-return]


class LiveSessionInline(_LiveRowsInline):
    """The user's signed-in devices."""

    model = Session
    verbose_name = "live session"
    verbose_name_plural = "live sessions (revoke them with the “Revoke all sessions” action)"
    fields = ("ip_address", "user_agent", "created_at", "last_used_at", "expires_at")


class LiveApiTokenInline(_LiveRowsInline):
    """The user's live personal API tokens (revoke them on the API tokens page)."""

    model = ApiToken
    verbose_name = "live API token"
    verbose_name_plural = "live API tokens (revoke them with the API tokens page's action)"
    fields = ("name", "scopes", "created_at", "expires_at", "last_used_at")


@admin.register(User)
class UserAdmin(StaffConsoleMixin, DjangoUserAdmin):
    staff_can_add = True
    staff_can_change = True
    staff_can_delete = True

    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    list_display = (
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "email_verified",
        "mfa_enabled",
        "locked",
        "date_joined",
        "last_login",
    )
    list_filter = (
        "is_active",
        "is_staff",
        "is_superuser",
        "email_verified",
        "mfa_enabled",
        LockedFilter,
        "date_joined",
    )
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("id", "date_joined", "last_login", "profile_completion", "mfa_enabled")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("full_name", "bio", "avatar_url", "timezone", "profile_completion")}),
        ("Status", {"fields": ("is_active", "email_verified", "is_staff", "is_superuser", "mfa_enabled")}),
        ("Permissions", {"classes": ("collapse",), "fields": ("groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    change_password_form = StaffPasswordForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "usable_password", "password1", "password2")}),
    )
    inlines = [LiveSessionInline, LiveApiTokenInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["deactivate_users", "activate_users", "unlock_users", "revoke_sessions", "reset_mfa"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # One subquery, not a query per row, computed by the rule the login applies (accounts/lockout.py).
        locked = lockout.locked_emails().filter(username=OuterRef("email"))
        return super().get_queryset(request).annotate(is_locked=Exists(locked))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        # The same search as the staff API's: any spelling of an address finds its canonical form.
        return user_search(queryset, search_term.split()), False

    @admin.display(boolean=True, description="Locked out", ordering="is_locked")
    def locked(self, obj: Any) -> bool:
        return bool(getattr(obj, "is_locked", False))

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "groups", "user_permissions"]
        return fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.current_user = request.user  # type: ignore[attr-defined]  # a fresh class per call, so per request
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Through the services, as the staff API: the same rules, and every change audited with its actor.
        # (Groups and permissions, superuser-only, are saved by the admin's form with the related objects.)
        meta = RequestContext.from_request(request)
        if change:
            saved = services.staff.user_update_by_staff(
                actor=_actor(request),
                user=obj,
                data={
                    name: form.cleaned_data[name] for name in form.changed_data if name in services.staff.ADMIN_EDITABLE
                },
                meta=meta,
                editable=services.staff.ADMIN_EDITABLE,
            )
        else:
            usable = form.cleaned_data.get("usable_password") not in (False, "false")
            saved = services.staff.user_create_by_staff(
                actor=_actor(request),
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data.get("full_name", ""),
                password=form.cleaned_data.get("password1") if usable else None,
                meta=meta,
            )
        show_saved(obj, saved)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and _may_act_on(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.pk == request.user.pk:
            return False
        return super().has_delete_permission(request, obj) and _may_act_on(request, obj)

    def _target(self, request: HttpRequest, object_id: str | None) -> User | None:
        return None if object_id is None else self.get_object(request, unquote(object_id))

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        _guard_post(request, self._target(request, object_id), "change")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        target = self._target(request, object_id)
        _guard_post(request, target, "delete")
        if request.method == "POST" and target is not None and _keeps_projects(request, target):
            return HttpResponseRedirect(request.path.removesuffix("delete/") + "change/")
        return super().delete_view(request, object_id, extra_context)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Sessions, tasks and the like go with their user, as in the staff API; deleting the user is the one
        # right needed. Protected objects still block.
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return to_delete, model_count, set(), protected

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.staff.user_delete_by_staff(actor=_actor(request), user=obj, meta=RequestContext.from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        meta = RequestContext.from_request(request)
        for user in queryset.exclude(pk=request.user.pk):
            if not _refused(request, user, "delete") and not _keeps_projects(request, user):
                services.staff.user_delete_by_staff(actor=_actor(request), user=user, meta=meta)
        if queryset.filter(pk=request.user.pk).exists():
            self.message_user(request, "Your own account was not deleted.", messages.WARNING)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """Django's password page; its form saves through `user_password_set_by_staff` (sessions end)."""
        user = self._target(request, id)
        if user is None:  # an unknown or malformed id: Django's own 404
            return super().user_change_password(request, id, form_url)
        _guard_post(request, user, "set_password")
        token = _password_page_request.set(request)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_page_request.reset(token)

    @admin.action(description="Deactivate selected users (ends their sessions)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        meta = RequestContext.from_request(request)
        count = 0
        for user in queryset.filter(is_active=True):
            if user.pk == request.user.pk:
                self.message_user(request, "You cannot deactivate your own account.", messages.WARNING)
                continue
            if _refused(request, user, "change"):
                continue
            services.staff.user_set_active(actor=_actor(request), user=user, is_active=False, meta=meta)
            count += 1
        self.message_user(request, f"Deactivated {count} user(s); their sessions were ended.", messages.SUCCESS)

    @admin.action(description="Activate selected users")
    def activate_users(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        meta = RequestContext.from_request(request)
        count = 0
        for user in queryset.filter(is_active=False):
            if _refused(request, user, "change"):
                continue
            services.staff.user_set_active(actor=_actor(request), user=user, is_active=True, meta=meta)
            count += 1
        self.message_user(request, f"Activated {count} user(s).", messages.SUCCESS)

    @admin.action(description="Unlock selected users (lift login lockouts)")
    def unlock_users(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        meta = RequestContext.from_request(request)
        users = [user for user in queryset if not _refused(request, user, "unlock")]
        cleared = sum((services.staff.user_unlock(actor=_actor(request), user=user, meta=meta) for user in users), 0)
        self.message_user(
            request, f"Unlocked {len(users)} user(s); {cleared} failed-login record(s) cleared.", messages.SUCCESS
        )

    @admin.action(description="Revoke all sessions of selected users")
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        meta = RequestContext.from_request(request)
        users = [user for user in queryset if not _refused(request, user, "revoke_sessions")]
        ended = sum(
            (services.staff.user_sessions_revoke(actor=_actor(request), user=user, meta=meta) for user in users), 0
        )
        self.message_user(request, f"Revoked {ended} session(s) of {len(users)} user(s).", messages.SUCCESS)

    @admin.action(description="Reset two-factor sign-in of selected users (they sign in with a password alone)")
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        meta = RequestContext.from_request(request)
        users = [user for user in queryset.filter(mfa_enabled=True) if not _refused(request, user, "reset_mfa")]
        reset = sum(
            services.two_factor.mfa_reset_by_staff(actor=_actor(request), user=user, meta=meta) for user in users
        )
        self.message_user(
            request, f"Reset two-factor sign-in of {reset} user(s); each was told by email.", messages.SUCCESS
        )


# Sessions ---------------------------------------------------------------------------------------------


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("ended", "Ended"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        sessions = cast(SessionQuerySet, queryset)
        if self.value() == "live":
            return sessions.live()
        if self.value() == "ended":
            return sessions.filter(ended_at__isnull=False)
        if self.value() == "expired":
            return sessions.open().exclude(pk__in=Session.objects.live().values("pk"))
        return queryset


@admin.register(Session)
class SessionAdmin(StaffConsoleMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: a session changes only by being revoked (the action), which kills its tokens at once."""

    list_display = (
        "user",
        "ip_address",
        "device",
        "created_at",
        "last_used_at",
        "expires_at",
        "ended_at",
        "end_reason",
        "live",
    )
    list_filter = (SessionStateFilter, "end_reason", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "ip_address", "user_agent")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    # The refresh token ids stay out of the page: they are half of what a token replay needs.
    fields = (
        "id",
        "user",
        "ip_address",
        "user_agent",
        "created_at",
        "last_used_at",
        "expires_at",
        "rotated_at",
        "ended_at",
        "end_reason",
    )
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(description="Device (user agent)")
    def device(self, obj: Session) -> str:
        agent = obj.user_agent or "-"
        return agent if len(agent) <= 60 else agent[:59] + "…"

    @admin.display(boolean=True, description="Live")
    def live(self, obj: Session) -> bool:
        return obj.is_live

    @admin.action(description="Revoke selected sessions")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        meta = RequestContext.from_request(request)
        live = list(cast(SessionQuerySet, queryset).open().select_related("user"))
        allowed = [session for session in live if not _refused(request, session.user, "revoke_session")]
        for session in allowed:
            services.staff.session_revoke_by_staff(actor=_actor(request), session=session, meta=meta)
        self.message_user(request, f"Revoked {len(allowed)} session(s).", messages.SUCCESS)


# Personal API tokens --------------------------------------------------------------------------------------


class ApiTokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        tokens = cast(ApiTokenQuerySet, queryset)
        if self.value() == "live":
            return tokens.live()
        if self.value() == "revoked":
            return tokens.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return tokens.filter(revoked_at__isnull=True).exclude(pk__in=ApiToken.objects.live().values("pk"))
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(StaffConsoleMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: a token changes only by being revoked (the action, audited with the staff member as actor)."""

    list_display = ("name", "user", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at", "live")
    list_filter = (ApiTokenStateFilter, "revoke_reason", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "name")
    ordering = ("-created_at",)
    # The digest stays out of the page: it is no secret, but it has no use there either.
    fields = (
        "id",
        "user",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoke_reason",
    )
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(boolean=True, description="Live")
    def live(self, obj: ApiToken) -> bool:
        return obj.is_live

    @admin.action(description="Revoke selected API tokens")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        meta = RequestContext.from_request(request)
        unrevoked = list(queryset.filter(revoked_at__isnull=True).select_related("user"))
        allowed = [token for token in unrevoked if not _refused(request, token.user, "revoke_api_token")]
        revoked = sum(
            services.staff.api_token_revoke_by_staff(actor=_actor(request), token=token, meta=meta) for token in allowed
        )
        self.message_user(request, f"Revoked {revoked} API token(s).", messages.SUCCESS)


# Lockouts (django-axes) ---------------------------------------------------------------------------------
# Axes registers its own pages for superusers only; re-registered so every staff user can use them, under a
# name staff recognise.

apps.get_app_config("axes").verbose_name = "Lockouts"

for _model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(AccessAttempt)
class LockoutAttemptAdmin(StaffConsoleMixin, AccessAttemptAdmin):
    """Failed-login counts per account, address and user agent: the live state of the lockout."""

    staff_can_delete = True
    actions = ["unlock_accounts", "cleanup_expired_attempts"]

    @admin.action(description="Unlock the accounts of the selected attempts (from every address)")
    def unlock_accounts(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        meta = RequestContext.from_request(request)
        emails = {email for email in queryset.values_list("username", flat=True) if email}
        users = list(User.objects.filter(email__in=emails))
        unlocked = [user for user in users if not _refused(request, user, "unlock")]
        for user in unlocked:
            services.staff.user_unlock(actor=_actor(request), user=user, meta=meta)
        # Failures for emails that have no account lock nothing anyone owns; just forget them.
        unowned = emails - {user.email for user in users}
        for email in unowned:
            lockout.clear_for_account(email=email)
        self.message_user(request, f"Unlocked {len(unlocked) + len(unowned)} account(s).", messages.SUCCESS)

    # Deleting an attempt row lifts that lock: the same rule as the unlock action.

    def _owner(self, attempt: AccessAttempt | None) -> User | None:
        return None if attempt is None else User.objects.filter(email=attempt.username).first()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and _may_act_on(request, self._owner(obj))

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        _guard_post(request, self._owner(self.get_object(request, unquote(object_id))), "unlock")
        return super().delete_view(request, object_id, extra_context)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The bulk delete reaches delete_queryset, which skips (and records) the rows staff may not delete.
        to_delete, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return to_delete, model_count, set(), protected

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        owners = User.objects.filter(email__in=queryset.values("username"), is_superuser=True)
        refused = [user.email for user in owners if _refused(request, user, "unlock")]
        super().delete_queryset(request, queryset.exclude(username__in=refused))


@admin.register(AccessFailureLog)
class LockoutFailureLogAdmin(StaffConsoleMixin, AccessFailureLogAdmin):
    """Every failed login, kept after the counts reset (read-only)."""


@admin.register(AccessLog)
class LockoutAccessLogAdmin(StaffConsoleMixin, AccessLogAdmin):
    """Successful admin sign-ins (read-only)."""

"""Taskdesk settings.

Every environment variable is read here, through the small typed helpers below, and nowhere else.
`DJANGO_ENV=production` turns on the production settings, which refuse to start without an explicit
`SECRET_KEY` and `ALLOWED_HOSTS`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

# An optional .env beside manage.py; real environment variables win over it.
load_dotenv(BASE_DIR / ".env", override=False)


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {number}.")
    return number


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def env_rate(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip() or default
    if not _RATE.match(value):
        raise ImproperlyConfigured(f"{name} must be a rate such as 10/min, not {value!r}.")
    return value


def env_fernet_keys(name: str, *, derive_from: str) -> list[str]:
    """Fernet keys (url-safe base64 of 32 bytes), comma-separated: the first encrypts, all decrypt.

    Unset: one key derived from `derive_from` (the SECRET_KEY) with HKDF, so development needs no setup and a
    deployment that never set it keeps decrypting what it wrote as long as its SECRET_KEY stays.
    """
    keys = env_list(name)
    for key in keys:
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated Fernet keys (url-safe base64 of 32 bytes), e.g. the output of "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`."
            )
    if keys:
        return keys
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"taskdesk field encryption").derive(
        derive_from.encode()
    )
    return [base64.urlsafe_b64encode(derived).decode()]


DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be development or production.")
PRODUCTION = DJANGO_ENV == "production"

# The SECRET_KEY signs the JWTs (HS256: a key shorter than the hash is guessable offline from one token),
# password reset and verification links, and derives the field encryption key: production refuses a weak one
# (the bar of Django's own deploy check, security.W009).
MIN_SECRET_KEY_LENGTH = 50

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random characters in production, e.g. the output "
            "of `python -c 'import secrets; print(secrets.token_urlsafe(64))'`."
        )
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required in production.")
    DEBUG = env_bool("DEBUG", False)
else:
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-taskdesk-development-key-never-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
    DEBUG = env_bool("DEBUG", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "axes",
    "django_tasks",
    "config.jobs.apps.QueueConfig",
    # After the queue's app (django_tasks_db): its admin page is replaced by the staff console's.
    "config.jobs",
    "accounts",
    "tasks",
    "audit",
]

MIDDLEWARE = [
    # First, so the request counts and latencies include every other middleware's answers.
    "config.http.metrics.MetricsMiddleware",
    "config.http.middleware.NulFreeHeadersMiddleware",
    "config.http.middleware.RequestIDMiddleware",
    # Before the middlewares that answer early (413, 503), so their answers get the security headers too.
    "django.middleware.security.SecurityMiddleware",
    "config.http.security_headers.ContentSecurityPolicyMiddleware",
    "config.http.security_headers.HttpsOnlyApiMiddleware",
    # Above the no-store marking, so it sees each response as sent; never on /api/v1/auth/ (BREACH).
    "config.http.compression.CompressionMiddleware",
    "config.http.middleware.NoStoreForCredentialsMiddleware",
    "config.http.middleware.BodySizeLimitMiddleware",
    "config.http.middleware.DatabaseUnavailableMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Everywhere, so nothing outside the CSRF-exempt API views escapes it.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Runs BROWSER_MIDDLEWARE, below, for every path outside /api/ (config/http/browser.py).
    "config.http.browser.BrowserOnlyMiddleware",
]
# What only the browser-facing pages (the admin, static files) need; the API authenticates with bearer tokens,
# so its requests skip these layers.
BROWSER_MIDDLEWARE = [
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.staff_sessions.StaffSessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, so a locked-out admin login is answered by axes.
    "axes.middleware.AxesMiddleware",
]
# The admin's and axes' checks look for their middleware in MIDDLEWARE only; it is in BROWSER_MIDDLEWARE,
# which serves every admin page (config/tests/test_browser_middleware.py).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410", "axes.W002"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite by default, PostgreSQL via DATABASE_URL. Connections are reused for a minute and
# health-checked, so a database that went away and came back is picked up again without a restart.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers queue instead of
    # failing with "database is locked" half-way through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that polls the socket instead of a round trip and prepared
    # statements for the hottest fixed queries (config/db/).
    DATABASES["default"]["ENGINE"] = "config.db.postgresql"
# Off behind a connection pooler that cannot keep prepared statements (PgBouncer in transaction mode < 1.21).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
# Redis is near and quick, or down: fail fast, so an outage costs a request a fraction of a second (callers
# fall back or answer 503; see docs/operations.md, "When Redis is down").
REDIS_CLIENT_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "taskdesk",
            "OPTIONS": REDIS_CLIENT_OPTIONS,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "taskdesk"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    # Argon2id at OWASP's minimum (19 MiB, 2 iterations, 1 lane); older argon2 hashes upgrade at login.
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
]
# Words of this service's context that a password must not be built around (docs/security.md, ASVS 6.2.11).
PASSWORD_CONTEXT_WORDS = ("taskdesk", "task desk", "todo")
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "full_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "accounts.validators.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.ContextWordsValidator", "OPTIONS": {"words": PASSWORD_CONTEXT_WORDS}},
]
PASSWORD_RESET_TIMEOUT = 60 * 60

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Request bodies: JSON only, at most 1 MiB (413 above that).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024)

# Tokens and sessions.
# Ceilings, so a typo cannot make a token or a session live for years (docs/security.md, V7.3).
ACCESS_TOKEN_MINUTES = env_int("ACCESS_TOKEN_MINUTES", 15, minimum=1, maximum=60)
REFRESH_TOKEN_DAYS = env_int("REFRESH_TOKEN_DAYS", 7, minimum=1, maximum=90)
SESSION_MAX_DAYS = env_int("SESSION_MAX_DAYS", 30, minimum=1, maximum=365)
REFRESH_GRACE_SECONDS = env_int("REFRESH_GRACE_SECONDS", 10)
# A session's last_used_at is written at most this often, so reads do not each cost a write.
SESSION_TOUCH_SECONDS = 60

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=ACCESS_TOKEN_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=REFRESH_TOKEN_DAYS),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "UPDATE_LAST_LOGIN": False,
    "LEEWAY": 0,
    # Stamped in every token and required on every token read (PyJWT checks both), so a JWT minted by another
    # service that happens to share the key, or for another purpose, is not taken for one of ours.
    "AUDIENCE": "taskdesk-api",
    "ISSUER": "taskdesk",
}

# Secrets stored in the database (TOTP secrets) are encrypted with these keys (accounts/fields.py). Rotation:
# put a new key first, keep the old ones after it until `rotate_field_encryption` has re-encrypted every row.
FIELD_ENCRYPTION_KEYS = env_fernet_keys("FIELD_ENCRYPTION_KEY", derive_from=SECRET_KEY)
# Two-factor sign-in: how long the mfa_token of a login's first step lives, and the issuer shown in apps.
MFA_TOKEN_SECONDS = 5 * 60
MFA_ISSUER = "Taskdesk"

# Lockout (django-axes): consecutive failures per account and client address, with a cool-off.
LOCKOUT_FAILURES = env_int("LOCKOUT_FAILURES", 5, minimum=1)
LOCKOUT_MINUTES = env_int("LOCKOUT_MINUTES", 15, minimum=1)
# Counts live in the shared database (axes' database handler: one row per account, address and user agent),
# so every app instance and worker sees them; see accounts/lockout.py for the whole rule.
AXES_ENABLED = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = LOCKOUT_FAILURES
AXES_COOLOFF_TIME = timedelta(minutes=LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# An attempt refused while locked neither counts nor extends the cool-off, so Retry-After holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"
# The API and the admin login count against the same normalised email.
AXES_USERNAME_CALLABLE = "accounts.lockout_axes.username_from"
AXES_CLIENT_IP_CALLABLE = "config.http.net.client_ip"
# The API answers lockouts itself (JSON); the admin gets a 429 page with Retry-After.
AXES_LOCKOUT_CALLABLE = "accounts.lockout_axes.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Keep a log of every failure (the admin's "access failures"), besides the live counts.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

REST_FRAMEWORK = {
    # Personal API tokens (`tdk_...`) first: it answers None at once for anything else.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "accounts.authentication.SessionTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["config.http.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.http.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.http.negotiation.JSONOnlyNegotiation",
    "DEFAULT_PAGINATION_CLASS": "config.http.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.http.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "config.http.throttling.UserRateThrottle",
        "config.http.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("THROTTLE_USER", "1000/min"),
        "anon": env_rate("THROTTLE_ANON", "100/min"),
        "login": env_rate("THROTTLE_LOGIN", "10/min"),
        "register": env_rate("THROTTLE_REGISTER", "20/hour"),
        "password_reset": env_rate("THROTTLE_PASSWORD_RESET", "5/hour"),
        "invitations": env_rate("THROTTLE_INVITATIONS", "50/hour"),
    },
    "NUM_PROXIES": None,
    "URL_FORMAT_OVERRIDE": None,
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Taskdesk API",
    "DESCRIPTION": "The JSON REST API of Taskdesk: accounts, sessions, tasks and the audit trail.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.http.schema.add_error_responses",
    ],
    "SECURITY": [{"bearerAuth": []}],
}

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "http://localhost:3000")
# If-None-Match: the conditional GET of the lists (and of a task).
CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "x-request-id",
    "accept",
    # The cookie mode of browser SPAs (accounts/cookies.py): its header, and the refresh cookie sent along.
    "x-refresh-mode",
]
# Credentials (the refresh cookie) only ever for CORS_ALLOWED_ORIGINS: other origins get no CORS headers.
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["ETag", "X-Request-ID", "Retry-After", "Content-Disposition", "Idempotent-Replayed"]
FRONTEND_URL = env_str("FRONTEND_URL", "http://localhost:3000").rstrip("/")

# The admin's sign-in (a Django session cookie): it ends after an idle hour, 12 hours after sign-in however
# busy it is (accounts/staff_sessions.py), and when the browser closes, instead of Django's two weeks.
ADMIN_SESSION_IDLE_MINUTES = 60
ADMIN_SESSION_MAX_HOURS = 12
SESSION_COOKIE_AGE = ADMIN_SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

ADMIN_URL = env_str("ADMIN_URL", "admin/")
if not ADMIN_URL.endswith("/"):
    ADMIN_URL += "/"

# Email: console in development; SMTP (or any backend) by the usual Django variables.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Taskdesk <no-reply@taskdesk.local>")

# /metrics: with a token set, scrapers must send `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Set (by config/gunicorn.conf.py, or by the operator) when several processes serve: each writes its samples
# there and a scrape reads them all. prometheus_client reads the same variable itself, at import.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
if not PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client turns multiprocess mode on for the variable's mere presence, and an empty one would
    # write sample files into the working directory; empty means unset here, as for every other variable.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# Extra collectors every scrape calls (dotted paths), e.g. the job queue's figures; see config/http/metrics.py.
METRICS_COLLECTORS: list[str] = ["config.jobs.metrics.collect"]

# Error tracking (config/http/sentry.py): unexpected exceptions, with the request id, without secrets or bodies.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from config.http.sentry import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=DJANGO_ENV)
# Background jobs (config/jobs/): django-tasks' API over its database backend, so a job is a row written in
# the transaction of the change that causes it. `manage.py worker` runs them (`make run` starts one).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Seconds between a worker's heartbeats; a worker silent for six of them is dead and its job runs again.
JOBS_HEARTBEAT_SECONDS = env_int("JOBS_HEARTBEAT_SECONDS", 5, minimum=1)
# Seconds an idle worker waits before looking at the queue again.
JOBS_POLL_SECONDS = 1.0
# Attempts before a job is left dead (visible in the admin), and the waits between them: 10 s doubling,
# at most an hour (12 attempts span some three and a half hours of outage).
JOBS_MAX_ATTEMPTS = env_int("JOBS_MAX_ATTEMPTS", 12, minimum=1)
JOBS_RETRY_BASE_SECONDS = 10
JOBS_RETRY_MAX_SECONDS = 60 * 60
JOBS_KEEP_DONE_DAYS = 7
JOBS_KEEP_FAILED_DAYS = 30
# Maintenance without cron: each entry is enqueued once per period (aligned on the epoch, UTC) by
# whichever worker gets there first. The commands of the same names stay for operators.
REMINDERS_EVERY_SECONDS = 20
PERIODIC_JOBS = {
    "purge_trash": {"job": "tasks.jobs.purge_trash", "every": timedelta(hours=1)},
    "purge_idempotency_keys": {"job": "tasks.jobs.purge_idempotency_keys", "every": timedelta(hours=1)},
    "purge_invitations": {"job": "tasks.jobs.purge_invitations", "every": timedelta(days=1)},
    "prune_changes": {"job": "tasks.jobs.prune_changes", "every": timedelta(days=1)},
    "prune_sessions": {"job": "accounts.jobs.prune_sessions", "every": timedelta(days=1)},
    "prune_mfa_challenges": {"job": "accounts.jobs.prune_mfa_challenges", "every": timedelta(hours=1)},
    "prune_audit": {"job": "audit.jobs.prune_audit", "every": timedelta(days=1)},
    "prune_jobs": {"job": "config.jobs.jobs.prune_jobs", "every": timedelta(days=1)},
    # Reminders arrive within this period (plus the worker's maintenance tick, 5 s) of their time.
    "fire_reminders": {"job": "tasks.jobs.fire_reminders", "every": timedelta(seconds=REMINDERS_EVERY_SECONDS)},
}


LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.http.logging.RequestIDFilter"}},
    "formatters": {
        "text": {
            "()": "config.http.logging.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "config.http.logging.JSONFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our own request line replaces Django's; its 4xx/5xx warnings would double every error.
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
        "axes": {"level": "WARNING", "propagate": True},
    },
}

# The machine endpoints: everything under /api/ but the two documentation pages people open in a browser.
API_PATHS = r"^api/(?!docs/|redoc/)"

# Production hardening; `manage.py check --deploy` passes with these. SECURE_SSL_REDIRECT=false allows
# plain HTTP behind a TLS-terminating proxy or for a local loopback run of the production settings.
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Load balancers probe health, and Prometheus scrapes, over plain HTTP inside the network. The API is not
    # redirected either: plain HTTP is refused there (config/http/security_headers.py HttpsOnlyApiMiddleware).
    SECURE_REDIRECT_EXEMPT = [r"^health", r"^metrics$", API_PATHS]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# In development whitenoise serves static files (admin, Swagger UI, ReDoc) straight from the apps, so
# `make run` needs no collectstatic; production serves the collected, hashed and compressed files.
WHITENOISE_USE_FINDERS = not PRODUCTION

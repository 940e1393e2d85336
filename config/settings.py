"""Casetrail settings: one file, environment first, embedded default (SQLite, in-process tasks)."""

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from casework import logs

BASE_DIR = Path(__file__).resolve().parent.parent
# Fail closed (docs/security.md, "Settings and hardening"): DEBUG is off unless set, and outside DEBUG the
# process refuses to start unless each key below is the deployment's own. These development values are
# public (they are in git): accepted under DEBUG only, refused everywhere else. No key derives from another.
DEV_KEYS = {
    "SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production",
    # Patient identity at rest (Fernet): fixed, the key earlier development databases were written with.
    "IDENTITY_ENCRYPTION_KEY": "yWKoP4FQqrANyHZy4gLS9Y4T636VybPFaORniDdtcxg=",
    # The keyed pseudonym that links repeat victims (HMAC).
    "PSEUDONYM_KEY": "dev-only-pseudonym-key",
}
REFUSED_KEY_VALUES = {*DEV_KEYS.values(), "change-me"}

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# The test runner needs no setup either. pytest-django imports these settings before any conftest.py runs,
# so its defaults are given here (and inherited by the processes a test starts); whatever the caller sets
# (DEBUG=false and its own keys) wins. The test client speaks plain HTTP (no HTTPS redirect), and the rate
# limits are test-friendly (the tests proving a 429 lower them).
TESTING = "pytest" in sys.modules
if TESTING:
    os.environ.setdefault("DEBUG", "true")

DEBUG = env.bool("DEBUG", default=False)


def _own_key(name: str) -> str:
    value = env.str(name, default="").strip()
    return value or (DEV_KEYS[name] if DEBUG else "")


SECRET_KEY = _own_key("SECRET_KEY")
IDENTITY_ENCRYPTION_KEY = _own_key("IDENTITY_ENCRYPTION_KEY")  # one or more Fernet keys, newest first
PSEUDONYM_KEY = _own_key("PSEUDONYM_KEY")
# Outside DEBUG each key must be the deployment's own. Every way the app starts (manage.py, the WSGI
# application, a Celery worker or beat) refuses to while this lists a problem (config/startup.py).
# Importing the settings alone does not refuse, so a tool that only reads the models still loads.
KEY_PROBLEMS: list[str] = []
if not DEBUG:
    for _name, _value in (
        ("SECRET_KEY", SECRET_KEY),
        ("IDENTITY_ENCRYPTION_KEY", IDENTITY_ENCRYPTION_KEY),
        ("PSEUDONYM_KEY", PSEUDONYM_KEY),
    ):
        if not _value:
            KEY_PROBLEMS.append(f"{_name} is not set")
        elif REFUSED_KEY_VALUES & {_value, *(part.strip() for part in _value.split(","))}:
            KEY_PROBLEMS.append(f"{_name} is the public development value")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",  # API tokens hashed at rest, with an expiry (docs/security.md, "Accounts")
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "casework",
    "referrals",
    "courtwatch",
    "reporting",
    "demo",
]

MIDDLEWARE = [
    "casework.logs.RequestIdMiddleware",  # outermost: every answer and log line of a request has its id
    "casework.middleware.SecurityMiddleware",  # Django's, plain HTTP from this host served (docs/security.md)
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, compressed, before anything slower
    "csp.middleware.CSPMiddleware",
    "casework.inputs.RefuseControlCharactersMiddleware",  # NUL in a path or parameter: 400 before any query
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "casework.middleware.NoStoreMiddleware",  # outermost after auth: every answer to a signed-in user
    "casework.middleware.SessionLimitsMiddleware",  # idle and absolute limits, before the user is trusted
    "django_otp.middleware.OTPMiddleware",
    "casework.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "casework.middleware.PageThrottleMiddleware",  # docs/security.md, "Throttling"
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "casework.db_router.ReportingReadsMiddleware",  # a report's reads go to the replica, when there is one
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the "locked out" page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",  # LANGUAGE_CODE for <html lang>
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "casework.context_processors.menus",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # PostgreSQL's JIT spent ~0.4 s compiling report queries that run in tens of ms; with the default
    # 4 MB work_mem a year of removals at 5M admissions is sorted on disk, not hashed (docs/reporting.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off -c work_mem=32MB")
# Reports read from a PostgreSQL read replica when REPLICA_DATABASE_URL is set (casework/db_router.py,
# docs/operations.md). Tests get the alias as a mirror of default, to prove the routing.
REPLICA_DATABASE_URL = env("REPLICA_DATABASE_URL", default="")
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = {
        **env.db_url_config(REPLICA_DATABASE_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
    }
elif TESTING:
    DATABASES["replica"] = {**DATABASES["default"]}
if "replica" in DATABASES:
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
REPORTING_DATABASE = "replica" if REPLICA_DATABASE_URL else "default"
# Behind PgBouncer in transaction pooling (docs/operations.md, "PgBouncer"): a connection is someone else's
# between transactions, so no server-side cursors (.iterator()) and no startup "options" (PgBouncer refuses
# them): set jit and work_mem on the role instead (ALTER ROLE … SET). Django prepares no statements.
PGBOUNCER_TRANSACTION_POOLING = env.bool("PGBOUNCER_TRANSACTION_POOLING", default=False)
if PGBOUNCER_TRANSACTION_POOLING:
    for _db in DATABASES.values():
        _db["DISABLE_SERVER_SIDE_CURSORS"] = True
        _db.setdefault("OPTIONS", {}).pop("options", None)
DATABASE_ROUTERS = ["casework.db_router.ReportingReadsRouter"]
# Least privilege (docs/security.md, "Database roles"): DATABASE_URL is the runtime role the app uses;
# DATABASE_OWNER_URL, when set, is the role owning the tables, used by `manage.py migrate` alone.
DATABASE_OWNER_URL = env("DATABASE_OWNER_URL", default="")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in before any check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user; nothing is public
GUARDIAN_RAISE_403 = True

# Accounts (docs/security.md, "Accounts"): password rules, lockout, two-factor, API tokens.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: its password_changed() hook revokes the user's API tokens on every password change.
    {"NAME": "casework.accounts.passwords.ApiTokensRevokedOnPasswordChange"},
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # one user from one address: no lock-anyone-out
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "casework.accounts.lockout.locked_out"
AXES_CLIENT_IP_CALLABLE = "casework.accounts.lockout.client_address"
OTP_TOTP_ISSUER = "Casetrail"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin resets a device; it never shows anyone's secret
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=10)),
    "AUTH_HEADER_PREFIX": "Token",  # "Authorization: Token <key>", as before
    "TOKEN_LIMIT_PER_USER": 20,
}
API_TOKEN_MAX_TTL_HOURS = env.int("API_TOKEN_MAX_TTL_HOURS", default=24 * 90)  # issue_token --hours cap

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("af", "Afrikaans"), ("xh", "isiXhosa")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language a user picks (templates/_language.html) is kept for a year in its own cookie, as the other
# cookies: secure outside DEBUG and never sent cross-site.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Africa/Johannesburg"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves /static/ from gunicorn: after collectstatic the compressed copies in STATIC_ROOT; before
# it (or without it) the files where they live, so pages are styled either way.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_ROOT.is_dir()

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="casetrail@localhost")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# ---- Hardening (docs/security.md, "Settings and hardening"). Outside DEBUG: HTTPS only, secure cookies.
# casework.middleware.SecurityMiddleware is Django's, subclassed (plain HTTP from this host is served);
# Django's deploy check looks for its class by name only, so its "SecurityMiddleware missing" is false here.
SILENCED_SYSTEM_CHECKS = ["security.W001"]
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG and not TESTING)
# Behind a TLS-terminating proxy that sets it: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER is a header and a value: HTTP_X_FORWARDED_PROTO,https"
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Sessions end after 30 minutes idle and 10 hours after sign-in (casework.middleware.SessionLimitsMiddleware),
# and with the browser.
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=10 * 3600)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# No inline script or style anywhere: every script and stylesheet is a static file (django-csp 4).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# Throttle history must be shared by every process in production: CACHE_URL=redis://host:6379/2
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}


def _rate(scope: str, default: str) -> str | None:
    """A DRF rate ("10/minute") from THROTTLE_RATE_<SCOPE>; "off" removes the limit. Tests get roomy rates."""
    name = f"THROTTLE_RATE_{scope.upper()}"
    value = env.str(name, default="100000/minute" if TESTING else default).strip().lower()
    if value == "off":
        return None
    if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name} must look like 10/minute (or off), not {value!r}")
    return value


THROTTLE_RATES = {
    "anon": _rate("anon", "60/minute"),  # API, not signed in: per address
    "user": _rate("user", "600/minute"),  # API, signed in: per user
    "burst": _rate("burst", "20/second"),  # API: per user (or address), within one second
    "address": _rate("address", "3000/minute"),  # everything from one address, API and pages
    "auth": _rate("auth", "10/minute"),  # token issue: per user (or address)
    "auth_address": _rate("auth_address", "30/minute"),  # token issue: per address, whichever account
    "login": _rate("login", "30/minute"),  # sign-in form posts: per address (lockout is django-axes)
    "intake": _rate("intake", "1200/minute"),  # HL7/FHIR/CSV intake: per sending credential
    "exports": _rate("exports", "30/minute"),  # CSV downloads and extracts: per user
    "reports": _rate("reports", "300/minute"),  # report pages and report API: per user
}

REST_FRAMEWORK = {
    "DEFAULT_THROTTLE_CLASSES": [
        "casework.throttling.UserThrottle",
        "casework.throttling.BurstThrottle",
        "casework.throttling.AddressThrottle",
        "casework.throttling.ScopedThrottle",
        "casework.throttling.AddressScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    # X-Forwarded-For is believed only for this many proxies in front of the app (0: not at all).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "casework.api.errors.exception_handler",
    # JSON with a size and depth limit, no control characters, finite numbers (casework/inputs.py).
    "DEFAULT_PARSER_CLASSES": [
        "casework.inputs.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Casetrail API",
    "DESCRIPTION": "Incidents, police cases, prosecutions, court-watching briefs and reports. "
    "See docs/api.md for the transition contract and report definitions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Two choice sets are both called "outcome"; named here so `check --deploy` stays silent.
    "ENUM_NAME_OVERRIDES": {
        "AccusedOutcomeEnum": "casework.models.Accused.Outcome",
        "HearingOutcomeEnum": "courtwatch.models.Hearing.Outcome",
    },
}

# Celery: no broker configured means tasks run in-process (the embedded default).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# In tests an eager task's error reaches the test (issue 11: it hid task errors); a deployment's
# request still answers when an embedded task fails, the sweeper retrying the stored row.
CELERY_TASK_EAGER_PROPAGATES = TESTING
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Queues (docs/operations.md): intake has its own worker, so a slow report never delays a hospital's
# message. Every queue is declared, so a worker started without -Q (make worker) consumes them all.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = {"intake": {}, "reporting": {}, "default": {}}
CELERY_TASK_ROUTES = {
    "referrals.tasks.*": {"queue": "intake"},
    "reporting.tasks.refresh_*": {"queue": "reporting"},
    "reporting.tasks.rebuild_*": {"queue": "reporting"},
    "reporting.tasks.sweep_*": {"queue": "reporting"},
    # the rest (courtwatch notices and reminders, scheduled report e-mails): "default"
}
# Readiness (GET /ready/, docs/operations.md): not ready while the oldest unfinished intake message is
# older than this, and a worker's answer about its queues is kept this long.
READY_INTAKE_MAX_AGE_SECONDS = env.int("READY_INTAKE_MAX_AGE_SECONDS", default=300)
READY_WORKER_CACHE_SECONDS = env.float("READY_WORKER_CACHE_SECONDS", default=5.0)
READY_WORKER_TIMEOUT_SECONDS = env.float("READY_WORKER_TIMEOUT_SECONDS", default=1.0)
CELERY_BEAT_SCHEDULE: dict = {}  # every app's periodic jobs, all here
# referrals: re-kick intake messages stuck unfinished (docs/intake.md, "Sweeper").
CELERY_BEAT_SCHEDULE["referrals-sweep-inbound"] = {"task": "referrals.tasks.sweep_inbound", "schedule": 30.0}
INTAKE_STUCK_AFTER_SECONDS = env.int("INTAKE_STUCK_AFTER_SECONDS", default=60)
# referrals: POPIA retention, daily (docs/security.md, "Retention and subject access"): identity is
# purged IDENTITY_RETENTION_YEARS after every linked matter ended (or the last event, with no case).
IDENTITY_RETENTION_YEARS = env.int("IDENTITY_RETENTION_YEARS", default=5)
CELERY_BEAT_SCHEDULE["referrals-purge-identities"] = {
    "task": "referrals.tasks.purge_identities",
    "schedule": 24 * 3600.0,
}
# courtwatch: reminders (docs/courtwatch.md, "Reminders"); each notice is once-only by its key.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["courtwatch-hearing-reminders"] = {
    "task": "courtwatch.tasks.send_hearing_reminders",
    "schedule": crontab(hour=15, minute=0),
}
CELERY_BEAT_SCHEDULE["courtwatch-stale-brief-digest"] = {
    "task": "courtwatch.tasks.send_stale_brief_digest",
    "schedule": crontab(hour=6, minute=30),
}
CELERY_BEAT_SCHEDULE["courtwatch-overdue-review-notices"] = {
    "task": "courtwatch.tasks.send_overdue_review_notices",
    "schedule": crontab(hour=7, minute=0),
}
# reporting (docs/reporting.md): scheduled e-mails, the nightly rebuild of the kept report rows, and
# the sweeper that refreshes rollups a write reached without its event.
CELERY_BEAT_SCHEDULE["reporting-send-scheduled-reports"] = {
    "task": "reporting.tasks.send_scheduled_reports",
    "schedule": crontab(minute=15, hour=6),
}
CELERY_BEAT_SCHEDULE["reporting-rebuild-prosecution-facts"] = {
    "task": "reporting.tasks.rebuild_prosecution_facts",
    "schedule": crontab(minute=30, hour=2),
}
CELERY_BEAT_SCHEDULE["reporting-sweep-rollups"] = {"task": "reporting.tasks.sweep_rollups", "schedule": 60.0}

# Logs (docs/operations.md, "Logs"): one JSON object per line outside development, every line of a request
# with its request id (casework.logs.RequestIdMiddleware), every line of a task with its task id.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = logs.logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))
# Celery workers log through the handler above (JSON, task ids) instead of replacing it with their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

"""rumvault settings: every knob comes from the environment (12-factor).

Read top to bottom: paths, core Django, database, apps, security, REST API,
rumvault's own keys and limits, logging. With ``DEBUG=true`` development
defaults work out of the box; without it the process refuses to start while
any key is missing or a public development value (``config/keys.py``).
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from access.rates import (
    BEACON,
    BEACON_CLIENT,
    INGEST,
    INGEST_LOGS,
    LOGIN_ACCOUNT,
    LOGIN_ADDRESS,
    SEARCH,
    rates_from_environment,
)
from browser_agent.version import AGENT_FILE_PATTERN
from config.keys import read_keys
from config.logging import logging_config
from config.replica import REPLICA, replica_database
from privacy.defaults import defaults_from_environment

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Only when asked: a forgotten .env (with development keys, say) must not
# quietly configure a production process.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# Raises ImproperlyConfigured, naming the variables, when DEBUG is off and a
# key is missing or a development value.
_KEYS = read_keys(os.environ, debug=DEBUG)
SECRET_KEY = _KEYS.secret_key
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Database ---------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Persistent PostgreSQL connections: opening one cost 4 ms a request on loopback,
# more than the whole masked list of 100 sessions. A connection broken while idle
# (the database restarted) is checked and replaced at the next request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if _POSTGRES else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = _POSTGRES
if _POSTGRES:
    # Fail fast when PostgreSQL is away, so ingest can answer 503 instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
# Behind PgBouncer in transaction mode (docs/operations.md, "Connection pooling")
# a server connection serves this process for one transaction only: a named
# cursor (QuerySet.iterator() reading in chunks) would be gone at the next
# fetch, so chunks are read from ordinary cursors. Nor may statements be
# prepared on the server (a later transaction may run on another connection):
# psycopg binds parameters client-side, and prepares nothing, unless
# OPTIONS["server_side_binding"] is set, which is refused here.
TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
if TRANSACTION_POOLING:
    if not _POSTGRES:
        raise ImproperlyConfigured("DATABASE_TRANSACTION_POOLING is for PostgreSQL (PgBouncer)")
    if DATABASES["default"]["OPTIONS"].get("server_side_binding"):
        raise ImproperlyConfigured(
            "server_side_binding prepares statements, which transaction pooling cannot carry"
        )
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# Prepared statements for the reads whose plan does not depend on their values
# (config/prepared.py): on by default on a direct PostgreSQL connection. Django
# binds parameters on the client unless asked; preparing needs them on the server.
PREPARED_STATEMENTS = env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=_POSTGRES and not TRANSACTION_POOLING
)
if PREPARED_STATEMENTS:
    if not _POSTGRES:
        raise ImproperlyConfigured("DATABASE_PREPARED_STATEMENTS is for PostgreSQL")
    if TRANSACTION_POOLING:
        raise ImproperlyConfigured(
            "DATABASE_PREPARED_STATEMENTS: transaction pooling cannot carry prepared statements"
        )
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite (demo, small installs): WAL lets readers run during a write,
    # IMMEDIATE takes the write lock at BEGIN so concurrent writers queue for
    # up to `timeout` seconds instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # secure_delete: deleted and overwritten rows are zeroed in the file, so
            # an erased customer's data does not linger in free pages.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA secure_delete=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
# A streaming replica for the read API's and the dashboard's session, action and
# log reads (docs/operations.md, "Read replica"; the rule: config/replica.py).
# Unset: one database, as without it. Reads fall back to the primary while the
# replica is more than DATABASE_REPLICA_MAX_LAG_SECONDS behind or unreachable.
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5.0)
if not DATABASE_REPLICA_MAX_LAG_SECONDS >= 0:  # also refuses nan
    raise ImproperlyConfigured("DATABASE_REPLICA_MAX_LAG_SECONDS must be 0 or more")
DATABASE_ROUTERS: list[str] = []
if env.str("DATABASE_REPLICA_URL", default=""):
    if not _POSTGRES:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL is for PostgreSQL (a streaming replica)")
    DATABASES[REPLICA] = replica_database(env.db("DATABASE_REPLICA_URL"), DATABASES["default"])
    DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications -----------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "sessions_app",
    "fieldsets",
    "permissions",
    "dashboard",
    "access",
    "masking_rules",
    "jobs",
    "django_q",
    "logs",
    "browser_agent",
    "demo_shop",
    "data_subjects",
    "maintenance",
]
# knox's migrations only build knox.AuthToken, which access.ApiToken replaces.
KNOX_TOKEN_MODEL = "access.ApiToken"  # noqa: S105 (a model name)
MIGRATION_MODULES = {"knox": None}

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    # Which reads may go to a read replica is decided per request (config/replica.py).
    "config.replica.ReplicaScopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "permissions.audit.ActorMiddleware",
    "sessions_app.reads.ReaderMiddleware",
    "access.middleware.ThrottledMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # guardian's object permissions, with grants on applications answered by the policy
    "permissions.backends.GrantBackend",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (whitenoise serves them, also with DEBUG off) -------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# The browser agent's file names carry its version: cached for good (browser_agent.agent).
WHITENOISE_IMMUTABLE_FILE_TEST = AGENT_FILE_PATTERN
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/admin/login/"

# --- Security headers (on by default; deploy behind TLS) --------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)

# --- REST framework -----------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns anonymous requests into 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "config.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The client address for rate limits: behind our proxy, the address it
    # appended to X-Forwarded-For; otherwise the connection's (a client's own
    # X-Forwarded-For is never believed).
    "NUM_PROXIES": 1 if env.bool("BEHIND_TLS_PROXY", default=False) else 0,
}

# API tokens (django-rest-knox): stored as SHA-512 digests, shown once, expiring.
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(days=env.int("RUMVAULT_API_TOKEN_TTL_DAYS", default=30)),
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "rumvault API",
    "DESCRIPTION": "Real user monitoring sessions, revealed only to granted principals.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Ingest authenticates applications with their own bearer token.
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ingestToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The application's ingest token (create_application prints it).",
            }
        }
    },
}

# --- django-guardian ------------------------------------------------------------
ANONYMOUS_USER_NAME = None  # no anonymous principal: anonymous requests get 401
GUARDIAN_RAISE_403 = False
# guardian checks for its backend by name; permissions.backends.GrantBackend
# subclasses it (see AUTHENTICATION_BACKENDS), so the warning does not apply.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]

# --- rumvault keys --------------------------------------------------------------
# Separate from SECRET_KEY and from each other, so rotating Django's key does
# not break search, and a leaked blind-index key does not decrypt tags.
# Format: "<id>:<secret>[,<id>:<secret>...]", newest (highest) id used for writes.
# Each is declared once, with its development value, in config/keys.py.
RUMVAULT_PSEUDONYM_KEYS = _KEYS.keyrings["RUMVAULT_PSEUDONYM_KEYS"]
RUMVAULT_BLIND_INDEX_KEYS = _KEYS.keyrings["RUMVAULT_BLIND_INDEX_KEYS"]
RUMVAULT_ENCRYPTION_KEYS = _KEYS.keyrings["RUMVAULT_ENCRYPTION_KEYS"]
# Keyed digest stored instead of a client session_id in which a detector found
# personal data or a secret (docs/privacy-model.md).
RUMVAULT_SESSION_ID_KEYS = _KEYS.keyrings["RUMVAULT_SESSION_ID_KEYS"]
# The audit trail's hash of a searched tag: its own key, so an audit record
# is never a blind index that could be replayed as a search.
RUMVAULT_AUDIT_KEYS = _KEYS.keyrings["RUMVAULT_AUDIT_KEYS"]
# Keyed hash written by masking rules with method "hash" (masking_rules, privacy/rules.py).
RUMVAULT_RULE_HASH_KEYS = _KEYS.keyrings["RUMVAULT_RULE_HASH_KEYS"]
# How long an admin customer search stays usable by its random id (seconds).
RUMVAULT_ADMIN_SEARCH_MAX_AGE = env.int("RUMVAULT_ADMIN_SEARCH_MAX_AGE", default=15 * 60)
# How long a reveal with a reason shows one session's values (seconds), and how
# long the dashboard's result pages of a search stay usable by their random id.
RUMVAULT_REVEAL_WINDOW_SECONDS = env.int("RUMVAULT_REVEAL_WINDOW_SECONDS", default=15 * 60)

# --- rumvault privacy defaults (privacy/defaults.py) ------------------------------
# Each application inherits these unless it overrides them; one variable per
# setting, RUMVAULT_DEFAULT_<NAME>. A malformed value stops the start-up.
try:
    RUMVAULT_PRIVACY_DEFAULTS = defaults_from_environment(os.environ)
except ValueError as _error:
    raise ImproperlyConfigured(f"privacy defaults: {_error}") from None

# --- background jobs (jobs/, django-q2) ---------------------------------------------
# The queue lives in the database (django-q2's ORM broker: no extra server); a
# worker is `python manage.py qcluster` (`make demo` and `make serve` start one).
# Jobs are not retried by the queue: a job resumes from its own saved cursor
# when started again (jobs/services.py). RUMVAULT_JOBS_SYNC=true runs a job
# inside the request or command that starts it (the test suite does).
Q_CLUSTER = {
    "name": "rumvault",
    "orm": "default",
    "workers": env.int("RUMVAULT_JOB_WORKERS", default=1),
    "timeout": env.int("RUMVAULT_JOB_TIMEOUT", default=6 * 3600),
    "retry": env.int("RUMVAULT_JOB_TIMEOUT", default=6 * 3600) + 60,
    "max_attempts": 1,
    "catch_up": False,
    "sync": env.bool("RUMVAULT_JOBS_SYNC", default=False),
    "save_limit": 100,
    "poll": 1,
}
# Seconds without a progress report after which a running job counts as dead
# (its worker was killed) and may be resumed.
RUMVAULT_JOB_STALE_SECONDS = env.int("RUMVAULT_JOB_STALE_SECONDS", default=120)

# --- rumvault data-subject requests, audit retention -------------------------------
# How long an export document stays downloadable (encrypted) before retention wipes it.
RUMVAULT_DSR_EXPORT_TTL_HOURS = env.int("RUMVAULT_DSR_EXPORT_TTL_HOURS", default=72)
# A running request (or key rotation) silent for this long may be resumed by someone else.
RUMVAULT_DSR_STALLED_AFTER_SECONDS = env.int("RUMVAULT_DSR_STALLED_AFTER_SECONDS", default=300)
# Audit records (and per-subject audit keys unused as long) older than this are purged
# behind a sealed checkpoint (manage.py apply_retention); independent of sessions' retention.
RUMVAULT_AUDIT_RETENTION_DAYS = env.int("RUMVAULT_AUDIT_RETENTION_DAYS", default=730)
# PostgreSQL: months of partitions of actions and log records made ahead of time, beyond
# the current one (maintenance.partitions; a daily schedule and manage.py partitions).
RUMVAULT_PARTITION_MONTHS_AHEAD = env.int("RUMVAULT_PARTITION_MONTHS_AHEAD", default=3)

# --- rumvault rate limits (access/throttling.py) --------------------------------
# "N/period" with period s, min, h or d; over the limit a request gets 429 with
# Retry-After. Counted in the database, shared by every worker.
RUMVAULT_RATE_LIMITS = rates_from_environment(
    {
        SEARCH: ("RUMVAULT_RATE_SEARCH", "30/min"),  # per user: API, dashboard, admin
        INGEST: ("RUMVAULT_RATE_INGEST", "100/s"),  # per application (ingest token)
        INGEST_LOGS: ("RUMVAULT_RATE_INGEST_LOGS", "100/s"),  # log requests per ingest token
        LOGIN_ACCOUNT: ("RUMVAULT_RATE_LOGIN_ACCOUNT", "5/min"),  # per username tried
        LOGIN_ADDRESS: ("RUMVAULT_RATE_LOGIN_ADDRESS", "20/min"),  # per client address
        BEACON: ("RUMVAULT_RATE_BEACON", "100/s"),  # per application (public beacon key)
        BEACON_CLIENT: ("RUMVAULT_RATE_BEACON_CLIENT", "120/min"),  # per client, per application
    },
    env,
)

# --- rumvault ingest limits -------------------------------------------------------
RUMVAULT_INGEST_MAX_BODY_BYTES = env.int("RUMVAULT_INGEST_MAX_BODY_BYTES", default=5 * 1024 * 1024)
RUMVAULT_INGEST_MAX_SESSIONS = env.int("RUMVAULT_INGEST_MAX_SESSIONS", default=500)
RUMVAULT_INGEST_MAX_ACTIONS = env.int("RUMVAULT_INGEST_MAX_ACTIONS", default=1000)
RUMVAULT_INGEST_MAX_STRING_LENGTH = env.int("RUMVAULT_INGEST_MAX_STRING_LENGTH", default=4096)
RUMVAULT_USER_TAG_MAX_LENGTH = 250
# Log records (POST /v1/logs and /api/v1/ingest/logs/; bodies share the limit above).
RUMVAULT_LOGS_MAX_RECORDS = env.int("RUMVAULT_LOGS_MAX_RECORDS", default=1000)
RUMVAULT_LOGS_MAX_BODY_LENGTH = env.int("RUMVAULT_LOGS_MAX_BODY_LENGTH", default=16384)
RUMVAULT_LOGS_MAX_ATTRIBUTES = env.int("RUMVAULT_LOGS_MAX_ATTRIBUTES", default=128)
# Browser beacons (docs/browser-agent.md): a browser sends at most 64 KiB with
# fetch(keepalive) or sendBeacon, so a beacon never needs more.
RUMVAULT_BEACON_MAX_BODY_BYTES = env.int("RUMVAULT_BEACON_MAX_BODY_BYTES", default=64 * 1024)
# The demo shop at /demo-shop/ (make demo); off in production unless asked for.
RUMVAULT_DEMO_SHOP = env.bool("RUMVAULT_DEMO_SHOP", default=DEBUG)
# Django refuses bodies above this before our view sees them; keep it in step
# with the ingest limit so the view can answer 413 itself.
DATA_UPLOAD_MAX_MEMORY_SIZE = RUMVAULT_INGEST_MAX_BODY_BYTES

# --- Logging --------------------------------------------------------------------
# One JSON object per line with the request id; "plain" is easier on the eyes
# in a terminal. Every line of every logger (Django's, runserver's, gunicorn's)
# is masked on its way out, in both formats (config/logging.py).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING = logging_config(level=LOG_LEVEL, log_format=LOG_FORMAT)

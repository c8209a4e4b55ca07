"""Gangplank settings: everything configurable comes from the environment (see README)."""

import functools
import ipaddress
import os
from pathlib import Path

import dj_database_url
import xstatic.pkg.bootstrap
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import lazy
from whitenoise.compress import Compressor  # type: ignore[import-untyped]

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("GANGPLANK_DATA_DIR") or BASE_DIR / "var").resolve()
CATALOG_DIR = Path(os.environ.get("GANGPLANK_CATALOG_DIR") or BASE_DIR / "playbooks").resolve()


# SECRET_KEY from the environment, or else the one `manage.py prepare_data_dir` generates
# into the data dir (`make run` and the image's entrypoint run it first). Settings only read:
# the file is read when the key is first used, and its absence is an error only then.
@functools.cache
def _secret_key_from_file(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and {path} does not exist: set SECRET_KEY, or run "
            "`python manage.py prepare_data_dir` first (make run and the image's entrypoint do)."
        ) from None


GANGPLANK_SECRET_KEY_FILE: Path | None
if os.environ.get("SECRET_KEY"):
    SECRET_KEY = os.environ["SECRET_KEY"]
    GANGPLANK_SECRET_KEY_FILE = None
else:
    GANGPLANK_SECRET_KEY_FILE = DATA_DIR / "secret_key"
    SECRET_KEY = lazy(_secret_key_from_file, str)(GANGPLANK_SECRET_KEY_FILE)
# Fernet keys for secret inputs, newest first; unset, they live in DATA_DIR/encryption-keys
# (see core.secrets and `manage.py rotate_encryption_keys`).
GANGPLANK_ENCRYPTION_KEYS = env_list("GANGPLANK_ENCRYPTION_KEYS")
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Behind TLS (the default for production) cookies are secure and HTTP redirects to HTTPS.
# `make run` serves plain HTTP on localhost and turns this off.
HTTPS = env_bool("GANGPLANK_HTTPS", default=True)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("GANGPLANK_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("GANGPLANK_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every page (django-csp): scripts, styles and images only from the site's own static files,
# no inline script, event-handler attribute, style attribute or eval. htmx is configured
# not to need them (base.html); the API's Swagger page relaxes styles (gangplank.api).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

INSTALLED_APPS = [
    # First, so that its `changepassword` command replaces django.contrib.auth's.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "axes",
    "pgtrigger",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "core",
    "audit",
    "teams",
    "credentials",
    "inventories",
    "catalog",
    "provisioning",
    "approvals",
    "notifications",
    "metrics",
    "notes",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.text.RefuseUnstorableAddressMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]


def _networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for item in env_list(name):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or CIDR") from None
    return networks


# The reverse proxies whose X-Forwarded-For is believed (see core.addresses); none by default,
# when the peer's own address is the client's.
GANGPLANK_TRUSTED_PROXIES = _networks("GANGPLANK_TRUSTED_PROXIES")
# Failed logins are rate-limited per username and client address together, so failures
# from one address never lock the user out at another.
AXES_FAILURE_LIMIT = int(os.environ.get("GANGPLANK_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "core.addresses.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "gangplank.urls"
WSGI_APPLICATION = "gangplank.wsgi.application"

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
                "teams.context_processors.roles",
                "approvals.context_processors.pending",
                "core.navigation.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'gangplank.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", 60)),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The zero-setup default: web, worker and beat share one file, so wait on locks and use WAL.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or DATA_DIR / "static")
WHITENOISE_MANIFEST_STRICT = False
# Source maps (15 MB of them, for browsers' developer tools) served as they are: compressing
# them was half of every collectstatic, on `make run`'s first start too.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
STATICFILES_DIRS = [BASE_DIR / "static", ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR)]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; failures and lockouts are on the audit trail.
    "loggers": {"axes": {"level": "WARNING"}},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.AuditedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's own, refusing text the database cannot store (NUL, lone surrogates): core.text.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "core.parsers.FormParser",
        "core.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gangplank API",
    "DESCRIPTION": "Request services from the catalogue and follow their runs.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "provisioning.states.RunStatus",
        "ServiceStatusEnum": "provisioning.states.ServiceStatus",
    },
}

# API tokens: personal, named, stored hashed (django-rest-knox), sent as "Token <key>".
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's own migrations create its default token table even when the model is swapped.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {"TOKEN_TTL": None, "AUTO_REFRESH": False, "AUTH_HEADER_PREFIX": "Token"}

# Celery: Redis in production and CI, kombu's filesystem transport as the embedded default.
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's transport, polling more often and stopping promptly (gangplank/broker.py).
    CELERY_BROKER_TRANSPORT = "gangplank.broker:Transport"
    # Its folders are made by `manage.py prepare_data_dir`.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Where kombu keeps its exchange tables; it defaults to ./control in the cwd.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Above the longest run a template may take (core.durations.MAX_RUN_TIME, 5 h), so that a
    # late ack never causes a redelivery while the run goes on (a system check, core.checks).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 60 * 60}
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("GANGPLANK_QUEUE", "gangplank")
CELERY_TASK_IGNORE_RESULT = True
# A run is a long job: a worker takes one message at a time and acknowledges it only once
# the run has ended, so a message is not lost if the worker stops before it claims the run.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# ...but when the process running a playbook dies, the message is acknowledged, not sent
# again: the playbook may have half-run, so nothing restarts it behind the user's back. The
# run's heartbeat stops, `fail_lost_runs` fails it with the reason, and people decide.
# (Should the whole worker die, Redis redelivers after the visibility timeout; the
# conditional claim then finds the run no longer queued and does nothing.)
CELERY_TASK_REJECT_ON_WORKER_LOST = False
# A run goes on through a broker outage (its message is acknowledged, or left to the
# visibility timeout, once it ends); Celery 6 would otherwise cancel it on connection loss.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A request made while the broker is away is saved anyway; fail fast, dispatch_queued_runs
# sends it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
HOUSEKEEPING_SECONDS = float(os.environ.get("GANGPLANK_HOUSEKEEPING_SECONDS", 30))
CELERY_BEAT_SCHEDULE = {
    "sync-catalog": {
        "task": "catalog.sync_catalog",
        "schedule": float(os.environ.get("GANGPLANK_CATALOG_SYNC_SECONDS", 300)),
    },
    **{
        name.replace("_", "-"): {"task": f"provisioning.{name}", "schedule": HOUSEKEEPING_SECONDS}
        for name in (
            "dispatch_queued_runs",
            "fail_lost_runs",
            "expire_services",
            "schedule_drift_checks",
        )
    },
    "lapse-approvals": {"task": "approvals.lapse_overdue", "schedule": HOUSEKEEPING_SECONDS},
    "archive-run-logs": {"task": "provisioning.archive_run_logs", "schedule": 3600},
    "resend-notifications": {
        "task": "notifications.resend_lost_deliveries",
        "schedule": HOUSEKEEPING_SECONDS,
    },
}
# A queued run sent this long ago and still not claimed is sent again (workers busy is
# harmless: the claim makes duplicates do nothing).
GANGPLANK_REDISPATCH_SECONDS = int(os.environ.get("GANGPLANK_REDISPATCH_SECONDS", 600))
# Notifications: links in messages point at this address; a failed delivery is tried
# this many times in all, waiting 1, 2, 4, ... times the backoff between attempts.
GANGPLANK_BASE_URL = os.environ.get("GANGPLANK_BASE_URL", "http://127.0.0.1:8000")
GANGPLANK_NOTIFY_ATTEMPTS = int(os.environ.get("GANGPLANK_NOTIFY_ATTEMPTS", 5))
GANGPLANK_NOTIFY_BACKOFF_SECONDS = float(os.environ.get("GANGPLANK_NOTIFY_BACKOFF_SECONDS", 30))
# Notifications go only to public addresses (core/outbound.py), and to these networks
# (CIDRs) of the deployment's own: its internal hooks and mail servers.
GANGPLANK_NOTIFY_ALLOWED_NETWORKS = tuple(_networks("GANGPLANK_NOTIFY_ALLOWED_NETWORKS"))
# Lists fetched for inputs' choices (x-gangplank-choices: {url}) follow the same rule, with
# networks of their own (the internal APIs they come from); unset, the notifications' ones.
GANGPLANK_LISTS_ALLOWED_NETWORKS = (
    tuple(_networks("GANGPLANK_LISTS_ALLOWED_NETWORKS"))
    if "GANGPLANK_LISTS_ALLOWED_NETWORKS" in os.environ
    else GANGPLANK_NOTIFY_ALLOWED_NETWORKS
)
# A running run whose worker has not beaten for this long is failed as lost.
GANGPLANK_RUN_LOST_AFTER_SECONDS = int(os.environ.get("GANGPLANK_RUN_LOST_AFTER_SECONDS", 120))

# The bearer token Prometheus scrapes /metrics with; unset, /metrics is off (404).
GANGPLANK_METRICS_TOKEN = os.environ.get("GANGPLANK_METRICS_TOKEN", "")

# Where templates' playbooks may create files (workspaces, sites) and where runs get their
# private data dirs.
RESOURCES_DIR = Path(os.environ.get("GANGPLANK_RESOURCES_DIR") or DATA_DIR / "resources").resolve()
RUNS_DIR = DATA_DIR / "runs"
# Finished runs older than this many days keep their log as a gzip file in RUN_LOGS_DIR, not
# their event rows (provisioning.retention); 0 or empty keeps the events forever.
GANGPLANK_EVENTS_RETENTION_DAYS = int(os.environ.get("GANGPLANK_EVENTS_RETENTION_DAYS", 90) or 0)
RUN_LOGS_DIR = DATA_DIR / "logs"
# Every run in a bubblewrap sandbox of its own (see provisioning.sandbox). "off" runs
# playbooks as the worker itself: unsafe, for machines without bubblewrap; every page then
# warns platform engineers.
GANGPLANK_SANDBOX = os.environ.get("GANGPLANK_SANDBOX", "on").strip().lower() != "off"
# Where the sync installs each template version's collections and roles (its
# requirements.yml), in a folder of the version's own that its runs see read-only, and the
# Galaxy server ansible-galaxy fetches them from (unset: Ansible's default, galaxy.ansible.com).
COLLECTIONS_DIR = Path(
    os.environ.get("GANGPLANK_COLLECTIONS_DIR") or DATA_DIR / "collections"
).resolve()
GANGPLANK_GALAXY_SERVER = os.environ.get("GANGPLANK_GALAXY_SERVER", "").strip()

"""Settings shared by every environment. Everything deployment-specific comes from the environment.

Environment variables:
    DJANGO_DEBUG        "1" for development (default "0").
    SECRET_KEY          required unless DJANGO_DEBUG=1.
    ALLOWED_HOSTS       comma-separated host names (default "127.0.0.1,localhost").
    DATABASE_URL        e.g. postgres://user@127.0.0.1:5432/clicklabel (default: SQLite in WAL mode under var/).
    REDIS_URL           e.g. redis://127.0.0.1:6379/0 or unix:///path/redis.sock (default: var/redis.sock).
    CELERY_BROKER_URL   overrides the broker (e.g. amqp://guest@127.0.0.1//); default derived from REDIS_URL.
    CELERY_TASK_DEFAULT_QUEUE  the queue of tasks sent without one (default "celery").
    CLICKLABEL_EXPORT_QUEUE    export (and import) jobs go to this queue, served by their own worker (default: the
                        default queue); CLICKLABEL_IMPORT_QUEUE sends import jobs elsewhere.
    MEDIA_STORAGE       "local" (default) or "s3" (django-storages + boto3): AWS_STORAGE_BUCKET_NAME (required),
                        AWS_S3_REGION_NAME, AWS_S3_ENDPOINT_URL, AWS_LOCATION; credentials from boto3's chain.
    CLICKLABEL_MODELS_DIR  where extra checkpoints live (default: inference/weights).
    CLICKLABEL_HTTPS    "1" when the site is served over HTTPS: secure session/CSRF cookies, HTTP → HTTPS
                        redirect (default "0").
    CLICKLABEL_SECURE_PROXY_SSL_HEADER  "HEADER,value" a TLS-terminating proxy sets on HTTPS requests, e.g.
                        "HTTP_X_FORWARDED_PROTO,https" (default: unset; set it only behind such a proxy).
    CLICKLABEL_HSTS_SECONDS  Strict-Transport-Security max-age (default 0: no HSTS header);
                        CLICKLABEL_HSTS_INCLUDE_SUBDOMAINS, CLICKLABEL_HSTS_PRELOAD ("1"/"0", default "0").
    CLICKLABEL_LOGIN_FAILURE_LIMIT  failed logins per username and client address before a lockout (default 10);
                        CLICKLABEL_LOGIN_COOLOFF_MINUTES  how long a lockout lasts (default 15).
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CLICKLABEL_VAR_DIR", BASE_DIR / "var"))


def env_flag(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_flag("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_DEBUG is not 1")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "labeling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as django-axes asks: turns a locked-out login attempt into a 429 response
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
ASGI_APPLICATION = "webapp.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
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

# --- database -------------------------------------------------------------------------------------
SQLITE_PATH = VAR_DIR / "clicklabel.sqlite3"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # Measured in INFRA.md: IMMEDIATE transactions + WAL remove "database is locked" errors.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis / channels / celery ----------------------------------------------------------------------
REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL = os.environ.get("REDIS_URL", f"unix://{REDIS_SOCKET}")


def channel_layer_host(url: str) -> str:
    """channels_redis accepts redis:// and unix:// URLs as-is."""
    return url


def celery_broker_from_redis(url: str) -> str:
    """Celery (kombu) spells unix-socket Redis URLs as redis+socket:///path."""
    if url.startswith("unix://"):
        path = url[len("unix://"):].split("?", 1)[0]
        return f"redis+socket://{path}"
    return url


CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # socket_timeout above channels_redis' 5 s BZPOPMIN: redis-py 8 defaults to 5 s, which made an idle
        # consumer's receive raise "Timeout reading" and kill the websocket after 5 s of silence.
        "CONFIG": {"hosts": [{"address": channel_layer_host(REDIS_URL), "socket_timeout": 30}],
                   "capacity": 200, "expiry": 30},
    }
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", celery_broker_from_redis(REDIS_URL))
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", celery_broker_from_redis(REDIS_URL))
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CLICKLABEL_EXPORT_QUEUE = os.environ.get("CLICKLABEL_EXPORT_QUEUE") or None
CLICKLABEL_IMPORT_QUEUE = os.environ.get("CLICKLABEL_IMPORT_QUEUE") or None

# --- media / static --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [("frontend", BASE_DIR / "frontend")]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "local")
if MEDIA_STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured("MEDIA_STORAGE must be 'local' or 's3'")
if MEDIA_STORAGE == "s3":
    # django-storages reads these from settings; credentials come from boto3's usual chain
    # (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or an instance role).
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
    AWS_LOCATION = os.environ.get("AWS_LOCATION", "")
    AWS_DEFAULT_ACL = None           # objects stay private; the API serves image bytes after a permission check
    AWS_QUERYSTRING_AUTH = True
    AWS_S3_FILE_OVERWRITE = False
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

# --- uploads ---------------------------------------------------------------------------------------
CLICKLABEL_MAX_UPLOAD_BYTES = int(os.environ.get("CLICKLABEL_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))
CLICKLABEL_MAX_IMAGE_PIXELS = int(os.environ.get("CLICKLABEL_MAX_IMAGE_PIXELS", 50_000_000))
CLICKLABEL_MAX_ZIP_BYTES = int(os.environ.get("CLICKLABEL_MAX_ZIP_BYTES", 1024 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 1000

# --- HTTPS (check --deploy is clean with CLICKLABEL_HTTPS=1, a proxy header and HSTS) -----------------
HTTPS = env_flag("CLICKLABEL_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """"HTTP_X_FORWARDED_PROTO,https" → ("HTTP_X_FORWARDED_PROTO", "https"); "" → None."""
    if not value.strip():
        return None
    header, sep, expected = (part.strip() for part in value.partition(","))
    if not sep or not header.startswith("HTTP_") or not expected:
        raise ImproperlyConfigured('CLICKLABEL_SECURE_PROXY_SSL_HEADER must look like "HTTP_X_FORWARDED_PROTO,https"')
    return header, expected


SECURE_PROXY_SSL_HEADER = proxy_ssl_header(os.environ.get("CLICKLABEL_SECURE_PROXY_SSL_HEADER", ""))
SECURE_HSTS_SECONDS = int(os.environ.get("CLICKLABEL_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("CLICKLABEL_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_flag("CLICKLABEL_HSTS_PRELOAD", False)

# --- auth / api ------------------------------------------------------------------------------------
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes locks out a username from a client address after repeated failures, on every login path
# (the admin, the login page and POST /api/auth/token/ all go through django.contrib.auth.authenticate).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("CLICKLABEL_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CLICKLABEL_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # keep failed attempts only, not a row per successful login
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "labeling.lockout.login_lockout_response"
AXES_VERBOSE = False  # no start-up banner in every management command
REST_FRAMEWORK = {
    # Token first so that anonymous requests get 401 + WWW-Authenticate (sessions still work).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "labeling.api.exception_handler.api_exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "labeling.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    # Only the token endpoint is throttled (per client IP, per process); limit at the proxy as well.
    "DEFAULT_THROTTLE_RATES": {"auth": os.environ.get("CLICKLABEL_AUTH_RATE", "30/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ClickLabel API",
    "DESCRIPTION": "Projects, images, annotations, reviews and exports for click-driven segmentation.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets from drf-spectacular-sidecar, so /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "labeling.api.schema.add_error_responses"],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- segmentation ----------------------------------------------------------------------------------
CLICKLABEL_DEFAULT_MODEL = os.environ.get("CLICKLABEL_DEFAULT_MODEL", "default")
CLICKLABEL_DEFAULT_MODE = os.environ.get("CLICKLABEL_DEFAULT_MODE", "f-brs-b")

# --- model adaptation (docs/adaptation.md) ---------------------------------------------------------
# Jobs run on their own Celery queue, served by a training worker (`tools.stack.training_worker_command`).
CLICKLABEL_TRAINING_QUEUE = os.environ.get("CLICKLABEL_TRAINING_QUEUE", "training")
CLICKLABEL_ADAPT_BUDGET_MIN = float(os.environ.get("CLICKLABEL_ADAPT_BUDGET_MIN", "10"))
CLICKLABEL_ADAPT_THREADS = int(os.environ.get("CLICKLABEL_ADAPT_THREADS", "2"))
CLICKLABEL_ADAPT_DEVICE = os.environ.get("CLICKLABEL_ADAPT_DEVICE", "")   # "" = CUDA when present, else CPU
CLICKLABEL_ADAPT_GENERIC_DATA = os.environ.get("CLICKLABEL_ADAPT_GENERIC_DATA", "")   # e.g. a DUTS-TR folder
CLICKLABEL_ADAPT_RECIPE = os.environ.get("CLICKLABEL_ADAPT_RECIPE", "adapt")
CLICKLABEL_ADAPT_MAX_CLICKS = int(os.environ.get("CLICKLABEL_ADAPT_MAX_CLICKS", "20"))

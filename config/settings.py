"""Django settings: every value that differs between machines comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from config.env import database_from_url, env_bool, env_choice, env_int, env_int_list, env_list, env_str
from config.storages import local_storage, s3_storage

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
# manage.py, celery and gunicorn read the project's .env themselves; real environment variables win.
load_dotenv(os.environ.get("ENV_FILE", BASE_DIR / ".env"), override=False)

DEBUG = env_bool("DEBUG", False)
# Only a DEBUG run may fall back to a throwaway key; production must set its own.
SECRET_KEY = env_str("SECRET_KEY", "insecure-dev-key-only-for-debug" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # The admin with an "Upload jobs" section over MongoDB (uploads_app/admin_site.py).
    "uploads_app.apps.LogsAdminConfig",
    "django.contrib.auth",
    "axes",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_results",
    "django_elasticsearch_dsl",
    "django_prometheus",
    "ingestion",
    "uploads_app",
    "analytics",
    "notifications",
]

MIDDLEWARE = [
    # django-prometheus: first and last, so a request's count and time cover every other middleware.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Then: refuses an over-limit or chunked upload before anything reads its body.
    "uploads_app.middleware.UploadGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A page request with an ingest-only token is refused (401) instead of redirected to sign-in.
    "uploads_app.middleware.IngestOnlyTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
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
                "config.context_processors.site",
                # By dotted path, so config imports no app: the navigation's notice of disabled channels.
                "notifications.context_processors.channel_notices",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "sqlite:///var/db.sqlite3"), BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Brute-force protection (django-axes, config/lockout.py): after LOGIN_FAILURE_LIMIT wrong passwords for one
# username from one address, that pair is refused for LOGIN_LOCKOUT_MINUTES, on the site's and the admin's
# sign-in alike (each further try starts the wait again). The counters live in Redis, shared by every web
# process. API tokens are not affected.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "config.lockout.FailOpenCacheHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.lockout.client_ip"
# The log lines name the username and address (never the password): what an operator needs to act.
AXES_SENSITIVE_PARAMETERS: list[str] = []
# The counters are in Redis, not in the database: the admin's attempt tables would stay empty.
AXES_ENABLE_ADMIN = False
# Proxies in front of the web processes (compose: nginx, 1); their X-Forwarded-For gives the caller's address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# var/vendor: front-end packages installed from npm by `make install` (see package.json).
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", VAR_DIR / "vendor")]
# Uploads and job work files: local disk (the default), or an S3-compatible bucket shared by every host.
STORAGE = env_choice("STORAGE", "local", ("local", "s3"))
# A relative path is taken from the project root, whatever the working directory.
_default_storage = local_storage(BASE_DIR / env_str("UPLOADS_DIR", "var/uploads"))
if STORAGE == "s3":
    _default_storage = s3_storage(
        endpoint_url=env_str("S3_ENDPOINT_URL"),
        bucket=env_str("S3_BUCKET"),
        access_key=env_str("S3_ACCESS_KEY"),
        secret_key=env_str("S3_SECRET_KEY"),
    )
# This host's own temporary files when the storage is a bucket (a stream request's lines while it is read).
SCRATCH_DIR = BASE_DIR / env_str("SCRATCH_DIR", "var/scratch")
STORAGES = {
    "default": _default_storage,
    # Hashed names from collectstatic (`make run`, the image); config/staticfiles.py.
    "staticfiles": {"BACKEND": "config.staticfiles.HashedStaticFilesStorage"},
}

# Services: the app only knows their URLs.
MONGODB_URI = env_str("MONGODB_URI", "mongodb://127.0.0.1:27017/logs_platform")
ELASTICSEARCH_URL = env_str("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Throttle counters, sign-in lockouts and the health answer live in Redis so every web process sees them;
# the timeouts bound a request's wait when Redis is unreachable (every caller then fails open).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
ELASTICSEARCH_DSL = {"default": {"hosts": ELASTICSEARCH_URL, "request_timeout": 30}}
ELASTICSEARCH_DSL_AUTOSYNC = False

# /metrics (config/metrics.py): staff, or a scraper sending `Authorization: Bearer <METRICS_TOKEN>` (empty: staff only).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# The platform's figures, read at scrape time (dotted paths, so config imports no app).
METRICS_COLLECTORS = ["ingestion.metrics.PipelineCollector", "notifications.metrics.DeliveryCollector"]

# Links shown in the navigation: Flower always, Kibana when it is set (compose runs it).
FLOWER_URL = env_str("FLOWER_URL", "http://127.0.0.1:5555/")
KIBANA_URL = env_str("KIBANA_URL", "").rstrip("/")

# Logs platform.
GEOIP_DATABASE = env_str("GEOIP_DATABASE", "")
LOGS_MAX_UPLOAD_MB = env_int("LOGS_MAX_UPLOAD_MB", 100, minimum=1)
LOGS_INDEX_PREFIX = env_str("LOGS_INDEX_PREFIX", "logs-ecom")
# Copies of each shard of the app's indices on other nodes: 0 for one Elasticsearch node; 1 on a cluster of two or
# more, so a node can stop without losing a document (a replica with no node to live on leaves the cluster yellow).
LOGS_INDEX_REPLICAS = env_int("LOGS_INDEX_REPLICAS", 0, minimum=0)
# A .gz may expand to at most this much; beyond it the upload is refused as a likely gzip bomb.
LOGS_MAX_DECOMPRESSED_MB = env_int("LOGS_MAX_DECOMPRESSED_MB", 10 * LOGS_MAX_UPLOAD_MB, minimum=1)
LOGS_CHUNK_MB = env_int("LOGS_CHUNK_MB", 8, minimum=1)
# Jobs in "processing" with no progress for this long are resumed (once) or failed by the watchdog.
LOGS_STUCK_AFTER_MINUTES = env_int("LOGS_STUCK_AFTER_MINUTES", 15, minimum=1)
# The watchdog runs this often (beat); it dispatches again an upload left pending this long (the broker
# was down when it arrived).
# The hour (UTC, 0-23) at which beat applies the retention policies each day.
LOGS_RETENTION_HOUR = env_int("LOGS_RETENTION_HOUR", 3, minimum=0)
if LOGS_RETENTION_HOUR > 23:
    raise ImproperlyConfigured(f"LOGS_RETENTION_HOUR must be an hour from 0 to 23, not {LOGS_RETENTION_HOUR}")
LOGS_WATCHDOG_SECONDS = env_int("LOGS_WATCHDOG_SECONDS", 60, minimum=1)
LOGS_PENDING_GRACE_SECONDS = env_int("LOGS_PENDING_GRACE_SECONDS", 120, minimum=1)

# Fraud screening (analytics/fraud): tier thresholds on an event's score, and rules that flag more than
# this share of a scan's events score nothing (they describe the data, not an anomaly).
FRAUD_REVIEW_SCORE = env_int("FRAUD_REVIEW_SCORE", 3, minimum=1)
FRAUD_HIGH_SCORE = env_int("FRAUD_HIGH_SCORE", 5, minimum=1)
FRAUD_NOISY_SHARE = env_int("FRAUD_NOISY_PERCENT", 50, minimum=1) / 100
FRAUD_BASELINE_DAYS = env_int("FRAUD_BASELINE_DAYS", 365, minimum=1)
FRAUD_ALERTS_INDEX = env_str("FRAUD_ALERTS_INDEX", "fraud-alerts")
# Analytics panels and the dashboard's event figures are kept in the cache until the events change (a job
# ends, an upload is deleted) and at most this long, in case a change was missed (0: never cached).
ANALYTICS_CACHE_SECONDS = env_int("ANALYTICS_CACHE_SECONDS", 300, minimum=0)
# Tasks (by name) told about every finished job. Fraud screening and notifications claim the job_events row
# they act on; the analytics warm-up only fills the cache, so it claims nothing and a lost notification costs
# one slow page.
JOB_FINISHED_CONSUMERS = [
    "analytics.fraud_scan_finished_job",
    "notifications.job_finished",
    "analytics.warm_analytics_page",
]

# The site's own address as people reach it: links in notifications (job and alert pages) start with it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Notifications (notifications/): outgoing webhooks, Slack and email. Outgoing HTTP goes only to public
# addresses unless this is true (local receivers and the tests set it).
NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = env_bool("NOTIFICATIONS_ALLOW_PRIVATE_TARGETS", False)
# Seconds before each retry of a failed attempt (each ±20 % jitter); after the last, the delivery has failed.
NOTIFICATIONS_RETRY_DELAYS = env_int_list("NOTIFICATIONS_RETRY_DELAYS", "10,60,300,1800,7200", minimum=1)
# A channel whose deliveries failed this many times in a row is disabled, and its owner told.
NOTIFICATIONS_DISABLE_AFTER = env_int("NOTIFICATIONS_DISABLE_AFTER", 5, minimum=1)
NOTIFICATIONS_CONNECT_TIMEOUT = env_int("NOTIFICATIONS_CONNECT_TIMEOUT", 3, minimum=1)
NOTIFICATIONS_READ_TIMEOUT = env_int("NOTIFICATIONS_READ_TIMEOUT", 10, minimum=1)
# How often beat sends the deliveries whose retry is due, and looks for new or re-tiered fraud alerts.
NOTIFICATIONS_SWEEP_SECONDS = env_int("NOTIFICATIONS_SWEEP_SECONDS", 30, minimum=1)
NOTIFICATIONS_FRAUD_SECONDS = env_int("NOTIFICATIONS_FRAUD_SECONDS", 60, minimum=1)
# Alert rules: beat looks for due rules this often; a window ends on a whole minute at least this long ago, so events
# that arrive a little late (a shipper's buffer, an upload of the last minutes) are counted; each rule's run history
# is kept this many days.
ALERT_RULES_SECONDS = env_int("ALERT_RULES_SECONDS", 60, minimum=1)
ALERT_RULES_LAG_SECONDS = env_int("ALERT_RULES_LAG_SECONDS", 60, minimum=0)
ALERT_RULES_HISTORY_DAYS = env_int("ALERT_RULES_HISTORY_DAYS", 14, minimum=1)

# Email (Django's SMTP backend): email channels and the notice to an owner whose channel was disabled.
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Log platform <notifications@localhost>")

# An upload whose body stops arriving for this long is dropped (408) instead of holding a thread.
LOGS_UPLOAD_IDLE_SECONDS = env_int("LOGS_UPLOAD_IDLE_SECONDS", 30, minimum=1)
# Work per upload is bounded: more lines than this (blank ones included) is refused at once.
LOGS_MAX_LINES = env_int("LOGS_MAX_LINES", 5_000_000, minimum=1)
# A single record (line) may be at most this long.
LOGS_MAX_RECORD_MB = env_int("LOGS_MAX_RECORD_MB", 16, minimum=1)
# Chunks of one job in the queue at a time: a big job cannot starve the small jobs queued after it.
LOGS_JOB_PARALLEL_CHUNKS = env_int("LOGS_JOB_PARALLEL_CHUNKS", 2, minimum=1)
# A chunk that could not reach Elasticsearch (after its 3 attempts) waits this long for it to come back.
LOGS_ES_WAIT_SECONDS = env_int("LOGS_ES_WAIT_SECONDS", 600, minimum=10)
# Each event day is one index (one shard), and the cluster's shard budget is shared by every user: one upload
# may have events on at most this many days (a year and a month of daily events); rows on further days are
# dead-lettered with the reason.
LOGS_MAX_DAYS_PER_JOB = env_int("LOGS_MAX_DAYS_PER_JOB", 400, minimum=1)
# Shards kept free for small uploads (a week of days or less): a bigger job may not create days into them.
LOGS_SHARD_RESERVE = env_int("LOGS_SHARD_RESERVE", 100, minimum=0)
# Live views (/live/, GET /api/live) each hold one gunicorn thread: at most this many per web process (more get
# 503 with Retry-After), so ordinary requests keep threads; keep it well under gunicorn's --threads.
LIVE_MAX_STREAMS = env_int("LIVE_MAX_STREAMS", 8, minimum=1)
# A live stream ends after this many seconds and the browser (or script) reconnects with Last-Event-ID.
LIVE_STREAM_SECONDS = env_int("LIVE_STREAM_SECONDS", 300, minimum=1)

# Streams: POST /api/ingest and the Elasticsearch-compatible _bulk (under /api/ingest/es/ and on INGEST_ES_PORT).
# A request body may be this large (a gzip body inflated too); beyond it the answer is 413.
INGEST_MAX_REQUEST_MB = env_int("INGEST_MAX_REQUEST_MB", 10, minimum=1)
# The listener of the Elasticsearch-compatible endpoints for shippers that take a host and port but no path.
INGEST_ES_PORT = env_int("INGEST_ES_PORT", 9201, minimum=1)
# Backpressure: past this many batches waiting to be indexed (everyone's, or one user's), ingest answers 429 with
# Retry-After, before reading the body; shippers keep the events and send them again.
STREAM_MAX_QUEUED_BATCHES = env_int("STREAM_MAX_QUEUED_BATCHES", 200, minimum=1)
STREAM_MAX_QUEUED_BATCHES_PER_OWNER = env_int("STREAM_MAX_QUEUED_BATCHES_PER_OWNER", 50, minimum=1)
STREAM_RETRY_AFTER_SECONDS = env_int("STREAM_RETRY_AFTER_SECONDS", 5, minimum=1)
# A batch's task takes other queued batches along up to this many events in all: one bulk request and one round of
# MongoDB writes for all of them, as a file's chunk of 5,000 lines has.
STREAM_BATCH_EVENTS = env_int("STREAM_BATCH_EVENTS", 5000, minimum=1)
# Every stream with activity gets a "stream window closed" event (the job_events outbox) per window of this length.
STREAM_WINDOW_MINUTES = env_int("STREAM_WINDOW_MINUTES", 5, minimum=1)

# Files this app creates (uploads, work files, the SQLite database) are readable by their owner only.
os.umask(0o077)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# No URL takes files but the upload API, which installs its streaming handler itself once the user is
# known (uploads_app/apis.py); everywhere else a file part ends the request before a byte of it is read.
FILE_UPLOAD_HANDLERS = ["uploads_app.storage.RefuseFilesHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = 1
FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 2**10
# The form fields of any request; UploadGuardMiddleware refuses a larger body (except an upload) before
# reading it. NDJSON ingest bodies of up to 10 MB fit.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 2**20

# Celery: JSON only, results in the Django database (django-celery-results).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
# Celery's own default, named here because the metrics read this queue's length.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message a dead worker took is handed out again after this long (Redis visibility timeout). A stage may
# run longer (30 min limit): while it runs it refreshes a heartbeat every third of this, and a second
# delivery of a task whose heartbeat is fresh waits instead of running it (ingestion/services/deliveries.py).
LOGS_TASK_VISIBILITY_SECONDS = env_int("LOGS_TASK_VISIBILITY_SECONDS", 90, minimum=10)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": LOGS_TASK_VISIBILITY_SECONDS}
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "watchdog": {"task": "ingestion.watchdog", "schedule": float(LOGS_WATCHDOG_SECONDS)},
    # Catches finished jobs whose notification was lost, and rescans recent activity.
    "fraud-sweep": {"task": "analytics.fraud_sweep", "schedule": 300.0},
    "sweep-files": {"task": "ingestion.sweep_files", "schedule": 3600.0},
    # Daily indices left empty (a deletion that stopped half-way, an index created by hand) give back their shard.
    "delete-empty-indices": {"task": "ingestion.delete_empty_indices", "schedule": 86400.0},
    # Stream batches whose task was lost (broker down when received), and windows to close for the outbox.
    "stream-sweep": {"task": "ingestion.stream_sweep", "schedule": 60.0},
    "stream-windows": {"task": "ingestion.stream_windows", "schedule": 60.0},
    # Retries that are due (and deliveries whose first send was lost), new or re-tiered fraud alerts, and finished
    # jobs whose notification was lost.
    "notifications-due": {"task": "notifications.deliveries_due", "schedule": float(NOTIFICATIONS_SWEEP_SECONDS)},
    "notifications-fraud": {"task": "notifications.fraud_alerts", "schedule": float(NOTIFICATIONS_FRAUD_SECONDS)},
    "notifications-jobs": {"task": "notifications.job_events_sweep", "schedule": 300.0},
    # Alert rules due for evaluation (each is then its own task), and their run history past its keeping.
    "alert-rules": {"task": "notifications.rules_due", "schedule": float(ALERT_RULES_SECONDS)},
    "alert-rules-history": {"task": "notifications.rule_evaluations_prune", "schedule": 86400.0},
    # The retention policies, once a day at a quiet hour (nothing is deleted while nobody has set a policy).
    "retention": {"task": "ingestion.retention", "schedule": crontab(hour=LOGS_RETENTION_HOUR, minute=17)},
}

REST_FRAMEWORK = {
    # The API token (an ingest-only one is refused with a sentence), a short-lived JWT, or the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "uploads_app.authentication.ApiTokenAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # `format` is ours (the export's csv or ndjson), not DRF's renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_THROTTLE_RATE", "600/minute"),
        "uploads": env_str("UPLOAD_THROTTLE_RATE", "60/minute"),
        # Shippers send many requests: their own rate, per user, beside the queue bound (STREAM_MAX_QUEUED_BATCHES).
        "ingest": env_str("INGEST_THROTTLE_RATE", "6000/minute"),
    },
}

# JWT for REST clients (POST /api/auth/token, /api/auth/token/refresh) beside the API tokens: short-lived access
# tokens, signed with SECRET_KEY.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 10, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env_int("JWT_REFRESH_HOURS", 24, minimum=1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Log platform API",
    "DESCRIPTION": "Upload e-commerce log exports, follow their jobs, search and analyse the indexed events.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's files come from drf-spectacular-sidecar: the docs work with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.optional_query_values_may_be_empty",
        "config.schema.every_operation_may_be_throttled",
    ],
    "ENUM_NAME_OVERRIDES": {
        # Dotted paths: drf-spectacular imports them lazily, so config imports no app.
        "JobStatusEnum": "ingestion.enums.JobStatus.values",
        "HealthStatusEnum": ["up", "down"],
        "AlertStatusEnum": "analytics.fraud.models.FraudAlert.Status",
        "AlertTierEnum": "analytics.fraud.models.FraudAlert.Tier",
        "ChannelKindEnum": "notifications.models.Channel.Kind",
        "DeliveryStateEnum": "notifications.models.Delivery.State",
        "RuleTypeEnum": "notifications.models.AlertRule.Type",
        "RuleMetricEnum": "notifications.models.AlertRule.Metric",
        "RuleDirectionEnum": "notifications.models.AlertRule.Direction",
        "AlertEventStateEnum": "notifications.models.AlertEvent.State",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # One line per Elasticsearch request is noise at INFO.
    "loggers": {"elastic_transport.transport": {"level": "WARNING"}},
}

# Production hardening: on unless DEBUG; the proxy in front terminates TLS.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Prometheus scrapes the web processes over the internal network (compose), where there is no TLS proxy.
    SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

"""Test settings: the same settings module, pointed at test databases on the same real servers."""

import os
import socket
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("MONGODB_URI", "mongodb://127.0.0.1:27017/logs_platform_test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DATABASE_URL", "sqlite:///var/test/db.sqlite3")
os.environ.setdefault("UPLOADS_DIR", "var/test/uploads")
os.environ.setdefault("LOGS_INDEX_PREFIX", "test-logs-ecom")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("FRAUD_ALERTS_INDEX", "test-fraud-alerts")
# Fault tests: a crashed worker's tasks come back after 10 s; a chunk waits up to 120 s for Elasticsearch
# (a restart, slow on a busy 2-core machine; one test starts a worker with the 10 s minimum to go beyond it).
os.environ.setdefault("LOGS_TASK_VISIBILITY_SECONDS", "10")
os.environ.setdefault("LOGS_ES_WAIT_SECONDS", "120")

# Notifications: the receivers the tests start listen on loopback, retries come after 1 and 2 s, a receiver
# that keeps a request waiting is given up on after 2 s, and 3 failed deliveries in a row disable a channel.
os.environ.setdefault("NOTIFICATIONS_ALLOW_PRIVATE_TARGETS", "true")
os.environ.setdefault("NOTIFICATIONS_RETRY_DELAYS", "1,2")
os.environ.setdefault("NOTIFICATIONS_READ_TIMEOUT", "2")
os.environ.setdefault("NOTIFICATIONS_DISABLE_AFTER", "3")
os.environ.setdefault("SITE_URL", "http://testserver")
# The SMTP port of the tests' own mail server (tests/notifications/receivers.py), chosen once per run; the
# worker and any gunicorn of the run inherit it through the environment.
if "EMAIL_PORT" not in os.environ:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        os.environ["EMAIL_PORT"] = str(probe.getsockname()[1])
os.environ.setdefault("EMAIL_HOST", "127.0.0.1")
# The run's MinIO (services/minio.sh, started by tests/conftest.py for the object-storage tests). The storage
# stays local disk: those tests switch this process and a worker of their own to STORAGE=s3.
os.environ.setdefault("MINIO_PORT", "9100")
os.environ.setdefault("S3_ENDPOINT_URL", f"http://127.0.0.1:{os.environ['MINIO_PORT']}")
os.environ.setdefault("S3_BUCKET", "test-logs-platform")
os.environ.setdefault("S3_ACCESS_KEY", "minio-test")
os.environ.setdefault("S3_SECRET_KEY", "minio-test-secret")
os.environ.setdefault("SCRATCH_DIR", "var/test/scratch")

from config.settings import *  # noqa: F403
from config.settings import DATABASES, STORAGES

(Path(__file__).resolve().parent.parent / "var" / "test").mkdir(parents=True, exist_ok=True)

# The Celery worker of the test run is another process: it must open the very database the tests use.
DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Pages under test get their static files straight from the app folders under their plain names (no
# collectstatic run). A test of the hashed names sets TEST_STATIC_ROOT and collects there first.
if os.environ.get("TEST_STATIC_ROOT"):
    STATIC_ROOT = os.environ["TEST_STATIC_ROOT"]
else:
    WHITENOISE_USE_FINDERS = True
    STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

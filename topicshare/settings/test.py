"""Settings for the test suite: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

DEBUG = False
SECRET_KEY = "test-only-not-secret-3c9e1f7a2b8d4e6f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In-memory mail for the suite, unless EMAIL_URL says otherwise (a worker started by a test).
if not env.str("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real Celery worker started by a test sees the same data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-topicshare.sqlite3")}
CELERY_TASK_ALWAYS_EAGER = False
# Each test starts with an empty cache (allauth's rate limits); locmem keeps tests independent
# of whatever else uses the Redis server.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests send by calling the dispatcher; the Redis-down test turns the nudge back on.
TOPICSHARE_KICK_DISPATCHER = False
# The suite's chat server (tests/chatserver.py) listens on 127.0.0.1 and plays every provider;
# tests/hostile/test_webhook_ssrf.py turns both off again.
TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = True
TOPICSHARE_WEBHOOKS_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

"""Settings shared by every environment. Everything that differs per machine comes from the
environment (django-environ); the defaults here run a local site with nothing set."""

import contextlib
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("TOPICSHARE_VAR_DIR", default=str(BASE_DIR / "var")))
# A fresh clone has no var/ yet; SQLite, the embedded broker and beat write there.
# Read-only deployments point the database and broker elsewhere, hence suppress().
with contextlib.suppress(OSError):
    VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
# A local .env file is optional; real deployments set real environment variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "topicshare.core.apps.TopicShareAdminConfig",  # django.contrib.admin, signed in via allauth
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rules.apps.AutodiscoverRulesConfig",
    "django_filters",
    "ninja",  # /api/v1/'s docs page from our own static files (no CDN)
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    # From the ground up (the order imports may go; pyproject.toml's import-linter contracts):
    "topicshare.core",  # shared infrastructure (label "topicshare")
    "topicshare.notifications",  # the outbox: e-mail and chat delivery, no domain imports
    "members",  # users, roles, admission
    "sessions.apps.SessionsConfig",  # topics (the sheet) and weekly sessions
    "members.ledger",  # the season ledger
    "library",
    "topicshare.forum",  # site pages: home, dashboard, demo data, forum settings
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "topicshare.core.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "topicshare.core.pagecache.DataVersionMiddleware",
    "members.middleware.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "topicshare.urls"
WSGI_APPLICATION = "topicshare.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "topicshare.forum.context_processors.forum",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'topicshare.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Re-check a persistent connection before reuse, so a restarted database does not need an
# application restart.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the Celery worker and beat share one file: wait for locks instead of
    # failing, and take the write lock up front so two writers cannot deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Persistent too: opening the file and setting its pragmas on every request cost a
    # signed-in page (which reads the content version) a few milliseconds.
else:
    # Forms iterate their choices with .iterator(): a server-side cursor costs three round
    # trips for a handful of rows (and breaks behind a transaction-mode pooler).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth's rate limits live here) ---------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down: a miss, not a 500 (topicshare/cache.py). Short timeouts so that an
            # outage costs milliseconds per request, not seconds.
            "BACKEND": "topicshare.core.cache.TolerantRedisCache",
            "LOCATION": env.str("REDIS_CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": "topicshare",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts -----------------------------------------------------------------------------
AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    "members.backends.RoleBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "members.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# Sign-up, password reset and login answer alike whether an address has an account or not:
# a sign-up with a known address sends that address a "you already have an account" mail,
# a reset for an unknown one a "no account here" mail, instead of saying so on the page.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = env.str("ACCOUNT_EMAIL_SUBJECT_PREFIX", default="[TopicShare] ")
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, spelled out so that nobody switches them off by accident.
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
SOCIALACCOUNT_ADAPTER = "members.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "mandatory"

# Social login is on only for providers whose client id and secret are set. The origin is
# where the provider's login form posts to (the CSP's form-action must allow it).
_SOCIAL_PROVIDERS = {
    "github": (
        "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", {"SCOPE": ["user:email"]}, "https://github.com"
    ),
    "weixin": (
        "WEIXIN_CLIENT_ID", "WEIXIN_CLIENT_SECRET", {"SCOPE": ["snsapi_login"]},
        "https://open.weixin.qq.com",
    ),
    "feishu": ("FEISHU_CLIENT_ID", "FEISHU_CLIENT_SECRET", {}, "https://open.feishu.cn"),
}  # fmt: skip
SOCIALACCOUNT_PROVIDERS = {}
_SOCIAL_LOGIN_ORIGINS = []
for _provider, (_id_var, _secret_var, _extra, _origin) in _SOCIAL_PROVIDERS.items():
    _client_id, _secret = env.str(_id_var, default=""), env.str(_secret_var, default="")
    if _client_id and _secret:
        INSTALLED_APPS.append(f"allauth.socialaccount.providers.{_provider}")
        _SOCIAL_LOGIN_ORIGINS.append(_origin)
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [{"client_id": _client_id, "secret": _secret, "key": ""}],
            **_extra,
        }

# --- E-mail -------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Seconds an SMTP connection waits for the server (connect, each reply): Django's default waits
# for ever, and a mail server that hangs would hold its outbox lane (topicshare/notifications/
# outbox.py). A ?timeout= in EMAIL_URL wins.
EMAIL_TIMEOUT = EMAIL_CONFIG.get("EMAIL_TIMEOUT") or env.float("EMAIL_TIMEOUT", default=20.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="TopicShare <noreply@topicshare.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# locale/allauth: allauth's Chinese entries that say 您, reworded with 你 (they win over the
# package's own catalogue).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "allauth"]
# ISO first in every language's input formats: date fields must not render 2027/01/04.
FORMAT_MODULE_PATH = ["topicshare.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# Set by the language switch and the profile form (both through Django's settings); no
# script reads it. Production adds Secure.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static and media files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Applicants' slides and other files for permitted users only: outside MEDIA_ROOT, so nothing
# serves them except a view that checks permissions (topicshare.core.uploads.serve_file).
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
}
# Behind a proxy that serves /media/ itself, turn this off.
TOPICSHARE_SERVE_MEDIA = env.bool("TOPICSHARE_SERVE_MEDIA", default=True)
# Uploads in an S3-compatible object store (django-storages) when S3_BUCKET is set, so that
# every web node sees every upload; otherwise the local disks above. Public files (the
# official account's QR code) are linked at the bucket's address; private ones (slides, group
# QR codes) carry no ACL and are handed out only by the views that check permissions, as a
# redirect to a link signed for S3_PRIVATE_URL_SECONDS (topicshare.core.uploads).
S3_BUCKET = env.str("S3_BUCKET", default="")
# Where browsers see the store (images and links, and the CSP below): the public endpoint, a
# custom domain for the public files, or AWS's own address of the bucket.
_OBJECT_STORE_ORIGINS = []
if S3_BUCKET:
    _s3 = {
        "bucket_name": S3_BUCKET,
        "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
        "public_endpoint_url": env.str("S3_PUBLIC_ENDPOINT_URL", default="") or None,
        "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
        "region_name": env.str("S3_REGION", default="") or None,
        "addressing_style": env.str("S3_ADDRESSING_STYLE", default="") or None,
        "signature_version": "s3v4",
        "file_overwrite": False,
    }
    _private_bucket = env.str("S3_PRIVATE_BUCKET", default="") or S3_BUCKET
    # Sharing the public bucket, private files live under a prefix of their own (the bucket
    # must then not be public by a bucket policy: only the public files' ACL makes them so).
    _private_prefix = env.str(
        "S3_PRIVATE_PREFIX", default="private" if _private_bucket == S3_BUCKET else ""
    ).strip("/")
    _custom_domain = env.str("S3_CUSTOM_DOMAIN", default="") or None
    STORAGES["default"] = {
        "BACKEND": "topicshare.core.objectstorage.ObjectStorage",
        "OPTIONS": {
            **_s3,
            "querystring_auth": False,
            # Empty for stores that ignore ACLs and publish the bucket by a policy instead.
            "default_acl": env.str("S3_PUBLIC_ACL", default="public-read") or None,
            "custom_domain": _custom_domain,
        },
    }
    STORAGES["private"] = {
        "BACKEND": "topicshare.core.objectstorage.ObjectStorage",
        "OPTIONS": {
            **_s3,
            "bucket_name": _private_bucket,
            "location": _private_prefix,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env.int("S3_PRIVATE_URL_SECONDS", default=60),
        },
    }
    _public_endpoint = _s3["public_endpoint_url"] or _s3["endpoint_url"]
    if _public_endpoint:
        _OBJECT_STORE_ORIGINS.append("/".join(_public_endpoint.split("/")[:3]))
    else:
        _region = f".{_s3['region_name']}" if _s3["region_name"] else ""
        _OBJECT_STORE_ORIGINS += [
            f"https://{bucket}.s3{_region}.amazonaws.com"
            for bucket in dict.fromkeys([S3_BUCKET, _private_bucket])
        ]
    if _custom_domain:
        _OBJECT_STORE_ORIGINS.append(f"https://{_custom_domain.split('/')[0]}")
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Official-account QR codes and similar images; larger files are refused with a message.
TOPICSHARE_MAX_IMAGE_BYTES = env.int("TOPICSHARE_MAX_IMAGE_BYTES", default=2 * 1024 * 1024)
# Slides (PDF/PPTX) uploaded with admission applications and to the library.
TOPICSHARE_MAX_UPLOAD_BYTES = env.int("TOPICSHARE_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)

# --- Celery -------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # No Redis: kombu's filesystem transport gives a real worker and beat a broker that
    # needs no server. Messages are files under var/celery/.
    CELERY_BROKER_URL = "filesystem://"
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(VAR_DIR / "celerybeat-schedule")
)
# Anonymous visitors get public pages from a cache for at most this long (0 turns it off);
# a committed change to what those pages show invalidates it, see topicshare/core/pagecache.py.
TOPICSHARE_PAGE_CACHE_SECONDS = env.int("TOPICSHARE_PAGE_CACHE_SECONDS", default=60)
# Fragments of public pages, for signed-in members too, live at most this long (0: off);
# keyed by the same version, the viewer's role and language, see topicshare/core/fragments.py.
TOPICSHARE_FRAGMENT_CACHE_SECONDS = env.int("TOPICSHARE_FRAGMENT_CACHE_SECONDS", default=60)
# Requests to /api/v1/ per personal API token per minute (a fixed window in the cache);
# more are answered 429 (members/api_tokens.py).
TOPICSHARE_API_TOKEN_RATE_PER_MINUTE = env.int("TOPICSHARE_API_TOKEN_RATE_PER_MINUTE", default=120)
# "Download my data" (topicshare/forum/account_data.py): once per this many seconds per member,
# at most this many MB of files in the archive.
TOPICSHARE_DATA_EXPORT_EVERY_SECONDS = env.int("TOPICSHARE_DATA_EXPORT_EVERY_SECONDS", default=300)
TOPICSHARE_DATA_EXPORT_MAX_MB = env.int("TOPICSHARE_DATA_EXPORT_MAX_MB", default=100)
# How long the e-mailed link that confirms an account's deletion works.
TOPICSHARE_ACCOUNT_DELETION_LINK_HOURS = env.int(
    "TOPICSHARE_ACCOUNT_DELETION_LINK_HOURS", default=24
)
# A batch claimed by a worker that died is sent again after this long; a live worker renews
# its claim every third of it (topicshare/notifications/outbox.py).
TOPICSHARE_STALE_CLAIM_SECONDS = env.int("TOPICSHARE_STALE_CLAIM_SECONDS", default=300)
# Outbox retries (topicshare/notifications/outbox.py): a failed message waits this many seconds
# doubled with each attempt (2, 4, 8 … minutes), at most the maximum, minus up to a quarter at
# random; a lane (e-mail, one chat bot) whose last TRIP_AFTER attempts failed is paused with
# the same backoff, growing with each pause, while the other lanes go on; then one message
# probes it. A message fails for good after 5 failed attempts of its own (probes don't count).
TOPICSHARE_OUTBOX_BACKOFF_SECONDS = env.float("TOPICSHARE_OUTBOX_BACKOFF_SECONDS", default=60.0)
TOPICSHARE_OUTBOX_BACKOFF_MAX_SECONDS = env.float(
    "TOPICSHARE_OUTBOX_BACKOFF_MAX_SECONDS", default=3600.0
)
TOPICSHARE_OUTBOX_TRIP_AFTER = env.int("TOPICSHARE_OUTBOX_TRIP_AFTER", default=5)
# Seconds a chat bot's request may take to connect and to answer (at most 5).
TOPICSHARE_CHAT_TIMEOUT_SECONDS = env.float("TOPICSHARE_CHAT_TIMEOUT_SECONDS", default=5.0)
# How often beat runs the outbox's sweep (and so picks retries up).
TOPICSHARE_DISPATCH_SECONDS = env.float("TOPICSHARE_DISPATCH_SECONDS", default=60.0)
TOPICSHARE_HEARTBEAT_SECONDS = env.float("TOPICSHARE_HEARTBEAT_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "topicshare.heartbeat",
        "schedule": TOPICSHARE_HEARTBEAT_SECONDS,
    },
    # Sessions go live at their start and are done at their end.
    "advance-sessions": {"task": "sessions.advance", "schedule": 60.0},
    # Accepted topics whose week is two weeks away start recruiting (and are promoted).
    "open-recruiting": {"task": "topics.open_recruiting", "schedule": 60.0},
    # Queue the reminders that are due and send the outbox.
    "dispatch-notifications": {
        "task": "notifications.dispatch",
        "schedule": TOPICSHARE_DISPATCH_SECONDS,
    },
    # Admission votes close at their deadline (when the quorum is reached).
    "close-admission-votes": {"task": "admissions.close_due", "schedule": 300.0},
    # The organisers' inbox count in the navigation (topicshare/forum/inbox.py).
    "refresh-inbox-count": {"task": "forum.refresh_inbox_count", "schedule": 60.0},
    # The nightly backup (topicshare/core/backups.py) at 03:30 Asia/Shanghai (CELERY_TIMEZONE).
    "nightly-backup": {
        "task": "topicshare.backup",
        "schedule": crontab(
            hour=env.int("TOPICSHARE_BACKUP_HOUR", default=3),
            minute=env.int("TOPICSHARE_BACKUP_MINUTE", default=30),
        ),
    },
}
# Backups (`manage.py backup`, the nightly task): archives go to TOPICSHARE_BACKUP_DIR on the
# node that runs the task (mount a volume there, or copy them off the machine); after each good
# backup all but the newest TOPICSHARE_BACKUP_KEEP are deleted. /healthz and the organisers'
# dashboard call the last good one stale after TOPICSHARE_BACKUP_STALE_SECONDS.
TOPICSHARE_BACKUP_DIR = Path(env.str("TOPICSHARE_BACKUP_DIR", default=str(VAR_DIR / "backups")))
TOPICSHARE_BACKUP_KEEP = env.int("TOPICSHARE_BACKUP_KEEP", default=7)
TOPICSHARE_BACKUP_STALE_SECONDS = env.int("TOPICSHARE_BACKUP_STALE_SECONDS", default=36 * 3600)
# Absolute links in e-mails, calendar attachments and chat messages.
TOPICSHARE_SITE_URL = env.str("TOPICSHARE_SITE_URL", default="http://127.0.0.1:8000")
# The session posters' fonts (a .ttc/.otf/.ttf each); unset: Debian's Noto Sans CJK.
TOPICSHARE_POSTER_FONTS = {
    weight: path
    for weight, path in (
        ("regular", env.str("TOPICSHARE_POSTER_FONT", default="")),
        ("bold", env.str("TOPICSHARE_POSTER_FONT_BOLD", default="")),
    )
    if path
}
# The official account (公众号): with both set, the promotion pack saves its article to the
# account's draft box and pages carry the JS-SDK's share data (topicshare/forum/wechat_mp.py).
WECHAT_MP_APP_ID = env.str("WECHAT_MP_APP_ID", default="")
WECHAT_MP_APP_SECRET = env.str("WECHAT_MP_APP_SECRET", default="")
WECHAT_MP_API_BASE = env.str("WECHAT_MP_API_BASE", default="https://api.weixin.qq.com")
# Chat webhooks post only to public internet addresses (topicshare/core/egress.py). True lets them
# post to loopback and private networks too: for the test suite's server on 127.0.0.1 only;
# production settings force it off.
TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = env.bool("TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE", default=False)
# Hosts every provider's bot may post to besides its own (Feishu/Lark, WeCom, DingTalk), e.g.
# a self-hosted Lark. Their addresses must still be public.
TOPICSHARE_WEBHOOKS_ALLOWED_HOSTS = env.list("TOPICSHARE_WEBHOOKS_ALLOWED_HOSTS", default=[])
# After queueing a notification, ask a worker to send it at once (else: the next sweep).
TOPICSHARE_KICK_DISPATCHER = env.bool("TOPICSHARE_KICK_DISPATCHER", default=True)
# /healthz's broker check gives up after this long (to connect, and again for the reply).
TOPICSHARE_HEALTH_TIMEOUT_SECONDS = env.float("TOPICSHARE_HEALTH_TIMEOUT_SECONDS", default=0.5)
# /healthz calls a heartbeat stale after this many seconds.
TOPICSHARE_HEARTBEAT_STALE_SECONDS = env.int(
    "TOPICSHARE_HEARTBEAT_STALE_SECONDS", default=int(TOPICSHARE_HEARTBEAT_SECONDS * 4)
)

# --- Security defaults shared by all environments ----------------------------------------
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Signed-in requests read their session from the cache (Redis in production), the database
# behind it: one query less on every page a member opens. Writes go to both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy on every response, in every environment (so the browser tests see
# it): nothing loads from elsewhere, no inline script or style (topicshare/core/headers.py).
# The format of Django 6.0's SECURE_CSP.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", *_OBJECT_STORE_ORIGINS],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    # Social login posts to our own page, which redirects to the provider's: browsers check
    # form-action along the redirects.
    "form-action": ["'self'", *_SOCIAL_LOGIN_ORIGINS],
    "frame-ancestors": ["'none'"],
}
if _OBJECT_STORE_ORIGINS:
    # The library's PDF viewer frame follows the slides view's redirect to the store.
    SECURE_CSP["frame-src"] = ["'self'", *_OBJECT_STORE_ORIGINS]
# Features no page uses are off, for our pages and anything framed in them; the copy buttons
# write to the clipboard, the PDF viewer of the library may go full screen.
TOPICSHARE_PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
        "encrypted-media", "geolocation", "gyroscope", "hid", "idle-detection", "magnetometer",
        "microphone", "midi", "payment", "picture-in-picture", "publickey-credentials-get",
        "screen-wake-lock", "serial", "usb", "xr-spatial-tracking", "clipboard-read",
    )
} | {"clipboard-write": ["self"], "fullscreen": ["self"]}  # fmt: skip

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Demo data (seed_demo) is refused where this is False: production turns it off.
TOPICSHARE_DEMO_ALLOWED = True
TOPICSHARE_NAME = _("TopicShare")

"""The embedded default for a laptop (`make run`): SQLite under var/, no Redis, mail on the
console. DEBUG is off, so that `make run` shows what a visitor of the real site sees (the
site's own 404 page, not Django's list of URL patterns); DJANGO_DEBUG=1 turns it on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="local-only-not-secret-8f2b7c1e9d4a6b3c0e5f7a9d2c4b6e8f1a3c5d7e9b0f2a4c",
)
# No collectstatic step: whitenoise serves static files from where they live, DEBUG or not.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

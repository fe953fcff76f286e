"""The embedded default for a laptop: SQLite under var/, no Redis, mail on the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="local-only-not-secret-8f2b7c1e9d4a6b3c0e5f7a9d2c4b6e8f1a3c5d7e9b0f2a4c",
)

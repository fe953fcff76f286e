import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

from members.roles import Role
from tests.chatserver import chat_server  # noqa: F401 — a fixture for every test module
from tests.factories import UserFactory
from tests.wechatserver import wechat_api  # noqa: F401 — likewise

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str):
    """Outside CI a missing outside component skips with the reason; in CI it fails."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Service and command tests assert the English source messages. Requests still choose
    their own language (zh-hans by default) through LocaleMiddleware."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _clear_cache():
    # allauth's rate limits live in the cache; one test's failures must not leak into the next.
    from django.core.cache import cache

    from topicshare.core.fragments import forget_roles
    from topicshare.core.pagecache import forget_content_version
    from topicshare.core.singletons import forget_kept_rows

    cache.clear()
    forget_content_version()  # the database is rolled back between tests
    forget_kept_rows()  # and with it the versions these were read under
    forget_roles()
    yield
    cache.clear()


@pytest.fixture
def audience(db):
    return UserFactory(role=Role.AUDIENCE)


@pytest.fixture
def member(db):
    return UserFactory(role=Role.MEMBER)


@pytest.fixture
def committee(db):
    return UserFactory(role=Role.COMMITTEE)


@pytest.fixture
def organiser(db):
    return UserFactory(role=Role.ORGANISER)

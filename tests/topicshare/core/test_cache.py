"""Redis down must not take pages down: the tolerant cache turns errors into misses. A real
connection to a closed port on 127.0.0.1 stands for the stopped Redis."""

import socket

import pytest
from django.core.cache import cache
from django.urls import reverse

from members.roles import Role
from tests.factories import PASSWORD, TopicFactory, UserFactory


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "topicshare.core.cache.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.TOPICSHARE_PAGE_CACHE_SECONDS = 60


def test_every_cache_call_is_a_miss_or_a_no_op(redis_down):
    assert cache.get("x", "fallback") == "fallback"
    assert cache.get_many(["x", "y"]) == {}
    cache.set("x", 1)
    cache.set_many({"x": 1})
    assert cache.add("x", 1) is True
    assert cache.has_key("x") is False
    assert cache.incr("x") == 1
    cache.delete("x")
    cache.delete_many(["x"])


@pytest.mark.django_db
def test_pages_login_and_feeds_work_while_redis_is_down(client, redis_down):
    TopicFactory(title="Redis 宕机也能看")
    for name in ["home", "topics:sheet", "sessions:upcoming", "library:index",
                 "sessions:calendar-all"]:  # fmt: skip
        response = client.get(reverse(name))
        assert response.status_code == 200, name
    assert "Redis 宕机也能看" in client.get(reverse("topics:sheet")).content.decode()
    assert client.get(reverse("library:index"), {"q": "transformer"}).status_code == 200

    user = UserFactory(role=Role.MEMBER)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302  # allauth's rate limit fails open, the login works

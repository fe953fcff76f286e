"""The Redis cache, made optional: when Redis is down a read is a miss and a write is dropped,
so pages keep working (slower) instead of answering 500. Everything we cache can be
recomputed — rendered pages and rows, calendar files — and allauth's rate-limit counters fail
open while Redis is away (the outage is logged)."""

import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
_WARN_EVERY = 30.0  # seconds between two "cache unavailable" warnings from one process


class TolerantRedisCache(RedisCache):
    _last_warning = 0.0

    def _unavailable(self, error: RedisError) -> None:
        now = time.monotonic()
        if now - self._last_warning > _WARN_EVERY:
            TolerantRedisCache._last_warning = now
            logger.warning("cache unavailable, carrying on without it: %s", error)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except RedisError as error:
            self._unavailable(error)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except RedisError as error:
            self._unavailable(error)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except RedisError as error:
            self._unavailable(error)
            return False

    def add(self, key, value, timeout=None, version=None):
        try:
            return super().add(key, value, timeout, version)
        except RedisError as error:
            self._unavailable(error)
            return True  # as if added: nobody else can have it either

    def set(self, key, value, timeout=None, version=None):
        try:
            super().set(key, value, timeout, version)
        except RedisError as error:
            self._unavailable(error)

    def set_many(self, data, timeout=None, version=None):
        try:
            return super().set_many(data, timeout, version)
        except RedisError as error:
            self._unavailable(error)
            return list(data)

    def touch(self, key, timeout=None, version=None):
        try:
            return super().touch(key, timeout, version)
        except RedisError as error:
            self._unavailable(error)
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except RedisError as error:
            self._unavailable(error)
            return False

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except RedisError as error:
            self._unavailable(error)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except RedisError as error:
            self._unavailable(error)
            return delta

    def clear(self):
        try:
            return super().clear()
        except RedisError as error:
            self._unavailable(error)
            return False

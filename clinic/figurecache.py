"""Figures that cost a scan to compute, kept for a short time and shown with their age.

In Redis when REDIS_URL is set, so every worker and host shares one copy; else in this
process. Values are JSON (never pickle: nothing read back can run code). Redis away: the
figures are computed afresh, and a request never fails because the cache could not be read.
"""

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime

import redis
from flask import Flask, current_app

from clinic.dbtypes import utcnow

EXTENSION = "figure_cache"


class FigureCache:
    """A JSON value and the moment it was computed, per key, for `seconds`."""

    def __init__(self, seconds: int, prefix: str, redis_url: str | None) -> None:
        self.seconds = seconds
        self.prefix = prefix
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5) if redis_url else None
        self._local: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def remember(self, key: str, compute: Callable[[], object]) -> tuple[object, datetime]:
        """Return the value stored for `key` and when it was computed; compute it when missing."""
        if self.seconds <= 0:
            return compute(), utcnow()
        stored = self._read(f"{self.prefix}:{key}")
        if stored is not None:
            entry = json.loads(stored)
            return entry["value"], datetime.fromisoformat(entry["at"])
        value, at = compute(), utcnow()
        self._write(f"{self.prefix}:{key}", json.dumps({"value": value, "at": at.isoformat()}))
        return json.loads(json.dumps(value)), at  # the same shapes a later read gives

    def clear(self) -> None:
        """Forget every kept figure, so the next page works them out afresh."""
        with self._lock:
            self._local.clear()
        if self._redis is not None:
            try:
                for key in self._redis.scan_iter(match=f"{self.prefix}:*"):
                    self._redis.delete(key)
            except redis.RedisError:
                current_app.logger.warning("figure cache: Redis could not be cleared")

    def _read(self, key: str) -> str | None:
        if self._redis is not None:
            try:
                return self._redis.get(key)
            except redis.RedisError:
                current_app.logger.warning("figure cache: Redis could not be read")
                return None
        with self._lock:
            expires, value = self._local.get(key, (0.0, None))
            return value if expires > time.monotonic() else None

    def _write(self, key: str, value: str) -> None:
        if self._redis is not None:
            try:
                self._redis.set(key, value, ex=self.seconds)
            except redis.RedisError:
                current_app.logger.warning("figure cache: Redis could not be written")
            return
        with self._lock:
            now = time.monotonic()
            self._local = {k: v for k, v in self._local.items() if v[0] > now}
            self._local[key] = (now + self.seconds, value)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = FigureCache(
        app.config["CLINIC_FIGURES_CACHE_SECONDS"],
        app.config["CLINIC_FIGURES_CACHE_PREFIX"],
        app.config.get("REDIS_URL"),
    )


def remember(key: str, compute: Callable[[], object]) -> tuple[object, datetime]:
    """Return the app's cached value for `key` (computing it if needed) and when it was made."""
    return current_app.extensions[EXTENSION].remember(key, compute)

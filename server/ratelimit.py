"""Token buckets per key: in this process, or in Redis so every process of a hall system shares them.

With one process (no `[server] message_queue`) the buckets live in memory. With several processes each would
count on its own (a limit of 30 a minute let 62 through two processes), so when Redis is the message queue the
buckets live there, taken atomically by a Lua script under `<message_channel>:ratelimit:`. If Redis cannot be
reached the limiter lets the request through and logs a warning: issuing tickets must not stop because the
limiter's store blinked (the limit is a guard against floods, not a hall rule).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol

log = logging.getLogger("hallq")
MAX_KEYS = 10_000  # oldest buckets are forgotten, so a flood of addresses cannot grow memory
WARN_EVERY_S = 30.0  # one warning per half minute while Redis is down, not one per request
RETRY_AFTER_S = 5.0  # after a failure, requests pass without asking Redis for this long (no timeout each)
REDIS_TIMEOUT_S = 2.0  # generous: a starved process on a busy machine must not fail open by mistake


class Limiter(Protocol):
    def allow(self, key: str) -> bool: ...

    def give_back(self, key: str) -> None:
        """Return the token `allow` took: the request it let through turned out to cost nothing (a replay)."""


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute))
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        """Take one token for `key`; False when its bucket is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
            return allowed

    def give_back(self, key: str) -> None:
        with self._lock:
            if key in self._buckets:
                tokens, last = self._buckets[key]
                self._buckets[key] = (min(self.burst, tokens + 1.0), last)


# The same bucket as RateLimiter, in one atomic step on the Redis server. Redis's own clock (TIME) is used,
# so processes on machines whose clocks differ still agree; the key expires once a full bucket would be back.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local last = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.6f', now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return allowed
"""


_GIVE_BACK = """
local burst = tonumber(ARGV[1])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
if tokens then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', math.min(burst, tokens + 1)))
end
return 0
"""


class RedisRateLimiter:
    """A token bucket per key in Redis, shared by every process using the same URL and prefix."""

    def __init__(self, client: Any, prefix: str, per_minute: int, burst: int | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute))
        self._take = client.register_script(_TAKE)
        self._give_back = client.register_script(_GIVE_BACK)
        self._warned_at = float("-inf")
        self._down_until = float("-inf")

    def allow(self, key: str) -> bool:
        if time.monotonic() < self._down_until:
            return True
        try:
            return bool(self._take(keys=[f"{self.prefix}{key}"], args=[repr(self.rate), repr(self.burst)]))
        except Exception as e:  # noqa: BLE001 - any failure of the store fails open (see the module's doc)
            now = time.monotonic()
            self._down_until = now + RETRY_AFTER_S
            if now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                log.warning("rate limits not enforced: Redis unreachable (%s); letting requests through", e)
            return True

    def give_back(self, key: str) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            self._give_back(keys=[f"{self.prefix}{key}"], args=[repr(self.burst)])
        except Exception as e:  # noqa: BLE001 - a token not given back costs one tap; the limit stays on
            log.warning("a replayed tap's token was not given back: %s", e)


class Limits:
    """Makes the app's limiters: in Redis when the processes share one (message_queue), else in memory."""

    def __init__(self, redis_url: str | None, channel: str) -> None:
        self.client: Any = None
        self.prefix = f"{channel}:ratelimit:"
        if redis_url:
            import redis  # a dependency already (Socket.IO's message queue); imported only when used

            # A hung Redis costs one request the timeout; the limiter then fails open for RETRY_AFTER_S.
            self.client = redis.Redis.from_url(
                redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
            )

    @property
    def shared(self) -> bool:
        return self.client is not None

    def make(self, name: str, per_minute: int) -> Limiter:
        if self.client is None:
            return RateLimiter(per_minute)
        return RedisRateLimiter(self.client, f"{self.prefix}{name}:", per_minute)

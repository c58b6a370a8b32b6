"""Login throttling: failed logins per account and per address, with a backoff that always ends.

Each key (`acct:<username>`, `addr:<address>`) counts its failed logins. The first `free` failures cost
nothing; each later one locks the key for `base_s` doubled per further failure, at most `max_s`. While a
key is locked a login is refused without checking the password and without counting, so no number of
attempts makes a lock longer than `max_s`: the right password always gets in once the backoff has passed
(and a success forgets the account's failures). Failures are forgotten after `forget_s` without one.

Shared by every process through Redis when `message_queue` is set (like server/ratelimit.py), else per
process in memory; a Redis that cannot be reached fails open (logins still need the right password).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("hallq")
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Policy:
    free: int  # failures without any wait
    base_s: float = 1.0  # the first lock's length; each further failure doubles it
    max_s: float = 300.0  # no lock is longer than this
    forget_s: float = 900.0  # failures are forgotten after this long without one

    def lock_for(self, failures: int) -> float:
        """How long the key is locked after its `failures`-th failure."""
        if failures <= self.free:
            return 0.0
        return float(min(self.max_s, self.base_s * 2 ** min(failures - self.free - 1, 30)))


ACCOUNT = Policy(free=5)  # a clerk mistyping a few times waits nothing; guessing one account is slow
ADDRESS = Policy(free=20)  # several clerks may share an address (the hall's NAT)


class MemoryStore:
    def __init__(self) -> None:
        self._keys: OrderedDict[str, tuple[int, float, float]] = OrderedDict()  # key → (failures, until, last)
        self._lock = threading.Lock()

    def locked_for(self, key: str, now: float, policy: Policy) -> float:
        with self._lock:
            failures, until, last = self._keys.get(key, (0, 0.0, 0.0))
        if now - last > policy.forget_s:
            return 0.0
        return max(0.0, until - now)

    def fail(self, key: str, now: float, policy: Policy) -> None:
        with self._lock:
            failures, until, last = self._keys.pop(key, (0, 0.0, 0.0))
            if now - last > policy.forget_s:
                failures = 0
            if until > now:  # refused while locked: not counted (callers check first; this keeps it so)
                self._keys[key] = (failures, until, last)
                return
            failures += 1
            self._keys[key] = (failures, now + policy.lock_for(failures), now)
            while len(self._keys) > MAX_KEYS:
                self._keys.popitem(last=False)

    def reset(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)


# One failure, atomically: forgotten after forget_s, not counted while locked, else counted with its lock.
_FAIL = """
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local forget = tonumber(ARGV[5])
local b = redis.call('HMGET', KEYS[1], 'n', 'until', 'last')
local n = tonumber(b[1]) or 0
local untl = tonumber(b[2]) or 0
local last = tonumber(b[3]) or 0
if now - last > forget then n = 0 end
if untl > now then return 0 end
n = n + 1
local lock = 0
if n > free then lock = math.min(max, base * 2 ^ math.min(n - free - 1, 30)) end
redis.call('HSET', KEYS[1], 'n', n, 'until', string.format('%.3f', now + lock), 'last', string.format('%.3f', now))
redis.call('EXPIRE', KEYS[1], math.ceil(forget + max) + 1)
return n
"""


class RedisStore:
    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._fail = client.register_script(_FAIL)
        self._warned_at = float("-inf")

    def _down(self, e: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 30:
            self._warned_at = now
            log.warning("login throttling not shared: Redis unreachable (%s)", e)

    def locked_for(self, key: str, now: float, policy: Policy) -> float:
        try:
            until, last = self.client.hmget(self.prefix + key, "until", "last")
        except Exception as e:  # noqa: BLE001 - fail open, like the rate limits
            self._down(e)
            return 0.0
        if until is None or last is None or now - float(last) > policy.forget_s:
            return 0.0
        return max(0.0, float(until) - now)

    def fail(self, key: str, now: float, policy: Policy) -> None:
        args = [repr(now), policy.free, repr(policy.base_s), repr(policy.max_s), repr(policy.forget_s)]
        try:
            self._fail(keys=[self.prefix + key], args=args)
        except Exception as e:  # noqa: BLE001
            self._down(e)

    def reset(self, key: str) -> None:
        try:
            self.client.delete(self.prefix + key)
        except Exception as e:  # noqa: BLE001
            self._down(e)


class LoginThrottle:
    """Whether a login may be tried now, and the record of its outcome."""

    def __init__(self, client: Any = None, channel: str = "hallq") -> None:
        self.store: MemoryStore | RedisStore = (
            RedisStore(client, f"{channel}:login:") if client is not None else MemoryStore()
        )

    @staticmethod
    def _keys(username: str, address: str) -> list[tuple[str, Policy]]:
        return [(f"acct:{username.lower()}", ACCOUNT), (f"addr:{address}", ADDRESS)]

    def wait_s(self, username: str, address: str, now: float) -> int:
        """Whole seconds until a login for this account from this address may be tried (0: now)."""
        wait = max(self.store.locked_for(key, now, policy) for key, policy in self._keys(username, address))
        return math.ceil(wait)

    def failed(self, username: str, address: str, now: float) -> None:
        for key, policy in self._keys(username, address):
            self.store.fail(key, now, policy)

    def succeeded(self, username: str) -> None:
        self.store.reset(f"acct:{username.lower()}")

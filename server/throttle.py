"""Login throttling: failed logins per account and per address, with a backoff that always ends.

Each key (`acct:<username>`, `addr:<address>`) counts its failed logins. The first `free` failures cost
nothing; each later one locks the key for `base_s` doubled per further failure, at most `max_s`. While a
key is locked a login is refused without checking the password and without counting, so no number of
attempts makes a lock longer than `max_s`: the right password always gets in once the backoff has passed
(and a success forgets the account's failures). Failures are forgotten after `forget_s` without one.

A try is counted as a failure when it is let through, in the same step as the check that lets it through
(one lock, or one Redis script), and given back when the password was right: tries sent at once cannot
all pass a check made before any of them had failed (60 parallel tries were all checked when the count
came after the password).

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

    def take(self, key: str, now: float, policy: Policy) -> float:
        """Seconds the key is locked for (nothing counted), or 0.0: the try is let through and counted."""
        with self._lock:
            failures, until, last = self._keys.pop(key, (0, 0.0, 0.0))
            if now - last > policy.forget_s:
                failures, until = 0, 0.0
            if until > now:  # refused while locked: not counted, so no lock grows past max_s
                self._keys[key] = (failures, until, last)
                return until - now
            failures += 1
            self._keys[key] = (failures, now + policy.lock_for(failures), now)
            while len(self._keys) > MAX_KEYS:
                self._keys.popitem(last=False)
            return 0.0

    def give_back(self, key: str, policy: Policy) -> None:
        """A try let through by `take` was no failure: uncount it (and the lock it may have set)."""
        with self._lock:
            found = self._keys.get(key)
            if found is not None:
                failures, _until, last = found
                failures = max(0, failures - 1)
                lock = policy.lock_for(failures)
                self._keys[key] = (failures, last + lock if lock else 0.0, last)

    def reset(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)


# One try, atomically: forgotten after forget_s; while locked refused and not counted (the lock's remaining
# milliseconds are answered), else counted with its lock (0 answered: let through).
_TAKE = """
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local forget = tonumber(ARGV[5])
local b = redis.call('HMGET', KEYS[1], 'n', 'until', 'last')
local n = tonumber(b[1]) or 0
local untl = tonumber(b[2]) or 0
local last = tonumber(b[3]) or 0
if now - last > forget then n = 0; untl = 0 end
if untl > now then return math.ceil((untl - now) * 1000) end
n = n + 1
local lock = 0
if n > free then lock = math.min(max, base * 2 ^ math.min(n - free - 1, 30)) end
redis.call('HSET', KEYS[1], 'n', n, 'until', string.format('%.3f', now + lock), 'last', string.format('%.3f', now))
redis.call('EXPIRE', KEYS[1], math.ceil(forget + max) + 1)
return 0
"""
# A try that was no failure, uncounted: its count one less, the lock that count gives from the last try.
_GIVE_BACK = """
local free = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'n', 'last')
if not b[1] then return 0 end
local n = math.max(0, tonumber(b[1]) - 1)
local last = tonumber(b[2]) or 0
local untl = 0
if n > free then untl = last + math.min(max, base * 2 ^ math.min(n - free - 1, 30)) end
redis.call('HSET', KEYS[1], 'n', n, 'until', string.format('%.3f', untl))
return n
"""


class RedisStore:
    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._take = client.register_script(_TAKE)
        self._give_back = client.register_script(_GIVE_BACK)
        self._warned_at = float("-inf")

    def _down(self, e: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 30:
            self._warned_at = now
            log.warning("login throttling not shared: Redis unreachable (%s)", e)

    def take(self, key: str, now: float, policy: Policy) -> float:
        args = [repr(now), policy.free, repr(policy.base_s), repr(policy.max_s), repr(policy.forget_s)]
        try:
            return int(self._take(keys=[self.prefix + key], args=args)) / 1000
        except Exception as e:  # noqa: BLE001 - fail open, like the rate limits
            self._down(e)
            return 0.0

    def give_back(self, key: str, policy: Policy) -> None:
        try:
            self._give_back(keys=[self.prefix + key], args=[policy.free, repr(policy.base_s), repr(policy.max_s)])
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

    def attempt(self, username: str, address: str, now: float) -> int:
        """0: this login may check its password now, and is counted as a failed one until `succeeded`;
        else whole seconds until this account may be tried from this address (nothing counted)."""
        taken: list[tuple[str, Policy]] = []
        for key, policy in self._keys(username, address):
            wait = self.store.take(key, now, policy)
            if wait > 0:
                for done, its in taken:  # the account's count taken for a try the address refuses
                    self.store.give_back(done, its)
                return max(1, math.ceil(wait))
            taken.append((key, policy))
        return 0

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: the account's failures are forgotten, the address's try given back."""
        self.store.reset(f"acct:{username.lower()}")
        self.store.give_back(f"addr:{address}", ADDRESS)

"""API clients: who is calling (by API key), what they may use, and their limits.

A request's key names one client (`ClientConfig`). Its ``rate`` is a token bucket kept by
this process: on a cluster every node keeps its own, so N nodes admit up to N x ``rate``
(approximate by design: a store round trip per request would cost more than the limit
protects). Its ``daily_quota`` is counted by the store in the transaction that inserts the
messages (`smppgate.store.Quota`): exact on every node sharing the store.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from smppgate.client.ratelimit import TokenBucket
from smppgate.service.config import ClientConfig, GatewayConfig
from smppgate.store import Quota

__all__ = [
    "AccountForbiddenError",
    "Clients",
    "QuotaExceededError",
    "RateLimitedError",
    "quota_day",
    "quota_for",
    "quota_resets_at",
]


class RateLimitedError(Exception):
    """The client made requests faster than its ``rate``; retry after ``retry_after`` s."""

    def __init__(self, client: str, rate: float, retry_after: float) -> None:
        super().__init__(
            f"client {client!r} may make {rate:g} requests per second; retry after "
            f"{retry_after:.3g} s"
        )
        self.client = client
        self.retry_after = retry_after


class QuotaExceededError(Exception):
    """The client's messages for today would exceed its ``daily_quota``; nothing was queued."""

    def __init__(self, client: str, limit: int, used: int, resets_at: float) -> None:
        reset = datetime.fromtimestamp(resets_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        super().__init__(
            f"client {client!r} may queue {limit} messages per UTC day and has queued {used} "
            f"today; the quota resets at {reset}"
        )
        self.client = client
        self.limit = limit
        self.used = used
        self.resets_at = resets_at


class AccountForbiddenError(Exception):
    """The client named an account it may not use (or none it may use is left)."""

    def __init__(self, client: str, account: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"client {client!r} may not send through account {account!r}; it may use: "
            f"{', '.join(allowed)}"
        )
        self.client = client
        self.account = account


def quota_day(now: float) -> str:
    """The UTC date a quota counts in (``2026-01-31``)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def quota_resets_at(now: float) -> float:
    """The next UTC midnight: when today's quota resets."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


def quota_for(client: ClientConfig | None, now: float) -> Quota | None:
    if client is None or client.daily_quota is None:
        return None
    return Quota(client.name, quota_day(now), client.daily_quota)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


class Clients:
    """The configured clients: the client of a key, and each client's request rate.

    Keys are compared as SHA-256 digests in constant time, every key each time (the time
    does not tell how much of a key was right, nor which client's it was)."""

    def __init__(
        self,
        config: GatewayConfig,
        clock: Callable[[], float],
        previous: Clients | None = None,
    ) -> None:
        """``previous``: the clients before a reload; a client whose rate and burst are
        unchanged keeps its bucket (a reload does not refill anyone's budget)."""
        self._clock = clock
        self.config = config
        self._all = config.api_clients
        self._keys = [(_digest(k), c) for c in self._all for k in c.api_keys]
        self._keyless = None if self._keys else next(iter(self._all), None)
        kept = {} if previous is None else previous._buckets
        self._buckets: dict[str, TokenBucket] = {}
        for c in self._all:
            if c.rate is None:
                continue
            old = kept.get(c.name)
            same = old is not None and (old.rate, old.burst) == (c.rate, c.burst)
            self._buckets[c.name] = old if same and old else TokenBucket(c.rate, c.burst, clock())

    @property
    def all(self) -> tuple[ClientConfig, ...]:
        return self._all

    @property
    def keyed(self) -> bool:
        """Must a request present a key?"""
        return bool(self._keys)

    def identify(self, presented: str | None) -> ClientConfig | None:
        """The client whose key this is; without keys configured, the default client (every
        caller of a key-less loopback API); None for a missing or unknown key."""
        if not self._keys:
            return self._keyless
        if presented is None:
            return None
        given = _digest(presented)
        found: ClientConfig | None = None
        for digest, client in self._keys:
            if hmac.compare_digest(given, digest):
                found = client
        return found

    def admit(self, client: ClientConfig) -> None:
        """Take one request from the client's bucket, or raise `RateLimitedError`."""
        bucket = self._buckets.get(client.name)
        if bucket is None:
            return
        wait = bucket.take(self._clock())
        if wait > 0:
            assert client.rate is not None
            raise RateLimitedError(client.name, client.rate, wait)

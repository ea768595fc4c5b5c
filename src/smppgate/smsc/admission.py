"""Who may bind: failed-bind slowdown and lockout per system_id and peer address (security;
the key is ``guard_key(system_id, address)``). Pure state, time as an argument. Every server
on this layer uses it: the emulator and the front door."""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple


class _Failures(NamedTuple):
    failures: int
    first: float
    locked_until: float


class BindGuard:
    """Counts failed binds per peer address within ``window`` seconds: from the
    ``delay_after``-th failure on, answers are slowed by ``delay`` per extra failure (capped at
    the lockout); from the ``lockout_after``-th on, the address is locked out for
    ``lockout`` seconds. A successful bind clears the address. At most ``limit`` addresses
    are remembered (oldest forgotten)."""

    def __init__(
        self,
        *,
        delay_after: int,
        delay: float,
        lockout_after: int,
        lockout: float,
        window: float,
        limit: int = 10_000,
    ) -> None:
        self.delay_after = delay_after
        self.delay = delay
        self.lockout_after = lockout_after
        self.lockout = lockout
        self.window = window
        self.limit = limit
        self._by_address: OrderedDict[str, _Failures] = OrderedDict()

    def locked(self, address: str, now: float) -> bool:
        failures = self._by_address.get(address)
        return failures is not None and now < failures.locked_until

    def answer_delay(self, address: str, now: float) -> float:
        """How long to hold the answer to a bind from ``address`` (after its failures)."""
        failures = self._current(address, now)
        if failures is None or failures.failures < self.delay_after:
            return 0.0
        return min(self.delay * (failures.failures - self.delay_after + 1), max(self.lockout, 0.0))

    def failed(self, address: str, now: float) -> bool:
        """Record a failed bind; returns True when the address just got locked out."""
        failures = self._current(address, now)
        count = 1 if failures is None else failures.failures + 1
        first = now if failures is None else failures.first
        locked_until = now + self.lockout if count >= self.lockout_after else 0.0
        self._by_address.pop(address, None)
        self._by_address[address] = _Failures(count, first, locked_until)
        if len(self._by_address) > self.limit:
            self._by_address.popitem(last=False)
        return locked_until > 0.0

    def succeeded(self, address: str) -> None:
        self._by_address.pop(address, None)

    def _current(self, address: str, now: float) -> _Failures | None:
        failures = self._by_address.get(address)
        if failures is None:
            return None
        if now < failures.locked_until:
            return failures
        if now - failures.first > self.window or failures.locked_until:
            # the window passed, or a served lockout: start afresh
            del self._by_address[address]
            return None
        return failures


def guard_key(system_id: str, address: str) -> str:
    """What failed binds are counted by: the system_id asked for, at the peer's address
    (guessing one account's password from an address does not lock other accounts out)."""
    return f"{system_id}@{address}"

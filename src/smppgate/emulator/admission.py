"""Who may bind and when: failed-bind slowdown and lockout per system_id and address
(security; the caller passes ``system_id@address`` as the key), and the
platform's reconnect waits per system_id and address (D-08, D-09). Pure state, time as an
argument."""

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


class ReconnectWatch:
    """Last session end per system_id and last failed attempt per system_id / address, to
    tell a client that came back too early (D-08: < 60 s after a drop; D-09: < 90 s after a
    failed attempt)."""

    def __init__(self, after_drop: float, after_failure: float, limit: int = 10_000) -> None:
        self.after_drop = after_drop
        self.after_failure = after_failure
        self.limit = limit
        self._drops: OrderedDict[str, float] = OrderedDict()
        self._failures: OrderedDict[str, float] = OrderedDict()

    def dropped(self, system_id: str, now: float) -> None:
        self._put(self._drops, system_id, now)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            self._put(self._failures, key, now)

    def check(self, system_id: str, address: str, now: float) -> list[tuple[str, str]]:
        """(rule, detail) for each wait this bind did not respect."""
        found: list[tuple[str, str]] = []
        dropped = self._drops.get(system_id)
        if dropped is not None and now - dropped < self.after_drop:
            found.append(
                (
                    "D-08",
                    f"bind {now - dropped:.1f} s after a session of {system_id!r} ended "
                    f"(wait at least {self.after_drop:.0f} s)",
                )
            )
        for key in (system_id, f"address:{address}"):
            failed = self._failures.get(key)
            if failed is not None and now - failed < self.after_failure:
                found.append(
                    (
                        "D-09",
                        f"attempt {now - failed:.1f} s after a failed attempt of {key!r} "
                        f"(wait at least {self.after_failure:.0f} s)",
                    )
                )
                break
        return found

    def _put(self, table: OrderedDict[str, float], key: str, now: float) -> None:
        table.pop(key, None)
        table[key] = now
        if len(table) > self.limit:
            table.popitem(last=False)

"""The platform's reconnect waits per system_id and address (D-08, D-09). Pure state, time as
an argument. (The failed-bind lockout every server has is ``smsc.admission.BindGuard``.)"""

from __future__ import annotations

from collections import OrderedDict


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

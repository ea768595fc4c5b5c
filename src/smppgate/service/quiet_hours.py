"""Quiet hours: the hours of the recipient's day a message may be sent in (``[[quiet_hours]]``).

A rule names what it covers (an account, a traffic class, a destination prefix: each optional)
and the window sending is allowed in, in the recipient's local time given as a fixed UTC
offset (``utc_offset = "+03:00"``: Moscow). The first rule that matches a message decides; a
message no rule matches may go at any hour. A message due outside its window is postponed to
the window's next opening instead of being sent (intake schedules it so; the dispatcher checks
again when it claims a message, so a backlog or a retry does not slip into the night).
Pure decisions, no I/O, no clock of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["QuietHours", "WindowError", "next_allowed", "parse_offset", "parse_window"]

_DAY = 86400
_MINUTE = 60


class WindowError(ValueError):
    """A window or offset that cannot be read; the message says what to write."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Sending allowed from ``start`` to ``end`` (seconds after local midnight; ``end`` before
    ``start`` is a window over midnight), local time being UTC + ``utc_offset`` seconds."""

    start: int
    end: int
    utc_offset: int = 0
    account: str | None = None
    traffic_class: str | None = None
    prefix: str | None = None

    def matches(self, account: str, traffic_class: str | None, destination: str) -> bool:
        return (
            (self.account is None or self.account == account)
            and (self.traffic_class is None or self.traffic_class == traffic_class)
            and (self.prefix is None or destination.startswith(self.prefix))
        )

    def opens_at(self, at: float) -> float | None:
        """None when sending is allowed at epoch ``at``; else the epoch the window next opens."""
        local = (at + self.utc_offset) % _DAY
        if _inside(local, self.start, self.end):
            return None
        wait = (self.start - local) % _DAY
        return at + wait

    def describe(self) -> str:
        covers = ", ".join(
            f"{name} {value}"
            for name, value in (
                ("account", self.account),
                ("class", self.traffic_class),
                ("prefix", self.prefix),
            )
            if value is not None
        )
        return (
            f"{covers or 'every message'}: sent {_hhmm(self.start)}-{_hhmm(self.end)} "
            f"UTC{_offset_text(self.utc_offset)}"
        )


def _inside(local: float, start: int, end: int) -> bool:
    if start < end:
        return start <= local < end
    return local >= start or local < end  # over midnight


def next_allowed(
    rules: Sequence[QuietHours],
    account: str,
    traffic_class: str | None,
    destination: str,
    at: float,
) -> float | None:
    """None when a message of ``account`` / ``traffic_class`` to ``destination`` may be sent
    at ``at``; else when its window opens (the first matching rule decides)."""
    for rule in rules:
        if rule.matches(account, traffic_class, destination):
            return rule.opens_at(at)
    return None


def parse_window(text: str) -> tuple[int, int]:
    """``"09:00-21:00"`` -> seconds after midnight of the start and the end."""
    start, sep, end = text.partition("-")
    if not sep:
        raise WindowError(f"a window is 'HH:MM-HH:MM' (e.g. '09:00-21:00'), got {text!r}")
    first, last = _clock_time(start.strip(), text), _clock_time(end.strip(), text)
    if first == last:
        raise WindowError(f"the window {text!r} is empty: its start and end are the same")
    return first, last


def _clock_time(value: str, text: str) -> int:
    hours, sep, minutes = value.partition(":")
    if not (sep and hours.isdecimal() and minutes.isdecimal() and len(minutes) == 2):
        raise WindowError(f"a window is 'HH:MM-HH:MM' (e.g. '09:00-21:00'), got {text!r}")
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return _DAY  # "21:00-24:00"
    if not (0 <= h < 24 and 0 <= m < 60):
        raise WindowError(f"{value!r} in {text!r} is not a time of day (00:00..24:00)")
    return h * 3600 + m * _MINUTE


def parse_offset(text: str) -> int:
    """``"+03:00"`` / ``"-05:30"`` / ``"Z"`` -> seconds east of UTC (-14:00..+14:00)."""
    if text in ("Z", "+00:00", "-00:00", "00:00"):
        return 0
    sign = {"+": 1, "-": -1}.get(text[:1])
    hours, sep, minutes = text[1:].partition(":")
    if sign is None or not (sep and len(hours) == 2 and hours.isdecimal()
                            and len(minutes) == 2 and minutes.isdecimal()):  # fmt: skip
        raise WindowError(f"a UTC offset is '+HH:MM' or '-HH:MM' (e.g. '+03:00'), got {text!r}")
    seconds = int(hours) * 3600 + int(minutes) * _MINUTE
    if seconds > 14 * 3600 or int(minutes) >= 60:
        raise WindowError(f"UTC offsets run from -14:00 to +14:00, got {text!r}")
    return sign * seconds


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // _MINUTE:02d}"


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{_hhmm(abs(seconds))}"

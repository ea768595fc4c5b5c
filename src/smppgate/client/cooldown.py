"""Reconnect cooldowns (platform rule 4, spec D-08/D-09): pure scheduling, no clock.

After a session drop, the next TCP connect of that session slot waits at least
``after_drop`` (60 s); after a failed attempt (connect refused or timed out, closed before
bind_resp, bind refused, bind timeout) at least ``after_failure`` (90 s), for every
consecutive failure. Jitter may only lengthen a wait: the random draw in [0, 1) scales an
extra ``jitter`` fraction on top of the minimum.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple


class AttemptEnd(Enum):
    """How the last connection of a slot ended, which decides the next wait."""

    NONE = "none"  # never tried: connect now
    DROPPED = "dropped"  # was bound, then the session ended (any reason)
    FAILED = "failed"  # connect or bind did not succeed


class CooldownPolicy(NamedTuple):
    after_drop: float
    after_failure: float
    jitter: float = 0.1

    def wait(self, end: AttemptEnd, draw: float = 0.0) -> float:
        """Seconds to wait after an end of this kind; ``draw`` in [0, 1) picks the jitter."""
        if end is AttemptEnd.NONE:
            return 0.0
        base = self.after_drop if end is AttemptEnd.DROPPED else self.after_failure
        return base * (1.0 + self.jitter * min(max(draw, 0.0), 1.0))

    def next_attempt_at(self, ended_at: float, end: AttemptEnd, draw: float = 0.0) -> float:
        """The earliest time the slot may open its next TCP connection."""
        return ended_at + self.wait(end, draw)

"""Which session takes the next submit (spec D-05, D-18): a pure function over plain state.

A session qualifies when it is bound in a mode that may submit, is not paused (throttling,
D-20) and has window room left after what is already queued for it. Among those, the one
with the most room wins (ties: the lowest slot index, for stable ordering), so a pool of
sessions fills evenly and a paused one is skipped without being forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Candidate(NamedTuple):
    """What routing needs to know about one session."""

    bound: bool
    can_submit: bool
    paused_until: float
    window_free: int
    queued: int

    @property
    def room(self) -> int:
        return self.window_free - self.queued


def select_session(candidates: Sequence[Candidate], now: float) -> int | None:
    """Index of the session to use, or None when none can take a request now."""
    best: int | None = None
    best_room = 0
    for i, c in enumerate(candidates):
        if not c.bound or not c.can_submit or c.paused_until > now:
            continue
        room = c.window_free - c.queued
        if room > best_room:
            best, best_room = i, room
    return best


def select_receiver(candidates: Sequence[Candidate]) -> int | None:
    """Any bound session, for operations that do not take window room from submits."""
    for i, c in enumerate(candidates):
        if c.bound and c.can_submit:
            return i
    return None

"""Which host a session slot connects to next (spec D-02): pure, unit-tested without a loop.

Hosts are ordered, primary first. A slot starts on the primary. After a failed attempt it
moves to the next host in order (wrapping), so when the primary is down the slot reaches a
backup on its next attempt, still after the failure cooldown. After a drop, or when the slot
is moved back on purpose, it starts from the primary again: the primary is always tried
first once it may be back. A slot that has stayed on a backup for ``primary_return_after``
seconds is moved back (one slot at a time, so the others keep the traffic flowing).
"""

from __future__ import annotations

from collections.abc import Sequence

from smppgate.client.cooldown import AttemptEnd


def next_host(host_count: int, last_host: int | None, last_end: AttemptEnd) -> int:
    """Index of the host for the next attempt."""
    if host_count < 1:
        raise ValueError("no hosts")
    if last_end is AttemptEnd.FAILED and last_host is not None:
        return (last_host + 1) % host_count
    return 0


def should_return_to_primary(
    host_index: int,
    bound_since: float,
    now: float,
    primary_return_after: float | None,
    others_returning: bool,
) -> bool:
    """Whether a slot bound to a backup should be closed so it reconnects to the primary."""
    if host_index == 0 or primary_return_after is None or others_returning:
        return False
    return now - bound_since >= primary_return_after


def slot_to_return(
    slots: Sequence[tuple[int, float | None]],
    now: float,
    primary_return_after: float | None,
) -> int | None:
    """Among slots given as (host_index, bound_since or None when not bound), the one to move
    back to the primary now, if any: the longest-bound backup slot, and never the last bound
    slot of the pool unless every slot is on a backup and more than one is bound."""
    if primary_return_after is None:
        return None
    bound = [(i, h, since) for i, (h, since) in enumerate(slots) if since is not None]
    candidates = [
        (since, i) for i, h, since in bound if h != 0 and now - since >= primary_return_after
    ]
    if not candidates:
        return None
    if len(bound) == 1 and len(slots) > 1:
        # the only bound slot keeps working while others are (re)connecting
        return None
    return min(candidates)[1]

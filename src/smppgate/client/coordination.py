"""Sharing an account's limits with other processes: the pool asks before it connects.

The platform's limits are per account, not per process: at most 4 sessions per system_id,
and the 60 s / 90 s reconnect cooldowns after a drop or a failed attempt. When several
gateway nodes share an account, the pool of each node asks a ``Coordinator`` (implemented by
the gateway over its shared database) before each connection attempt, and tells it how each
attempt ended. Without a coordinator the pool applies the rules to itself alone.
"""

from __future__ import annotations

from typing import Protocol

from smppgate.client.cooldown import AttemptEnd


class Coordinator(Protocol):
    async def admit(self, slot: int, host: str) -> float | None:
        """May pool slot ``slot`` connect to ``host`` now? None: yes (a cluster-wide session
        slot is now held for it); a number: ask again after that many seconds."""
        ...

    async def ended(self, slot: int, host: str, end: AttemptEnd) -> None:
        """The slot's attempt failed or its session ended: give the cluster-wide slot back and
        start the cooldown for every node."""
        ...

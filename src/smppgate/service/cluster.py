"""The account's limits kept cluster-wide through the shared store (issue 7).

Every node's pool asks ``ClusterCoordinator.admit`` before it connects: the reconnect cooldown
of that (account, host) must be over for *every* node (60 s after any node's session dropped,
90 s after any node's failed attempt), and the node must hold one of the account's session
slots (at most the configured number per system_id, at most 4: the platform's limit), leased
in the database so that a node that dies gives its slots back when the lease runs out.

A node that dies cannot record that its sessions dropped. Its slots tell it instead: a slot
whose lease ran out without being released belonged to a node that stopped renewing, and its
session ended at the latest when the lease did. Before such a slot is taken over, a drop at
that time is recorded for each of the account's hosts, so nobody binds within the drop
cooldown of the dead node's sessions ending (the platform counts those too).

The same holds across a restart of the node itself (issue 12): a graceful stop records the drop
of every session it still held in its own step of the shutdown order (``close``), after the
sessions unbound; a node that crashed is recognised at its next start (``recover_at_start``):
every slot of a SQLite store (one process owns it), and on PostgreSQL the slots of its own
``node_id`` or of a process of this host that no longer runs. Such a session ended at the
latest when its lease ran out or at this start, whichever came first, and the drop is recorded
at that time: the last renewal is only a lower bound of the real end, and counting from it
could let the next bind come less than 60 s after the crash closed the connection.

Slots are first come, first served. So that the nodes of a cluster started together share
them (rather than the first one up taking all four), a node that holds a slot takes its next
one only ``spread`` seconds after it took the last one; a node holding none asks at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable

from smppgate.client.cooldown import AttemptEnd
from smppgate.service.config import AccountConfig
from smppgate.store import DropKind, Store

log = logging.getLogger("smppgate.cluster")

#: how long a node waits before asking again for a session slot all others hold
SLOT_RETRY = 5.0
#: seconds between two slots taken by one node of a cluster (see the module docstring)
SPREAD = 3.0


class ClusterCoordinator:
    """One account's admission on one node (the client's ``Coordinator`` protocol)."""

    def __init__(
        self,
        store: Store,
        account: AccountConfig,
        node_id: str,
        clock: Callable[[], float],
        *,
        lease_seconds: float = 30.0,
        drop_cooldown: float | None = None,
        failure_cooldown: float | None = None,
        spread: float = 0.0,
    ) -> None:
        self.store = store
        self.account = account
        self.node_id = node_id
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_slots = min(len(account.sessions), account.profile.max_sessions)
        self.drop_cooldown = drop_cooldown
        self.failure_cooldown = failure_cooldown
        self.spread = spread
        self.held: dict[int, int] = {}  # pool slot -> cluster slot
        self._held_host: dict[int, str] = {}  # pool slot -> the host it was admitted to
        self._last_taken: float | None = None
        # the pool's slots ask concurrently: one question at a time, so that the spread holds
        self._asking = asyncio.Lock()

    @property
    def hosts(self) -> list[str]:
        return [str(h) for h in self.account.hosts or self.account.profile.hosts]

    async def admit(self, slot: int, host: str) -> float | None:
        if slot in self.held:
            return await self._cooling(slot, host, self.clock())
        async with self._asking:
            return await self._take(slot, host)

    async def _take(self, slot: int, host: str) -> float | None:
        now = self.clock()
        if self.held and self._last_taken is not None and now < self._last_taken + self.spread:
            return self._last_taken + self.spread - now
        await self._expired_slots_dropped(now)
        wait = await self._cooling(slot, host, now)
        if wait is not None:
            return wait
        cluster_slot = await self.store.acquire_session_slot(
            self.account.system_id, self.max_slots, self.node_id, now, self.lease_seconds
        )
        if cluster_slot is None:
            return SLOT_RETRY
        self.held[slot] = cluster_slot
        self._held_host[slot] = host
        self._last_taken = now
        return None

    async def _cooling(self, slot: int, host: str, now: float) -> float | None:
        allowed_at = await self.store.next_connect_allowed(self.account.name, host)
        if allowed_at is None or allowed_at <= now:
            return None
        log.info(
            "%s slot %d: not connecting to %s for %.0f s more: the platform's wait after a "
            "session of the account ended or an attempt failed (kept in the store, so it holds "
            "across restarts and nodes)",
            self.account.name,
            slot,
            host,
            allowed_at - now,
        )
        return allowed_at - now

    async def _expired_slots_dropped(self, now: float) -> None:
        """Record a drop for each slot left to expire (its node died or stalled): its session
        ended at the latest when the lease ran out. Idempotent: the same time each call."""
        rows = await self.store.list_session_slots(self.account.system_id, float("-inf"))
        ended = [r for r in rows if r.lease_until <= now]
        if not ended:
            return
        at = max(r.lease_until for r in ended)
        for host in self.hosts:
            allowed = await self.store.record_drop(
                self.account.name, host, at, DropKind.DROP, self.drop_cooldown
            )
            if allowed > now:
                log.warning(
                    "%s: session slot(s) %s of node(s) %s expired unreleased; %s cools down "
                    "until %.0f s from now",
                    self.account.name,
                    ",".join(str(r.slot) for r in ended),
                    ",".join(sorted({r.node_id for r in ended})),
                    host,
                    allowed - now,
                )

    async def ended(self, slot: int, host: str, end: AttemptEnd) -> None:
        now = self.clock()
        if end is AttemptEnd.FAILED:
            await self.store.record_drop(
                self.account.name, host, now, DropKind.FAILED, self.failure_cooldown
            )
        else:
            await self.store.record_drop(
                self.account.name, host, now, DropKind.DROP, self.drop_cooldown
            )
        cluster_slot = self.held.pop(slot, None)
        self._held_host.pop(slot, None)
        if cluster_slot is not None:
            await self.store.release_session_slot(
                self.account.system_id, cluster_slot, self.node_id
            )

    async def recover_at_start(self, now: float, *, every_slot: bool) -> float | None:
        """Before this node's pool starts: the sessions a previous run left open ended (it
        crashed, or its stop could not record them); record their drop and free their slots.
        ``every_slot``: every slot left is a dead process's (SQLite: one process per store);
        otherwise only those of this ``node_id`` and of this host's processes that are gone.
        Returns when connecting is allowed again (None: no such session)."""
        rows = await self.store.list_session_slots(self.account.system_id, float("-inf"))
        dead = [r for r in rows if every_slot or self._gone(r.node_id)]
        if not dead:
            return None
        # the latest any of them can have ended: its lease's end, or now (the process is gone)
        ended = max(min(r.lease_until, now) for r in dead)
        allowed = ended
        for host in self.hosts:
            allowed = max(
                allowed,
                await self.store.record_drop(
                    self.account.name, host, ended, DropKind.DROP, self.drop_cooldown
                ),
            )
        for r in dead:
            await self.store.release_session_slot(r.system_id, r.slot, r.node_id)
        if allowed > now:
            log.warning(
                "%s: %d session(s) of a previous run (%s) ended without a recorded drop, at the "
                "latest %.0f s ago; the platform asks for %.0f s between a session's end and the "
                "next connect: not binding for %.0f s",
                self.account.name,
                len(dead),
                ",".join(sorted({r.node_id for r in dead})),
                now - ended,
                allowed - ended,
                allowed - now,
            )
        return allowed

    def _gone(self, node_id: str) -> bool:
        return node_id == self.node_id or process_gone(node_id)

    async def close(self) -> None:
        """The node stops, after its pool closed (every session ended): record the drop of
        each session whose end the pool could not record (its task was cancelled while closing)
        and give the slots back. Its own step of the shutdown order, never cancelled."""
        now = self.clock()
        for slot, cluster_slot in list(self.held.items()):
            host = self._held_host.pop(slot, None)
            for target in [host] if host is not None else self.hosts:
                await self.store.record_drop(
                    self.account.name, target, now, DropKind.DROP, self.drop_cooldown
                )
            self.held.pop(slot, None)
            await self.store.release_session_slot(
                self.account.system_id, cluster_slot, self.node_id
            )

    async def renew(self) -> list[int]:
        """Keep this node's slots leased; returns the pool slots whose lease was lost (another
        node may hold that cluster slot now): their sessions must end, or the account would
        have more sessions than the platform allows. The lost slots are forgotten here, so
        their end releases nothing."""
        now = self.clock()
        lost: list[int] = []
        for slot, cluster_slot in list(self.held.items()):
            ok = await self.store.renew_session_slot(
                self.account.system_id, cluster_slot, self.node_id, now, self.lease_seconds
            )
            if not ok and self.held.get(slot) == cluster_slot:
                # (unless the slot ended and took another cluster slot during the await)
                log.warning(
                    "%s: lease of session slot %d was lost; ending its session",
                    self.account.name,
                    cluster_slot,
                )
                self.held.pop(slot, None)
                self._held_host.pop(slot, None)
                lost.append(slot)
        return lost


def process_gone(node_id: str) -> bool:
    """Whether ``node_id`` names a process of this host that exited (the default node_id is
    host-pid): what it held (session slots, message leases) is a dead process's. Any other
    node is not known to be gone: its leases end when they run out."""
    host, _, pid = node_id.rpartition("-")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False  # a process runs with that pid (or none can): not known to be gone
    return False

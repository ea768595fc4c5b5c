"""The account's limits kept cluster-wide through the shared store (issue 7).

Every node's pool asks ``ClusterCoordinator.admit`` before it connects: the reconnect cooldown
of that (account, host) must be over for *every* node (60 s after any node's session dropped,
90 s after any node's failed attempt), and the node must hold one of the account's session
slots (at most the configured number per system_id, at most 4: the platform's limit), leased
in the database so that a node that dies gives its slots back when the lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from smppgate.client.cooldown import AttemptEnd
from smppgate.service.config import AccountConfig
from smppgate.store import DropKind, Store

log = logging.getLogger("smppgate.cluster")

#: how long a node waits before asking again for a session slot all others hold
SLOT_RETRY = 5.0


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
    ) -> None:
        self.store = store
        self.account = account
        self.node_id = node_id
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_slots = min(len(account.sessions), account.profile.max_sessions)
        self.drop_cooldown = drop_cooldown
        self.failure_cooldown = failure_cooldown
        self.held: dict[int, int] = {}  # pool slot -> cluster slot

    async def admit(self, slot: int, host: str) -> float | None:
        now = self.clock()
        allowed_at = await self.store.next_connect_allowed(self.account.name, host)
        if allowed_at is not None and allowed_at > now:
            log.info(
                "%s slot %d: %s cools down for %.0f s more (cluster-wide)",
                self.account.name,
                slot,
                host,
                allowed_at - now,
            )
            return allowed_at - now
        if slot not in self.held:
            cluster_slot = await self.store.acquire_session_slot(
                self.account.system_id, self.max_slots, self.node_id, now, self.lease_seconds
            )
            if cluster_slot is None:
                return SLOT_RETRY
            self.held[slot] = cluster_slot
        return None

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
        if cluster_slot is not None:
            await self.store.release_session_slot(
                self.account.system_id, cluster_slot, self.node_id
            )

    async def renew(self) -> None:
        """Keep this node's slots leased; a slot whose lease was lost is forgotten (the
        session keeps running until it ends; the next attempt asks again)."""
        now = self.clock()
        for slot, cluster_slot in list(self.held.items()):
            ok = await self.store.renew_session_slot(
                self.account.system_id, cluster_slot, self.node_id, now, self.lease_seconds
            )
            if not ok:
                log.warning(
                    "%s: lease of session slot %d was lost", self.account.name, cluster_slot
                )
                self.held.pop(slot, None)

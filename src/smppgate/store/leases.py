"""Message leases: who holds them (for a starting node to tell which holders are gone).

A node that starts recovers at once every lease of a holder known not to run: its own
node_id (its previous run) and, by the same host-pid rule as the session slots
(``service.cluster.process_gone``), a process of its host that exited
(``recover_expired_leases(gone=)``). Leases of other nodes are recovered by whoever sees them
run out.
"""

from __future__ import annotations

from smppgate.store.backend import Connection
from smppgate.store.base import StoreBase


class LeaseReads(StoreBase):
    async def lease_holders(self) -> list[str]:
        async def fetch(conn: Connection) -> list[str]:
            rows = await conn.fetch(
                "SELECT DISTINCT leased_by FROM messages WHERE state = 'sending'"
                " AND leased_by IS NOT NULL ORDER BY leased_by"
            )
            return [str(row["leased_by"]) for row in rows]

        return await self._backend.run(fetch, write=False)

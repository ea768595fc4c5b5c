"""The cluster's shared ground: session slots (how many sessions of one system_id the nodes
hold together, each a lease) and connect cooldowns (the platform's wait after a drop or a
failed connect, per account and host, whichever node saw it)."""

from __future__ import annotations

from smppgate.store.backend import Connection
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite
from smppgate.store.models import COOLDOWN_SECONDS, DropKind, SessionSlot


class ClusterStore(StoreBase):
    async def acquire_session_slot(
        self, system_id: str, max_slots: int, node_id: str, now: float, lease_seconds: float
    ) -> int | None:
        require_finite(now=now, lease_seconds=lease_seconds)

        async def acquire(conn: Connection) -> int | None:
            await conn.lock(f"smppgate.slots:{system_id}")
            for slot in range(max_slots):
                row = await conn.fetchrow(
                    "INSERT INTO session_slots (system_id, slot, node_id, lease_until)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (system_id, slot) DO UPDATE"
                    " SET node_id = excluded.node_id, lease_until = excluded.lease_until"
                    " WHERE session_slots.lease_until <= ? RETURNING slot",
                    system_id,
                    slot,
                    node_id,
                    now + lease_seconds,
                    now,
                )
                if row is not None:
                    return slot
            return None

        return await self._backend.run(acquire)

    async def renew_session_slot(
        self, system_id: str, slot: int, node_id: str, now: float, lease_seconds: float
    ) -> bool:
        """Extend a slot this node holds; False if it was lost (expired and taken by another
        node, or released): the session on it must unbind."""
        require_finite(now=now, lease_seconds=lease_seconds)

        async def renew(conn: Connection) -> bool:
            row = await conn.fetchrow(
                "UPDATE session_slots SET lease_until = ? WHERE system_id = ? AND slot = ?"
                " AND node_id = ? RETURNING slot",
                now + lease_seconds,
                system_id,
                slot,
                node_id,
            )
            return row is not None

        return await self._backend.run(renew)

    async def release_session_slot(self, system_id: str, slot: int, node_id: str) -> None:
        async def release(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM session_slots WHERE system_id = ? AND slot = ? AND node_id = ?",
                system_id,
                slot,
                node_id,
            )

        await self._backend.run(release)

    async def release_node_slots(self, node_id: str) -> int:
        async def release(conn: Connection) -> int:
            rows = await conn.fetch(
                "DELETE FROM session_slots WHERE node_id = ? RETURNING slot", node_id
            )
            return len(rows)

        return await self._backend.run(release)

    async def list_session_slots(self, system_id: str, now: float) -> list[SessionSlot]:
        async def fetch(conn: Connection) -> list[SessionSlot]:
            rows = await conn.fetch(
                "SELECT * FROM session_slots WHERE system_id = ? AND lease_until > ? ORDER BY slot",
                system_id,
                now,
            )
            return [
                SessionSlot(r["system_id"], int(r["slot"]), r["node_id"], float(r["lease_until"]))
                for r in rows
            ]

        return await self._backend.run(fetch, write=False)

    async def record_drop(
        self, account: str, host: str, at: float, kind: DropKind, cooldown: float | None = None
    ) -> float:
        """Record a dropped session or a failed connect; return when connecting is allowed
        again (`cooldown` overrides the platform's 60 s / 90 s). A later, shorter cooldown
        never shortens one already running."""
        require_finite(at=at, cooldown=cooldown)
        allowed = at + (COOLDOWN_SECONDS[kind] if cooldown is None else cooldown)

        async def record(conn: Connection) -> float:
            row = await conn.fetchrow(
                "INSERT INTO connect_cooldowns (account, host, kind, happened_at, allowed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, host) DO UPDATE"
                " SET kind = excluded.kind, happened_at = excluded.happened_at,"
                " allowed_at = CASE WHEN excluded.allowed_at > connect_cooldowns.allowed_at"
                " THEN excluded.allowed_at ELSE connect_cooldowns.allowed_at END"
                " RETURNING allowed_at",
                account,
                host,
                kind.value,
                at,
                allowed,
            )
            assert row is not None
            return float(row["allowed_at"])

        return await self._backend.run(record)

    async def next_connect_allowed(self, account: str, host: str) -> float | None:
        async def fetch(conn: Connection) -> float | None:
            row = await conn.fetchrow(
                "SELECT allowed_at FROM connect_cooldowns WHERE account = ? AND host = ?",
                account,
                host,
            )
            return None if row is None else float(row["allowed_at"])

        return await self._backend.run(fetch, write=False)

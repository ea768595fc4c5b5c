# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""MO and USSD routed to an SMPP front door application: its outbox (``smpp_mo_outbox``).

A row is written in the transaction that records the inbound message (`route`), so a crash
between the two cannot lose one, and deleted once the application answered its deliver_sm
(`done`). The inbound message itself stays where the HTTP API lists it. Functions over one
open `Connection`, and `SmppMoStore`, the store's part that runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smppgate.store.backend import Connection, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite
from smppgate.store.models import InboundMessage
from smppgate.store.rows import chunks, read_inbound


@dataclass(frozen=True, slots=True)
class SmppMo:
    """An MO (or USSD) message waiting in the outbox of the application ``system_id``."""

    id: int
    system_id: str
    inbound: InboundMessage


async def route(conn: Connection, inbound_id: int, system_id: str, now: float) -> None:
    await conn.execute(
        "INSERT INTO smpp_mo_outbox (system_id, inbound_id, created_at) VALUES (?, ?, ?)",
        system_id,
        inbound_id,
        now,
    )


async def pending(conn: Connection, system_id: str, limit: int) -> list[SmppMo]:
    """The oldest ``limit`` rows of ``system_id``'s outbox, with their inbound messages."""
    rows = await conn.fetch(
        "SELECT o.id AS outbox_id, o.system_id, i.* FROM smpp_mo_outbox o"
        " JOIN inbound i ON i.id = o.inbound_id WHERE o.system_id = ? ORDER BY o.id LIMIT ?",
        system_id,
        limit,
    )
    return [SmppMo(int(r["outbox_id"]), r["system_id"], read_inbound(r)) for r in rows]


async def done(conn: Connection, ids: Sequence[int]) -> None:
    if ids:
        await conn.execute(
            f"DELETE FROM smpp_mo_outbox WHERE id IN ({placeholders(len(ids))})", *ids
        )


async def expire(conn: Connection, before: float) -> int:
    rows = await conn.fetch("DELETE FROM smpp_mo_outbox WHERE created_at < ? RETURNING id", before)
    return len(rows)


async def backlog(conn: Connection) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT system_id, COUNT(*) AS n FROM smpp_mo_outbox GROUP BY system_id"
    )
    return {str(r["system_id"]): int(r["n"]) for r in rows}


class SmppMoStore(StoreBase):
    async def smpp_mo_outbox(self, system_id: str, *, limit: int = 100) -> list[SmppMo]:
        async def fetch(conn: Connection) -> list[SmppMo]:
            return await pending(conn, system_id, limit)

        return await self._backend.run(fetch, write=False)

    async def smpp_mo_done(self, ids: Sequence[int]) -> None:
        async def run(conn: Connection) -> None:
            for chunk in chunks(sorted(ids)):
                await done(conn, chunk)

        await self._backend.run(run)

    async def smpp_mo_expire(self, before: float) -> int:
        require_finite(before=before)

        async def run(conn: Connection) -> int:
            return await expire(conn, before)

        return await self._backend.run(run)

    async def smpp_mo_backlog(self) -> dict[str, int]:
        return await self._backend.run(backlog, write=False)

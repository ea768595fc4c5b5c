# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""The SMPP front door's side of the store ([smpp-server.md](../../../docs/smpp-server.md)):
the receipts waiting for the application that submitted a message (`smpp_outbox`, written by
triggers when a message with an origin reaches a final state) and its messages by id."""

from __future__ import annotations

from collections.abc import Sequence

from smppgate.store.backend import Connection, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite
from smppgate.store.models import ReceiptState, SmppReceipt, StoredMessage
from smppgate.store.rows import chunks, load_messages
from smppgate.store.smpp_parts import part_id


class SmppOutboxStore(StoreBase):
    async def smpp_outbox(
        self, system_id: str, *, after_id: int = 0, limit: int = 100
    ) -> list[SmppReceipt]:
        async def fetch(conn: Connection) -> list[SmppReceipt]:
            rows = await conn.fetch(
                "SELECT o.id, o.system_id, o.message_id, o.seq, g.split, o.state, o.error_code,"
                " o.done_at, m.created_at, m.source, m.destination, m.text"
                " FROM smpp_outbox o JOIN messages m ON m.id = o.message_id"
                " LEFT JOIN smpp_origins g ON g.message_id = o.message_id"
                " WHERE o.system_id = ? AND o.id > ? ORDER BY o.id LIMIT ?",
                system_id,
                after_id,
                limit,
            )
            return [
                SmppReceipt(
                    id=int(r["id"]),
                    system_id=r["system_id"],
                    message_id=(
                        part_id(r["message_id"], int(r["seq"])) if r["split"] else r["message_id"]
                    ),
                    state=ReceiptState(r["state"]),
                    error_code=r["error_code"],
                    done_at=float(r["done_at"]),
                    submitted_at=float(r["created_at"]),
                    source=r["source"],
                    destination=r["destination"],
                    text=r["text"],
                )
                for r in rows
            ]

        return await self._backend.run(fetch)

    async def smpp_message(self, system_id: str, message_id: str) -> StoredMessage | None:
        async def get(conn: Connection) -> StoredMessage | None:
            row = await conn.fetchrow(
                "SELECT message_id FROM smpp_origins WHERE message_id = ? AND system_id = ?",
                message_id,
                system_id,
            )
            if row is None:
                return None
            found = await load_messages(conn, [message_id])
            return found[0] if found else None

        return await self._backend.run(get)

    async def smpp_outbox_done(self, ids: Sequence[int]) -> None:
        if not ids:
            return

        async def done(conn: Connection) -> None:
            for chunk in chunks(sorted(ids)):
                await conn.execute(
                    f"DELETE FROM smpp_outbox WHERE id IN ({placeholders(len(chunk))})", *chunk
                )

        await self._backend.run(done)

    async def smpp_outbox_expire(self, before: float) -> int:
        require_finite(before=before)

        async def expire(conn: Connection) -> int:
            row = await conn.fetchrow(
                "SELECT COUNT(*) AS n FROM smpp_outbox WHERE created_at < ?", before
            )
            await conn.execute("DELETE FROM smpp_outbox WHERE created_at < ?", before)
            return int(row["n"]) if row is not None else 0

        return await self._backend.run(expire)

    async def smpp_outbox_backlog(self) -> dict[str, int]:
        async def count(conn: Connection) -> dict[str, int]:
            rows = await conn.fetch(
                "SELECT system_id, COUNT(*) AS n FROM smpp_outbox GROUP BY system_id"
            )
            return {r["system_id"]: int(r["n"]) for r in rows}

        return await self._backend.run(count)

# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Parts an application split itself, held until their set is complete (the SMPP front door).

A part is committed here before its submit_sm_resp. Its id is the id of the message its set
will become, a dash and its seq (`part_id`): the first part of a set draws the message id, the
others find it in the held rows. A set is one (system_id, set_key): the front door's key holds
the application's sender, destination, reference and part count, so two applications (or one
reusing a reference for another destination) never share a set.

Once every part is held, the service builds the message (the reference rewritten: see
``service/smpp_parts.py``) and `take` deletes the held rows in the transaction that inserts
it; `take` returning False means another transaction (node) got the set first. Functions over
one open `Connection`, and `SmppPartsStore`, the store's part that runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smppgate.store import blocklist
from smppgate.store.backend import Connection, Row, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite
from smppgate.store.ids import new_message_id
from smppgate.store.intake import insert_prepared
from smppgate.store.models import MessageState, NewMessage, PartStatus

#: what last_status_name says of a set given up incomplete
INCOMPLETE_SET = "incomplete_set"


@dataclass(frozen=True, slots=True)
class NewHeldPart:
    """One part as the application sent it: its text ``octets`` without UDH (or SAR TLVs)."""

    system_id: str
    set_key: str
    seq: int
    total: int
    method: str
    """``udh`` or ``sar``: how the set goes upstream (a 7-octet UDH becomes a 6-octet one)."""
    account: str
    source: str
    destination: str
    data_coding: int
    octets: bytes
    validity_seconds: int | None
    priority: int
    not_before: float | None
    registered_delivery: int


@dataclass(frozen=True, slots=True)
class HeldPart:
    part: NewHeldPart
    message_id: str
    received_at: float

    @property
    def id(self) -> str:
        return part_id(self.message_id, self.part.seq)


@dataclass(frozen=True, slots=True)
class HeldSet:
    """The parts of one set held so far, by seq."""

    message_id: str
    total: int
    parts: tuple[HeldPart, ...]

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.total

    @property
    def first(self) -> NewHeldPart:
        return self.parts[0].part


def part_id(message_id: str, seq: int) -> str:
    """The id an application holds for part ``seq`` of the message ``message_id``."""
    return f"{message_id}-{seq}"


def parse_part_id(value: str) -> tuple[str, int] | None:
    """(message id, seq) of a part id; None for a whole message's id (ids have no dash)."""
    message_id, dash, seq = value.rpartition("-")
    if not dash or not message_id or not seq.isdecimal() or len(seq) > 3:
        return None
    return message_id, int(seq)


async def hold(
    conn: Connection, parts: Sequence[NewHeldPart], now: float
) -> tuple[list[str], list[HeldSet]]:
    """Hold ``parts``; return each one's id and the sets they made complete. A part whose seq
    is held already (the application sent it again, e.g. its answer was lost) keeps the first
    copy and gets the same id."""
    ids: list[str] = []
    sets: dict[tuple[str, str], str] = {}
    for part in parts:
        key = (part.system_id, part.set_key)
        message_id = sets.get(key)
        if message_id is None:
            row = await conn.fetchrow(
                "SELECT message_id FROM smpp_held_parts WHERE system_id = ? AND set_key = ?"
                " LIMIT 1",
                *key,
            )
            message_id = new_message_id(now) if row is None else str(row["message_id"])
            sets[key] = message_id
        await conn.execute(
            "INSERT INTO smpp_held_parts (system_id, set_key, seq, total, method, account,"
            " source, destination, data_coding, octets, validity_seconds, priority, not_before,"
            f" registered_delivery, message_id, received_at) VALUES ({placeholders(16)})"
            " ON CONFLICT DO NOTHING",
            part.system_id,
            part.set_key,
            part.seq,
            part.total,
            part.method,
            part.account,
            part.source,
            part.destination,
            part.data_coding,
            part.octets,
            part.validity_seconds,
            part.priority,
            part.not_before,
            part.registered_delivery,
            message_id,
            now,
        )
        ids.append(part_id(message_id, part.seq))
    complete = [s for s in await held_sets(conn, list(sets.values())) if s.complete]
    return ids, complete


async def held_sets(conn: Connection, message_ids: Sequence[str]) -> list[HeldSet]:
    """The held sets of these message ids."""
    if not message_ids:
        return []
    rows = await conn.fetch(
        "SELECT * FROM smpp_held_parts"
        f" WHERE message_id IN ({placeholders(len(message_ids))}) ORDER BY message_id, seq",
        *message_ids,
    )
    return _sets(rows)


async def due_sets(conn: Connection, received_before: float, limit: int) -> list[HeldSet]:
    """Every complete set, and the sets whose first part came before ``received_before``."""
    rows = await conn.fetch(
        "SELECT message_id FROM smpp_held_parts GROUP BY message_id"
        " HAVING COUNT(*) = MAX(total) OR MIN(received_at) < ? ORDER BY message_id LIMIT ?",
        received_before,
        limit,
    )
    return await held_sets(conn, [str(r["message_id"]) for r in rows])


async def take(conn: Connection, held: HeldSet) -> bool:
    """Delete the held rows of ``held``; False (nothing deleted) when they are not all there
    any more: another transaction took the set."""
    rows = await conn.fetch(
        "DELETE FROM smpp_held_parts WHERE message_id = ? RETURNING seq", held.message_id
    )
    return sorted(int(r["seq"]) for r in rows) == [p.part.seq for p in held.parts]


async def reject(conn: Connection, message_id: str, now: float) -> None:
    """The set ``message_id`` (inserted in this transaction) was given up incomplete: final at
    once, so that the outbox's trigger writes a receipt for each of its parts."""
    await conn.execute(
        "UPDATE parts SET status = ? WHERE message_id = ?",
        PartStatus.REJECTED.value,
        message_id,
    )
    await conn.execute(
        "UPDATE messages SET state = ?, updated_at = ?, last_status_name = ? WHERE id = ?",
        MessageState.REJECTED.value,
        now,
        INCOMPLETE_SET,
        message_id,
    )


async def held_seqs(conn: Connection, system_id: str, message_id: str) -> list[int]:
    """The seqs held of the set ``message_id`` of the application ``system_id``."""
    rows = await conn.fetch(
        "SELECT seq FROM smpp_held_parts WHERE message_id = ? AND system_id = ? ORDER BY seq",
        message_id,
        system_id,
    )
    return [int(r["seq"]) for r in rows]


async def count_held(conn: Connection) -> dict[str, int]:
    """Parts held, per application."""
    rows = await conn.fetch(
        "SELECT system_id, COUNT(*) AS n FROM smpp_held_parts GROUP BY system_id"
    )
    return {str(r["system_id"]): int(r["n"]) for r in rows}


def _sets(rows: Sequence[Row]) -> list[HeldSet]:
    grouped: dict[str, list[HeldPart]] = {}
    totals: dict[str, int] = {}
    for r in rows:
        part = NewHeldPart(
            system_id=r["system_id"],
            set_key=r["set_key"],
            seq=int(r["seq"]),
            total=int(r["total"]),
            method=r["method"],
            account=r["account"],
            source=r["source"],
            destination=r["destination"],
            data_coding=int(r["data_coding"]),
            octets=bytes(r["octets"]),
            validity_seconds=None if r["validity_seconds"] is None else int(r["validity_seconds"]),
            priority=int(r["priority"]),
            not_before=None if r["not_before"] is None else float(r["not_before"]),
            registered_delivery=int(r["registered_delivery"]),
        )
        message_id = str(r["message_id"])
        grouped.setdefault(message_id, []).append(
            HeldPart(part, message_id, float(r["received_at"]))
        )
        totals[message_id] = part.total
    return [HeldSet(m, totals[m], tuple(parts)) for m, parts in grouped.items()]


class SmppPartsStore(StoreBase):
    async def smpp_hold_parts(
        self, parts: Sequence[NewHeldPart], now: float
    ) -> tuple[list[str], list[HeldSet]]:
        require_finite(now=now)

        async def run(conn: Connection) -> tuple[list[str], list[HeldSet]]:
            return await hold(conn, parts, now)

        return await self._backend.run(run, priority=True)

    async def smpp_due_sets(self, received_before: float, limit: int) -> list[HeldSet]:
        async def due(conn: Connection) -> list[HeldSet]:
            return await due_sets(conn, received_before, limit)

        return await self._backend.run(due, write=False)

    async def smpp_release_sets(
        self, sets: Sequence[tuple[HeldSet, NewMessage]], now: float
    ) -> list[str]:
        require_finite(now=now)

        async def release(conn: Connection) -> list[str]:
            released: list[str] = []
            for held, message in sets:
                assert message.id == held.message_id
                if not await take(conn, held):
                    continue
                results = await insert_prepared(
                    conn, self._dialect, [(message, held.message_id)], now, None
                )
                if not held.complete:
                    await reject(conn, held.message_id, now)
                else:  # its destination listed: `blocked`, a receipt for each part
                    await blocklist.blocked_at_insert(conn, self.notifier, results, now)
                released.append(held.message_id)
            return released

        return await self._backend.run(release)

    async def smpp_parts_held(self) -> dict[str, int]:
        return await self._backend.run(count_held, write=False)

    async def smpp_held_seqs(self, system_id: str, message_id: str) -> list[int]:
        async def seqs(conn: Connection) -> list[int]:
            return await held_seqs(conn, system_id, message_id)

        return await self._backend.run(seqs, write=False)

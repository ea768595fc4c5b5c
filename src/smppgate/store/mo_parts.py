# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""The parts of multi-part MO messages (D-25), stored before each part's deliver_sm_resp.

Kept in memory until their set completed, the parts already answered were lost with the
process: the SMSC does not send an answered part again. Here each part is committed first
(``add_parts``), and the transaction that stores a set's last part also writes the message,
reassembled from the stored parts, to ``inbound`` and marks the set completed: a crash
before that commit leaves the last part unanswered (the SMSC sends it again), after it the
message is there. Parts of one set may come through different sessions, on different nodes
(PostgreSQL): every part of a set takes the same lock first.

A set is the parts sharing (account, source, destination, reference, total) and one
``set_id``. As the in-memory ``text.Reassembler`` does: a part already in its set is ignored,
so is a part identical to one of a set completed less than the reassembly timeout ago (the
SMSC sent it again); another part with the same key starts a new set (the reference was
reused). ``expire`` hands sets still incomplete after the timeout over as partial, and forgets
completed sets after it.

Text decoding lives above the store: the caller passes ``assemble``, which turns a set into
the inbound record.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from smppgate.store.backend import Connection, Row, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite, require_finite_fields
from smppgate.store.inbound import insert_inbound
from smppgate.store.models import InboundMessage, NewInbound


@dataclass(frozen=True, slots=True)
class NewMoPart:
    """One received part of a multi-part MO (payload without the UDH)."""

    account: str
    source: str
    destination: str
    reference: int
    total: int
    seq: int
    payload: bytes
    data_coding: int
    service_type: str
    ussd_service_op: int | None
    its_session_info: bytes | None
    session: str
    received_at: float


@dataclass(frozen=True, slots=True)
class MoSet:
    """A set handed over: complete, or partial after the reassembly timeout. Its data coding,
    service type and USSD details are its first part's; ``session`` the last part's."""

    account: str
    source: str
    destination: str
    reference: int
    total: int
    segments: tuple[bytes | None, ...]
    """``segments[i]`` is part i + 1, None if it never came."""
    data_coding: int
    service_type: str
    ussd_service_op: int | None
    its_session_info: bytes | None
    session: str
    complete: bool


#: turns a set into its inbound record (the service's: decoding is not the store's business)
Assemble = Callable[[MoSet, float], NewInbound]
#: writes an inbound record in the caller's transaction (its webhook job with it)
InsertInbound = Callable[[Connection, NewInbound], Awaitable[InboundMessage]]


class MoPartStore(StoreBase):
    async def record_mo_parts(
        self, parts: Sequence[NewMoPart], reassembly_timeout: float, assemble: Assemble
    ) -> list[InboundMessage]:
        require_finite_fields(parts)
        require_finite(reassembly_timeout=reassembly_timeout)
        notifier, router = self.notifier, self.mo_router

        async def record(conn: Connection) -> list[InboundMessage]:
            return await add_parts(
                conn,
                parts,
                reassembly_timeout,
                assemble,
                lambda c, inbound: insert_inbound(c, inbound, notifier, router),
            )

        return await self._backend.run(record)

    async def expire_mo_parts(
        self, account: str, cutoff: float, now: float, assemble: Assemble
    ) -> list[InboundMessage]:
        require_finite(cutoff=cutoff, now=now)
        notifier, router = self.notifier, self.mo_router

        async def run(conn: Connection) -> list[InboundMessage]:
            return await expire(
                conn,
                account,
                cutoff,
                now,
                assemble,
                lambda c, inbound: insert_inbound(c, inbound, notifier, router),
            )

        return await self._backend.run(run)


_KEY = "account = ? AND source = ? AND destination = ? AND reference = ? AND total = ?"


def _lock_key(account: str, source: str, destination: str, reference: int, total: int) -> str:
    return f"mo\x1f{account}\x1f{source}\x1f{destination}\x1f{reference}\x1f{total}"


async def add_parts(
    conn: Connection,
    parts: Sequence[NewMoPart],
    reassembly_timeout: float,
    assemble: Assemble,
    insert_inbound: InsertInbound,
) -> list[InboundMessage]:
    """Store ``parts``; each set one of them completes is written to inbound (returned, in
    order) and marked completed, in this transaction."""
    await conn.lock_keys(
        {_lock_key(p.account, p.source, p.destination, p.reference, p.total) for p in parts}
    )
    done: list[InboundMessage] = []
    for part in parts:
        key = (part.account, part.source, part.destination, part.reference, part.total)
        rows = await conn.fetch(
            f"SELECT set_id, seq, payload, started_at, completed_at FROM mo_parts WHERE {_KEY}",
            *key,
        )
        pending: str | None = None
        started = part.received_at
        have: set[int] = set()
        duplicate = False
        for row in rows:
            completed = row["completed_at"]
            if completed is None:
                pending = str(row["set_id"])
                started = float(row["started_at"])
                have.add(int(row["seq"]))
            elif (
                completed > part.received_at - reassembly_timeout
                and int(row["seq"]) == part.seq
                and bytes(row["payload"]) == part.payload
            ):
                duplicate = True
        if duplicate or part.seq in have:
            continue  # the SMSC sent it again: answered, nothing new
        if pending is None:
            pending = secrets.token_hex(8)
        await conn.execute(
            "INSERT INTO mo_parts (set_id, account, source, destination, reference, total, seq,"
            " payload, data_coding, service_type, ussd_service_op, its_session_info, session,"
            " received_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            pending,
            *key,
            part.seq,
            part.payload,
            part.data_coding,
            part.service_type,
            part.ussd_service_op,
            part.its_session_info,
            part.session,
            part.received_at,
            started,
        )
        if len(have) + 1 < part.total:
            continue
        await conn.execute(
            "UPDATE mo_parts SET completed_at = ? WHERE set_id = ?", part.received_at, pending
        )
        mo_set = _set_of(await _set_rows(conn, pending), complete=True)
        done.append(await insert_inbound(conn, assemble(mo_set, part.received_at)))
    return done


async def expire(
    conn: Connection,
    account: str,
    cutoff: float,
    now: float,
    assemble: Assemble,
    insert_inbound: InsertInbound,
) -> list[InboundMessage]:
    """Sets of ``account`` begun at or before ``cutoff`` and still incomplete go to inbound
    as partial (returned) and are deleted; completed sets completed by then are forgotten."""
    keys = await conn.fetch(
        "SELECT DISTINCT source, destination, reference, total FROM mo_parts"
        " WHERE account = ? AND (completed_at IS NULL AND started_at <= ? OR completed_at <= ?)",
        account,
        cutoff,
        cutoff,
    )
    if not keys:
        return []
    await conn.lock_keys(
        {
            _lock_key(account, r["source"], r["destination"], int(r["reference"]), int(r["total"]))
            for r in keys
        }
    )
    await conn.execute(
        "DELETE FROM mo_parts WHERE account = ? AND completed_at <= ?", account, cutoff
    )
    ids = [
        str(row["set_id"])
        for row in await conn.fetch(
            "SELECT DISTINCT set_id FROM mo_parts WHERE account = ? AND completed_at IS NULL"
            " AND started_at <= ? ORDER BY set_id",
            account,
            cutoff,
        )
    ]
    done: list[InboundMessage] = []
    for set_id in ids:
        mo_set = _set_of(await _set_rows(conn, set_id), complete=False)
        done.append(await insert_inbound(conn, assemble(mo_set, now)))
    if ids:
        await conn.execute(f"DELETE FROM mo_parts WHERE set_id IN ({placeholders(len(ids))})", *ids)
    return done


async def _set_rows(conn: Connection, set_id: str) -> Sequence[Row]:
    return await conn.fetch(
        "SELECT * FROM mo_parts WHERE set_id = ? ORDER BY received_at, seq", set_id
    )


def _set_of(rows: Sequence[Row], *, complete: bool) -> MoSet:
    first, last = rows[0], rows[-1]
    total = int(first["total"])
    segments: list[bytes | None] = [None] * total
    for row in rows:
        segments[int(row["seq"]) - 1] = bytes(row["payload"])
    info = first["its_session_info"]
    return MoSet(
        account=first["account"],
        source=first["source"],
        destination=first["destination"],
        reference=int(first["reference"]),
        total=total,
        segments=tuple(segments),
        data_coding=int(first["data_coding"]),
        service_type=first["service_type"],
        ussd_service_op=first["ussd_service_op"],
        its_session_info=None if info is None else bytes(info),
        session=last["session"],
        complete=complete,
    )

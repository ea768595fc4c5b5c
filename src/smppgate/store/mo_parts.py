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

The sets in progress per account are capped (``max_sets``): a part that would start one more
first hands the account's oldest incomplete set over as partial (`MoSet.evicted`), as the
timeout would have later, in the same transaction. Nothing is refused — every part is stored
before its deliver_sm_resp, which is always 0 toward the platform — and nothing is lost: the
set given up is an inbound message with the parts that came. The sets to give up are chosen
before the transaction's one lock of every key it touches (no second lock, no deadlock), and
checked again under it; with several nodes adding sets at once the cap may be passed by a
set or two until the next one starts.

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
    #: handed over incomplete because the account's sets in progress reached their cap
    #: (``max_sets``), before the reassembly timeout
    evicted: bool = False


#: turns a set into its inbound record (the service's: decoding is not the store's business)
Assemble = Callable[[MoSet, float], NewInbound]
#: writes an inbound record in the caller's transaction (its webhook job with it)
InsertInbound = Callable[[Connection, NewInbound], Awaitable[InboundMessage]]


class MoPartStore(StoreBase):
    async def record_mo_parts(
        self,
        parts: Sequence[NewMoPart],
        reassembly_timeout: float,
        assemble: Assemble,
        max_sets: int | None = None,
    ) -> list[InboundMessage]:
        require_finite_fields(parts)
        require_finite(reassembly_timeout=reassembly_timeout)
        if max_sets is not None and max_sets < 1:
            raise ValueError(f"max_sets must be at least 1, not {max_sets}")
        notifier, router = self.notifier, self.mo_router

        async def record(conn: Connection) -> list[InboundMessage]:
            return await add_parts(
                conn,
                parts,
                reassembly_timeout,
                assemble,
                lambda c, inbound: insert_inbound(c, inbound, notifier, router),
                max_sets,
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
#: (account, source, destination, reference, total): what makes parts one set's
SetKey = tuple[str, str, str, int, int]


def _lock_key(account: str, source: str, destination: str, reference: int, total: int) -> str:
    return f"mo\x1f{account}\x1f{source}\x1f{destination}\x1f{reference}\x1f{total}"


async def add_parts(
    conn: Connection,
    parts: Sequence[NewMoPart],
    reassembly_timeout: float,
    assemble: Assemble,
    insert_inbound: InsertInbound,
    max_sets: int | None = None,
) -> list[InboundMessage]:
    """Store ``parts``; each set one of them completes is written to inbound (returned, in
    order) and marked completed, in this transaction. With ``max_sets``, the oldest sets in
    progress a new set would put over the cap are handed over first (returned too)."""
    keys: set[SetKey] = {(p.account, p.source, p.destination, p.reference, p.total) for p in parts}
    evict = [] if max_sets is None else await _over_the_cap(conn, keys, max_sets)
    await conn.lock_keys({_lock_key(*k) for k in keys} | {_lock_key(*k) for _, k in evict})
    done: list[InboundMessage] = []
    now = max(p.received_at for p in parts) if parts else 0.0
    for set_id, _ in evict:
        rows = await conn.fetch(
            "SELECT * FROM mo_parts WHERE set_id = ? AND completed_at IS NULL"
            " ORDER BY received_at, seq",
            set_id,
        )
        if not rows:
            continue  # completed (or handed over) since it was chosen: nothing to give up
        mo_set = _set_of(rows, complete=False, evicted=True)
        done.append(await insert_inbound(conn, assemble(mo_set, now)))
        await conn.execute("DELETE FROM mo_parts WHERE set_id = ?", set_id)
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


async def _over_the_cap(
    conn: Connection, keys: set[SetKey], max_sets: int
) -> list[tuple[str, SetKey]]:
    """The oldest incomplete sets (set_id, key) to hand over so that the sets ``keys`` would
    start leave each account at most ``max_sets`` in progress; never one of ``keys``' own."""
    chosen: list[tuple[str, SetKey]] = []
    for account in sorted({k[0] for k in keys}):
        mine = {k for k in keys if k[0] == account}
        row = await conn.fetchrow(
            "SELECT COUNT(DISTINCT set_id) AS n FROM mo_parts"
            " WHERE account = ? AND completed_at IS NULL",
            account,
        )
        in_progress = 0 if row is None else int(row["n"])
        if in_progress + len(mine) <= max_sets:
            continue  # room even if every one of them starts a set: the usual case
        starting = 0
        for key in mine:
            found = await conn.fetchrow(
                f"SELECT 1 FROM mo_parts WHERE {_KEY} AND completed_at IS NULL LIMIT 1", *key
            )
            starting += found is None
        excess = in_progress + starting - max_sets
        if excess <= 0:
            continue
        rows = await conn.fetch(
            "SELECT set_id, source, destination, reference, total, MIN(started_at) AS started"
            " FROM mo_parts WHERE account = ? AND completed_at IS NULL"
            " GROUP BY set_id, source, destination, reference, total"
            " ORDER BY started, set_id LIMIT ?",
            account,
            excess + len(mine),
        )
        oldest = [
            (str(r["set_id"]), key)
            for r in rows
            if (
                key := (
                    account,
                    r["source"],
                    r["destination"],
                    int(r["reference"]),
                    int(r["total"]),
                )
            )
            not in mine
        ]
        chosen += oldest[:excess]
    return chosen


async def _set_rows(conn: Connection, set_id: str) -> Sequence[Row]:
    return await conn.fetch(
        "SELECT * FROM mo_parts WHERE set_id = ? ORDER BY received_at, seq", set_id
    )


def _set_of(rows: Sequence[Row], *, complete: bool, evicted: bool = False) -> MoSet:
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
        evicted=evicted,
    )

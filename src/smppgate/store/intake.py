# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Intake: messages enter the queue (`queued`, parts `planned`), idempotently within a key's
scope, with the client's daily quota counted in the same transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from smppgate.store import blocklist
from smppgate.store.backend import Connection, Dialect, insert_rows, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.errors import DuplicateKey, QuotaExceeded, StoreError
from smppgate.store.finite import require_finite, require_finite_fields
from smppgate.store.ids import new_message_id
from smppgate.store.models import (
    InsertResult,
    MessageState,
    NewMessage,
    PartStatus,
    Quota,
    StoredMessage,
)
from smppgate.store.rows import MESSAGE_COLUMNS, chunks, load_messages, message_row, new_stored

MAX_BATCH = 1000

_INSERT_MESSAGES = insert_rows("messages", MESSAGE_COLUMNS)
_INSERT_PARTS = insert_rows(
    "parts",
    (
        ("message_id", "text"),
        ("seq", "int"),
        ("short_message", "bytea"),
        ("esm_class", "int"),
        ("data_coding", "int"),
        ("sar_ref", "int"),
        ("sar_total", "int"),
        ("sar_seq", "int"),
        ("message_payload", "bytea"),
        ("status", "text"),
    ),
)


class IntakeStore(StoreBase):
    async def insert_message(self, message: NewMessage, now: float) -> InsertResult:
        return (await self.insert_messages([message], now))[0]

    async def insert_messages(
        self,
        messages: Sequence[NewMessage],
        now: float,
        check: Callable[[Sequence[InsertResult]], None] | None = None,
        quota: Quota | None = None,
    ) -> list[InsertResult]:
        if len(messages) > MAX_BATCH:
            raise StoreError(f"at most {MAX_BATCH} messages per batch, got {len(messages)}")
        require_finite(now=now)
        require_finite_fields(messages)
        prepared = [(m, m.id or new_message_id(now)) for m in messages]

        async def insert(conn: Connection) -> list[InsertResult]:
            results = await insert_prepared(conn, self._dialect, prepared, now, check)
            if quota is not None:
                await _count_usage(conn, quota, sum(r.created for r in results))
            await blocklist.blocked_at_insert(conn, self.notifier, results, now)
            return results

        try:
            return await self._backend.run(insert, priority=True)
        except DuplicateKey as exc:
            if "idempotency" not in exc.what:
                raise
            # another node inserted the same key between our lookup and insert: look again
            return await self._backend.run(insert, priority=True)

    async def client_usage(self, day: str) -> dict[str, int]:
        async def fetch(conn: Connection) -> dict[str, int]:
            rows = await conn.fetch("SELECT client, used FROM client_usage WHERE day = ?", day)
            return {r["client"]: int(r["used"]) for r in rows}

        return await self._backend.run(fetch, write=False)


async def insert_prepared(
    conn: Connection,
    dialect: Dialect,
    prepared: list[tuple[NewMessage, str]],
    now: float,
    check: Callable[[Sequence[InsertResult]], None] | None,
) -> list[InsertResult]:
    existing: dict[tuple[str, str], StoredMessage] = {}
    scoped: dict[str, set[str]] = {}
    for m, _ in prepared:
        if m.idempotency_key is not None:
            scoped.setdefault(m.idempotency_scope, set()).add(m.idempotency_key)
    for scope, keys in sorted(scoped.items()):
        for chunk in chunks(sorted(keys)):
            # the scope first: the unique index is (scope, key), a key alone scans it
            rows = await conn.fetch(
                "SELECT id FROM messages WHERE idempotency_scope = ?"
                f" AND idempotency_key IN ({placeholders(len(chunk))})",
                scope,
                *chunk,
            )
            for found in await load_messages(conn, [r["id"] for r in rows]):
                assert found.idempotency_key is not None
                existing[(found.idempotency_scope, found.idempotency_key)] = found
    results: list[InsertResult] = []
    message_rows: list[tuple[object, ...]] = []
    part_rows: list[tuple[object, ...]] = []
    # a listed destination: the message is stored `blocked`, never claimed
    listed = await blocklist.listed(
        conn, dialect, [(m.account, m.destination) for m, _ in prepared]
    )
    for message, message_id in prepared:
        key = message.idempotency_key
        if key is not None and (message.idempotency_scope, key) in existing:
            results.append(InsertResult(existing[(message.idempotency_scope, key)], False))
            continue
        stored = new_stored(message, message_id, now)
        if (message.account, message.destination) in listed:
            stored = dataclasses.replace(stored, state=MessageState.BLOCKED)
        if key is not None:
            existing[(message.idempotency_scope, key)] = stored
        message_rows.append(message_row(stored))
        part_rows.extend(
            (
                message_id,
                p.seq,
                p.short_message,
                p.esm_class,
                p.data_coding,
                p.sar_ref,
                p.sar_total,
                p.sar_seq,
                p.message_payload,
                PartStatus.PLANNED.value,
            )
            for p in message.parts
        )
        results.append(InsertResult(stored, True))
    if check is not None:
        check(results)  # raising here rolls the transaction back: nothing is inserted
    await conn.apply(_INSERT_MESSAGES, message_rows)
    await conn.apply(_INSERT_PARTS, part_rows)
    origins = [
        (result.message.id, m.origin.system_id, m.origin.registered_delivery, m.origin.split)
        for (m, _), result in zip(prepared, results, strict=True)
        if m.origin is not None and result.created
    ]
    if origins:
        await conn.executemany(
            "INSERT INTO smpp_origins (message_id, system_id, registered_delivery, split)"
            " VALUES (?, ?, ?, ?)",
            origins,
        )
    return results


async def _count_usage(conn: Connection, quota: Quota, created: int) -> None:
    """Add ``created`` messages to the client's count for the day, or raise `QuotaExceeded`
    (rolling the insert back). The row is locked by the upsert: on PostgreSQL two nodes
    inserting for one client queue behind each other, so the count is exact."""
    if created == 0:
        return
    row = await conn.fetchrow(
        "INSERT INTO client_usage (client, day, used) VALUES (?, ?, ?)"
        " ON CONFLICT (client, day) DO UPDATE SET used = client_usage.used + excluded.used"
        " RETURNING used",
        quota.client,
        quota.day,
        created,
    )
    used = 0 if row is None else int(row["used"])
    if used > quota.limit:
        raise QuotaExceeded(quota.client, quota.day, quota.limit, used - created)

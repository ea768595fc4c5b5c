# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Rows and records: the column lists the store reads and writes, the conversions between a
row and its record, and the reads every part of the store shares (a message with its parts,
its detail, its callback head, an attempt's row).

Rows are unpacked by position where it counts (claims load every message they lease): looking
46 names up per message was a tenth of a claim's time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from smppgate.store.backend import (
    Connection,
    Dialect,
    Row,
    RowsStatement,
    insert_rows,
    placeholders,
)
from smppgate.store.errors import NotFound
from smppgate.store.models import (
    MAX_PRIORITY,
    Attempt,
    InboundMessage,
    MessageDetail,
    MessageState,
    NewMessage,
    PartStatus,
    ReceiptRecord,
    ReceiptState,
    StoredMessage,
    StoredPart,
    SubmitContext,
    UnmatchedReceipt,
    WebhookJob,
    WebhookState,
)


class Head(NamedTuple):
    """What receipts, outcomes and webhooks need of a message besides its state."""

    callback_url: str | None
    client_reference: str | None
    account: str


#: the most values one IN list carries (well under SQLite's and PostgreSQL's limits)
CHUNK = 500

#: the columns `message_row` writes, in its order, with their PostgreSQL types
MESSAGE_COLUMNS = (
    ("id", "text"),
    ("account", "text"),
    ("source", "text"),
    ("destination", "text"),
    ("text", "text"),
    ("encoding", "text"),
    ("split_method", "text"),
    ("validity_seconds", "int"),
    ("callback_url", "text"),
    ("client_reference", "text"),
    ("resend_unknown", "int"),
    ("traffic_class", "text"),
    ("priority", "int"),
    ("idempotency_scope", "text"),
    ("idempotency_key", "text"),
    ("state", "text"),
    ("created_at", "float8"),
    ("updated_at", "float8"),
    ("next_attempt_at", "float8"),
    ("attempts", "int"),
    ("qfull_retries", "int"),
    ("throttled_retries", "int"),
    ("last_status", "int"),
    ("last_status_name", "text"),
    ("part_count", "int"),
    ("uses_payload", "int"),
    ("leased_by", "text"),
    ("lease_until", "float8"),
    ("ussd_service_op", "int"),
    ("its_session_info", "bytea"),
    ("client", "text"),
)
#: the columns `read_message` and `read_part` read, in the order of their records' fields
READ_MESSAGE = (
    "id, account, source, destination, text, encoding, split_method, validity_seconds,"
    " callback_url, client_reference, resend_unknown, traffic_class, priority,"
    " idempotency_key, idempotency_scope, state, created_at, updated_at, next_attempt_at,"
    " attempts, qfull_retries, throttled_retries, last_status, last_status_name, part_count,"
    " leased_by, lease_until, ussd_service_op, its_session_info, client"
)
READ_PART = (
    "message_id, seq, short_message, esm_class, data_coding, sar_ref, sar_total, sar_seq,"
    " message_payload, status, attempts, smsc_message_id, sent_at, submitted_at,"
    " receipt_state, receipt_at, error_code, last_status, last_status_name"
)
_MESSAGE_STATES = {s.value: s for s in MessageState}
_PART_STATUSES = {s.value: s for s in PartStatus}
_RECEIPT_STATES = {s.value: s for s in ReceiptState}


@dataclass(frozen=True, slots=True)
class BatchStatement:
    """A `RowsStatement` with a third form, for SQLite: every row in one statement that reads
    them from one JSON array bound to its ``?`` (`json_each`). Stepping a prepared statement
    per row costs SQLite its statement set-up each time, and on a table with triggers (the
    message counts, the outbox, the finite-time guards) a statement journal opened and
    released per row: a batch of 50 state changes as one statement took ~35% less CPU
    (`benchmarks/results/store.md`). Reading each column with `json_extract` costs more than
    that saves where a row fires no trigger (parts, attempts, match keys), so those stay row
    by row. Only for rows of text, numbers and NULL (JSON has no blobs); floats cross JSON
    exactly (Python writes the shortest repr, SQLite reads it back to the same double)."""

    rows: RowsStatement
    sqlite: str


def json_rows(names: Sequence[str]) -> str:
    """A subquery of the JSON array bound at its ``?``: one row per element (an array of
    ``len(names)`` values), the values as columns ``names``, ``n`` its position."""
    columns = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, name in enumerate(names))
    return f"(SELECT key AS n, {columns} FROM json_each(?))"


def insert_batch(
    table: str, columns: Sequence[tuple[str, str]], suffix: str = ""
) -> BatchStatement:
    """`insert_rows` with its JSON form, in the rows' order (generated ids follow it, as with
    the other forms)."""
    names = [name for name, _ in columns]
    order = " ORDER BY v.n"
    listed = ", ".join(names)
    return BatchStatement(
        insert_rows(table, columns, suffix),
        f"INSERT INTO {table} ({listed}) SELECT {', '.join(f'v.{n}' for n in names)}"
        f" FROM {json_rows(names)} AS v WHERE true{order}{suffix}",
    )


async def apply_batch(
    conn: Connection, dialect: Dialect, statement: BatchStatement, rows: Sequence[Sequence[object]]
) -> None:
    """``statement`` over ``rows``: on SQLite its JSON form, one statement; else `apply`."""
    if not rows:
        return
    if dialect.arrays:
        await conn.apply(statement.rows, rows)
    else:
        await conn.execute(statement.sqlite, json.dumps(rows, separators=(",", ":")))


INSERT_ATTEMPTS = insert_rows(
    "attempts",
    (
        ("message_id", "text"),
        ("seq", "int"),
        ("at", "float8"),
        ("node_id", "text"),
        ("session_id", "text"),
        ("host", "text"),
        ("command_status", "int"),
        ("status_name", "text"),
        ("outcome", "text"),
    ),
)
OK_NAME = "ESME_ROK"


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``values`` in IN lists of at most ``size``, each padded to a power of two (or to
    ``size``) by repeating its last value, which an IN list ignores: a query then has a
    handful of texts instead of one per batch size, so the drivers' prepared-statement
    caches (sqlite3's, asyncpg's) keep them. The hot path's batches are whatever came while
    the last one committed, and compiling an IN-list lookup again cost as much as running it."""
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        padded = min(size, 1 << (len(chunk) - 1).bit_length())
        yield [*chunk, *(chunk[-1],) * (padded - len(chunk))]


async def load_messages(conn: Connection, ids: Sequence[str]) -> list[StoredMessage]:
    """Messages with their parts, in the order of `ids` (missing ones left out)."""
    by_id: dict[str, Row] = {}
    for chunk in chunks(list(ids)):
        for row in await conn.fetch(
            f"SELECT {READ_MESSAGE} FROM messages WHERE id IN ({placeholders(len(chunk))})",
            *chunk,
        ):
            by_id[row[0]] = row
    return await with_parts(conn, [by_id[i] for i in ids if i in by_id])


async def with_parts(conn: Connection, rows: Sequence[Row]) -> list[StoredMessage]:
    """The messages of ``rows`` (`READ_MESSAGE` columns, e.g. from an UPDATE's RETURNING),
    in their order, each with its parts."""
    parts: dict[str, list[StoredPart]] = {}
    for chunk in chunks([row[0] for row in rows]):
        for row in await conn.fetch(
            f"SELECT {READ_PART} FROM parts WHERE message_id IN ({placeholders(len(chunk))})"
            " ORDER BY message_id, seq",
            *chunk,
        ):
            parts.setdefault(row[0], []).append(read_part(row))
    return [read_message(row, parts.get(row[0], [])) for row in rows]


async def detail(conn: Connection, message_id: str) -> MessageDetail:
    """A message with its parts, attempts and receipts."""
    found = await load_messages(conn, [message_id])
    if not found:
        raise NotFound("message", message_id)
    attempts = await conn.fetch(
        "SELECT * FROM attempts WHERE message_id = ? ORDER BY id", message_id
    )
    receipts = await conn.fetch(
        "SELECT * FROM receipts WHERE message_id = ? ORDER BY id", message_id
    )
    return MessageDetail(
        found[0],
        tuple(read_attempt(r) for r in attempts),
        tuple(read_receipt(r) for r in receipts),
    )


async def receipts_of(
    conn: Connection, message_ids: Sequence[str]
) -> dict[str, tuple[ReceiptRecord, ...]]:
    """The receipts of each message, in the order they were recorded."""
    found: dict[str, list[ReceiptRecord]] = {}
    for chunk in chunks(list(message_ids)):
        for row in await conn.fetch(
            f"SELECT * FROM receipts WHERE message_id IN ({placeholders(len(chunk))})"
            " ORDER BY message_id, id",
            *chunk,
        ):
            found.setdefault(row["message_id"], []).append(read_receipt(row))
    return {message_id: tuple(receipts) for message_id, receipts in found.items()}


async def callback_info(conn: Connection, message_ids: Sequence[str]) -> dict[str, Head]:
    info: dict[str, Head] = {}
    for chunk in chunks(list(message_ids)):
        for row in await conn.fetch(
            "SELECT id, callback_url, client_reference, account FROM messages"
            f" WHERE id IN ({placeholders(len(chunk))})",
            *chunk,
        ):
            info[row["id"]] = Head(row["callback_url"], row["client_reference"], row["account"])
    return info


async def exists(conn: Connection, message_id: str) -> bool:
    return await conn.fetchrow("SELECT id FROM messages WHERE id = ?", message_id) is not None


async def insert_attempt(
    conn: Connection,
    message_id: str,
    seq: int | None,
    at: float,
    context: SubmitContext,
    command_status: int | None,
    status_name: str | None,
    outcome: str,
) -> None:
    """One line of a message's history (`attempts`)."""
    await conn.execute(
        INSERT_ATTEMPTS.each,
        message_id,
        seq,
        at,
        context.node_id,
        context.session_id,
        context.host,
        command_status,
        status_name,
        outcome,
    )


def context_columns(context: SubmitContext) -> tuple[str, str, str]:
    return (context.node_id, context.session_id, context.host)


def new_stored(message: NewMessage, message_id: str, now: float) -> StoredMessage:
    parts = tuple(
        StoredPart(
            p.seq,
            p.short_message,
            p.esm_class,
            p.data_coding,
            p.sar_ref,
            p.sar_total,
            p.sar_seq,
            p.message_payload,
            PartStatus.PLANNED,
            0,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        for p in message.parts
    )
    if not 0 <= message.priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be 0..{MAX_PRIORITY}, got {message.priority}")
    return StoredMessage(
        id=message_id,
        account=message.account,
        source=message.source,
        destination=message.destination,
        text=message.text,
        encoding=message.encoding,
        split_method=message.split_method,
        validity_seconds=message.validity_seconds,
        callback_url=message.callback_url,
        client_reference=message.client_reference,
        resend_unknown=message.resend_unknown,
        traffic_class=message.traffic_class,
        priority=message.priority,
        idempotency_key=message.idempotency_key,
        idempotency_scope=message.idempotency_scope,
        state=(
            MessageState.SCHEDULED
            if message.not_before is not None and message.not_before > now
            else MessageState.QUEUED
        ),
        created_at=now,
        updated_at=now,
        next_attempt_at=now if message.not_before is None else message.not_before,
        attempts=0,
        qfull_retries=0,
        throttled_retries=0,
        last_status=None,
        last_status_name=None,
        part_count=len(parts),
        leased_by=None,
        lease_until=None,
        parts=parts,
        ussd_service_op=message.ussd_service_op,
        its_session_info=message.its_session_info,
        client=message.client,
    )


def message_row(m: StoredMessage) -> tuple[object, ...]:
    return (
        m.id,
        m.account,
        m.source,
        m.destination,
        m.text,
        m.encoding,
        m.split_method,
        m.validity_seconds,
        m.callback_url,
        m.client_reference,
        int(m.resend_unknown),
        m.traffic_class,
        m.priority,
        m.idempotency_scope,
        m.idempotency_key,
        m.state.value,
        m.created_at,
        m.updated_at,
        m.next_attempt_at,
        m.attempts,
        m.qfull_retries,
        m.throttled_retries,
        m.last_status,
        m.last_status_name,
        m.part_count,
        int(m.uses_payload),
        m.leased_by,
        m.lease_until,
        m.ussd_service_op,
        m.its_session_info,
        m.client,
    )


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def read_part(r: Row) -> StoredPart:
    """A part from a row of `READ_PART` columns."""
    (
        _,
        seq,
        short_message,
        esm_class,
        data_coding,
        sar_ref,
        sar_total,
        sar_seq,
        message_payload,
        status,
        attempts,
        smsc_message_id,
        sent_at,
        submitted_at,
        receipt,
        receipt_at,
        error_code,
        last_status,
        last_status_name,
    ) = cast("tuple[Any, ...]", r)
    return StoredPart(
        int(seq),
        bytes(short_message),
        int(esm_class),
        int(data_coding),
        sar_ref,
        sar_total,
        sar_seq,
        None if message_payload is None else bytes(message_payload),
        _PART_STATUSES[status],
        int(attempts),
        smsc_message_id,
        _opt_float(sent_at),
        _opt_float(submitted_at),
        None if receipt is None else _RECEIPT_STATES[receipt],
        _opt_float(receipt_at),
        error_code,
        last_status,
        last_status_name,
    )


def read_message(r: Row, parts: list[StoredPart]) -> StoredMessage:
    """A message from a row of `READ_MESSAGE` columns."""
    (
        message_id,
        account,
        source,
        destination,
        text,
        encoding,
        split_method,
        validity_seconds,
        callback_url,
        client_reference,
        resend_unknown,
        traffic_class,
        priority,
        idempotency_key,
        idempotency_scope,
        state,
        created_at,
        updated_at,
        next_attempt_at,
        attempts,
        qfull_retries,
        throttled_retries,
        last_status,
        last_status_name,
        part_count,
        leased_by,
        lease_until,
        ussd_service_op,
        its_session_info,
        client,
    ) = cast("tuple[Any, ...]", r)
    return StoredMessage(
        message_id,
        account,
        source,
        destination,
        text,
        encoding,
        split_method,
        validity_seconds,
        callback_url,
        client_reference,
        bool(resend_unknown),
        traffic_class,
        int(priority),
        idempotency_key,
        idempotency_scope,
        _MESSAGE_STATES[state],
        float(created_at),
        float(updated_at),
        float(next_attempt_at),
        int(attempts),
        int(qfull_retries),
        int(throttled_retries),
        last_status,
        last_status_name,
        int(part_count),
        leased_by,
        _opt_float(lease_until),
        tuple(parts),
        ussd_service_op,
        None if its_session_info is None else bytes(its_session_info),
        client,
    )


def read_attempt(r: Row) -> Attempt:
    return Attempt(
        message_id=r["message_id"],
        seq=r["seq"],
        at=float(r["at"]),
        node_id=r["node_id"],
        session_id=r["session_id"],
        host=r["host"],
        command_status=r["command_status"],
        status_name=r["status_name"],
        outcome=r["outcome"],
    )


def read_receipt(r: Row) -> ReceiptRecord:
    return ReceiptRecord(
        id=int(r["id"]),
        message_id=r["message_id"],
        seq=int(r["seq"]),
        state=ReceiptState(r["state"]),
        raw=r["raw"],
        received_at=float(r["received_at"]),
        error_code=r["error_code"],
    )


def read_unmatched(r: Row) -> UnmatchedReceipt:
    return UnmatchedReceipt(
        id=int(r["id"]),
        keys=frozenset(json.loads(r["keys"])),
        raw=r["raw"],
        state=ReceiptState(r["state"]),
        received_at=float(r["received_at"]),
        error_code=r["error_code"],
        account=r["account"],
    )


def read_inbound(r: Row) -> InboundMessage:
    return InboundMessage(
        id=int(r["id"]),
        account=r["account"],
        source=r["source"],
        destination=r["destination"],
        text=r["text"],
        data_coding=int(r["data_coding"]),
        received_at=float(r["received_at"]),
        ussd_service_op=r["ussd_service_op"],
        parts_info=r["parts_info"],
    )


def read_webhook(r: Row) -> WebhookJob:
    return WebhookJob(
        id=int(r["id"]),
        url=r["url"],
        payload=r["payload"],
        event=r["event"],
        message_id=r["message_id"],
        state=WebhookState(r["state"]),
        attempts=int(r["attempts"]),
        next_attempt_at=float(r["next_attempt_at"]),
        created_at=float(r["created_at"]),
        last_error=r["last_error"],
        leased_by=r["leased_by"],
        lease_until=_opt_float(r["lease_until"]),
    )

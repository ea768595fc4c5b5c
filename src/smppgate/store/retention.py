# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Retention: what the store deletes (and redacts) as history ages, one small batch per call.

Each function is one transaction's work over a `Connection`, bounded by ``limit`` rows of its
own table (a deleted message takes its parts, match keys, attempts and receipts with it, by
the schema's cascades, each found through an index), so no call holds SQLite's write lock or
PostgreSQL's row locks for long; the caller (service/maintenance.py) pauses between calls.

- **messages**: final ones created *and* last changed before the cutoff. A message still in
  the queue's hands (queued, sending, submitted) is never deleted, however old.
- **inbound** (MO, USSD): by ``received_at``, with the messages' cutoff.
- **unmatched receipts**: by ``received_at``, matched later or not, with their own cutoff.
- **webhooks**: delivered ones by their last attempt, with their own cutoff; given-up ones with
  the messages' cutoff (an operator may want to see why); pending ones never.
- **client usage** (the daily quota counts): days before the messages' cutoff; the quota only
  reads today's.
- **redaction**: the texts of messages past their own, shorter cutoff are replaced by ``""``
  (the message's ``text``, its parts' octets and the ``text:`` its receipts quote), so
  one-time codes do not outlive their use.
  A cursor (the last id done, in the `maintenance` row ``redact``) makes each call start where
  the last one ended, instead of walking the redacted ones again. A message the queue still
  holds (scheduled, queued or sending) is never redacted: the cursor steps over it and notes
  its id in the row ``redact_skipped`` (at most `SKIPPED_MAX` of them), which every later call
  looks up by primary key first, redacting each once it was sent (and forgetting one deleted
  meanwhile). So one message scheduled a month ahead holds back no other's redaction. With
  the list full the cursor waits at the next held message, as it always may: never wrong,
  only later.

Which node runs retention is decided by a lease in the same `maintenance` table
(`take_lease`): every node runs the loop, one of them works at a time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from smppgate.store.backend import Connection, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.models import MessageState, WebhookState


class PurgeKind(StrEnum):
    """One kind of retention work; each is its own small transaction."""

    MESSAGES = "messages"
    INBOUND = "inbound"
    UNMATCHED_RECEIPTS = "unmatched_receipts"
    DELIVERED_WEBHOOKS = "delivered_webhooks"
    ABANDONED_WEBHOOKS = "abandoned_webhooks"
    REDACT_TEXTS = "redact_texts"
    CLIENT_USAGE = "client_usage"


_FINAL = tuple(s.value for s in MessageState if s.is_final)
#: states whose texts are never needed again (submitted: every part accepted, nothing resent)
_REDACTABLE = frozenset({*_FINAL, MessageState.SUBMITTED.value})
REDACT_CURSOR = "redact"
#: the ids the redaction cursor stepped over while the queue held them (space-separated)
REDACT_SKIPPED = "redact_skipped"
#: how many held messages the cursor may step over before it waits at the next one (the
#: list is one `maintenance` row, read and written per call: kept small)
SKIPPED_MAX = 1000
#: a receipt's ``text:`` field quotes the message's first characters (a one-time code, often)
_RECEIPT_TEXT = re.compile(r"(\btext:).*", re.IGNORECASE | re.DOTALL)


async def purge(conn: Connection, kind: PurgeKind, cutoff: float, limit: int) -> int:
    """Delete (or redact) at most ``limit`` rows of ``kind`` older than ``cutoff``; return
    how many."""
    if kind is PurgeKind.MESSAGES:
        return await _messages(conn, cutoff, limit)
    if kind is PurgeKind.INBOUND:
        return await _by_id(
            conn,
            "inbound",
            "SELECT id FROM inbound WHERE received_at < ? ORDER BY received_at, id LIMIT ?",
            cutoff,
            limit,
        )
    if kind is PurgeKind.UNMATCHED_RECEIPTS:
        return await _by_id(
            conn,
            "unmatched_receipts",
            "SELECT id FROM unmatched_receipts WHERE received_at < ? ORDER BY received_at LIMIT ?",
            cutoff,
            limit,
        )
    if kind is PurgeKind.DELIVERED_WEBHOOKS or kind is PurgeKind.ABANDONED_WEBHOOKS:
        state = (
            WebhookState.DELIVERED if kind is PurgeKind.DELIVERED_WEBHOOKS else WebhookState.GAVE_UP
        )
        # the outbox index (state, next_attempt_at, id): next_attempt_at is the last attempt's
        # time once a job is delivered or given up
        return await _by_id(
            conn,
            "webhooks",
            f"SELECT id FROM webhooks WHERE state = '{state.value}' AND next_attempt_at < ?"
            " ORDER BY next_attempt_at, id LIMIT ?",
            cutoff,
            limit,
        )
    if kind is PurgeKind.CLIENT_USAGE:
        return await _client_usage(conn, cutoff, limit)
    return await _redact(conn, cutoff, limit)


async def _client_usage(conn: Connection, cutoff: float, limit: int) -> int:
    # one row per client per UTC day, keyed by the day's date: a day ends up here once all of
    # it is before the cutoff
    day = datetime.fromtimestamp(cutoff, UTC).strftime("%Y-%m-%d")
    rows = await conn.fetch(
        "SELECT client, day FROM client_usage WHERE day < ? ORDER BY day, client LIMIT ?",
        day,
        limit,
    )
    for row in rows:
        await conn.execute(
            "DELETE FROM client_usage WHERE client = ? AND day = ?", row["client"], row["day"]
        )
    return len(rows)


async def _by_id(conn: Connection, table: str, select: str, cutoff: float, limit: int) -> int:
    ids = [row["id"] for row in await conn.fetch(select, cutoff, limit)]
    if ids:
        await conn.execute(f"DELETE FROM {table} WHERE id IN ({placeholders(len(ids))})", *ids)
    return len(ids)


async def _messages(conn: Connection, cutoff: float, limit: int) -> int:
    # the creation-time index, oldest first; the final state and the last change are checked
    # on the rows it yields (the oldest messages are nearly all final)
    rows = await conn.fetch(
        "SELECT id FROM messages WHERE created_at < ?"
        f" AND state IN ({placeholders(len(_FINAL))}) AND updated_at < ?"
        " ORDER BY created_at LIMIT ?",
        cutoff,
        *_FINAL,
        cutoff,
        limit,
    )
    ids = [row["id"] for row in rows]
    if ids:
        # parts, match keys, attempts and receipts go by ON DELETE CASCADE
        await conn.execute(f"DELETE FROM messages WHERE id IN ({placeholders(len(ids))})", *ids)
    return len(ids)


async def _redact(conn: Connection, cutoff: float, limit: int) -> int:
    row = await conn.fetchrow("SELECT cursor FROM maintenance WHERE name = ?", REDACT_CURSOR)
    after = "" if row is None else str(row["cursor"])
    row = await conn.fetchrow("SELECT cursor FROM maintenance WHERE name = ?", REDACT_SKIPPED)
    noted = [] if row is None or not row["cursor"] else str(row["cursor"]).split(" ")
    done: list[str] = []
    skipped = await _revisit(conn, noted, limit, done)
    cursor = after
    if len(done) < limit:
        cursor = await _advance(conn, after, cutoff, limit, done, skipped)
    if done:
        await _blank(conn, done)
    if cursor != after:
        await _set_cursor(conn, REDACT_CURSOR, cursor)
    if skipped != noted:
        await _set_cursor(conn, REDACT_SKIPPED, " ".join(skipped))
    return len(done)


async def _revisit(conn: Connection, noted: list[str], limit: int, done: list[str]) -> list[str]:
    """The ones stepped over before, by primary key: each sent since goes to ``done`` (up to
    ``limit``), one deleted meanwhile is forgotten; the rest, still held, are returned."""
    if not noted:
        return []
    states = {
        r["id"]: r["state"]
        for r in await conn.fetch(
            f"SELECT id, state FROM messages WHERE id IN ({placeholders(len(noted))})", *noted
        )
    }
    still: list[str] = []
    for message_id in noted:
        state = states.get(message_id)
        if state is None:
            continue
        if state in _REDACTABLE and len(done) < limit:
            done.append(message_id)
        else:
            still.append(message_id)
    return still


async def _advance(
    conn: Connection,
    after: str,
    cutoff: float,
    limit: int,
    done: list[str],
    skipped: list[str],
) -> str:
    """Walk on from the cursor ``after`` until ``done`` holds ``limit``: the sent ones to
    ``done``, the held ones noted in ``skipped`` (while there is room); the new cursor."""
    cursor = after
    rows = await conn.fetch(
        "SELECT id, state, created_at FROM messages WHERE id > ? ORDER BY id LIMIT ?",
        after,
        limit - len(done),
    )
    for message in rows:
        if float(message["created_at"]) >= cutoff:
            break  # too young: the cursor waits here
        if message["state"] not in _REDACTABLE:
            if len(skipped) >= SKIPPED_MAX:
                break  # still to be sent, and no room to note it: the cursor waits here
            skipped.append(message["id"])  # redacted by a later call, once sent
        else:
            done.append(message["id"])
        cursor = message["id"]
    return cursor


async def _blank(conn: Connection, ids: list[str]) -> None:
    """Replace the texts of these messages, their parts' octets and their receipts' ``text:``."""
    marks = placeholders(len(ids))
    await conn.execute(f"UPDATE messages SET text = '' WHERE id IN ({marks})", *ids)
    await conn.execute(
        f"UPDATE parts SET short_message = ?, message_payload = NULL WHERE message_id IN ({marks})",
        b"",
        *ids,
    )
    receipts = await conn.fetch(f"SELECT id, raw FROM receipts WHERE message_id IN ({marks})", *ids)
    await conn.executemany(
        "UPDATE receipts SET raw = ? WHERE id = ?",
        [
            (_RECEIPT_TEXT.sub(r"\1", r["raw"]), r["id"])
            for r in receipts
            if _RECEIPT_TEXT.search(r["raw"])
        ],
    )


async def _set_cursor(conn: Connection, name: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO maintenance (name, cursor) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor",
        name,
        value,
    )


async def take_lease(
    conn: Connection, name: str, node_id: str, now: float, lease_seconds: float
) -> bool:
    """Take (or renew) the lease of job ``name`` for ``node_id``; False while another node
    holds an unexpired one."""
    row = await conn.fetchrow(
        "INSERT INTO maintenance (name, node_id, lease_until) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id,"
        " lease_until = excluded.lease_until"
        " WHERE maintenance.node_id = excluded.node_id OR maintenance.node_id IS NULL"
        " OR maintenance.lease_until <= ? RETURNING name",
        name,
        node_id,
        now + lease_seconds,
        now,
    )
    return row is not None


async def release_lease(conn: Connection, name: str, node_id: str) -> None:
    await conn.execute(
        "UPDATE maintenance SET node_id = NULL, lease_until = 0 WHERE name = ? AND node_id = ?",
        name,
        node_id,
    )


class RetentionStore(StoreBase):
    """The store's face of this module: each call one transaction."""

    async def purge(self, kind: PurgeKind, cutoff: float, limit: int) -> int:
        async def run(conn: Connection) -> int:
            return await purge(conn, kind, cutoff, limit)

        return await self._backend.run(run)

    async def take_maintenance_lease(
        self, name: str, node_id: str, now: float, lease_seconds: float
    ) -> bool:
        async def take(conn: Connection) -> bool:
            return await take_lease(conn, name, node_id, now, lease_seconds)

        return await self._backend.run(take)

    async def release_maintenance_lease(self, name: str, node_id: str) -> None:
        async def release(conn: Connection) -> None:
            await release_lease(conn, name, node_id)

        await self._backend.run(release)

# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Scheduling and cancelling in the store: `ScheduleStore`, one part of `SqlStore`, each of its
methods one transaction running the functions below over one `Connection`.

* A message inserted with a send time ahead is `scheduled` (its ``next_attempt_at`` is that
  time); the claim only ever takes `queued` ones, so a scheduled message is never sent early.
  `release_due` moves the due ones to `queued` (every node may run it: each row moves once).
* `postpone` hands claimed messages back as `scheduled` (a quiet-hours window): nothing of them
  was marked sent, and the claim is not counted as an attempt.
* `cancel` ends a `queued` or `scheduled` message as `cancelled` with one conditional UPDATE.
  The claim's UPDATE takes only `queued` rows (under ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL): whichever statement changes the row first wins, the other sees the new state
  and leaves it; a message is cancelled or sent, never both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smppgate.store.backend import Connection
from smppgate.store.base import StoreBase
from smppgate.store.errors import NotFound
from smppgate.store.finite import require_finite
from smppgate.store.lifecycle import CANCELLABLE
from smppgate.store.models import MessageState
from smppgate.store.webhooks import notify

#: rows one `release_due` moves (the caller loops while it moves this many)
RELEASE_BATCH = 1000

_INSERT_ATTEMPT = (
    "INSERT INTO attempts (message_id, seq, at, node_id, session_id, host, command_status,"
    " status_name, outcome) VALUES (?, NULL, ?, ?, '', '', NULL, NULL, ?)"
)
_CANCELLABLE = tuple(sorted(s.value for s in CANCELLABLE))


@dataclass(frozen=True, slots=True)
class CancelResult:
    """What a cancel found: ``cancelled`` says whether this call cancelled it; ``state`` is the
    message's state after the call (``cancelled``, or the state that kept it from being
    cancelled); ``account``: for the caller's log and metrics."""

    message_id: str
    cancelled: bool
    state: MessageState
    account: str


async def release_due(conn: Connection, now: float, skip_locked: str, limit: int) -> int:
    """Move up to ``limit`` scheduled messages due by ``now`` to `queued`; return how many.
    Reads the (state, next_attempt_at, id) index: messages not due yet are not scanned."""
    require_finite(now=now)
    rows = await conn.fetch(
        "UPDATE messages SET state = 'queued', updated_at = ?"
        " WHERE id IN (SELECT id FROM messages WHERE state = 'scheduled'"
        f" AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?{skip_locked})"
        " AND state = 'scheduled' RETURNING id",
        now,
        now,
        limit,
    )
    return len(rows)


async def postpone(
    conn: Connection, node_id: str, until: Sequence[tuple[str, float]], now: float, why: str
) -> list[str]:
    """Claimed messages of ``node_id`` (still `sending`, nothing marked sent) back to
    `scheduled` at their time in ``until``; the claim's attempt is given back. Returns the ids
    moved (a message whose lease was lost meanwhile is left to whoever holds it)."""
    require_finite(now=now, **{f"until[{i}]": t for i, (_, t) in enumerate(until)})
    moved: list[str] = []
    for message_id, at in until:
        row = await conn.fetchrow(
            "UPDATE messages SET state = 'scheduled', next_attempt_at = ?, leased_by = NULL,"
            " lease_until = NULL, updated_at = ?, attempts = attempts - 1"
            " WHERE id = ? AND state = 'sending' AND leased_by = ?"
            " AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.message_id = messages.id"
            " AND p.status = 'sent') RETURNING id",
            at,
            now,
            message_id,
            node_id,
        )
        if row is not None:
            moved.append(message_id)
            await conn.execute(_INSERT_ATTEMPT, message_id, now, node_id, f"postponed:{why}")
    return moved


async def cancel(
    conn: Connection, message_id: str, now: float, by: str, *, submitted: bool = False
) -> CancelResult | None:
    """Cancel ``message_id`` if it is still `queued` or `scheduled` (with ``submitted``: also
    a `submitted` one, which the SMSC agreed to cancel); None when there is no such message.
    ``by`` names who asked (the attempt history shows it)."""
    require_finite(now=now)
    states = (*_CANCELLABLE, MessageState.SUBMITTED.value) if submitted else _CANCELLABLE
    row = await conn.fetchrow(
        "UPDATE messages SET state = 'cancelled', updated_at = ?, leased_by = NULL,"
        f" lease_until = NULL WHERE id = ? AND state IN ({', '.join('?' * len(states))})"
        " RETURNING account",
        now,
        message_id,
        *states,
    )
    if row is not None:
        await conn.execute(_INSERT_ATTEMPT, message_id, now, by, "cancelled")
        return CancelResult(message_id, True, MessageState.CANCELLED, row["account"])
    found = await conn.fetchrow("SELECT state, account FROM messages WHERE id = ?", message_id)
    if found is None:
        return None
    return CancelResult(message_id, False, MessageState(found["state"]), found["account"])


async def application_receipt(conn: Connection, message_id: str, now: float) -> None:
    """A message an application submitted over SMPP and someone else cancelled: the receipt
    it asked for (``deleted``), in the front door's outbox (registered_delivery 1 or 2). One
    that the application split itself holds an id per part: a receipt for each part."""
    await conn.execute(
        "INSERT INTO smpp_outbox (system_id, message_id, seq, state, error_code, done_at,"
        " created_at) SELECT o.system_id, o.message_id, p.seq, 'deleted', NULL, ?, ?"
        " FROM smpp_origins o JOIN parts p ON p.message_id = o.message_id"
        " WHERE o.message_id = ? AND (o.registered_delivery & 3) IN (1, 2)"
        " AND (o.split = 1 OR p.seq = 1)",
        now,
        now,
        message_id,
    )


class ScheduleStore(StoreBase):
    async def release_scheduled(self, now: float) -> int:
        skip = self._dialect.skip_locked

        async def release(conn: Connection) -> int:
            return await release_due(conn, now, skip, RELEASE_BATCH)

        return await self._backend.run(release)

    async def postpone(
        self, node_id: str, until: Sequence[tuple[str, float]], now: float, why: str
    ) -> list[str]:
        async def run(conn: Connection) -> list[str]:
            return await postpone(conn, node_id, until, now, why)

        return await self._backend.run(run)

    async def cancel_message(
        self,
        message_id: str,
        now: float,
        *,
        by: str = "",
        tell_application: bool = True,
        submitted: bool = False,
    ) -> CancelResult:
        async def run(conn: Connection) -> CancelResult:
            result = await cancel(conn, message_id, now, by, submitted=submitted)
            if result is None:
                raise NotFound("message", message_id)
            if result.cancelled:
                if tell_application:
                    await application_receipt(conn, message_id, now)
                await notify(conn, self.notifier, [message_id], now)
            return result

        return await self._backend.run(run)

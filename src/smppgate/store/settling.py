# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Settling: after any change to parts, each touched message's state is recomputed from its
parts (`lifecycle.derive_state`) and stored where `lifecycle.settle` allows. Queue moves
(claim, requeue, recovery) are made by their operations directly; every other state change
goes through `settle`."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from smppgate.store import lifecycle
from smppgate.store.backend import Connection, Dialect, RowsStatement, placeholders
from smppgate.store.errors import NotFound
from smppgate.store.models import MessageState, PartStatus, ReceiptState
from smppgate.store.rows import OK_NAME, BatchStatement, apply_batch, chunks, json_rows

_SET_STATES = BatchStatement(
    RowsStatement(
        each="UPDATE messages SET state = ?, updated_at = ?, leased_by = NULL, lease_until = NULL"
        " WHERE id = ?",
        unnest="UPDATE messages AS m SET state = v.state, updated_at = v.at, leased_by = NULL,"
        " lease_until = NULL FROM unnest(?::text[], ?::float8[], ?::text[]) AS v(state, at, id)"
        " WHERE m.id = v.id",
    ),
    "UPDATE messages SET state = v.state, updated_at = v.at, leased_by = NULL, lease_until = NULL"
    f" FROM {json_rows(('state', 'at', 'id'))} AS v WHERE messages.id = v.id",
)
#: the same, for messages whose last response was a success (`last_ok`): one row update
#: where a separate `LAST_STATUS_OK` would have been a second
_SET_STATES_OK = BatchStatement(
    RowsStatement(
        each="UPDATE messages SET state = ?, updated_at = ?, leased_by = NULL,"
        " lease_until = NULL, last_status = 0, last_status_name = ? WHERE id = ?",
        unnest="UPDATE messages AS m SET state = v.state, updated_at = v.at, leased_by = NULL,"
        " lease_until = NULL, last_status = 0, last_status_name = v.name"
        " FROM unnest(?::text[], ?::float8[], ?::text[], ?::text[]) AS v(state, at, name, id)"
        " WHERE m.id = v.id",
    ),
    "UPDATE messages SET state = v.state, updated_at = v.at, leased_by = NULL,"
    " lease_until = NULL, last_status = 0, last_status_name = v.name"
    f" FROM {json_rows(('state', 'at', 'name', 'id'))} AS v WHERE messages.id = v.id",
)
LAST_STATUS_OK = BatchStatement(
    RowsStatement(
        each="UPDATE messages SET last_status = 0, last_status_name = ? WHERE id = ?",
        unnest="UPDATE messages AS m SET last_status = 0, last_status_name = v.name"
        " FROM unnest(?::text[], ?::text[]) AS v(name, id) WHERE m.id = v.id",
    ),
    "UPDATE messages SET last_status = 0, last_status_name = v.name"
    f" FROM {json_rows(('name', 'id'))} AS v WHERE messages.id = v.id",
)


async def settle(
    conn: Connection,
    dialect: Dialect,
    message_ids: Sequence[str],
    now: float,
    last_ok: Collection[str] = (),
) -> dict[str, tuple[MessageState, MessageState]]:
    """Recompute each message's state from its parts; return {id: (before, after)}.

    ``last_ok``: messages whose last response was a success (`OK_NAME`), their
    `last_status` written here with their state (a message whose state stays gets it alone)."""
    result: dict[str, tuple[MessageState, MessageState]] = {}
    updates: list[tuple[object, ...]] = []
    updates_ok: list[tuple[object, ...]] = []
    only_ok: list[tuple[object, ...]] = []
    for chunk in chunks(list(message_ids)):
        marks = placeholders(len(chunk))
        # the message rows first, locked in id order: two transactions settling the same
        # message (receipts for two of its parts on two nodes at once) run one after the
        # other, and the second reads the parts with the first's change (READ COMMITTED:
        # a new statement, a new snapshot) — else both could leave it `submitted`
        messages = await conn.fetch(
            f"SELECT id, state, uses_payload FROM messages WHERE id IN ({marks})"
            f" ORDER BY id{dialect.lock_rows}",
            *chunk,
        )
        parts: dict[str, list[lifecycle.PartView]] = {}
        for row in await conn.fetch(
            "SELECT message_id, status, receipt_state FROM parts"
            f" WHERE message_id IN ({marks}) ORDER BY message_id, seq",
            *chunk,
        ):
            receipt = row["receipt_state"]
            parts.setdefault(row["message_id"], []).append(
                lifecycle.PartView(
                    PartStatus(row["status"]),
                    ReceiptState(receipt) if receipt is not None else None,
                )
            )
        for row in messages:
            message_id = row["id"]
            current = MessageState(row["state"])
            derived = lifecycle.derive_state(
                parts.get(message_id, []), uses_payload=bool(row["uses_payload"])
            )
            new = lifecycle.settle(message_id, current, derived)
            result[message_id] = (current, new)
            if message_id in last_ok:
                if new is not current:
                    updates_ok.append((new.value, now, OK_NAME, message_id))
                else:
                    only_ok.append((OK_NAME, message_id))
            elif new is not current:
                updates.append((new.value, now, message_id))
    missing = [m for m in message_ids if m not in result]
    if missing:
        raise NotFound("message", missing[0])
    await apply_batch(conn, dialect, _SET_STATES, updates)
    await apply_batch(conn, dialect, _SET_STATES_OK, updates_ok)
    await apply_batch(conn, dialect, LAST_STATUS_OK, only_ok)
    return result

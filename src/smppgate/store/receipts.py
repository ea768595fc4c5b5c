# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Receipts: each one is matched to the part whose match keys it names (the newest submit
wins), stored, and put on the part; the touched messages are settled and their webhooks queued
in the same transaction. A receipt that matches nothing is kept in `unmatched_receipts` until
a later acceptance names one of its keys (`outcomes`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from smppgate.store.backend import Connection, Dialect, RowsStatement, insert_rows, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite_fields
from smppgate.store.models import NewReceipt, ReceiptMatch, ReceiptState, UnmatchedReceipt
from smppgate.store.rows import apply_batch, callback_info, chunks, insert_batch, read_unmatched
from smppgate.store.settling import settle
from smppgate.store.webhooks import notify

#: receipt states a later receipt may replace (a final one is never replaced)
INTERMEDIATE = (ReceiptState.ACCEPTED.value, ReceiptState.ENROUTE.value)


def _replaceable(column: str) -> str:
    """``column`` holds no receipt state, or one a later receipt may replace."""
    return f"({column} IS NULL OR {column} IN ('{INTERMEDIATE[0]}', '{INTERMEDIATE[1]}'))"


_INSERT_RECEIPTS = insert_batch(
    "receipts",
    (
        ("message_id", "text"),
        ("seq", "int"),
        ("state", "text"),
        ("raw", "text"),
        ("received_at", "float8"),
        ("error_code", "text"),
    ),
)
_INSERT_UNMATCHED_KEYS = insert_rows(
    "unmatched_receipt_keys", (("key", "text"), ("receipt_id", "bigint")), " ON CONFLICT DO NOTHING"
)
_SET_PART_RECEIPT = (
    "UPDATE parts SET receipt_state = ?, receipt_at = ?, error_code = ?"
    " WHERE message_id = ? AND seq = ?"
)
_SET_PART_RECEIPTS = (
    "UPDATE parts AS p SET receipt_state = v.state, receipt_at = v.at, error_code = v.error"
    " FROM unnest(?::text[], ?::float8[], ?::text[], ?::text[], ?::int[])"
    " AS v(state, at, error, message_id, seq)"
    " WHERE p.message_id = v.message_id AND p.seq = v.seq"
)
#: an intermediate receipt (ENROUTE, ACCEPTD) never replaces a final one
_INTERMEDIATE_ON_PARTS = RowsStatement(
    each=f"{_SET_PART_RECEIPT} AND {_replaceable('receipt_state')}",
    unnest=f"{_SET_PART_RECEIPTS} AND {_replaceable('p.receipt_state')}",
)
_FINAL_ON_PARTS = RowsStatement(each=_SET_PART_RECEIPT, unnest=_SET_PART_RECEIPTS)


class ReceiptStore(StoreBase):
    async def record_receipt(self, receipt: NewReceipt) -> ReceiptMatch | None:
        return (await self.record_receipts([receipt]))[0]

    async def record_receipts(self, receipts: Sequence[NewReceipt]) -> list[ReceiptMatch | None]:
        require_finite_fields(receipts)

        async def record(conn: Connection) -> list[ReceiptMatch | None]:
            await conn.lock_keys({key for r in receipts for key in r.keys})  # see record_outcomes
            found = await _find_parts(conn, self._dialect, receipts)
            await _keep_unmatched(
                conn, [r for r, part in zip(receipts, found, strict=True) if part is None]
            )
            await apply_receipts(
                conn,
                self._dialect,
                [
                    (part[0], part[1], r.state, r.raw, r.received_at, r.error_code)
                    for r, part in zip(receipts, found, strict=True)
                    if part is not None
                ],
            )
            touched = [p[0] for p in found if p is not None]
            at = max((r.received_at for r in receipts), default=0.0)
            states = await settle(conn, self._dialect, list(dict.fromkeys(touched)), at)
            info = await callback_info(conn, touched)
            await notify(conn, self.notifier, touched, at, info)
            results: list[ReceiptMatch | None] = []
            for receipt, part in zip(receipts, found, strict=True):
                if part is None:
                    results.append(None)
                    continue
                before, after = states[part[0]]
                results.append(
                    ReceiptMatch(
                        part[0],
                        part[1],
                        receipt.state,
                        after,
                        before is not after,
                        info[part[0]].callback_url,
                        info[part[0]].client_reference,
                        part[2],
                    )
                )
            return results

        return await self._backend.run(record)

    async def list_unmatched_receipts(
        self, *, after_id: int = 0, limit: int = 100
    ) -> list[UnmatchedReceipt]:
        async def fetch(conn: Connection) -> list[UnmatchedReceipt]:
            rows = await conn.fetch(
                "SELECT * FROM unmatched_receipts WHERE matched_message_id IS NULL AND id > ?"
                " ORDER BY id LIMIT ?",
                after_id,
                limit,
            )
            return [read_unmatched(r) for r in rows]

        return await self._backend.run(fetch, write=False)

    async def count_unmatched_receipts(self) -> int:
        async def count(conn: Connection) -> int:
            row = await conn.fetchrow(
                "SELECT COUNT(*) AS n FROM unmatched_receipts WHERE matched_message_id IS NULL"
            )
            return 0 if row is None else int(row["n"])

        return await self._backend.run(count, write=False)


#: PostgreSQL: the part and the message of each key looked up by their primary keys, whatever
#: the tables' statistics say (on a young database, or one whose statistics lag behind, the
#: planner hashed the whole of parts and messages for every batch of receipts: ~0.25 ms per
#: message in the cluster benchmark); every key has its part and message (foreign keys)
_FIND_PARTS_BY_KEY = (
    "SELECT k.key, k.message_id, k.seq,"
    " (SELECT p.submitted_at FROM parts p WHERE p.message_id = k.message_id AND p.seq = k.seq)"
    " AS submitted_at,"
    " (SELECT m.account FROM messages m WHERE m.id = k.message_id) AS account"
    " FROM match_keys k WHERE k.key = ANY(?::text[])"
)


async def _find_parts(
    conn: Connection, dialect: Dialect, receipts: Sequence[NewReceipt]
) -> list[tuple[str, int, float | None] | None]:
    """The part each receipt is about, with its submit time (None: not found), one query
    per 500 keys (PostgreSQL: one for the batch): of the
    parts whose match keys the receipt names (in its account, when it has one), the most
    recently submitted (the same SMSC id reused much later: the latest submit wins)."""
    # key -> [(submitted_at, message_id, seq, account)]
    known: dict[str, list[tuple[float, str, int, str]]] = {}
    keys = sorted({key for r in receipts for key in r.keys})
    if dialect.arrays:
        rows = list(await conn.fetch(_FIND_PARTS_BY_KEY, keys))
    else:
        rows = []
        for chunk in chunks(keys):
            rows.extend(
                await conn.fetch(
                    "SELECT k.key, k.message_id, k.seq, p.submitted_at, m.account"
                    " FROM match_keys k"
                    " JOIN parts p ON p.message_id = k.message_id AND p.seq = k.seq"
                    " JOIN messages m ON m.id = k.message_id"
                    f" WHERE k.key IN ({placeholders(len(chunk))})",
                    *chunk,
                )
            )
    for row in rows:
        submitted = row["submitted_at"]
        known.setdefault(row["key"], []).append(
            (
                float("-inf") if submitted is None else float(submitted),
                row["message_id"],
                int(row["seq"]),
                row["account"],
            )
        )
    found: list[tuple[str, int, float | None] | None] = []
    for receipt in receipts:
        candidates = [
            c
            for key in receipt.keys
            for c in known.get(key, ())
            if receipt.account is None or c[3] == receipt.account
        ]
        if not candidates:
            found.append(None)
            continue
        submitted, message_id, seq, _ = max(candidates, key=lambda c: (c[0], c[1], -c[2]))
        found.append((message_id, seq, None if submitted == float("-inf") else submitted))
    return found


async def apply_receipts(
    conn: Connection,
    dialect: Dialect,
    receipts: Sequence[tuple[str, int, ReceiptState, str, float, str | None]],
) -> None:
    """Store matched receipts and put their states on the parts, as `apply_receipt` one
    by one would: a final state always wins, an intermediate one only over none or another
    intermediate one, so applying the intermediate ones first, then the final ones (each in
    order), ends in the same state."""
    if not receipts:
        return
    await apply_batch(
        conn,
        dialect,
        _INSERT_RECEIPTS,
        [(m, seq, state.value, raw, at, error) for m, seq, state, raw, at, error in receipts],
    )
    # per part and kind, the last receipt: what applying them one by one would leave (an
    # intermediate one that applies makes the next one apply too; a final one always does)
    intermediate: dict[tuple[str, int], tuple[object, ...]] = {}
    final: dict[tuple[str, int], tuple[object, ...]] = {}
    for m, seq, state, _, at, error in receipts:
        (final if state.is_final else intermediate)[(m, seq)] = (state.value, at, error, m, seq)
    await conn.apply(_INTERMEDIATE_ON_PARTS, list(intermediate.values()))
    await conn.apply(_FINAL_ON_PARTS, list(final.values()))


async def _keep_unmatched(conn: Connection, receipts: Sequence[NewReceipt]) -> None:
    """Receipts that found no part, kept with their keys until an acceptance names one."""
    keys: list[tuple[object, ...]] = []
    for receipt in receipts:
        row = await conn.fetchrow(
            "INSERT INTO unmatched_receipts (keys, raw, state, received_at, error_code, account)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            json.dumps(sorted(receipt.keys)),
            receipt.raw,
            receipt.state.value,
            receipt.received_at,
            receipt.error_code,
            receipt.account,
        )
        assert row is not None
        keys.extend((key, row["id"]) for key in sorted(receipt.keys))
    await conn.apply(_INSERT_UNMATCHED_KEYS, keys)

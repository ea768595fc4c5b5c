# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Outcomes: what became of each submit_sm (accepted with its SMSC id, failed or rejected,
requeued, or unknown when no response came), a run of acceptances written as a few batch
statements; then the touched messages are settled and their webhooks queued. An acceptance
also matches the receipts that came before its id (kept unmatched by `receipts`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from smppgate.store.backend import (
    Connection,
    Dialect,
    Row,
    RowsStatement,
    insert_rows,
    placeholders,
)
from smppgate.store.base import StoreBase
from smppgate.store.errors import NotFound
from smppgate.store.finite import require_finite_fields
from smppgate.store.models import (
    MarkUnknown,
    MessageState,
    Outcome,
    OutcomeResult,
    PartAccepted,
    PartFailed,
    PartStatus,
    ReceiptMatch,
    ReceiptState,
    Requeue,
    RequeueReason,
)
from smppgate.store.receipts import apply_receipts
from smppgate.store.rows import (
    INSERT_ATTEMPTS,
    OK_NAME,
    apply_batch,
    callback_info,
    chunks,
    context_columns,
    exists,
    insert_attempt,
)
from smppgate.store.settling import LAST_STATUS_OK, settle
from smppgate.store.webhooks import notify

_ACCEPT_PARTS = RowsStatement(
    each="UPDATE parts SET status = 'accepted', smsc_message_id = ?, submitted_at = ?,"
    " last_status = 0, last_status_name = ? WHERE message_id = ? AND seq = ?",
    unnest="UPDATE parts AS p SET status = 'accepted', smsc_message_id = v.smsc,"
    " submitted_at = v.at, last_status = 0, last_status_name = v.name"
    " FROM unnest(?::text[], ?::float8[], ?::text[], ?::text[], ?::int[])"
    " AS v(smsc, at, name, message_id, seq)"
    " WHERE p.message_id = v.message_id AND p.seq = v.seq",
)
_MARK_MATCHED = RowsStatement(
    each="UPDATE unmatched_receipts SET matched_message_id = ?, matched_seq = ?, matched_at = ?"
    " WHERE id = ?",
    unnest="UPDATE unmatched_receipts AS u SET matched_message_id = v.message_id,"
    " matched_seq = v.seq, matched_at = v.at"
    " FROM unnest(?::text[], ?::int[], ?::float8[], ?::bigint[]) AS v(message_id, seq, at, id)"
    " WHERE u.id = v.id",
)
_INSERT_MATCH_KEYS = insert_rows(
    "match_keys",
    (("key", "text"), ("message_id", "text"), ("seq", "int")),
    " ON CONFLICT DO NOTHING",
)


class OutcomeStore(StoreBase):
    async def record_outcome(self, outcome: Outcome) -> OutcomeResult:
        return (await self.record_outcomes([outcome]))[0]

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> list[OutcomeResult]:
        require_finite_fields(outcomes)

        async def record(conn: Connection) -> list[OutcomeResult]:
            # serialised with receipts naming the same ids: a receipt recorded meanwhile by
            # another transaction would not see this one's uncommitted keys, nor this one
            # that receipt, and it would stay unmatched
            await conn.lock_keys(
                {
                    key
                    for o in outcomes
                    if isinstance(o, PartAccepted)
                    for key in (*o.match_keys, o.smsc_message_id)
                }
            )
            late: dict[str, list[tuple[int, int, ReceiptState]]] = {}
            # the message's last_status is the status of its last response, whatever it was
            # (a success after ESME_RMSGQFUL must not keep showing the error): for a message
            # that only acceptances (and no-responses, which leave it) concern here, `settle`
            # writes it with the state, in the same row update; one that a failure or a
            # requeue of this batch concerns too gets it in the order of the outcomes
            last_ok = {o.message_id for o in outcomes if isinstance(o, PartAccepted)}
            last_ok.difference_update(
                o.message_id for o in outcomes if isinstance(o, PartFailed | Requeue)
            )
            accepted: list[PartAccepted] = []
            for outcome in outcomes:
                if isinstance(outcome, PartAccepted):
                    # consecutive acceptances (the usual batch) are written together
                    accepted.append(outcome)
                    continue
                if accepted:
                    await _accepted_many(conn, accepted, late, last_ok, self._dialect)
                    accepted = []
                if isinstance(outcome, PartFailed):
                    await _failed(conn, outcome)
                elif isinstance(outcome, Requeue):
                    await _requeue(conn, outcome)
                else:
                    await _unknown(conn, outcome)
            if accepted:
                await _accepted_many(conn, accepted, late, last_ok, self._dialect)
            touched = list(dict.fromkeys(o.message_id for o in outcomes))
            at = max((o.at for o in outcomes), default=0.0)
            states = await settle(conn, self._dialect, touched, at, last_ok)
            await notify(
                conn,
                self.notifier,
                [
                    message_id
                    for message_id, (before, after) in states.items()
                    if message_id in late or (after.is_final and before is not after)
                ],
                at,
            )
            info = await callback_info(conn, list(late))
            results = []
            for outcome in outcomes:
                matches = tuple(
                    ReceiptMatch(
                        outcome.message_id,
                        seq,
                        receipt_state,
                        states[outcome.message_id][1],
                        states[outcome.message_id][0] is not states[outcome.message_id][1],
                        info[outcome.message_id].callback_url,
                        info[outcome.message_id].client_reference,
                        outcome.at,
                    )
                    for _, seq, receipt_state in late.pop(outcome.message_id, [])
                )
                results.append(
                    OutcomeResult(outcome.message_id, states[outcome.message_id][1], matches)
                )
            return results

        return await self._backend.run(record)


async def _accepted_many(
    conn: Connection,
    run: Sequence[PartAccepted],
    late: dict[str, list[tuple[int, int, ReceiptState]]],
    last_ok: Collection[str],
    dialect: Dialect,
) -> None:
    """Accepted parts, a few statements for the whole run: the part updates, attempts and
    match keys as batches, and one look for receipts that came before their ids (rare);
    only the parts such a receipt names are then matched one by one. The messages'
    last_status: here for those not in ``last_ok`` (`settle` writes the others')."""
    present: set[tuple[str, int]] = set()
    for chunk in chunks(list(dict.fromkeys(o.message_id for o in run))):
        for row in await conn.fetch(
            f"SELECT message_id, seq FROM parts WHERE message_id IN ({placeholders(len(chunk))})",
            *chunk,
        ):
            present.add((row["message_id"], int(row["seq"])))
    for o in run:
        if (o.message_id, o.seq) not in present:
            raise NotFound("part", (o.message_id, o.seq))
    # a part accepted twice in one run: the last acceptance wins, as row by row
    last = {(o.message_id, o.seq): o for o in run}
    await conn.apply(
        _ACCEPT_PARTS,
        [(o.smsc_message_id, o.at, OK_NAME, o.message_id, o.seq) for o in last.values()],
    )
    await apply_batch(
        conn,
        dialect,
        LAST_STATUS_OK,
        [
            (OK_NAME, message_id)
            for message_id in dict.fromkeys(o.message_id for o in run)
            if message_id not in last_ok
        ],
    )
    await conn.apply(
        INSERT_ATTEMPTS,
        [
            (o.message_id, o.seq, o.at, *context_columns(o.context), 0, OK_NAME, "accepted")
            for o in run
        ],
    )
    keys_of = [sorted(o.match_keys | {o.smsc_message_id}) for o in run]
    await conn.apply(
        _INSERT_MATCH_KEYS,
        [(key, o.message_id, o.seq) for o, keys in zip(run, keys_of, strict=True) for key in keys],
    )
    # a receipt may have come before its id was stored: the receipts kept unmatched that name
    # one of the run's keys, in one look for the whole run (usually there is none)
    waiting: dict[str, list[Row]] = {}
    for chunk in chunks(sorted({key for keys in keys_of for key in keys})):
        for row in await conn.fetch(
            "SELECT k.key, r.id, r.state, r.raw, r.received_at, r.error_code, r.account"
            " FROM unmatched_receipt_keys k JOIN unmatched_receipts r ON r.id = k.receipt_id"
            f" WHERE k.key IN ({placeholders(len(chunk))}) AND r.matched_message_id IS NULL",
            *chunk,
        ):
            waiting.setdefault(row["key"], []).append(row)
    if waiting:
        await _match_waiting(conn, dialect, run, keys_of, waiting, late)


async def _match_waiting(
    conn: Connection,
    dialect: Dialect,
    run: Sequence[PartAccepted],
    keys_of: Sequence[Sequence[str]],
    waiting: Mapping[str, Sequence[Row]],
    late: dict[str, list[tuple[int, int, ReceiptState]]],
) -> None:
    """Receipts kept unmatched, applied now to the parts of ``run`` whose keys they name (in
    their account, when they have one): each to the first such part in the run's order, as
    one acceptance after another would have taken it; in receipt order within a part."""
    heads = await callback_info(conn, list(dict.fromkeys(o.message_id for o in run)))
    taken: set[int] = set()
    applied: list[tuple[str, int, ReceiptState, str, float, str | None]] = []
    matched: list[tuple[str, int, float, int]] = []
    for o, keys in zip(run, keys_of, strict=True):
        account = heads[o.message_id].account
        named = {
            int(r["id"]): r
            for key in keys
            for r in waiting.get(key, ())
            if int(r["id"]) not in taken and r["account"] in (None, account)
        }
        for receipt_id, r in sorted(named.items()):
            taken.add(receipt_id)
            state = ReceiptState(r["state"])
            applied.append(
                (o.message_id, o.seq, state, r["raw"], r["received_at"], r["error_code"])
            )
            matched.append((o.message_id, o.seq, o.at, receipt_id))
            late.setdefault(o.message_id, []).append((receipt_id, o.seq, state))
    await apply_receipts(conn, dialect, applied)
    await conn.apply(_MARK_MATCHED, matched)


async def _failed(conn: Connection, o: PartFailed) -> None:
    status = PartStatus.REJECTED if o.rejected else PartStatus.FAILED
    row = await conn.fetchrow(
        "UPDATE parts SET status = ?, last_status = ?, last_status_name = ?"
        " WHERE message_id = ? AND seq = ? RETURNING seq",
        status.value,
        o.command_status,
        o.status_name,
        o.message_id,
        o.seq,
    )
    if row is None:
        raise NotFound("part", (o.message_id, o.seq))
    await conn.execute(
        "UPDATE messages SET last_status = ?, last_status_name = ? WHERE id = ?",
        o.command_status,
        o.status_name,
        o.message_id,
    )
    await insert_attempt(
        conn,
        o.message_id,
        o.seq,
        o.at,
        o.context,
        o.command_status,
        o.status_name,
        status.value,
    )


async def _requeue(conn: Connection, o: Requeue) -> None:
    row = await conn.fetchrow(
        "UPDATE messages SET state = 'queued', next_attempt_at = ?, leased_by = NULL,"
        " lease_until = NULL, updated_at = ?,"
        " qfull_retries = qfull_retries + ?, throttled_retries = throttled_retries + ?,"
        " last_status = COALESCE(?, last_status),"
        " last_status_name = COALESCE(?, last_status_name)"
        " WHERE id = ? AND state IN ('queued', 'sending') RETURNING id",
        o.next_attempt_at,
        o.at,
        int(o.reason is RequeueReason.QUEUE_FULL),
        int(o.reason is RequeueReason.THROTTLED),
        o.command_status,
        o.status_name or None,
        o.message_id,
    )
    if row is not None:
        # the submits that got this answer surely were not accepted: they may go again
        await conn.execute(
            "UPDATE parts SET status = 'planned' WHERE message_id = ? AND status = 'sent'",
            o.message_id,
        )
    elif not await exists(conn, o.message_id):
        raise NotFound("message", o.message_id)
    await insert_attempt(
        conn,
        o.message_id,
        o.seq,
        o.at,
        o.context,
        o.command_status,
        o.status_name or None,
        f"requeued:{o.reason.value}",
    )


async def _unknown(conn: Connection, o: MarkUnknown) -> None:
    row = await conn.fetchrow(
        "SELECT resend_unknown, state FROM messages WHERE id = ?", o.message_id
    )
    if row is None:
        raise NotFound("message", o.message_id)
    resend = bool(row["resend_unknown"])
    await conn.executemany(
        "UPDATE parts SET status = ? WHERE message_id = ? AND seq = ?"
        " AND status IN ('planned', 'sent')",
        [
            ((PartStatus.PLANNED if resend else PartStatus.UNKNOWN).value, o.message_id, seq)
            for seq in o.seqs
        ],
    )
    if resend and row["state"] in (MessageState.SENDING, MessageState.QUEUED):
        await conn.execute(
            "UPDATE messages SET state = 'queued', next_attempt_at = ?, leased_by = NULL,"
            " lease_until = NULL, updated_at = ? WHERE id = ?",
            o.at if o.retry_at is None else o.retry_at,
            o.at,
            o.message_id,
        )
    for seq in o.seqs:
        await insert_attempt(
            conn,
            o.message_id,
            seq,
            o.at,
            o.context,
            None,
            None,
            "no_response:resend" if resend else "no_response",
        )

# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""The store, written once over `Backend`: every operation is one function run in one
transaction, so each call is atomic on both SQLite and PostgreSQL.

State changes follow `lifecycle.py`: queue moves (claim, requeue, recovery) are made here
directly; every other change goes through `_settle`, which recomputes each touched message's
state from its parts with `derive_state` and stores what `settle` allows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, cast

from smppgate.store import lifecycle, retention, schema
from smppgate.store.backend import Backend, Connection, Row, placeholders
from smppgate.store.errors import DuplicateKey, NotFound, QuotaExceeded, StoreError
from smppgate.store.finite import require_finite, require_finite_fields
from smppgate.store.ids import new_message_id
from smppgate.store.models import (
    COOLDOWN_SECONDS,
    MAX_PRIORITY,
    Attempt,
    DropKind,
    InboundMessage,
    InsertResult,
    MarkUnknown,
    MessageDetail,
    MessagePage,
    MessageState,
    NewInbound,
    NewMessage,
    NewReceipt,
    NewWebhook,
    Notifier,
    Outcome,
    OutcomeResult,
    PartAccepted,
    PartFailed,
    PartStatus,
    Quota,
    ReceiptMatch,
    ReceiptRecord,
    ReceiptState,
    RecoveryReport,
    Requeue,
    RequeueReason,
    SessionSlot,
    SmppReceipt,
    StoredMessage,
    StoredPart,
    SubmitContext,
    UnmatchedReceipt,
    WebhookJob,
    WebhookState,
)


class _Head(NamedTuple):
    """What receipts, outcomes and webhooks need of a message besides its state."""

    callback_url: str | None
    client_reference: str | None
    account: str


#: the most values one IN list carries (well under SQLite's and PostgreSQL's limits)
_CHUNK = 500
MAX_BATCH = 1000

_MESSAGE_COLUMNS = (
    "id, account, source, destination, text, encoding, split_method, validity_seconds,"
    " callback_url, client_reference, resend_unknown, traffic_class, priority,"
    " idempotency_scope, idempotency_key, state, created_at, updated_at, next_attempt_at,"
    " attempts, qfull_retries, throttled_retries, last_status, last_status_name, part_count,"
    " uses_payload, leased_by, lease_until, ussd_service_op, its_session_info, client"
)
#: the columns `_message` and `_part` read, in the order of their records' fields (rows are
#: unpacked by position: looking 46 names up per message was a tenth of a claim's time)
_READ_MESSAGE = (
    "id, account, source, destination, text, encoding, split_method, validity_seconds,"
    " callback_url, client_reference, resend_unknown, traffic_class, priority,"
    " idempotency_key, idempotency_scope, state, created_at, updated_at, next_attempt_at,"
    " attempts, qfull_retries, throttled_retries, last_status, last_status_name, part_count,"
    " leased_by, lease_until, ussd_service_op, its_session_info, client"
)
_READ_PART = (
    "message_id, seq, short_message, esm_class, data_coding, sar_ref, sar_total, sar_seq,"
    " message_payload, status, attempts, smsc_message_id, sent_at, submitted_at,"
    " receipt_state, receipt_at, error_code, last_status, last_status_name"
)
_MESSAGE_STATES = {s.value: s for s in MessageState}
_PART_STATUSES = {s.value: s for s in PartStatus}
_RECEIPT_STATES = {s.value: s for s in ReceiptState}
_INSERT_MESSAGE = f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({placeholders(31)})"
_INSERT_PART = (
    "INSERT INTO parts (message_id, seq, short_message, esm_class, data_coding, sar_ref,"
    " sar_total, sar_seq, message_payload, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ATTEMPT = (
    "INSERT INTO attempts (message_id, seq, at, node_id, session_id, host, command_status,"
    " status_name, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_OK_NAME = "ESME_ROK"
#: receipt states a later receipt may replace (a final one is never replaced)
_INTERMEDIATE = (ReceiptState.ACCEPTED.value, ReceiptState.ENROUTE.value)


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# distinct priorities among queued messages, highest first, by probing the claim index
_QUEUED_PRIORITIES = (
    "WITH RECURSIVE p(v) AS ("
    " SELECT (SELECT MAX(priority) FROM messages WHERE state = 'queued')"
    " UNION ALL SELECT (SELECT MAX(priority) FROM messages WHERE state = 'queued'"
    " AND priority < p.v) FROM p WHERE p.v IS NOT NULL)"
    " SELECT v FROM p"
)


async def _fold_counts(conn: Connection) -> None:
    """Move the deltas the PostgreSQL triggers appended into the totals, in one statement.
    Two nodes folding at once cannot count a delta twice: the second DELETE waits for the
    first's row locks and then skips the rows it deleted; deltas committed meanwhile are
    outside this statement's snapshot and wait for the next fold."""
    await conn.execute(
        "WITH moved AS (DELETE FROM message_count_deltas RETURNING account, state, n)"
        " INSERT INTO message_counts (account, state, n)"
        " SELECT account, state, SUM(n) FROM moved GROUP BY account, state"
        " ON CONFLICT (account, state) DO UPDATE SET n = message_counts.n + excluded.n"
    )


class SqlStore:
    """The `Store` protocol over one `Backend` (see `protocol.py` for the contract)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        #: webhooks decided inside the transactions that record their events (see Notifier)
        self.notifier: Notifier | None = None

    @property
    def dialect(self) -> str:
        return self._backend.dialect

    # ------------------------------------------------------------------ lifetime

    async def __aenter__(self) -> SqlStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._backend.close()

    async def migrate(self) -> list[int]:
        return await schema.apply(self._backend)

    async def schema_version(self) -> int:
        return await schema.current_version(self._backend)

    async def ping(self) -> None:
        async def ping(conn: Connection) -> None:
            await conn.fetchrow("SELECT 1 AS one")

        await self._backend.run(ping, write=False)

    # ------------------------------------------------------------------ messages

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
            results = await self._insert(conn, prepared, now, check)
            if quota is not None:
                await _count_usage(conn, quota, sum(r.created for r in results))
            return results

        try:
            return await self._backend.run(insert)
        except DuplicateKey as exc:
            if "idempotency" not in exc.what:
                raise
            # another node inserted the same key between our lookup and insert: look again
            return await self._backend.run(insert)

    async def _insert(
        self,
        conn: Connection,
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
            for chunk in _chunks(sorted(keys)):
                # the scope first: the unique index is (scope, key), a key alone scans it
                rows = await conn.fetch(
                    "SELECT id FROM messages WHERE idempotency_scope = ?"
                    f" AND idempotency_key IN ({placeholders(len(chunk))})",
                    scope,
                    *chunk,
                )
                for found in await self._load_messages(conn, [r["id"] for r in rows]):
                    assert found.idempotency_key is not None
                    existing[(found.idempotency_scope, found.idempotency_key)] = found
        results: list[InsertResult] = []
        message_rows: list[tuple[object, ...]] = []
        part_rows: list[tuple[object, ...]] = []
        for message, message_id in prepared:
            key = message.idempotency_key
            if key is not None and (message.idempotency_scope, key) in existing:
                results.append(InsertResult(existing[(message.idempotency_scope, key)], False))
                continue
            stored = _new_stored(message, message_id, now)
            if key is not None:
                existing[(message.idempotency_scope, key)] = stored
            message_rows.append(_message_row(stored))
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
        await conn.executemany(_INSERT_MESSAGE, message_rows)
        await conn.executemany(_INSERT_PART, part_rows)
        origins = [
            (result.message.id, m.origin.system_id, m.origin.registered_delivery)
            for (m, _), result in zip(prepared, results, strict=True)
            if m.origin is not None and result.created
        ]
        if origins:
            await conn.executemany(
                "INSERT INTO smpp_origins (message_id, system_id, registered_delivery)"
                " VALUES (?, ?, ?)",
                origins,
            )
        return results

    async def client_usage(self, day: str) -> dict[str, int]:
        async def fetch(conn: Connection) -> dict[str, int]:
            rows = await conn.fetch("SELECT client, used FROM client_usage WHERE day = ?", day)
            return {r["client"]: int(r["used"]) for r in rows}

        return await self._backend.run(fetch, write=False)

    async def get_message(self, message_id: str) -> MessageDetail:
        async def get(conn: Connection) -> MessageDetail:
            return await self._detail(conn, message_id)

        return await self._backend.run(get, write=False)

    async def list_messages(
        self,
        *,
        state: MessageState | None = None,
        account: str | None = None,
        since: float | None = None,
        after: str | None = None,
        limit: int = 100,
        client: str | None = None,
    ) -> MessagePage:
        where: list[str] = ["1 = 1"]
        args: list[object] = []
        for clause, value in (
            ("client = ?", client),
            ("state = ?", state.value if state is not None else None),
            ("account = ?", account),
            ("created_at >= ?", since),
            ("id > ?", after),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        # with `since`, the creation-time index finds the window and its rows are sorted
        # (`id || ''` keeps both planners from walking the whole history in id order instead,
        # filtering out everything older); else an id-ordered index (by state, or the key)
        order = "id" if since is None else "id || ''"
        sql = f"SELECT id FROM messages WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"

        async def page(conn: Connection) -> MessagePage:
            rows = await conn.fetch(sql, *args, limit + 1)
            ids = [r["id"] for r in rows[:limit]]
            items = tuple(await self._load_messages(conn, ids))
            cursor = ids[-1] if len(rows) > limit else None
            return MessagePage(items, cursor)

        return await self._backend.run(page, write=False)

    async def count_by_state(self, account: str | None = None) -> dict[MessageState, int]:
        """From the totals the store's triggers keep (migration 5), never by counting
        messages: a few rows however long the history. On PostgreSQL the deltas written since
        the last read are folded into the totals first (see `_fold_counts`)."""
        where = "" if account is None else " WHERE account = ?"
        args = () if account is None else (account, account)
        sql = (
            "SELECT state, SUM(n) AS n FROM (SELECT account, state, n FROM message_counts"
            f"{where} UNION ALL SELECT account, state, n FROM message_count_deltas{where})"
            " AS c GROUP BY state"
        )
        fold = self._backend.dialect == "postgresql"

        async def count(conn: Connection) -> dict[MessageState, int]:
            if fold:
                await _fold_counts(conn)
            counts = dict.fromkeys(MessageState, 0)
            for row in await conn.fetch(sql, *args):
                counts[MessageState(row["state"])] = int(row["n"])
            return counts

        # on SQLite a read: its triggers update the totals themselves, nothing to fold
        return await self._backend.run(count, write=fold)

    async def _detail(self, conn: Connection, message_id: str) -> MessageDetail:
        found = await self._load_messages(conn, [message_id])
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
            tuple(_attempt(r) for r in attempts),
            tuple(_receipt(r) for r in receipts),
        )

    async def _notify(
        self,
        conn: Connection,
        message_ids: Sequence[str],
        now: float,
        heads: Mapping[str, _Head] | None = None,
    ) -> int:
        """The ``message.status`` webhooks of ``message_ids``, in this transaction (``heads``:
        their `_callback_info`, when the caller read it already)."""
        notifier = self.notifier
        if notifier is None or not message_ids:
            return 0
        ids = list(dict.fromkeys(message_ids))
        if heads is None:
            heads = await self._callback_info(conn, ids)
        jobs = []
        for message_id in ids:
            head = heads[message_id]
            if notifier.wants_status(head.account, head.callback_url):
                job = notifier.status_job(await self._detail(conn, message_id), now)
                if job is not None:
                    jobs.append(job)
        await self._insert_webhooks(conn, jobs, now)
        return len(jobs)

    async def _insert_webhooks(
        self, conn: Connection, jobs: Sequence[NewWebhook], now: float
    ) -> None:
        await conn.executemany(
            "INSERT INTO webhooks (url, payload, event, message_id, state, attempts,"
            " next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
            [(j.url, j.payload, j.event, j.message_id, now, now) for j in jobs],
        )

    async def _load_messages(self, conn: Connection, ids: Sequence[str]) -> list[StoredMessage]:
        """Messages with their parts, in the order of `ids` (missing ones left out)."""
        by_id: dict[str, Row] = {}
        parts: dict[str, list[StoredPart]] = {}
        for chunk in _chunks(list(ids)):
            marks = placeholders(len(chunk))
            for row in await conn.fetch(
                f"SELECT {_READ_MESSAGE} FROM messages WHERE id IN ({marks})",
                *chunk,
            ):
                by_id[row[0]] = row
            for row in await conn.fetch(
                f"SELECT {_READ_PART} FROM parts WHERE message_id IN ({marks})"
                " ORDER BY message_id, seq",
                *chunk,
            ):
                parts.setdefault(row[0], []).append(_part(row))
        return [_message(by_id[i], parts.get(i, [])) for i in ids if i in by_id]

    # --------------------------------------------------------------------- queue

    async def claim(
        self,
        node_id: str,
        limit: int,
        now: float,
        lease_seconds: float,
        accounts: Sequence[str] | None = None,
    ) -> list[StoredMessage]:
        if limit <= 0 or (accounts is not None and not accounts):
            return []
        require_finite(now=now, lease_seconds=lease_seconds)
        account_filter = ""
        args: list[object] = [now]
        if accounts is not None:
            account_filter = f" AND account IN ({placeholders(len(accounts))})"
            args.extend(accounts)
        # one priority at a time, highest first: each query is a range of the claim index
        # (state, priority, next_attempt_at, id), so neither a large due backlog nor many
        # messages not due yet (scheduled, backing off) is scanned or sorted
        sql = (
            "UPDATE messages SET state = 'sending', leased_by = ?, lease_until = ?,"
            " updated_at = ?, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM messages WHERE state = 'queued' AND priority = ?"
            f" AND next_attempt_at <= ?{account_filter}"
            f" ORDER BY next_attempt_at, id LIMIT ?{self._backend.skip_locked})"
            " RETURNING id"
        )

        async def claim(conn: Connection) -> list[StoredMessage]:
            ids: list[str] = []
            # the priorities queued messages have, highest first: one index probe each (a
            # loose index scan), so an all-default queue costs one claim statement, not ten
            present = await conn.fetch(_QUEUED_PRIORITIES)
            for row in present:
                priority = row["v"]
                if priority is None:
                    continue
                rows = await conn.fetch(
                    sql, node_id, now + lease_seconds, now, priority, *args, limit - len(ids)
                )
                ids.extend(r["id"] for r in rows)
                if len(ids) >= limit:
                    break
            claimed = await self._load_messages(conn, ids)
            return sorted(claimed, key=lambda m: (-m.priority, m.next_attempt_at, m.id))

        return await self._backend.run(claim)

    async def mark_parts_sent(self, parts: Sequence[tuple[str, int]], at: float) -> None:
        require_finite(at=at)

        async def mark(conn: Connection) -> None:
            await conn.executemany(
                "UPDATE parts SET status = 'sent', sent_at = ?, attempts = attempts + 1"
                " WHERE message_id = ? AND seq = ? AND status = 'planned'",
                [(at, message_id, seq) for message_id, seq in parts],
            )

        await self._backend.run(mark)

    async def renew_leases(
        self, node_id: str, message_ids: Sequence[str], now: float, lease_seconds: float
    ) -> int:
        require_finite(now=now, lease_seconds=lease_seconds)

        async def renew(conn: Connection) -> int:
            renewed = 0
            for chunk in _chunks(list(message_ids)):
                rows = await conn.fetch(
                    "UPDATE messages SET lease_until = ? WHERE state = 'sending'"
                    f" AND leased_by = ? AND id IN ({placeholders(len(chunk))}) RETURNING id",
                    now + lease_seconds,
                    node_id,
                    *chunk,
                )
                renewed += len(rows)
            return renewed

        return await self._backend.run(renew)

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
            accepted: list[PartAccepted] = []
            for outcome in outcomes:
                if isinstance(outcome, PartAccepted):
                    # consecutive acceptances (the usual batch) are written together
                    accepted.append(outcome)
                    continue
                if accepted:
                    await self._accepted_many(conn, accepted, late)
                    accepted = []
                if isinstance(outcome, PartFailed):
                    await self._failed(conn, outcome)
                elif isinstance(outcome, Requeue):
                    await self._requeue(conn, outcome)
                else:
                    await self._unknown(conn, outcome)
            if accepted:
                await self._accepted_many(conn, accepted, late)
            touched = list(dict.fromkeys(o.message_id for o in outcomes))
            at = max((o.at for o in outcomes), default=0.0)
            states = await self._settle(conn, touched, at)
            await self._notify(
                conn,
                [
                    message_id
                    for message_id, (before, after) in states.items()
                    if message_id in late or (after.is_final and before is not after)
                ],
                at,
            )
            info = await self._callback_info(conn, list(late))
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

    async def _attempt(
        self,
        conn: Connection,
        message_id: str,
        seq: int | None,
        at: float,
        context: SubmitContext,
        command_status: int | None,
        status_name: str | None,
        outcome: str,
    ) -> None:
        await conn.execute(
            _INSERT_ATTEMPT,
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

    async def _accepted_many(
        self,
        conn: Connection,
        run: Sequence[PartAccepted],
        late: dict[str, list[tuple[int, int, ReceiptState]]],
    ) -> None:
        """Accepted parts, a few statements for the whole run: the part updates, attempts and
        match keys as batches, and one look for receipts that came before their ids (rare);
        only the parts such a receipt names are then matched one by one."""
        present: set[tuple[str, int]] = set()
        for chunk in _chunks(list(dict.fromkeys(o.message_id for o in run))):
            for row in await conn.fetch(
                "SELECT message_id, seq FROM parts"
                f" WHERE message_id IN ({placeholders(len(chunk))})",
                *chunk,
            ):
                present.add((row["message_id"], int(row["seq"])))
        for o in run:
            if (o.message_id, o.seq) not in present:
                raise NotFound("part", (o.message_id, o.seq))
        await conn.executemany(
            "UPDATE parts SET status = 'accepted', smsc_message_id = ?, submitted_at = ?,"
            " last_status = 0, last_status_name = ? WHERE message_id = ? AND seq = ?",
            [(o.smsc_message_id, o.at, _OK_NAME, o.message_id, o.seq) for o in run],
        )
        # the message's last_status is the status of its last response, whatever it was: a
        # success after ESME_RMSGQFUL must not keep showing the error
        await conn.executemany(
            "UPDATE messages SET last_status = 0, last_status_name = ? WHERE id = ?",
            [(_OK_NAME, message_id) for message_id in dict.fromkeys(o.message_id for o in run)],
        )
        await conn.executemany(
            _INSERT_ATTEMPT,
            [
                (o.message_id, o.seq, o.at, *_context(o.context), 0, _OK_NAME, "accepted")
                for o in run
            ],
        )
        keys_of = [sorted(o.match_keys | {o.smsc_message_id}) for o in run]
        await conn.executemany(
            "INSERT INTO match_keys (key, message_id, seq) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (key, o.message_id, o.seq)
                for o, keys in zip(run, keys_of, strict=True)
                for key in keys
            ],
        )
        # a receipt may have come before its id was stored: find the keys such receipts name
        waiting: set[str] = set()
        for chunk in _chunks(sorted({key for keys in keys_of for key in keys})):
            for row in await conn.fetch(
                "SELECT DISTINCT k.key FROM unmatched_receipt_keys k"
                " JOIN unmatched_receipts r ON r.id = k.receipt_id"
                f" WHERE k.key IN ({placeholders(len(chunk))}) AND r.matched_message_id IS NULL",
                *chunk,
            ):
                waiting.add(row["key"])
        if not waiting:
            return
        for o, keys in zip(run, keys_of, strict=True):
            if waiting.intersection(keys):
                matched = await self._match_waiting(conn, o, keys)
                late.setdefault(o.message_id, []).extend(matched)

    async def _match_waiting(
        self, conn: Connection, o: PartAccepted, keys: Sequence[str]
    ) -> list[tuple[int, int, ReceiptState]]:
        """Receipts kept unmatched that name one of ``keys``: applied to this part now."""
        waiting = await conn.fetch(
            "SELECT DISTINCT r.id, r.state, r.raw, r.received_at, r.error_code"
            " FROM unmatched_receipt_keys k JOIN unmatched_receipts r ON r.id = k.receipt_id"
            f" WHERE k.key IN ({placeholders(len(keys))}) AND r.matched_message_id IS NULL"
            " AND (r.account IS NULL OR r.account ="
            " (SELECT account FROM messages WHERE id = ?)) ORDER BY r.id",
            *keys,
            o.message_id,
        )
        matched = []
        for receipt in waiting:
            state = ReceiptState(receipt["state"])
            await self._apply_receipt(
                conn,
                o.message_id,
                o.seq,
                state,
                receipt["raw"],
                receipt["received_at"],
                receipt["error_code"],
            )
            await conn.execute(
                "UPDATE unmatched_receipts SET matched_message_id = ?, matched_seq = ?,"
                " matched_at = ? WHERE id = ?",
                o.message_id,
                o.seq,
                o.at,
                receipt["id"],
            )
            matched.append((int(receipt["id"]), o.seq, state))
        return matched

    async def _failed(self, conn: Connection, o: PartFailed) -> None:
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
        await self._attempt(
            conn,
            o.message_id,
            o.seq,
            o.at,
            o.context,
            o.command_status,
            o.status_name,
            status.value,
        )

    async def _requeue(self, conn: Connection, o: Requeue) -> None:
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
        elif not await _exists(conn, o.message_id):
            raise NotFound("message", o.message_id)
        await self._attempt(
            conn,
            o.message_id,
            o.seq,
            o.at,
            o.context,
            o.command_status,
            o.status_name or None,
            f"requeued:{o.reason.value}",
        )

    async def _unknown(self, conn: Connection, o: MarkUnknown) -> None:
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
            await self._attempt(
                conn,
                o.message_id,
                seq,
                o.at,
                o.context,
                None,
                None,
                "no_response:resend" if resend else "no_response",
            )

    async def recover_expired_leases(
        self,
        now: float,
        *,
        node_id: str | None = None,
        recovered_by: str = "",
        every_lease: bool = False,
    ) -> RecoveryReport:
        """Leases that ran out (or, with `node_id`, every lease that node held: a restart; with
        `every_lease`, every lease there is). `now` is only ever the time written."""
        require_finite(now=now)
        sql = "SELECT id, resend_unknown FROM messages WHERE state = 'sending'"
        args: list[object] = []
        if not every_lease:
            sql += " AND (lease_until <= ?"
            args.append(now)
            if node_id is not None:
                sql += " OR leased_by = ?"
                args.append(node_id)
            sql += ")"
        sql += f" ORDER BY id{self._backend.skip_locked}"
        context = SubmitContext(node_id=recovered_by or node_id or "")

        async def recover(conn: Connection) -> RecoveryReport:
            rows = await conn.fetch(sql, *args)
            requeued: list[str] = []
            unknown: list[str] = []
            for row in rows:
                message_id = row["id"]
                sent = await conn.fetch(
                    "SELECT seq FROM parts WHERE message_id = ? AND status = 'sent' ORDER BY seq",
                    message_id,
                )
                if sent and not row["resend_unknown"]:
                    await conn.execute(
                        "UPDATE parts SET status = 'unknown' WHERE message_id = ?"
                        " AND status = 'sent'",
                        message_id,
                    )
                    unknown.append(message_id)
                else:
                    await conn.execute(
                        "UPDATE parts SET status = 'planned' WHERE message_id = ?"
                        " AND status = 'sent'",
                        message_id,
                    )
                    await conn.execute(
                        "UPDATE messages SET state = 'queued', leased_by = NULL,"
                        " lease_until = NULL, updated_at = ? WHERE id = ?",
                        now,
                        message_id,
                    )
                    requeued.append(message_id)
                for part in sent:
                    await self._attempt(
                        conn,
                        message_id,
                        part["seq"],
                        now,
                        context,
                        None,
                        None,
                        "lease_expired:resend" if row["resend_unknown"] else "lease_expired",
                    )
            await self._settle(conn, unknown, now)
            await self._notify(conn, unknown, now)
            return RecoveryReport(tuple(requeued), tuple(unknown))

        return await self._backend.run(recover)

    async def _settle(
        self, conn: Connection, message_ids: Sequence[str], now: float
    ) -> dict[str, tuple[MessageState, MessageState]]:
        """Recompute each message's state from its parts; return {id: (before, after)}."""
        result: dict[str, tuple[MessageState, MessageState]] = {}
        updates: list[tuple[object, ...]] = []
        for chunk in _chunks(list(message_ids)):
            marks = placeholders(len(chunk))
            # the message rows first, locked in id order: two transactions settling the same
            # message (receipts for two of its parts on two nodes at once) run one after the
            # other, and the second reads the parts with the first's change (READ COMMITTED:
            # a new statement, a new snapshot) — else both could leave it `submitted`
            messages = await conn.fetch(
                f"SELECT id, state, uses_payload FROM messages WHERE id IN ({marks})"
                f" ORDER BY id{self._backend.lock_rows}",
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
                if new is not current:
                    updates.append((new.value, now, message_id))
        missing = [m for m in message_ids if m not in result]
        if missing:
            raise NotFound("message", missing[0])
        await conn.executemany(
            "UPDATE messages SET state = ?, updated_at = ?, leased_by = NULL,"
            " lease_until = NULL WHERE id = ?",
            updates,
        )
        return result

    async def _callback_info(
        self, conn: Connection, message_ids: Sequence[str]
    ) -> dict[str, _Head]:
        info: dict[str, _Head] = {}
        for chunk in _chunks(list(message_ids)):
            for row in await conn.fetch(
                "SELECT id, callback_url, client_reference, account FROM messages"
                f" WHERE id IN ({placeholders(len(chunk))})",
                *chunk,
            ):
                info[row["id"]] = _Head(
                    row["callback_url"], row["client_reference"], row["account"]
                )
        return info

    # ------------------------------------------------------------------ receipts

    async def record_receipt(self, receipt: NewReceipt) -> ReceiptMatch | None:
        return (await self.record_receipts([receipt]))[0]

    async def record_receipts(self, receipts: Sequence[NewReceipt]) -> list[ReceiptMatch | None]:
        require_finite_fields(receipts)

        async def record(conn: Connection) -> list[ReceiptMatch | None]:
            await conn.lock_keys({key for r in receipts for key in r.keys})  # see record_outcomes
            found = await self._find_parts(conn, receipts)
            for receipt, part in zip(receipts, found, strict=True):
                if part is None:
                    await self._keep_unmatched(conn, receipt)
            await self._apply_receipts(
                conn,
                [
                    (part[0], part[1], r.state, r.raw, r.received_at, r.error_code)
                    for r, part in zip(receipts, found, strict=True)
                    if part is not None
                ],
            )
            touched = [p[0] for p in found if p is not None]
            at = max((r.received_at for r in receipts), default=0.0)
            states = await self._settle(conn, list(dict.fromkeys(touched)), at)
            info = await self._callback_info(conn, touched)
            await self._notify(conn, touched, at, info)
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

    async def _find_parts(
        self, conn: Connection, receipts: Sequence[NewReceipt]
    ) -> list[tuple[str, int, float | None] | None]:
        """The part each receipt is about, with its submit time (None: not found), one query
        per 500 keys: of the
        parts whose match keys the receipt names (in its account, when it has one), the most
        recently submitted (the same SMSC id reused much later: the latest submit wins)."""
        # key -> [(submitted_at, message_id, seq, account)]
        known: dict[str, list[tuple[float, str, int, str]]] = {}
        for chunk in _chunks(sorted({key for r in receipts for key in r.keys})):
            for row in await conn.fetch(
                "SELECT k.key, k.message_id, k.seq, p.submitted_at, m.account FROM match_keys k"
                " JOIN parts p ON p.message_id = k.message_id AND p.seq = k.seq"
                " JOIN messages m ON m.id = k.message_id"
                f" WHERE k.key IN ({placeholders(len(chunk))})",
                *chunk,
            ):
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

    async def _apply_receipts(
        self,
        conn: Connection,
        receipts: Sequence[tuple[str, int, ReceiptState, str, float, str | None]],
    ) -> None:
        """Store matched receipts and put their states on the parts, as `_apply_receipt` one
        by one would: a final state always wins, an intermediate one only over none or another
        intermediate one, so applying the intermediate ones first, then the final ones (each in
        order), ends in the same state."""
        if not receipts:
            return
        await conn.executemany(
            "INSERT INTO receipts (message_id, seq, state, raw, received_at, error_code)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(m, seq, state.value, raw, at, error) for m, seq, state, raw, at, error in receipts],
        )
        await conn.executemany(
            "UPDATE parts SET receipt_state = ?, receipt_at = ?, error_code = ?"
            " WHERE message_id = ? AND seq = ?"
            " AND (receipt_state IS NULL OR receipt_state IN (?, ?))",
            [
                (state.value, at, error, m, seq, *_INTERMEDIATE)
                for m, seq, state, _, at, error in receipts
                if not state.is_final
            ],
        )
        await conn.executemany(
            "UPDATE parts SET receipt_state = ?, receipt_at = ?, error_code = ?"
            " WHERE message_id = ? AND seq = ?",
            [
                (state.value, at, error, m, seq)
                for m, seq, state, _, at, error in receipts
                if state.is_final
            ],
        )

    async def _apply_receipt(
        self,
        conn: Connection,
        message_id: str,
        seq: int,
        state: ReceiptState,
        raw: str,
        received_at: float,
        error_code: str | None,
    ) -> None:
        await conn.execute(
            "INSERT INTO receipts (message_id, seq, state, raw, received_at, error_code)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            message_id,
            seq,
            state.value,
            raw,
            received_at,
            error_code,
        )
        # an intermediate receipt (ENROUTE, ACCEPTD) never replaces a final one
        guard = "" if state.is_final else " AND (receipt_state IS NULL OR receipt_state IN (?, ?))"
        args: list[object] = [state.value, received_at, error_code, message_id, seq]
        if not state.is_final:
            args += [ReceiptState.ACCEPTED.value, ReceiptState.ENROUTE.value]
        await conn.execute(
            "UPDATE parts SET receipt_state = ?, receipt_at = ?, error_code = ?"
            f" WHERE message_id = ? AND seq = ?{guard}",
            *args,
        )

    async def _keep_unmatched(self, conn: Connection, receipt: NewReceipt) -> None:
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
        await conn.executemany(
            "INSERT INTO unmatched_receipt_keys (key, receipt_id) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            [(key, row["id"]) for key in sorted(receipt.keys)],
        )

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
            return [_unmatched(r) for r in rows]

        return await self._backend.run(fetch, write=False)

    async def count_unmatched_receipts(self) -> int:
        async def count(conn: Connection) -> int:
            row = await conn.fetchrow(
                "SELECT COUNT(*) AS n FROM unmatched_receipts WHERE matched_message_id IS NULL"
            )
            return 0 if row is None else int(row["n"])

        return await self._backend.run(count, write=False)

    # ------------------------------------------------------------------- inbound

    async def record_inbound(self, inbound: NewInbound) -> InboundMessage:
        require_finite_fields([inbound])

        async def record(conn: Connection) -> InboundMessage:
            row = await conn.fetchrow(
                "INSERT INTO inbound (account, source, destination, text, data_coding,"
                " ussd_service_op, received_at, parts_info) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING *",
                inbound.account,
                inbound.source,
                inbound.destination,
                inbound.text,
                inbound.data_coding,
                inbound.ussd_service_op,
                inbound.received_at,
                inbound.parts_info,
            )
            assert row is not None
            recorded = _inbound(row)
            if self.notifier is not None:
                job = self.notifier.inbound_job(recorded, recorded.received_at)
                if job is not None:
                    await self._insert_webhooks(conn, [job], recorded.received_at)
            return recorded

        return await self._backend.run(record)

    async def list_inbound(
        self,
        *,
        since: float | None = None,
        after_id: int = 0,
        account: str | None = None,
        limit: int = 100,
        accounts: Sequence[str] | None = None,
    ) -> list[InboundMessage]:
        sql = "SELECT * FROM inbound WHERE id > ?"
        args: list[object] = [after_id]
        if since is not None:
            sql += " AND received_at >= ?"
            args.append(since)
        if account is not None:
            sql += " AND account = ?"
            args.append(account)
        if accounts is not None:
            if not accounts:
                return []
            sql += f" AND account IN ({placeholders(len(accounts))})"
            args.extend(accounts)
        sql += " ORDER BY id LIMIT ?"

        async def fetch(conn: Connection) -> list[InboundMessage]:
            return [_inbound(r) for r in await conn.fetch(sql, *args, limit)]

        return await self._backend.run(fetch, write=False)

    # ------------------------------------------------------------------ webhooks

    # ------------------------------------------------------------------ SMPP front door

    async def smpp_outbox(
        self, system_id: str, *, after_id: int = 0, limit: int = 100
    ) -> list[SmppReceipt]:
        async def fetch(conn: Connection) -> list[SmppReceipt]:
            rows = await conn.fetch(
                "SELECT o.id, o.system_id, o.message_id, o.state, o.error_code, o.done_at,"
                " m.created_at, m.source, m.destination, m.text"
                " FROM smpp_outbox o JOIN messages m ON m.id = o.message_id"
                " WHERE o.system_id = ? AND o.id > ? ORDER BY o.id LIMIT ?",
                system_id,
                after_id,
                limit,
            )
            return [
                SmppReceipt(
                    id=int(r["id"]),
                    system_id=r["system_id"],
                    message_id=r["message_id"],
                    state=ReceiptState(r["state"]),
                    error_code=r["error_code"],
                    done_at=float(r["done_at"]),
                    submitted_at=float(r["created_at"]),
                    source=r["source"],
                    destination=r["destination"],
                    text=r["text"],
                )
                for r in rows
            ]

        return await self._backend.run(fetch)

    async def smpp_message(self, system_id: str, message_id: str) -> StoredMessage | None:
        async def get(conn: Connection) -> StoredMessage | None:
            row = await conn.fetchrow(
                "SELECT message_id FROM smpp_origins WHERE message_id = ? AND system_id = ?",
                message_id,
                system_id,
            )
            if row is None:
                return None
            found = await self._load_messages(conn, [message_id])
            return found[0] if found else None

        return await self._backend.run(get)

    async def smpp_outbox_done(self, ids: Sequence[int]) -> None:
        if not ids:
            return

        async def done(conn: Connection) -> None:
            for chunk in _chunks(sorted(ids)):
                await conn.execute(
                    f"DELETE FROM smpp_outbox WHERE id IN ({placeholders(len(chunk))})", *chunk
                )

        await self._backend.run(done)

    async def smpp_outbox_expire(self, before: float) -> int:
        require_finite(before=before)

        async def expire(conn: Connection) -> int:
            row = await conn.fetchrow(
                "SELECT COUNT(*) AS n FROM smpp_outbox WHERE created_at < ?", before
            )
            await conn.execute("DELETE FROM smpp_outbox WHERE created_at < ?", before)
            return int(row["n"]) if row is not None else 0

        return await self._backend.run(expire)

    async def smpp_outbox_backlog(self) -> dict[str, int]:
        async def count(conn: Connection) -> dict[str, int]:
            rows = await conn.fetch(
                "SELECT system_id, COUNT(*) AS n FROM smpp_outbox GROUP BY system_id"
            )
            return {r["system_id"]: int(r["n"]) for r in rows}

        return await self._backend.run(count)

    async def enqueue_webhook(
        self, url: str, payload: str, event: str, message_id: str | None, now: float
    ) -> WebhookJob:
        require_finite(now=now)

        async def enqueue(conn: Connection) -> WebhookJob:
            row = await conn.fetchrow(
                "INSERT INTO webhooks (url, payload, event, message_id, state, attempts,"
                " next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)"
                " RETURNING *",
                url,
                payload,
                event,
                message_id,
                now,
                now,
            )
            assert row is not None
            return _webhook(row)

        return await self._backend.run(enqueue)

    async def claim_webhooks(
        self, node_id: str, limit: int, now: float, lease_seconds: float
    ) -> list[WebhookJob]:
        require_finite(now=now, lease_seconds=lease_seconds)
        sql = (
            "UPDATE webhooks SET leased_by = ?, lease_until = ?, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM webhooks WHERE state = 'pending'"
            " AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
            f" ORDER BY next_attempt_at, id LIMIT ?{self._backend.skip_locked}) RETURNING *"
        )

        async def claim(conn: Connection) -> list[WebhookJob]:
            rows = await conn.fetch(sql, node_id, now + lease_seconds, now, now, limit)
            return sorted((_webhook(r) for r in rows), key=lambda j: (j.next_attempt_at, j.id))

        return await self._backend.run(claim)

    async def webhook_delivered(self, job_id: int, at: float) -> None:
        require_finite(at=at)

        async def done(conn: Connection) -> None:
            row = await conn.fetchrow(
                "UPDATE webhooks SET state = 'delivered', delivered_at = ?, leased_by = NULL,"
                " lease_until = NULL WHERE id = ? RETURNING id",
                at,
                job_id,
            )
            if row is None:
                raise NotFound("webhook", job_id)

        await self._backend.run(done)

    async def webhooks_deferred(self, job_ids: Sequence[int], due_at: float) -> None:
        async def defer(conn: Connection) -> None:
            for chunk in _chunks(sorted(job_ids)):
                await conn.execute(
                    "UPDATE webhooks SET leased_by = NULL, lease_until = NULL,"
                    " attempts = attempts - 1, next_attempt_at = ?"
                    f" WHERE state = 'pending' AND id IN ({placeholders(len(chunk))})",
                    due_at,
                    *chunk,
                )

        await self._backend.run(defer)

    async def webhook_failed(
        self, job_id: int, at: float, error: str, retry_at: float | None, max_attempts: int
    ) -> WebhookState:
        """One delivery failed: retry at `retry_at`, or give up when `retry_at` is None or the
        job has been claimed `max_attempts` times."""
        require_finite(at=at, retry_at=retry_at)

        async def failed(conn: Connection) -> WebhookState:
            row = await conn.fetchrow("SELECT attempts FROM webhooks WHERE id = ?", job_id)
            if row is None:
                raise NotFound("webhook", job_id)
            give_up = retry_at is None or int(row["attempts"]) >= max_attempts
            state = WebhookState.GAVE_UP if give_up else WebhookState.PENDING
            await conn.execute(
                "UPDATE webhooks SET state = ?, last_error = ?, next_attempt_at = ?,"
                " leased_by = NULL, lease_until = NULL WHERE id = ?",
                state.value,
                error,
                at if retry_at is None else retry_at,
                job_id,
            )
            return state

        return await self._backend.run(failed)

    async def get_webhook(self, job_id: int) -> WebhookJob:
        async def get(conn: Connection) -> WebhookJob:
            row = await conn.fetchrow("SELECT * FROM webhooks WHERE id = ?", job_id)
            if row is None:
                raise NotFound("webhook", job_id)
            return _webhook(row)

        return await self._backend.run(get, write=False)

    async def webhook_backlog(self) -> int:
        async def count(conn: Connection) -> int:
            row = await conn.fetchrow("SELECT COUNT(*) AS n FROM webhooks WHERE state = 'pending'")
            return 0 if row is None else int(row["n"])

        return await self._backend.run(count, write=False)

    # ----------------------------------------------------------------- retention

    async def purge(self, kind: retention.PurgeKind, cutoff: float, limit: int) -> int:
        async def purge(conn: Connection) -> int:
            return await retention.purge(conn, kind, cutoff, limit)

        return await self._backend.run(purge)

    async def take_maintenance_lease(
        self, name: str, node_id: str, now: float, lease_seconds: float
    ) -> bool:
        async def take(conn: Connection) -> bool:
            return await retention.take_lease(conn, name, node_id, now, lease_seconds)

        return await self._backend.run(take)

    async def release_maintenance_lease(self, name: str, node_id: str) -> None:
        async def release(conn: Connection) -> None:
            await retention.release_lease(conn, name, node_id)

        await self._backend.run(release)

    # ------------------------------------------------------------------- cluster

    async def acquire_session_slot(
        self, system_id: str, max_slots: int, node_id: str, now: float, lease_seconds: float
    ) -> int | None:
        require_finite(now=now, lease_seconds=lease_seconds)

        async def acquire(conn: Connection) -> int | None:
            await conn.lock(f"smppgate.slots:{system_id}")
            for slot in range(max_slots):
                row = await conn.fetchrow(
                    "INSERT INTO session_slots (system_id, slot, node_id, lease_until)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (system_id, slot) DO UPDATE"
                    " SET node_id = excluded.node_id, lease_until = excluded.lease_until"
                    " WHERE session_slots.lease_until <= ? RETURNING slot",
                    system_id,
                    slot,
                    node_id,
                    now + lease_seconds,
                    now,
                )
                if row is not None:
                    return slot
            return None

        return await self._backend.run(acquire)

    async def renew_session_slot(
        self, system_id: str, slot: int, node_id: str, now: float, lease_seconds: float
    ) -> bool:
        """Extend a slot this node holds; False if it was lost (expired and taken by another
        node, or released): the session on it must unbind."""
        require_finite(now=now, lease_seconds=lease_seconds)

        async def renew(conn: Connection) -> bool:
            row = await conn.fetchrow(
                "UPDATE session_slots SET lease_until = ? WHERE system_id = ? AND slot = ?"
                " AND node_id = ? RETURNING slot",
                now + lease_seconds,
                system_id,
                slot,
                node_id,
            )
            return row is not None

        return await self._backend.run(renew)

    async def release_session_slot(self, system_id: str, slot: int, node_id: str) -> None:
        async def release(conn: Connection) -> None:
            await conn.execute(
                "DELETE FROM session_slots WHERE system_id = ? AND slot = ? AND node_id = ?",
                system_id,
                slot,
                node_id,
            )

        await self._backend.run(release)

    async def release_node_slots(self, node_id: str) -> int:
        async def release(conn: Connection) -> int:
            rows = await conn.fetch(
                "DELETE FROM session_slots WHERE node_id = ? RETURNING slot", node_id
            )
            return len(rows)

        return await self._backend.run(release)

    async def list_session_slots(self, system_id: str, now: float) -> list[SessionSlot]:
        async def fetch(conn: Connection) -> list[SessionSlot]:
            rows = await conn.fetch(
                "SELECT * FROM session_slots WHERE system_id = ? AND lease_until > ? ORDER BY slot",
                system_id,
                now,
            )
            return [
                SessionSlot(r["system_id"], int(r["slot"]), r["node_id"], float(r["lease_until"]))
                for r in rows
            ]

        return await self._backend.run(fetch, write=False)

    async def record_drop(
        self, account: str, host: str, at: float, kind: DropKind, cooldown: float | None = None
    ) -> float:
        """Record a dropped session or a failed connect; return when connecting is allowed
        again (`cooldown` overrides the platform's 60 s / 90 s). A later, shorter cooldown
        never shortens one already running."""
        require_finite(at=at, cooldown=cooldown)
        allowed = at + (COOLDOWN_SECONDS[kind] if cooldown is None else cooldown)

        async def record(conn: Connection) -> float:
            row = await conn.fetchrow(
                "INSERT INTO connect_cooldowns (account, host, kind, happened_at, allowed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, host) DO UPDATE"
                " SET kind = excluded.kind, happened_at = excluded.happened_at,"
                " allowed_at = CASE WHEN excluded.allowed_at > connect_cooldowns.allowed_at"
                " THEN excluded.allowed_at ELSE connect_cooldowns.allowed_at END"
                " RETURNING allowed_at",
                account,
                host,
                kind.value,
                at,
                allowed,
            )
            assert row is not None
            return float(row["allowed_at"])

        return await self._backend.run(record)

    async def next_connect_allowed(self, account: str, host: str) -> float | None:
        async def fetch(conn: Connection) -> float | None:
            row = await conn.fetchrow(
                "SELECT allowed_at FROM connect_cooldowns WHERE account = ? AND host = ?",
                account,
                host,
            )
            return None if row is None else float(row["allowed_at"])

        return await self._backend.run(fetch, write=False)


# ------------------------------------------------------------------ row <-> record


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


def _context(context: SubmitContext) -> tuple[str, str, str]:
    return (context.node_id, context.session_id, context.host)


async def _exists(conn: Connection, message_id: str) -> bool:
    return await conn.fetchrow("SELECT id FROM messages WHERE id = ?", message_id) is not None


def _new_stored(message: NewMessage, message_id: str, now: float) -> StoredMessage:
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
        state=MessageState.QUEUED,
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


def _message_row(m: StoredMessage) -> tuple[object, ...]:
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


def _part(r: Row) -> StoredPart:
    """A part from a row of `_READ_PART` columns."""
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


def _message(r: Row, parts: list[StoredPart]) -> StoredMessage:
    """A message from a row of `_READ_MESSAGE` columns."""
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


def _attempt(r: Row) -> Attempt:
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


def _receipt(r: Row) -> ReceiptRecord:
    return ReceiptRecord(
        id=int(r["id"]),
        message_id=r["message_id"],
        seq=int(r["seq"]),
        state=ReceiptState(r["state"]),
        raw=r["raw"],
        received_at=float(r["received_at"]),
        error_code=r["error_code"],
    )


def _unmatched(r: Row) -> UnmatchedReceipt:
    return UnmatchedReceipt(
        id=int(r["id"]),
        keys=frozenset(json.loads(r["keys"])),
        raw=r["raw"],
        state=ReceiptState(r["state"]),
        received_at=float(r["received_at"]),
        error_code=r["error_code"],
        account=r["account"],
    )


def _inbound(r: Row) -> InboundMessage:
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


def _webhook(r: Row) -> WebhookJob:
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

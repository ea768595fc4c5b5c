# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""The queue: claims (queued -> sending, with a lease), parts marked `sent` before their
submit_sm leaves, leases renewed, and the recovery of leases that ran out (docs/store.md, "The
recovery rule")."""

from __future__ import annotations

from collections.abc import Sequence

from smppgate.store.backend import Connection, Row, RowsStatement, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite
from smppgate.store.models import RecoveryReport, StoredMessage, SubmitContext
from smppgate.store.rows import READ_MESSAGE, chunks, insert_attempt, with_parts
from smppgate.store.settling import settle
from smppgate.store.webhooks import notify

# distinct priorities among queued messages, highest first, by probing the claim index
_QUEUED_PRIORITIES = (
    "WITH RECURSIVE p(v) AS ("
    " SELECT (SELECT MAX(priority) FROM messages WHERE state = 'queued')"
    " UNION ALL SELECT (SELECT MAX(priority) FROM messages WHERE state = 'queued'"
    " AND priority < p.v) FROM p WHERE p.v IS NOT NULL)"
    " SELECT v FROM p"
)


_MARK_SENT = RowsStatement(
    each="UPDATE parts SET status = 'sent', sent_at = ?, attempts = attempts + 1"
    " WHERE message_id = ? AND seq = ? AND status = 'planned'",
    unnest="UPDATE parts AS p SET status = 'sent', sent_at = v.at, attempts = p.attempts + 1"
    " FROM unnest(?::float8[], ?::text[], ?::int[]) AS v(at, message_id, seq)"
    " WHERE p.message_id = v.message_id AND p.seq = v.seq AND p.status = 'planned'",
)


class QueueStore(StoreBase):
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
            f" ORDER BY next_attempt_at, id LIMIT ?{self._dialect.skip_locked})"
            f" RETURNING {READ_MESSAGE}"
        )

        async def claim(conn: Connection) -> list[StoredMessage]:
            # the claimed rows as the UPDATE left them: no second read of the messages
            leased: list[Row] = []
            # the priorities queued messages have, highest first: one index probe each (a
            # loose index scan), so an all-default queue costs one claim statement, not ten
            present = await conn.fetch(_QUEUED_PRIORITIES)
            for row in present:
                priority = row["v"]
                if priority is None:
                    continue
                leased.extend(
                    await conn.fetch(
                        sql, node_id, now + lease_seconds, now, priority, *args, limit - len(leased)
                    )
                )
                if len(leased) >= limit:
                    break
            claimed = await with_parts(conn, leased)
            return sorted(claimed, key=lambda m: (-m.priority, m.next_attempt_at, m.id))

        return await self._backend.run(claim)

    async def mark_parts_sent(self, parts: Sequence[tuple[str, int]], at: float) -> None:
        require_finite(at=at)

        async def mark(conn: Connection) -> None:
            # a part named twice is marked once either way (the second finds it `sent`)
            rows = [(at, message_id, seq) for message_id, seq in dict.fromkeys(parts)]
            await conn.apply(_MARK_SENT, rows)

        await self._backend.run(mark)

    async def renew_leases(
        self, node_id: str, message_ids: Sequence[str], now: float, lease_seconds: float
    ) -> int:
        require_finite(now=now, lease_seconds=lease_seconds)

        async def renew(conn: Connection) -> int:
            renewed = 0
            for chunk in chunks(list(message_ids)):
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

    async def recover_expired_leases(
        self,
        now: float,
        *,
        node_id: str | None = None,
        recovered_by: str = "",
        every_lease: bool = False,
        gone: Sequence[str] = (),
    ) -> RecoveryReport:
        """Leases that ran out (or, with `node_id`, every lease that node held: a restart;
        with `gone`, every lease those nodes held; with `every_lease`, every lease there is).
        `now` is only ever the time written."""
        require_finite(now=now)
        sql = "SELECT id, resend_unknown FROM messages WHERE state = 'sending'"
        args: list[object] = []
        if not every_lease:
            sql += " AND (lease_until <= ?"
            args.append(now)
            holders = [*([node_id] if node_id is not None else []), *gone]
            if holders:
                sql += f" OR leased_by IN ({placeholders(len(holders))})"
                args.extend(holders)
            sql += ")"
        sql += f" ORDER BY id{self._dialect.skip_locked}"
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
                    await insert_attempt(
                        conn,
                        message_id,
                        part["seq"],
                        now,
                        context,
                        None,
                        None,
                        "lease_expired:resend" if row["resend_unknown"] else "lease_expired",
                    )
            await settle(conn, self._dialect, unknown, now)
            await notify(conn, self.notifier, unknown, now)
            return RecoveryReport(tuple(requeued), tuple(unknown))

        return await self._backend.run(recover)

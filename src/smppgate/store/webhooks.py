# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""The webhook outbox: jobs are inserted by the transaction that records their event
(`notify`, `insert_webhooks`, decided by the store's `Notifier`), then claimed with a lease,
delivered, deferred or failed by the service's webhook loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from smppgate.store.backend import Connection, insert_rows, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.errors import NotFound
from smppgate.store.finite import require_finite
from smppgate.store.models import NewWebhook, Notifier, WebhookJob, WebhookState
from smppgate.store.rows import (
    Head,
    callback_info,
    chunks,
    load_messages,
    read_webhook,
    receipts_of,
)


async def notify(
    conn: Connection,
    notifier: Notifier | None,
    message_ids: Sequence[str],
    now: float,
    heads: Mapping[str, Head] | None = None,
) -> int:
    """The ``message.status`` webhooks of ``message_ids``, in this transaction (``heads``:
    their `callback_info`, when the caller read it already). The messages that want one are
    read together, with their receipts: three statements for the batch, not four per message
    (their attempts, which no payload carries, are not read)."""
    if notifier is None or not message_ids:
        return 0
    ids = list(dict.fromkeys(message_ids))
    if heads is None:
        heads = await callback_info(conn, ids)
    wanted = [i for i in ids if notifier.wants_status(heads[i].account, heads[i].callback_url)]
    if not wanted:
        return 0
    receipts = await receipts_of(conn, wanted)
    jobs = [
        job
        for message in await load_messages(conn, wanted)
        if (job := notifier.status_job(message, receipts.get(message.id, ()), now)) is not None
    ]
    await insert_webhooks(conn, jobs, now)
    return len(jobs)


_INSERT_WEBHOOKS = insert_rows(
    "webhooks",
    (
        ("url", "text"),
        ("payload", "text"),
        ("event", "text"),
        ("message_id", "text"),
        ("state", "text"),
        ("attempts", "int"),
        ("next_attempt_at", "float8"),
        ("created_at", "float8"),
    ),
)


async def insert_webhooks(conn: Connection, jobs: Sequence[NewWebhook], now: float) -> None:
    pending = WebhookState.PENDING.value
    await conn.apply(
        _INSERT_WEBHOOKS,
        [(j.url, j.payload, j.event, j.message_id, pending, 0, now, now) for j in jobs],
    )


class WebhookStore(StoreBase):
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
            return read_webhook(row)

        return await self._backend.run(enqueue)

    async def claim_webhooks(
        self, node_id: str, limit: int, now: float, lease_seconds: float
    ) -> list[WebhookJob]:
        require_finite(now=now, lease_seconds=lease_seconds)
        sql = (
            "UPDATE webhooks SET leased_by = ?, lease_until = ?, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM webhooks WHERE state = 'pending'"
            " AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
            f" ORDER BY next_attempt_at, id LIMIT ?{self._dialect.skip_locked}) RETURNING *"
        )

        async def claim(conn: Connection) -> list[WebhookJob]:
            rows = await conn.fetch(sql, node_id, now + lease_seconds, now, now, limit)
            return sorted((read_webhook(r) for r in rows), key=lambda j: (j.next_attempt_at, j.id))

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

    async def webhooks_delivered(self, job_ids: Sequence[int], at: float) -> None:
        require_finite(at=at)

        async def done(conn: Connection) -> None:
            for chunk in chunks(sorted(set(job_ids))):
                await conn.execute(
                    "UPDATE webhooks SET state = 'delivered', delivered_at = ?, leased_by = NULL,"
                    f" lease_until = NULL WHERE id IN ({placeholders(len(chunk))})",
                    at,
                    *chunk,
                )

        if job_ids:
            await self._backend.run(done)

    async def webhooks_deferred(self, job_ids: Sequence[int], due_at: float) -> None:
        async def defer(conn: Connection) -> None:
            for chunk in chunks(sorted(job_ids)):
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
            return read_webhook(row)

        return await self._backend.run(get, write=False)

    async def webhook_backlog(self) -> int:
        async def count(conn: Connection) -> int:
            row = await conn.fetchrow("SELECT COUNT(*) AS n FROM webhooks WHERE state = 'pending'")
            return 0 if row is None else int(row["n"])

        return await self._backend.run(count, write=False)

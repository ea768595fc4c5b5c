"""Inbound: MO messages and USSD received, with their webhook in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence

from smppgate.store import blocklist, smpp_mo
from smppgate.store.backend import Connection, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.finite import require_finite_fields
from smppgate.store.models import InboundMessage, MoRouter, NewInbound, NewWebhook, Notifier
from smppgate.store.rows import read_inbound
from smppgate.store.webhooks import insert_webhooks


class InboundStore(StoreBase):
    async def record_inbound(self, inbound: NewInbound) -> InboundMessage:
        require_finite_fields([inbound])

        async def record(conn: Connection) -> InboundMessage:
            return await insert_inbound(conn, inbound, self.notifier, self.mo_router)

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
            return [read_inbound(r) for r in await conn.fetch(sql, *args, limit)]

        return await self._backend.run(fetch, write=False)


async def insert_inbound(
    conn: Connection,
    inbound: NewInbound,
    notifier: Notifier | None,
    router: MoRouter | None = None,
) -> InboundMessage:
    """One inbound row in the caller's transaction (also a multi-part MO's, reassembled in the
    transaction of its last part), with it either its row in the outbox of the SMPP
    application the ``router`` routes it to (the one place that decides, for a single MO and
    for one the store reassembled alike) or its webhook job when the notifier wants one."""
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
    recorded = read_inbound(row)
    jobs: list[NewWebhook | None] = []
    user = None if router is None else router.smpp_user(inbound)
    if user is not None:
        await smpp_mo.route(conn, recorded.id, user, recorded.received_at)
    elif notifier is not None:
        jobs.append(notifier.inbound_job(recorded, recorded.received_at))
    if inbound.opt is not None:
        # the keyword's change commits with its MO: never answered without it (routed to an
        # application or not: the list is the account's)
        change = await blocklist.apply_opt(
            conn, recorded.account, recorded.id, inbound.opt, recorded.received_at
        )
        if notifier is not None:
            jobs.append(notifier.opt_job(change, recorded.received_at))
    queued = [j for j in jobs if j is not None]
    if queued:
        await insert_webhooks(conn, queued, recorded.received_at)
    return recorded

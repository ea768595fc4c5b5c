"""Every time the store holds is a finite epoch (issue 21), on SQLite and PostgreSQL.

A recovery at start used to pass infinity as "now" to mean "every lease", and the store wrote
it as the messages' updated_at and the attempts' time: the API then answered 500 for them. Now
"which leases" is an argument of its own, the store refuses a non-finite time before writing,
the databases refuse one too, and migration 4 repairs the rows that already hold one.
"""

from __future__ import annotations

import math
import time

import pytest

from smppgate.store import (
    DropKind,
    InvalidTime,
    MessageState,
    NewInbound,
    NewReceipt,
    PartAccepted,
    PartStatus,
    ReceiptState,
    Store,
    StoreError,
    open_store,
    schema,
)

from ..raw_sql import raw_execute, raw_fetch, undo_finite_time_guards
from .test_store_contract import CTX, LEASE, T0, message

INF = math.inf
NAN = math.nan


async def test_every_lease_is_recovered_at_the_time_given(store: Store) -> None:
    unsent = (await store.insert_message(message("1"), T0)).message.id
    sent = (await store.insert_message(message("2"), T0)).message.id
    other = (await store.insert_message(message("3"), T0)).message.id
    await store.claim("dead-process", 2, T0, LEASE)
    await store.claim("another-process", 1, T0, LEASE)
    await store.mark_parts_sent([(sent, 1)], T0 + 0.5)

    # long before the leases run out: every lease is taken, the time written is the one given
    at = T0 + 1
    report = await store.recover_expired_leases(at, recovered_by="restarted", every_lease=True)
    assert sorted(report.requeued) == sorted([unsent, other])
    assert report.unknown == (sent,)
    for mid in (unsent, sent, other):
        detail = await store.get_message(mid)
        assert detail.message.updated_at == at
        assert all(math.isfinite(a.at) for a in detail.attempts)
    lost = await store.get_message(sent)
    assert lost.message.state is MessageState.UNKNOWN
    assert [(a.at, a.node_id, a.outcome) for a in lost.attempts] == [
        (at, "restarted", "lease_expired")
    ]


@pytest.mark.parametrize("bad", [INF, -INF, NAN], ids=["inf", "-inf", "nan"])
async def test_a_time_that_is_not_finite_is_refused_and_nothing_written(
    store: Store, bad: float
) -> None:
    mid = (await store.insert_message(message("1"), T0)).message.id
    await store.claim("node-a", 1, T0, LEASE)
    await store.mark_parts_sent([(mid, 1)], T0)
    calls = {
        "recover": lambda: store.recover_expired_leases(bad, every_lease=True),
        "insert": lambda: store.insert_message(message("2"), bad),
        "claim": lambda: store.claim("node-a", 1, bad, LEASE),
        "mark_sent": lambda: store.mark_parts_sent([(mid, 1)], bad),
        "renew": lambda: store.renew_leases("node-a", [mid], bad, LEASE),
        "outcome": lambda: store.record_outcomes(
            [PartAccepted(mid, 1, "77", frozenset({"77"}), bad, CTX)]
        ),
        "receipt": lambda: store.record_receipts(
            [NewReceipt(frozenset({"77"}), "id:77", ReceiptState.DELIVERED, bad)]
        ),
        "inbound": lambda: store.record_inbound(
            NewInbound("promo", "79990000002", "900", "hi", 0, bad)
        ),
        "webhook": lambda: store.enqueue_webhook("http://127.0.0.1:9/h", "{}", "e", None, bad),
        "slot": lambda: store.acquire_session_slot("sys", 1, "node-a", bad, LEASE),
        "drop": lambda: store.record_drop("promo", "h:1", bad, DropKind.DROP),
        "cooldown": lambda: store.record_drop("promo", "h:1", T0, DropKind.DROP, bad),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidTime) as refused:
            await call()
        assert isinstance(refused.value, StoreError), name
    detail = await store.get_message(mid)
    assert (detail.message.state, detail.message.updated_at) == (MessageState.SENDING, T0)
    assert detail.message.parts[0].status is PartStatus.SENT
    assert detail.attempts == ()
    assert await store.next_connect_allowed("promo", "h:1") is None


async def test_the_database_refuses_a_time_that_is_not_finite(store: Store, store_url: str) -> None:
    """Past the store's own check (a bug, another program, a hand edit): the database says no."""
    mid = (await store.insert_message(message("1"), T0)).message.id
    for statement in (
        f"UPDATE messages SET updated_at = {{INF}} WHERE id = '{mid}'",
        f"UPDATE messages SET lease_until = -{{INF}} WHERE id = '{mid}'",
        f"UPDATE parts SET sent_at = {{INF}} WHERE message_id = '{mid}'",
        "INSERT INTO connect_cooldowns (account, host, kind, happened_at, allowed_at)"
        " VALUES ('promo', 'h:1', 'drop', 1.0, {INF})",
        "INSERT INTO session_slots (system_id, slot, node_id, lease_until)"
        " VALUES ('sys', 0, 'n', {INF})",
    ):
        with pytest.raises(Exception, match=r"(?i)finite|check"):
            await raw_execute(store_url, statement)
    assert (await store.get_message(mid)).message.updated_at == T0


async def test_migration_repairs_times_written_as_infinity(store_url: str) -> None:
    """A store of version 3 where the old recovery at start wrote infinity: each attempt gets
    its part's real sent_at, each message its last attempt's time, the rest the migration's
    time; then the guards are in place."""
    async with open_store(store_url) as store:
        unknown = (await store.insert_message(message("1", parts=2), T0)).message.id
        requeued = (await store.insert_message(message("2"), T0)).message.id
        await store.claim("dead", 2, T0, LEASE)
        await store.mark_parts_sent([(unknown, 1)], T0 + 3)
        await store.mark_parts_sent([(unknown, 2)], T0 + 4)
        await store.record_drop("promo", "h:1", T0, DropKind.DROP)
    # what the old recovery (now = infinity) left behind, in a database of version 3
    await raw_execute(
        store_url,
        *undo_finite_time_guards(store_url),
        f"UPDATE parts SET status = 'unknown' WHERE message_id = '{unknown}'",
        f"UPDATE messages SET state = 'unknown', updated_at = {{INF}}, leased_by = NULL,"
        f" lease_until = NULL WHERE id = '{unknown}'",
        "INSERT INTO attempts (message_id, seq, at, node_id, session_id, host, outcome)"
        f" VALUES ('{unknown}', 1, {{INF}}, 'n', '', '', 'lease_expired'),"
        f" ('{unknown}', 2, {{INF}}, 'n', '', '', 'lease_expired')",
        f"UPDATE messages SET state = 'queued', updated_at = {{INF}}, leased_by = NULL,"
        f" lease_until = NULL WHERE id = '{requeued}'",
        "UPDATE connect_cooldowns SET happened_at = {INF}, allowed_at = {INF}",
    )
    before = time.time()
    async with open_store(store_url) as store:
        after = time.time()
        assert await store.schema_version() == schema.latest_version(store.dialect)
        lost = await store.get_message(unknown)
        assert [a.at for a in lost.attempts] == [T0 + 3, T0 + 4]  # when each submit went out
        assert lost.message.updated_at == T0 + 4
        assert lost.message.state is MessageState.UNKNOWN
        back = (await store.get_message(requeued)).message
        assert before - 1 <= back.updated_at <= after + 1  # unknown: the migration's time
        allowed = await store.next_connect_allowed("promo", "h:1")
        assert allowed is not None
        assert before + 59 <= allowed <= after + 61
        # and the guards are back
        with pytest.raises(Exception, match=r"(?i)finite|check"):
            await raw_execute(
                store_url, f"UPDATE messages SET updated_at = {{INF}} WHERE id = '{requeued}'"
            )
    rows = await raw_fetch(store_url, "SELECT COUNT(*) FROM attempts")
    assert rows == [(2,)]

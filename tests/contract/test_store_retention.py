"""Retention and the message counts, on SQLite and PostgreSQL (see conftest.py).

Rows are counted straight in the database (sqlite3 / asyncpg on the same URL), not through
the store: what retention must prove is that the rows are gone, children included.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

import pytest

from smppgate.store import (
    MarkUnknown,
    MessageState,
    NewInbound,
    NewReceipt,
    NotFound,
    PartFailed,
    PurgeKind,
    Quota,
    ReceiptState,
    Requeue,
    RequeueReason,
    Store,
    WebhookState,
    open_store,
    schema,
)

from ..raw_sql import raw_execute, raw_fetch, undo_retention_counts
from .test_store_contract import CTX, LEASE, T0, accepted, message, receipt

DAY = 86_400.0
OpenNode = Callable[[], AbstractAsyncContextManager[Store]]
TABLES = (
    "messages",
    "parts",
    "match_keys",
    "attempts",
    "receipts",
    "unmatched_receipts",
    "unmatched_receipt_keys",
    "inbound",
    "webhooks",
)


async def table_rows(url: str) -> dict[str, int]:
    """Rows per table, counted in the database itself."""
    return {t: (await raw_fetch(url, f"SELECT COUNT(*) FROM {t}"))[0][0] for t in TABLES}


async def full_count(url: str) -> dict[tuple[str, str], int]:
    """COUNT(*) GROUP BY over all messages: what the kept counts must equal."""
    rows = await raw_fetch(url, "SELECT account, state, COUNT(*) FROM messages GROUP BY 1, 2")
    return {(account, state): n for account, state, n in rows}


async def delivered_message(store: Store, at: float, smsc_id: str, text: str = "hello") -> str:
    """A message created, sent, accepted and delivered at ``at``, with a receipt quoting it."""
    inserted = await store.insert_message(replace(message(), text=text), at)
    message_id = inserted.message.id
    claimed = await store.claim("node-a", 1, at, LEASE)
    assert [m.id for m in claimed] == [message_id]
    await store.mark_parts_sent([(message_id, 1)], at)
    await store.record_outcome(accepted(message_id, 1, smsc_id, at=at))
    await store.record_receipt(
        NewReceipt(
            keys=frozenset({smsc_id}),
            raw=f"id:{smsc_id} sub:001 dlvrd:001 stat:DELIVRD err:000 text:{text}",
            state=ReceiptState.DELIVERED,
            received_at=at,
        )
    )
    return message_id


async def purge_all(store: Store, kind: PurgeKind, cutoff: float, limit: int = 2) -> int:
    """Batches of ``limit`` until one comes back short, as the retention loop runs them."""
    total = 0
    while True:
        done = await store.purge(kind, cutoff, limit)
        total += done
        if done < limit:
            return total


async def test_final_messages_go_with_every_child_row(store: Store, store_url: str) -> None:
    old = [await delivered_message(store, T0, f"OLD{i}") for i in range(5)]
    young = await delivered_message(store, T0 + 40 * DAY, "YOUNG")
    stuck = (await store.insert_message(message(), T0)).message.id  # still queued: kept
    before = await table_rows(store_url)
    assert before["match_keys"] == 6
    assert before["receipts"] == 6

    deleted = await purge_all(store, PurgeKind.MESSAGES, T0 + 30 * DAY)

    assert deleted == 5
    for message_id in old:
        with pytest.raises(NotFound):
            await store.get_message(message_id)
    assert (await store.get_message(young)).message.state is MessageState.DELIVERED
    assert (await store.get_message(stuck)).message.state is MessageState.QUEUED
    after = await table_rows(store_url)
    assert after["messages"] == 2
    assert after["parts"] == 2
    assert (after["match_keys"], after["attempts"], after["receipts"]) == (1, 1, 1)
    counts = await store.count_by_state()
    assert (counts[MessageState.DELIVERED], counts[MessageState.QUEUED]) == (1, 1)


async def test_a_message_changed_recently_is_kept(store: Store) -> None:
    """Created long ago but final only now (a late receipt): kept until it has been final
    for the whole retention."""
    message_id = (await store.insert_message(message(), T0)).message.id
    await store.claim("node-a", 1, T0 + 31 * DAY, LEASE)
    await store.mark_parts_sent([(message_id, 1)], T0 + 31 * DAY)
    await store.record_outcome(
        PartFailed(message_id, 1, 0x45, "ESME_RSUBMITFAIL", T0 + 31 * DAY, context=CTX)
    )
    assert await store.purge(PurgeKind.MESSAGES, T0 + 30 * DAY, 10) == 0
    assert await store.purge(PurgeKind.MESSAGES, T0 + 32 * DAY, 10) == 1


async def test_unmatched_receipts_inbound_and_webhooks_by_age(store: Store, store_url: str) -> None:
    for i, at in enumerate((T0, T0, T0 + 10 * DAY)):
        await store.record_receipt(receipt(f"LOST{i}", ReceiptState.DELIVERED, at=at))
        await store.record_inbound(NewInbound("promo", "79990000001", "1234", f"mo {i}", 0, at))
    delivered = await store.enqueue_webhook("https://h.test/a", "{}", "e", None, T0)
    given_up = await store.enqueue_webhook("https://h.test/b", "{}", "e", None, T0)
    pending = await store.enqueue_webhook("https://h.test/c", "{}", "e", None, T0)
    jobs = await store.claim_webhooks("node-a", 3, T0, LEASE)
    assert len(jobs) == 3
    await store.webhook_delivered(delivered.id, T0)
    await store.webhook_failed(given_up.id, T0, "boom", None, 12)
    await store.webhook_failed(pending.id, T0, "boom", T0 + 60, 12)

    cutoff = T0 + 5 * DAY
    assert await purge_all(store, PurgeKind.UNMATCHED_RECEIPTS, cutoff) == 2
    assert await purge_all(store, PurgeKind.INBOUND, cutoff) == 2
    assert await purge_all(store, PurgeKind.DELIVERED_WEBHOOKS, cutoff) == 1
    assert await purge_all(store, PurgeKind.ABANDONED_WEBHOOKS, cutoff) == 1

    rows = await table_rows(store_url)
    assert (rows["unmatched_receipts"], rows["unmatched_receipt_keys"], rows["inbound"]) == (
        1,
        1,
        1,
    )
    assert rows["webhooks"] == 1
    assert (await store.get_webhook(pending.id)).state is WebhookState.PENDING
    assert await store.count_unmatched_receipts() == 1


async def test_client_usage_of_past_days_goes(store: Store) -> None:
    """The daily quota's counts (one row per client per day) would otherwise grow forever."""
    days = ["2023-11-10", "2023-11-11", "2023-11-14"]
    for day in days:
        for client in ("shop", "otp"):
            await store.insert_messages([message()], T0, quota=Quota(client, day, 10))
    # T0 is 2023-11-14 22:13 UTC: a cutoff two days before keeps the 14th only
    assert await purge_all(store, PurgeKind.CLIENT_USAGE, T0 - 2 * DAY) == 4
    assert await store.client_usage("2023-11-14") == {"shop": 1, "otp": 1}
    assert await store.client_usage("2023-11-10") == {}
    assert await purge_all(store, PurgeKind.CLIENT_USAGE, T0 - 2 * DAY) == 0


async def test_redaction_blanks_texts_and_steps_over_unsent_messages(store: Store) -> None:
    first = await delivered_message(store, T0, "R1", text="code 4711")
    # scheduled, due only later (send_at may be a month ahead)
    waiting = (await store.insert_message(message(not_before=T0 + 3), T0 + 1)).message.id
    later = await delivered_message(store, T0 + 2, "R2", text="code 9999")

    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 2
    detail = await store.get_message(first)
    assert detail.message.text == ""
    assert all(p.short_message == b"" for p in detail.message.parts)
    assert "4711" not in detail.receipts[0].raw
    assert detail.receipts[0].raw.endswith("text:")
    # the scheduled message holds back no later one's redaction, and keeps its own text
    assert (await store.get_message(later)).message.text == ""
    assert (await store.get_message(waiting)).message.text == "hello"
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 0
    assert (await store.get_message(waiting)).message.text == "hello"

    assert await store.release_scheduled(T0 + 3) == 1
    claimed = await store.claim("node-a", 1, T0 + 3, LEASE)
    assert [m.id for m in claimed] == [waiting]
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 0  # sending: kept
    assert (await store.get_message(waiting)).message.text == "hello"
    await store.mark_parts_sent([(waiting, 1)], T0 + 3)
    await store.record_outcome(accepted(waiting, 1, "R3", at=T0 + 3))
    # sent: the call after redacts the one stepped over, by its noted id
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 1
    detail = await store.get_message(waiting)
    assert detail.message.text == ""
    assert all(p.short_message == b"" for p in detail.message.parts)
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 0
    # a message created after the cutoff keeps its text
    fresh = await delivered_message(store, T0 + 2 * DAY, "R4", text="new")
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 0
    assert (await store.get_message(fresh)).message.text == "new"


async def test_redaction_forgets_a_stepped_over_message_deleted_meanwhile_and_waits_when_full(
    store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smppgate.store import retention

    monkeypatch.setattr(retention, "SKIPPED_MAX", 2)
    held = [
        (await store.insert_message(message(not_before=T0 + DAY), T0 + i)).message.id
        for i in range(3)
    ]
    after = await delivered_message(store, T0 + 5, "R1", text="code 1234")
    # room to note two held ones: the third stops the cursor, the later message waits
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 0
    assert (await store.get_message(after)).message.text == "code 1234"
    # one of the noted ones cancelled (final): redacted, and its place in the list lets the
    # cursor step over the third and reach the later message
    await store.cancel_message(held[0], T0 + 6)
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 2
    assert (await store.get_message(held[0])).message.text == ""
    assert (await store.get_message(after)).message.text == ""
    assert (await store.get_message(held[1])).message.text == "hello"
    assert (await store.get_message(held[2])).message.text == "hello"
    # a noted one deleted meanwhile is forgotten, not an error
    await raw_execute(store_url, f"DELETE FROM messages WHERE id = '{held[1]}'")
    assert await store.purge(PurgeKind.REDACT_TEXTS, T0 + DAY, 10) == 0
    noted = "SELECT cursor FROM maintenance WHERE name = 'redact_skipped'"
    assert await raw_fetch(store_url, noted) == [(held[2],)]


async def test_one_node_holds_the_retention_lease(store: Store, open_node: OpenNode) -> None:
    async with open_node() as other:
        assert await store.take_maintenance_lease("retention", "a", T0, 60)
        assert not await other.take_maintenance_lease("retention", "b", T0 + 10, 60)
        assert await store.take_maintenance_lease("retention", "a", T0 + 10, 60)  # renewed
        assert not await other.take_maintenance_lease("retention", "b", T0 + 69, 60)
        assert await other.take_maintenance_lease("retention", "b", T0 + 71, 60)  # expired
        await other.release_maintenance_lease("retention", "b")
        assert await store.take_maintenance_lease("retention", "a", T0 + 72, 60)


async def test_counts_match_a_full_count_after_random_operations(
    store: Store, store_url: str
) -> None:
    """A seeded mix of every operation that moves a message between states, checked against
    COUNT(*) GROUP BY after each step."""
    rng = random.Random(1717)
    now = T0
    smsc = 0
    for step in range(120):
        now += 1
        op = rng.choice(
            ("insert", "insert", "claim", "outcome", "receipt", "recover", "purge", "redact")
        )
        if op == "insert":
            await store.insert_messages(
                [
                    message(account=rng.choice(("promo", "otp")), parts=rng.choice((1, 2)))
                    for _ in range(rng.randint(1, 4))
                ],
                now,
            )
        elif op == "claim":
            await store.claim("node-a", rng.randint(1, 3), now, LEASE)
        elif op == "outcome":
            page = await store.list_messages(state=MessageState.SENDING, limit=5)
            for m in page.items:
                choice = rng.randrange(4)
                if choice == 0:
                    await store.mark_parts_sent([(m.id, p.seq) for p in m.parts], now)
                    for p in m.parts:
                        smsc += 1
                        await store.record_outcome(accepted(m.id, p.seq, f"S{smsc}", at=now))
                elif choice == 1:
                    await store.record_outcome(
                        Requeue(
                            m.id,
                            now + 5,
                            RequeueReason.QUEUE_FULL,
                            now,
                            seq=1,
                            command_status=0x14,
                            status_name="ESME_RMSGQFUL",
                            context=CTX,
                        )
                    )
                elif choice == 2:
                    await store.record_outcome(
                        PartFailed(m.id, 1, 0x45, "ESME_RSUBMITFAIL", now, context=CTX)
                    )
                else:
                    await store.mark_parts_sent([(m.id, 1)], now)
                    await store.record_outcome(MarkUnknown(m.id, (1,), now, context=CTX))
        elif op == "receipt" and smsc:
            state = rng.choice((ReceiptState.DELIVERED, ReceiptState.UNDELIVERABLE))
            await store.record_receipt(receipt(f"S{rng.randint(1, smsc)}", state, at=now))
        elif op == "recover":
            await store.recover_expired_leases(now + rng.choice((0, 2 * LEASE)))
        elif op == "purge":
            await store.purge(PurgeKind.MESSAGES, now - rng.randint(0, 30), rng.randint(1, 5))
        else:
            await store.purge(PurgeKind.REDACT_TEXTS, now, 3)
        kept = await store.count_by_state()
        total = await full_count(store_url)
        expected = dict.fromkeys(MessageState, 0)
        for (_, state), n in total.items():
            expected[MessageState(state)] += n
        assert kept == expected, f"step {step} ({op})"
        for account in ("promo", "otp"):
            per_account = await store.count_by_state(account)
            assert {s: n for s, n in per_account.items() if n} == {
                MessageState(s): n for (a, s), n in total.items() if a == account
            }, f"step {step} ({op}) account {account}"


async def test_the_migration_counts_the_messages_already_there(store_url: str) -> None:
    """A store of version 4 with history: migration 5 starts the totals from a full count."""
    async with open_store(store_url) as store:
        await delivered_message(store, T0, "M1")
        await store.insert_messages([message(account="otp") for _ in range(3)], T0)
        await store.claim("node-a", 1, T0, LEASE, ["otp"])
    await raw_execute(store_url, *undo_retention_counts(store_url))
    async with open_store(store_url) as store:
        assert await store.schema_version() == schema.latest_version(store.dialect)
        counts = await store.count_by_state()
        assert {s: n for s, n in counts.items() if n} == {
            MessageState.DELIVERED: 1,
            MessageState.QUEUED: 2,
            MessageState.SENDING: 1,
        }
        assert (await store.count_by_state("otp"))[MessageState.QUEUED] == 2


async def test_a_batch_appends_one_count_delta_per_account_and_state(store_url: str) -> None:
    """PostgreSQL's count triggers fire once per statement (migration 12): a batch of 20
    messages inserted, then claimed, appends a delta per (account, state) whose total moved,
    not one or two per message; the totals read the same on both backends."""
    async with open_store(store_url) as store:
        await store.insert_messages([message() for _ in range(20)], T0)
        assert len(await store.claim("node-a", 20, T0, LEASE)) == 20
        if store.dialect == "postgresql":
            deltas = await raw_fetch(
                store_url, "SELECT account, state, n FROM message_count_deltas"
            )
            assert sorted(deltas) == [
                ("promo", "queued", -20),
                ("promo", "queued", 20),
                ("promo", "sending", 20),
            ]
        counts = await store.count_by_state()
        assert {s: n for s, n in counts.items() if n} == {MessageState.SENDING: 20}
        assert await full_count(store_url) == {("promo", "sending"): 20}

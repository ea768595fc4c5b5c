"""The store contract: every test runs on SQLite and on PostgreSQL (see conftest.py).

Times are plain numbers passed in; nothing sleeps. Concurrency tests use several store
instances on one database, as several processes or nodes would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path

import pytest

from smppgate.store import (
    DropKind,
    DuplicateKey,
    InboundMessage,
    MarkUnknown,
    MessageState,
    NewInbound,
    NewMessage,
    NewReceipt,
    NewWebhook,
    NotFound,
    PartAccepted,
    PartFailed,
    PartStatus,
    PlannedPart,
    ReceiptRecord,
    ReceiptState,
    Requeue,
    RequeueReason,
    SchemaOutOfDate,
    SmppOrigin,
    Store,
    StoredMessage,
    StoreError,
    SubmitContext,
    WebhookState,
    migrate,
    open_store,
)

from ..raw_sql import raw_fetch

T0 = 1_700_000_000.0
LEASE = 30.0
CTX = SubmitContext(node_id="node-a", session_id="s1", host="127.0.0.1:2775")
OpenNode = Callable[[], AbstractAsyncContextManager[Store]]


def message(
    destination: str = "79990000001",
    *,
    parts: int = 1,
    key: str | None = None,
    scope: str = "",
    account: str = "promo",
    resend_unknown: bool = False,
    payload: bool = False,
    not_before: float | None = None,
    message_id: str | None = None,
    priority: int = 0,
) -> NewMessage:
    if payload:
        planned: tuple[PlannedPart, ...] = (
            PlannedPart(1, b"", 0, 8, message_payload="long text".encode("utf-16-be")),
        )
    else:
        planned = tuple(
            PlannedPart(
                seq,
                bytes([0x05, 0x00, 0x03, 0x2A, parts, seq]) + f"part {seq}".encode(),
                esm_class=0x40 if parts > 1 else 0,
                data_coding=0,
            )
            for seq in range(1, parts + 1)
        )
    return NewMessage(
        account=account,
        source="SENDER",
        destination=destination,
        text="hello",
        parts=planned,
        idempotency_key=key,
        idempotency_scope=scope,
        resend_unknown=resend_unknown,
        not_before=not_before,
        id=message_id,
        callback_url="https://example.test/hook",
        client_reference="ref-1",
        priority=priority,
    )


async def claim_one(store: Store, now: float = T0, node: str = "node-a") -> str:
    claimed = await store.claim(node, 1, now, LEASE)
    assert len(claimed) == 1
    return claimed[0].id


def accepted(message_id: str, seq: int, smsc_id: str, *keys: str, at: float = T0) -> PartAccepted:
    return PartAccepted(message_id, seq, smsc_id, frozenset(keys), at, CTX)


# ------------------------------------------------------------------------ messages


async def test_insert_and_get_round_trip(store: Store) -> None:
    new = replace(
        message(parts=2),
        validity_seconds=3600,
        encoding="ucs2",
        split_method="sar",
        traffic_class="promo",
        priority=3,
        parts=(
            PlannedPart(1, b"\x04\x1f\x04\x40", 0, 8, sar_ref=513, sar_total=2, sar_seq=1),
            PlannedPart(2, b"\x04\x38", 0, 8, sar_ref=513, sar_total=2, sar_seq=2),
        ),
    )
    result = await store.insert_message(new, T0)
    assert result.created
    detail = await store.get_message(result.message.id)
    got = detail.message
    assert got == result.message
    assert got.state is MessageState.QUEUED
    assert (got.account, got.destination, got.validity_seconds) == ("promo", "79990000001", 3600)
    assert (got.encoding, got.split_method, got.traffic_class, got.priority) == (
        "ucs2",
        "sar",
        "promo",
        3,
    )
    assert got.next_attempt_at == T0
    assert got.part_count == 2
    assert [(p.seq, p.short_message, p.sar_ref, p.sar_seq) for p in got.parts] == [
        (1, b"\x04\x1f\x04\x40", 513, 1),
        (2, b"\x04\x38", 513, 2),
    ]
    assert all(p.status is PartStatus.PLANNED for p in got.parts)
    assert detail.attempts == ()
    assert detail.receipts == ()


async def test_ids_are_unique_and_time_ordered(store: Store) -> None:
    results = await store.insert_messages([message() for _ in range(50)], T0)
    ids = [r.message.id for r in results]
    assert len(set(ids)) == 50
    assert ids == sorted(ids)
    later = await store.insert_message(message(), T0 + 1)
    assert later.message.id > ids[-1]


async def test_get_missing_message_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get_message("01NOSUCHMESSAGE00000000000")


async def test_idempotency_key_returns_first_message(store: Store) -> None:
    first = await store.insert_message(message("79990000001", key="k1", scope="api-1"), T0)
    again = await store.insert_message(message("79990000002", key="k1", scope="api-1"), T0 + 5)
    assert first.created
    assert not again.created
    assert again.message.id == first.message.id
    assert again.message.destination == "79990000001"
    other_scope = await store.insert_message(message(key="k1", scope="api-2"), T0)
    assert other_scope.created
    assert other_scope.message.id != first.message.id
    counts = await store.count_by_state()
    assert counts[MessageState.QUEUED] == 2


async def test_idempotency_within_one_batch(store: Store) -> None:
    results = await store.insert_messages(
        [message("1", key="dup"), message("2", key="dup"), message("3")], T0
    )
    assert [r.created for r in results] == [True, False, True]
    assert results[1].message.id == results[0].message.id
    assert sum((await store.count_by_state()).values()) == 2


async def test_batch_of_1000_in_one_call(store: Store) -> None:
    results = await store.insert_messages([message(str(i)) for i in range(1000)], T0)
    assert len(results) == 1000
    assert (await store.count_by_state())[MessageState.QUEUED] == 1000
    with pytest.raises(StoreError):
        await store.insert_messages([message() for _ in range(1001)], T0)


async def test_failing_item_rolls_back_the_whole_batch(store: Store) -> None:
    existing = await store.insert_message(message(), T0)
    batch = [message("a"), message("b"), message("c", message_id=existing.message.id)]
    with pytest.raises(DuplicateKey):
        await store.insert_messages(batch, T0)
    assert sum((await store.count_by_state()).values()) == 1
    page = await store.list_messages()
    assert [m.id for m in page.items] == [existing.message.id]


async def test_list_messages_by_state_since_and_cursor(store: Store) -> None:
    early = await store.insert_messages([message(str(i)) for i in range(3)], T0)
    late = await store.insert_messages([message(str(i)) for i in range(5)], T0 + 100)
    await store.claim("n", 1, T0, LEASE)  # the oldest one leaves `queued`
    page = await store.list_messages(state=MessageState.QUEUED, limit=3)
    assert [m.id for m in page.items] == [r.message.id for r in early[1:]] + [late[0].message.id]
    assert page.next_cursor is not None
    rest = await store.list_messages(state=MessageState.QUEUED, after=page.next_cursor, limit=10)
    assert [m.id for m in rest.items] == [r.message.id for r in late[1:]]
    assert rest.next_cursor is None
    since = await store.list_messages(since=T0 + 50)
    assert [m.id for m in since.items] == [r.message.id for r in late]
    counts = await store.count_by_state()
    assert counts[MessageState.SENDING] == 1
    assert counts[MessageState.QUEUED] == 7
    assert counts[MessageState.DELIVERED] == 0


# --------------------------------------------------------------------------- queue


async def test_claim_moves_due_messages_to_sending_with_lease(store: Store) -> None:
    due = await store.insert_message(message(parts=2), T0)
    await store.insert_message(message(not_before=T0 + 60), T0)
    claimed = await store.claim("node-a", 10, T0 + 1, LEASE)
    assert [m.id for m in claimed] == [due.message.id]
    got = claimed[0]
    assert got.state is MessageState.SENDING
    assert (got.leased_by, got.lease_until) == ("node-a", T0 + 1 + LEASE)
    assert got.parts == due.message.parts
    assert got.attempts == 1
    assert await store.claim("node-b", 10, T0 + 1, LEASE) == []
    assert await store.release_scheduled(T0 + 60) == 1  # scheduled -> queued when due
    later = await store.claim("node-b", 10, T0 + 60, LEASE)
    assert len(later) == 1


async def test_claim_is_fifo_and_back_of_queue_works(store: Store) -> None:
    ids = [r.message.id for r in await store.insert_messages([message() for _ in range(4)], T0)]
    first = await claim_one(store, T0)
    assert first == ids[0]
    # queue full: back of the queue, due again in 5 s
    await store.record_outcome(
        Requeue(first, T0 + 5, RequeueReason.QUEUE_FULL, T0, 1, 0x14, "ESME_RMSGQFUL", CTX)
    )
    order = [m.id for m in await store.claim("n", 10, T0 + 10, LEASE)]
    assert order == [*ids[1:], first]


async def test_claim_takes_higher_priorities_first(store: Store) -> None:
    campaign = [
        r.message.id for r in await store.insert_messages([message() for _ in range(3)], T0)
    ]
    otp = (await store.insert_message(message(priority=5), T0 + 2)).message.id
    later = (await store.insert_message(message(priority=5, not_before=T0 + 60), T0 + 2)).message
    mid = (await store.insert_message(message(priority=1), T0 + 3)).message.id
    claimed = await store.claim("n", 2, T0 + 5, LEASE)
    assert [m.id for m in claimed] == [otp, mid]  # the not-yet-due priority 5 waits
    assert [m.priority for m in claimed] == [5, 1]
    assert [m.id for m in await store.claim("n", 10, T0 + 5, LEASE)] == campaign
    assert await store.release_scheduled(T0 + 60) == 1
    assert [m.id for m in await store.claim("n", 10, T0 + 60, LEASE)] == [later.id]
    assert later.priority == 5


async def test_priority_outside_the_range_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match=r"priority must be 0\.\.9"):
        await store.insert_message(message(priority=10), T0)
    assert await store.claim("n", 10, T0, LEASE) == []


async def test_claim_filters_by_account(store: Store) -> None:
    await store.insert_message(message(account="promo"), T0)
    tx = await store.insert_message(message(account="transactional"), T0)
    claimed = await store.claim("n", 10, T0, LEASE, accounts=["transactional"])
    assert [m.id for m in claimed] == [tx.message.id]
    assert await store.claim("n", 10, T0, LEASE, accounts=[]) == []


async def test_concurrent_claimers_never_share_a_message(store: Store, open_node: OpenNode) -> None:
    total = 300
    await store.insert_messages([message(str(i)) for i in range(total)], T0)

    async def node(name: str) -> list[str]:
        got: list[str] = []
        async with open_node() as own:
            while True:
                batch = await own.claim(name, 7, T0, LEASE)
                if not batch:
                    return got
                got.extend(m.id for m in batch)

    results = await asyncio.gather(*(node(f"node-{i}") for i in range(4)))
    every = [i for r in results for i in r]
    assert len(every) == total
    assert len(set(every)) == total
    assert (await store.count_by_state())[MessageState.SENDING] == total


async def test_all_parts_accepted_makes_submitted(store: Store) -> None:
    mid = (await store.insert_message(message(parts=2), T0)).message.id
    await claim_one(store)
    await store.mark_parts_sent([(mid, 1), (mid, 2)], T0)
    first = await store.record_outcome(accepted(mid, 1, "100", "100"))
    assert first.state is MessageState.SENDING
    results = await store.record_outcomes([accepted(mid, 2, "101", "101")])
    assert results[0].state is MessageState.SUBMITTED
    detail = await store.get_message(mid)
    assert detail.message.state is MessageState.SUBMITTED
    assert detail.message.leased_by is None
    assert [(p.status, p.smsc_message_id, p.submitted_at) for p in detail.message.parts] == [
        (PartStatus.ACCEPTED, "100", T0),
        (PartStatus.ACCEPTED, "101", T0),
    ]
    assert [(a.seq, a.outcome, a.command_status, a.host) for a in detail.attempts] == [
        (1, "accepted", 0, "127.0.0.1:2775"),
        (2, "accepted", 0, "127.0.0.1:2775"),
    ]


@pytest.mark.parametrize(("rejected", "state"), [(True, "rejected"), (False, "failed")])
async def test_permanent_error_ends_the_message(store: Store, rejected: bool, state: str) -> None:
    mid = (await store.insert_message(message(parts=2), T0)).message.id
    await claim_one(store)
    await store.mark_parts_sent([(mid, 1)], T0)
    result = await store.record_outcome(
        PartFailed(mid, 1, 0x0B, "ESME_RINVDSTADR", T0, rejected=rejected, context=CTX)
    )
    assert result.state == state
    got = (await store.get_message(mid)).message
    assert got.state == state
    assert (got.last_status, got.last_status_name) == (0x0B, "ESME_RINVDSTADR")
    assert got.parts[1].status is PartStatus.PLANNED  # never sent, abandoned
    # never handed out again
    assert await store.claim("n", 10, T0 + 1000, LEASE) == []
    # a late requeue does not revive it
    late = await store.record_outcome(Requeue(mid, T0, RequeueReason.THROTTLED, T0))
    assert late.state == state
    assert await store.claim("n", 10, T0 + 1000, LEASE) == []


async def test_requeue_counts_qfull_and_throttle_separately(store: Store) -> None:
    mid = (await store.insert_message(message(), T0)).message.id
    now = T0
    for reason, status in [
        (RequeueReason.QUEUE_FULL, 0x14),
        (RequeueReason.QUEUE_FULL, 0x14),
        (RequeueReason.THROTTLED, 0x58),
    ]:
        await claim_one(store, now)
        await store.mark_parts_sent([(mid, 1)], now)
        await store.record_outcome(Requeue(mid, now + 5, reason, now, 1, status, "x", CTX))
        now += 5
    got = (await store.get_message(mid)).message
    assert (got.qfull_retries, got.throttled_retries, got.attempts) == (2, 1, 3)
    assert got.state is MessageState.QUEUED
    assert got.next_attempt_at == now
    assert got.parts[0].status is PartStatus.PLANNED
    assert got.parts[0].attempts == 3
    detail = await store.get_message(mid)
    assert [a.outcome for a in detail.attempts] == [
        "requeued:queue_full",
        "requeued:queue_full",
        "requeued:throttled",
    ]


async def test_retry_time_survives_reopen(store_url: str) -> None:
    async with open_store(store_url) as first:
        mid = (await first.insert_message(message(), T0)).message.id
        await claim_one(first)
        await first.record_outcome(Requeue(mid, T0 + 45, RequeueReason.QUEUE_FULL, T0))
    async with open_store(store_url) as second:
        assert await second.claim("n", 10, T0 + 44, LEASE) == []
        assert [m.id for m in await second.claim("n", 10, T0 + 45, LEASE)] == [mid]


async def test_missing_response_marks_unknown_unless_resend_allowed(store: Store) -> None:
    plain = (await store.insert_message(message("1"), T0)).message.id
    resend = (await store.insert_message(message("2", resend_unknown=True), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.mark_parts_sent([(plain, 1), (resend, 1)], T0)
    results = await store.record_outcomes(
        [MarkUnknown(plain, (1,), T0 + 30), MarkUnknown(resend, (1,), T0 + 30, T0 + 31)]
    )
    assert [r.state for r in results] == [MessageState.UNKNOWN, MessageState.QUEUED]
    assert (await store.get_message(plain)).message.parts[0].status is PartStatus.UNKNOWN
    again = await store.claim("n", 10, T0 + 31, LEASE)
    assert [m.id for m in again] == [resend]
    assert again[0].parts[0].status is PartStatus.PLANNED


async def test_lease_expiry_recovers_unknown_or_requeued(store: Store) -> None:
    unsent = (await store.insert_message(message("1"), T0)).message.id
    sent = (await store.insert_message(message("2"), T0)).message.id
    sent_resend = (await store.insert_message(message("3", resend_unknown=True), T0)).message.id
    await store.claim("dead-node", 10, T0, LEASE)
    await store.mark_parts_sent([(sent, 1), (sent_resend, 1)], T0)

    early = await store.recover_expired_leases(T0 + LEASE - 1)
    assert early.requeued == ()
    assert early.unknown == ()

    report = await store.recover_expired_leases(T0 + LEASE, recovered_by="live-node")
    assert sorted(report.requeued) == sorted([unsent, sent_resend])
    assert report.unknown == (sent,)
    recovery = [a for a in (await store.get_message(sent)).attempts if a.outcome == "lease_expired"]
    assert [a.node_id for a in recovery] == ["live-node"]  # who recovered it
    assert (await store.get_message(sent)).message.state is MessageState.UNKNOWN
    assert (await store.get_message(sent)).message.parts[0].status is PartStatus.UNKNOWN
    for mid in (unsent, sent_resend):
        got = (await store.get_message(mid)).message
        assert (got.state, got.leased_by, got.parts[0].status) == (
            MessageState.QUEUED,
            None,
            PartStatus.PLANNED,
        )
    again = await store.claim("live-node", 10, T0 + LEASE, LEASE)
    assert sorted(m.id for m in again) == sorted([unsent, sent_resend])
    assert (await store.recover_expired_leases(T0 + LEASE)).unknown == ()


async def test_startup_recovery_takes_back_own_leases_before_expiry(store: Store) -> None:
    mine = (await store.insert_message(message("1"), T0)).message.id
    theirs = (await store.insert_message(message("2"), T0)).message.id
    await store.claim("node-a", 1, T0, LEASE)
    await store.claim("node-b", 1, T0, LEASE)
    report = await store.recover_expired_leases(T0 + 1, node_id="node-a")
    assert report.requeued == (mine,)
    assert (await store.get_message(theirs)).message.state is MessageState.SENDING


async def test_renew_leases_keeps_messages_from_recovery(store: Store) -> None:
    mid = (await store.insert_message(message(), T0)).message.id
    await claim_one(store, T0, "node-a")
    assert await store.renew_leases("node-b", [mid], T0 + 10, LEASE) == 0
    assert await store.renew_leases("node-a", [mid], T0 + 10, LEASE) == 1
    report = await store.recover_expired_leases(T0 + LEASE + 1)
    assert report.requeued == ()
    assert report.unknown == ()


# ------------------------------------------------------------------------ receipts


async def submitted(store: Store, parts: int = 1, *, payload: bool = False) -> str:
    """A message with every part accepted: part n has id 1000+n (keys: decimal and hex)."""
    mid = (await store.insert_message(message(parts=parts, payload=payload), T0)).message.id
    await store.claim("n", 100, T0, LEASE)
    outcomes = [
        accepted(mid, seq, str(1000 + seq), str(1000 + seq), format(1000 + seq, "x"))
        for seq in range(1, parts + 1)
    ]
    await store.record_outcomes(outcomes)
    return mid


def receipt(
    key: str, state: ReceiptState = ReceiptState.DELIVERED, at: float = T0 + 9
) -> NewReceipt:
    return NewReceipt(frozenset({key}), f"id:{key} stat:{state}", state, at, "000")


async def test_receipt_matches_by_hex_or_decimal_key(store: Store) -> None:
    mid = await submitted(store, parts=2)
    by_hex = await store.record_receipt(receipt(format(1001, "x")))
    assert by_hex is not None
    assert (by_hex.message_id, by_hex.seq, by_hex.message_state) == (
        mid,
        1,
        MessageState.SUBMITTED,
    )
    assert not by_hex.state_changed
    by_dec = await store.record_receipt(receipt("1002"))
    assert by_dec is not None
    assert by_dec.message_state is MessageState.DELIVERED
    assert by_dec.state_changed
    assert by_dec.callback_url == "https://example.test/hook"
    assert by_dec.client_reference == "ref-1"
    detail = await store.get_message(mid)
    assert [p.receipt_state for p in detail.message.parts] == [ReceiptState.DELIVERED] * 2
    assert [(r.seq, r.state, r.error_code) for r in detail.receipts] == [
        (1, ReceiptState.DELIVERED, "000"),
        (2, ReceiptState.DELIVERED, "000"),
    ]


async def test_receipt_account_filter(store: Store) -> None:
    await submitted(store)
    other = NewReceipt(frozenset({"1001"}), "raw", ReceiptState.DELIVERED, T0, account="other")
    assert await store.record_receipt(other) is None
    same = NewReceipt(frozenset({"1001"}), "raw", ReceiptState.DELIVERED, T0, account="promo")
    assert await store.record_receipt(same) is not None


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ((ReceiptState.DELIVERED, ReceiptState.DELIVERED), MessageState.DELIVERED),
        ((ReceiptState.DELIVERED, ReceiptState.UNDELIVERABLE), MessageState.UNDELIVERABLE),
        ((ReceiptState.EXPIRED, ReceiptState.REJECTED), MessageState.REJECTED),
        ((ReceiptState.DELETED, ReceiptState.DELIVERED), MessageState.UNDELIVERABLE),
        ((ReceiptState.UNKNOWN, ReceiptState.EXPIRED), MessageState.EXPIRED),
    ],
)
async def test_message_state_is_the_worst_part_state(
    store: Store, states: tuple[ReceiptState, ReceiptState], expected: MessageState
) -> None:
    mid = await submitted(store, parts=2)
    first = await store.record_receipt(receipt("1001", states[0]))
    assert first is not None
    assert first.message_state is MessageState.SUBMITTED
    await store.record_receipts([receipt("1002", states[1])])
    assert (await store.get_message(mid)).message.state is expected


async def test_intermediate_receipt_never_replaces_final(store: Store) -> None:
    mid = await submitted(store)
    await store.record_receipt(receipt("1001", ReceiptState.ENROUTE))
    assert (await store.get_message(mid)).message.state is MessageState.SUBMITTED
    await store.record_receipt(receipt("1001", ReceiptState.DELIVERED))
    await store.record_receipt(receipt("1001", ReceiptState.ENROUTE))
    detail = await store.get_message(mid)
    assert detail.message.state is MessageState.DELIVERED
    assert detail.message.parts[0].receipt_state is ReceiptState.DELIVERED
    assert len(detail.receipts) == 3


async def test_payload_send_is_decided_by_the_first_receipt(store: Store) -> None:
    mid = await submitted(store, payload=True)
    match = await store.record_receipt(receipt("1001", ReceiptState.DELIVERED))
    assert match is not None
    assert match.message_state is MessageState.DELIVERED
    assert (await store.get_message(mid)).message.uses_payload


async def test_unmatched_receipt_is_kept_and_listed(store: Store) -> None:
    assert await store.record_receipt(receipt("deadbeef")) is None
    assert await store.record_receipt(receipt("cafe", ReceiptState.UNDELIVERABLE)) is None
    kept = await store.list_unmatched_receipts()
    assert [(u.keys, u.state) for u in kept] == [
        (frozenset({"deadbeef"}), ReceiptState.DELIVERED),
        (frozenset({"cafe"}), ReceiptState.UNDELIVERABLE),
    ]
    assert kept[0].raw == "id:deadbeef stat:delivered"
    assert await store.count_unmatched_receipts() == 2
    assert [u.id for u in await store.list_unmatched_receipts(after_id=kept[0].id)] == [kept[1].id]


async def test_receipt_before_the_id_is_stored_matches_later(store: Store) -> None:
    mid = (await store.insert_message(message(), T0)).message.id
    await claim_one(store)
    await store.mark_parts_sent([(mid, 1)], T0)
    # the receipt (hex id) wins the race against the submit_sm_resp (decimal id)
    early = NewReceipt(frozenset({"3e9"}), "id:3e9 stat:DELIVRD", ReceiptState.DELIVERED, T0 + 1)
    assert await store.record_receipt(early) is None
    assert await store.count_unmatched_receipts() == 1
    result = await store.record_outcome(accepted(mid, 1, "1001", "1001", "3e9", at=T0 + 2))
    assert result.state is MessageState.DELIVERED
    assert [(m.seq, m.receipt_state) for m in result.late_matches] == [(1, ReceiptState.DELIVERED)]
    assert result.late_matches[0].state_changed
    assert await store.count_unmatched_receipts() == 0
    assert await store.list_unmatched_receipts() == []
    detail = await store.get_message(mid)
    assert detail.message.state is MessageState.DELIVERED
    assert [r.received_at for r in detail.receipts] == [T0 + 1]


# -------------------------------------------------------------------------- inbound


async def test_inbound_records_and_lists(store: Store) -> None:
    mo = await store.record_inbound(
        NewInbound("promo", "79990000001", "SENDER", "hi", 0, T0, parts_info="1/1")
    )
    ussd = await store.record_inbound(
        NewInbound("promo", "79990000002", "*100#", "menu", 0, T0 + 10, ussd_service_op=1)
    )
    assert mo.id < ussd.id
    assert await store.list_inbound() == [mo, ussd]
    assert await store.list_inbound(since=T0 + 5) == [ussd]
    assert await store.list_inbound(limit=1) == [mo]
    assert await store.list_inbound(after_id=mo.id) == [ussd]
    assert ussd.ussd_service_op == 1
    assert mo.parts_info == "1/1"


async def test_nul_characters_from_the_smsc_are_stored_not_refused(store: Store) -> None:
    # PostgreSQL TEXT refuses NUL: an MO text holding U+0000 is kept as hex (said so), a
    # receipt's NUL as the characters \x00; both stores take them
    from smppgate.client.incoming import DeliveryReport, MoMessage
    from smppgate.service.incoming import inbound_record, receipt_record
    from smppgate.text import AssemblyStatus, parse_receipt

    payload = "a\x00b".encode("utf-16-be")
    mo = MoMessage("promo", "79990000001", "SENDER", "a\x00b", payload, 8,
                   AssemblyStatus.COMPLETE, 1, "", None, None, "s")  # fmt: skip
    stored = await store.record_inbound(inbound_record(mo, T0))
    assert stored.text == payload.hex()
    assert "text=hex" in stored.parts_info
    receipt = parse_receipt(b"id:abc sub:001 dlvrd:001 stat:DELIVRD err:000 text:x\x00y")
    report = DeliveryReport("promo", "abc", None, receipt, "1", "2", "s")
    (match,) = await store.record_receipts([receipt_record(report, T0)])
    assert match is None  # no such message: kept as unmatched
    (kept,) = await store.list_unmatched_receipts()
    assert kept.raw.endswith("text:x\\x00y")


# ------------------------------------------------------------------------- webhooks


async def test_webhook_outbox_claim_retry_and_give_up(store: Store) -> None:
    job = await store.enqueue_webhook("https://h.test/x", '{"a": 1}', "receipt", None, T0)
    assert job.state is WebhookState.PENDING
    assert await store.webhook_backlog() == 1
    claimed = await store.claim_webhooks("node-a", 10, T0, LEASE)
    assert [(j.id, j.payload, j.attempts) for j in claimed] == [(job.id, '{"a": 1}', 1)]
    assert await store.claim_webhooks("node-b", 10, T0 + 1, LEASE) == []  # leased
    state = await store.webhook_failed(job.id, T0 + 1, "HTTP 500", T0 + 10, max_attempts=2)
    assert state is WebhookState.PENDING
    assert await store.claim_webhooks("node-b", 10, T0 + 9, LEASE) == []  # not due yet
    again = await store.claim_webhooks("node-b", 10, T0 + 10, LEASE)
    assert [j.attempts for j in again] == [2]
    state = await store.webhook_failed(job.id, T0 + 11, "HTTP 502", T0 + 30, max_attempts=2)
    assert state is WebhookState.GAVE_UP
    assert await store.webhook_backlog() == 0
    assert await store.claim_webhooks("node-b", 10, T0 + 1000, LEASE) == []
    gave_up = await store.get_webhook(job.id)
    assert (gave_up.state, gave_up.last_error) == (WebhookState.GAVE_UP, "HTTP 502")


async def test_webhook_delivered_and_lease_expiry(store: Store) -> None:
    first = await store.enqueue_webhook("u", "{}", "mo", None, T0)
    second = await store.enqueue_webhook("u", "{}", "receipt", None, T0 + 1)
    await store.claim_webhooks("dead", 10, T0 + 1, LEASE)
    # the claiming node died: after the lease another node takes them, oldest first
    taken = await store.claim_webhooks("live", 10, T0 + 1 + LEASE, LEASE)
    assert [j.id for j in taken] == [first.id, second.id]
    await store.webhook_delivered(first.id, T0 + 40)
    assert (await store.get_webhook(first.id)).state is WebhookState.DELIVERED
    assert await store.webhook_backlog() == 1
    with pytest.raises(NotFound):
        await store.webhook_delivered(999_999, T0)


async def test_webhooks_delivered_marks_a_batch_in_one_call(store: Store) -> None:
    jobs = [await store.enqueue_webhook("u", str(i), "mo", None, T0) for i in range(5)]
    claimed = await store.claim_webhooks("n1", 10, T0, LEASE)
    assert len(claimed) == 5
    await store.webhooks_delivered([jobs[0].id, jobs[2].id, jobs[3].id, 999_999], T0 + 2)
    await store.webhooks_delivered([], T0 + 3)  # nothing to mark: no transaction needed
    states = [(await store.get_webhook(j.id)).state for j in jobs]
    assert states == [
        WebhookState.DELIVERED,
        WebhookState.PENDING,
        WebhookState.DELIVERED,
        WebhookState.DELIVERED,
        WebhookState.PENDING,
    ]
    done = await store.get_webhook(jobs[2].id)
    assert (done.leased_by, done.lease_until) == (None, None)
    assert await store.webhook_backlog() == 2
    # the two still leased come back after the lease, the delivered ones never
    again = await store.claim_webhooks("n2", 10, T0 + LEASE, LEASE)
    assert [j.id for j in again] == [jobs[1].id, jobs[4].id]


async def test_concurrent_webhook_claims_are_disjoint(store: Store, open_node: OpenNode) -> None:
    for i in range(60):
        await store.enqueue_webhook("u", str(i), "receipt", None, T0)

    async def node(name: str) -> list[int]:
        async with open_node() as own:
            got: list[int] = []
            while batch := await own.claim_webhooks(name, 4, T0, LEASE):
                got.extend(j.id for j in batch)
            return got

    results = await asyncio.gather(*(node(f"n{i}") for i in range(3)))
    every = [i for r in results for i in r]
    assert len(every) == 60
    assert len(set(every)) == 60


# -------------------------------------------------------------------------- cluster


async def test_session_slots_cap_and_expiry(store: Store) -> None:
    slots = [await store.acquire_session_slot("login", 4, "node-a", T0, LEASE) for _ in range(4)]
    assert slots == [0, 1, 2, 3]
    assert await store.acquire_session_slot("login", 4, "node-b", T0, LEASE) is None
    assert await store.acquire_session_slot("other", 4, "node-b", T0, LEASE) == 0
    assert await store.renew_session_slot("login", 1, "node-a", T0 + 20, LEASE)
    # node-a stops renewing slot 0: after its lease another node may take it
    assert await store.acquire_session_slot("login", 4, "node-b", T0 + LEASE, LEASE) == 0
    assert not await store.renew_session_slot("login", 0, "node-a", T0 + LEASE, LEASE)
    held = await store.list_session_slots("login", T0 + LEASE)
    assert [(s.slot, s.node_id) for s in held] == [(0, "node-b"), (1, "node-a")]
    await store.release_session_slot("login", 1, "node-a")
    assert await store.acquire_session_slot("login", 4, "node-c", T0 + LEASE, LEASE) == 1
    assert await store.release_node_slots("node-b") == 2  # login/0 and other/0


async def test_session_slots_never_exceed_max_across_nodes(
    store: Store, open_node: OpenNode
) -> None:
    async def node(name: str) -> list[int]:
        async with open_node() as own:
            got = []
            for _ in range(3):
                slot = await own.acquire_session_slot("login", 4, name, T0, LEASE)
                if slot is not None:
                    got.append(slot)
            return got

    results = await asyncio.gather(*(node(f"node-{i}") for i in range(6)))
    every = [s for r in results for s in r]
    assert sorted(every) == [0, 1, 2, 3]
    assert len(await store.list_session_slots("login", T0)) == 4


async def test_connect_cooldowns(store: Store) -> None:
    assert await store.next_connect_allowed("promo", "h1:2775") is None
    assert await store.record_drop("promo", "h1:2775", T0, DropKind.DROP) == T0 + 60
    assert await store.next_connect_allowed("promo", "h1:2775") == T0 + 60
    assert await store.record_drop("promo", "h1:2775", T0 + 61, DropKind.FAILED) == T0 + 151
    # a drop reported later by another node with an earlier end does not shorten it
    assert await store.record_drop("promo", "h1:2775", T0 + 62, DropKind.DROP) == T0 + 151
    assert await store.next_connect_allowed("promo", "h2:2775") is None
    assert await store.next_connect_allowed("transactional", "h1:2775") is None


async def test_cooldown_seen_by_another_node(store: Store, open_node: OpenNode) -> None:
    await store.record_drop("promo", "h1:2775", T0, DropKind.FAILED)
    async with open_node() as other:
        assert await other.next_connect_allowed("promo", "h1:2775") == T0 + 90


# ----------------------------------------------------------------- schema, durability


async def test_migrations_are_idempotent(store_url: str) -> None:
    async with open_store(store_url) as first:
        version = await first.schema_version()
        assert version >= 1
        assert await first.migrate() == []
    async with open_store(store_url) as second:
        assert await second.schema_version() == version
    assert await migrate(store_url) == []


async def test_unmigrated_database_is_refused_without_migrate(store_url: str) -> None:
    with pytest.raises(SchemaOutOfDate):
        async with open_store(store_url, migrate=False):
            pass
    assert await migrate(store_url) != []
    async with open_store(store_url, migrate=False) as opened:
        await opened.ping()


async def test_committed_data_survives_close_and_reopen(store_url: str) -> None:
    async with open_store(store_url) as first:
        mid = (await first.insert_message(message(parts=3, key="k"), T0)).message.id
        await first.claim("n", 1, T0, LEASE)
        await first.record_outcome(accepted(mid, 1, "77", "77"))
        await first.record_receipt(receipt("nomatch"))
        await first.enqueue_webhook("u", "{}", "mo", mid, T0)
    reopened = await open_store(store_url)
    try:
        detail = await reopened.get_message(mid)
        assert detail.message.state is MessageState.SENDING
        assert [p.short_message for p in detail.message.parts] == [
            bytes([0x05, 0x00, 0x03, 0x2A, 3, seq]) + f"part {seq}".encode() for seq in (1, 2, 3)
        ]
        assert detail.message.parts[0].smsc_message_id == "77"
        assert await reopened.count_unmatched_receipts() == 1
        assert await reopened.webhook_backlog() == 1
        again = await reopened.insert_message(message(key="k"), T0)
        assert not again.created
        assert again.message.id == mid
    finally:
        await reopened.aclose()
    await reopened.aclose()  # idempotent


async def test_closed_store_refuses_work(store_url: str) -> None:
    opened = await open_store(store_url)
    await opened.aclose()
    with pytest.raises(StoreError):
        await opened.insert_message(message(), T0)


async def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    """SQLite only: WAL mode on the file, and `:memory:` refused (it cannot be durable)."""
    path = tmp_path / "wal.db"
    async with open_store(f"sqlite://{path}") as opened:
        await opened.insert_message(message(), T0)
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert check.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1
    check.close()
    with pytest.raises(StoreError):
        await open_store("sqlite:///:memory:")
    with pytest.raises(StoreError):
        await open_store("mysql://nope")


# ------------------------------------------------------- webhooks in the event's transaction


class RecordingNotifier:
    """Wants every message; its jobs name what they were made from. ``fail_on`` raises inside
    the transaction (the event must then be rolled back with its webhook)."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on

    def wants_status(self, account: str, callback_url: str | None) -> bool:
        return callback_url is not None

    def status_job(
        self, message: StoredMessage, receipts: Sequence[ReceiptRecord], now: float
    ) -> NewWebhook | None:
        state = message.state.value
        if state == self.fail_on:
            raise RuntimeError(f"notifier refuses {state}")
        # the receipts it was given, as the payload: a test can check they are the message's
        payload = state + "".join(f";{r.seq}:{r.state.value}" for r in receipts)
        return NewWebhook("https://example.test/hook", payload, "message.status", message.id)

    def inbound_job(self, inbound: InboundMessage, now: float) -> NewWebhook | None:
        return NewWebhook("https://example.test/mo", inbound.text, "inbound.mo", None)


async def test_webhooks_commit_with_their_events(store: Store) -> None:
    """Receipts, final outcomes, lease recoveries and inbound messages queue their webhooks in
    their own transaction: one job per event, with the state the event left."""
    store.notifier = RecordingNotifier()
    mid = await submitted(store)  # submitted is not final: no job
    await store.record_receipts([receipt("1001")])
    failed = (await store.insert_message(message("79990000002"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.record_outcomes([PartFailed(failed, 1, 0x0B, "ESME_RINVDSTADR", T0, context=CTX)])
    lost = (await store.insert_message(message("79990000003"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.mark_parts_sent([(lost, 1)], T0)
    await store.recover_expired_leases(T0 + LEASE + 1)
    await store.record_inbound(NewInbound("promo", "79990000009", "SENDER", "hi", 0, T0))
    jobs = await store.claim_webhooks("n", 10, T0 + 100, LEASE)
    assert sorted((j.payload, j.message_id or "") for j in jobs) == [
        ("delivered;1:delivered", mid),
        ("failed", failed),
        ("hi", ""),
        ("unknown", lost),
    ]


async def test_status_webhooks_of_one_batch_carry_each_message_its_own_receipts(
    store: Store,
) -> None:
    """The messages of a receipt batch are read together for their webhooks: each job still
    gets its own message's receipts, in the order recorded, and nobody else's."""
    store.notifier = RecordingNotifier()
    two = await submitted(store, parts=2)  # parts 1001, 1002
    one = (await store.insert_message(message("79990000002"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.record_outcomes([accepted(one, 1, "2001", "2001")])
    await store.record_receipts(
        [
            receipt("1001", ReceiptState.ENROUTE),
            receipt("2001", ReceiptState.UNDELIVERABLE),
            receipt("1001"),
            receipt("1002"),
        ]
    )
    jobs = await store.claim_webhooks("n", 10, T0 + 100, LEASE)
    assert sorted((j.message_id or "", j.payload) for j in jobs) == sorted(
        [
            (two, "delivered;1:enroute;1:delivered;2:delivered"),
            (one, "undeliverable;1:undeliverable"),
        ]
    )


async def test_an_event_whose_webhook_fails_is_rolled_back_with_it(store: Store) -> None:
    mid = await submitted(store)
    store.notifier = RecordingNotifier(fail_on="delivered")
    with pytest.raises(RuntimeError, match="refuses"):
        await store.record_receipts([receipt("1001")])
    assert (await store.get_message(mid)).message.state is MessageState.SUBMITTED
    assert await store.claim_webhooks("n", 10, T0 + 100, LEASE) == []
    store.notifier = None
    await store.record_receipts([receipt("1001")])  # without a notifier: no webhook
    assert (await store.get_message(mid)).message.state is MessageState.DELIVERED
    assert await store.claim_webhooks("n", 10, T0 + 100, LEASE) == []


async def test_ussd_fields_round_trip(store: Store) -> None:
    new = replace(message(), ussd_service_op=17, its_session_info=b"\x0a\x03")
    stored = (await store.insert_message(new, T0)).message
    got = (await store.get_message(stored.id)).message
    assert (got.ussd_service_op, got.its_session_info) == (17, b"\x0a\x03")
    plain = (await store.insert_message(message("79990000002"), T0)).message
    got_plain = (await store.get_message(plain.id)).message
    assert (got_plain.ussd_service_op, got_plain.its_session_info) == (None, None)
    (claimed, *_) = await store.claim("n", 1, T0, LEASE)
    assert claimed.ussd_service_op == 17


async def test_last_status_is_the_status_of_the_last_response(store: Store) -> None:
    """A message accepted after ESME_RMSGQFUL shows ESME_ROK, not the old error; a clean send
    shows ESME_ROK, not null."""
    clean = (await store.insert_message(message(), T0)).message.id
    await claim_one(store)
    await store.mark_parts_sent([(clean, 1)], T0)
    await store.record_outcome(accepted(clean, 1, "200"))
    got = (await store.get_message(clean)).message
    assert (got.last_status, got.last_status_name) == (0, "ESME_ROK")

    mid = (await store.insert_message(message(), T0)).message.id
    await claim_one(store, T0)
    await store.mark_parts_sent([(mid, 1)], T0)
    await store.record_outcome(
        Requeue(mid, T0 + 5, RequeueReason.QUEUE_FULL, T0, 1, 0x14, "ESME_RMSGQFUL", CTX)
    )
    assert (await store.get_message(mid)).message.last_status_name == "ESME_RMSGQFUL"
    await claim_one(store, T0 + 5)
    await store.mark_parts_sent([(mid, 1)], T0 + 5)
    await store.record_outcome(accepted(mid, 1, "201", at=T0 + 5))
    got = (await store.get_message(mid)).message
    assert (got.last_status, got.last_status_name) == (0, "ESME_ROK")


async def test_last_status_follows_the_order_of_one_batch(store: Store) -> None:
    """In one `record_outcomes` batch the last response of a message sets its last_status,
    whether the acceptance's status is written with the state (settle) or on its own: an
    acceptance then a failure shows the failure, a queue-full then an acceptance shows
    ESME_ROK, and an acceptance of a part whose message stays `sending` shows ESME_ROK."""
    failed, ok, partial = await store.insert_messages(
        [message(parts=2), message(parts=2), message(parts=2)], T0
    )
    ids = [failed.message.id, ok.message.id, partial.message.id]
    await store.claim("node-a", 3, T0, LEASE)
    await store.mark_parts_sent([(m, seq) for m in ids for seq in (1, 2)], T0)
    await store.record_outcomes(
        [
            accepted(ids[0], 1, "300"),
            PartFailed(ids[0], 2, 0x45, "ESME_RSUBMITFAIL", T0, context=CTX),
            Requeue(ids[1], T0 + 5, RequeueReason.QUEUE_FULL, T0, 2, 0x14, "ESME_RMSGQFUL", CTX),
            accepted(ids[1], 1, "301"),
            accepted(ids[2], 1, "302"),
        ]
    )
    got = [(await store.get_message(m)).message for m in ids]
    assert [(m.state, m.last_status, m.last_status_name) for m in got] == [
        (MessageState.FAILED, 0x45, "ESME_RSUBMITFAIL"),
        (MessageState.QUEUED, 0, "ESME_ROK"),
        (MessageState.SENDING, 0, "ESME_ROK"),
    ]


async def test_the_claim_and_lease_indexes_hold_only_their_states(
    store: Store, store_url: str
) -> None:
    """Version 11: a message's entry in the claim index lives while it is `queued`, in the
    lease index while it is `sending` (partial indexes), so a delivered message costs neither
    index anything; the claim still takes the highest priority first."""
    if store_url.startswith("sqlite:"):
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages'"
    indexes = dict(await raw_fetch(store_url, query))
    assert "messages_due_by_priority" not in indexes
    assert "messages_lease" not in indexes
    for name, state in (
        ("messages_queued", "queued"),
        ("messages_scheduled", "scheduled"),
        ("messages_leased", "sending"),
    ):
        assert f"state = '{state}'" in indexes[name].replace("::text", "").replace("(", "")
    low = (await store.insert_message(message("79990000001"), T0)).message.id
    high = (await store.insert_message(message("79990000002", priority=5), T0)).message.id
    assert [m.id for m in await store.claim("node-a", 2, T0, LEASE)] == [high, low]


# ------------------------------------------------------------------ SMPP front door outbox


def from_app(destination: str, registered_delivery: int = 1, system_id: str = "app1") -> NewMessage:
    return replace(
        message(destination, parts=1),
        origin=SmppOrigin(system_id, registered_delivery),
        source="Devino",
        text="hello app",
    )


async def test_a_final_receipt_of_an_application_message_enters_its_outbox(store: Store) -> None:
    mid = (await store.insert_message(from_app("79990000001"), T0)).message.id
    plain = (await store.insert_message(message("79990000002"), T0)).message.id
    claimed = await store.claim("n", 10, T0, LEASE)
    assert {m.id for m in claimed} == {mid, plain}
    await store.mark_parts_sent([(mid, 1), (plain, 1)], T0)
    await store.record_outcomes(
        [accepted(mid, 1, "1001", "1001"), accepted(plain, 1, "1002", "1002")]
    )
    await store.record_receipts([receipt("1001", ReceiptState.ENROUTE)])  # intermediate: not sent
    assert await store.smpp_outbox("app1") == []
    await store.record_receipts([receipt("1001"), receipt("1002")])
    (row,) = await store.smpp_outbox("app1")
    assert (row.system_id, row.message_id, row.state, row.error_code) == (
        "app1",
        mid,
        ReceiptState.DELIVERED,
        "000",
    )
    assert (row.source, row.destination, row.text, row.submitted_at) == (
        "Devino",
        "79990000001",
        "hello app",
        T0,
    )
    assert await store.smpp_outbox("app2") == []
    assert await store.smpp_outbox("app1", after_id=row.id) == []
    assert await store.smpp_outbox_backlog() == {"app1": 1}
    await store.smpp_outbox_done([row.id])
    assert await store.smpp_outbox("app1") == []
    assert await store.smpp_outbox_backlog() == {}


async def test_a_final_state_without_a_receipt_enters_the_outbox_once(store: Store) -> None:
    failed = (await store.insert_message(from_app("79990000001"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.mark_parts_sent([(failed, 1)], T0)
    await store.record_outcomes(
        [PartFailed(failed, 1, 0x0B, "ESME_RINVDSTADR", T0 + 1, rejected=True, context=CTX)]
    )
    (row,) = await store.smpp_outbox("app1")
    assert (row.message_id, row.state, row.error_code) == (failed, ReceiptState.REJECTED, "11")


@pytest.mark.parametrize(
    ("registered_delivery", "state", "kept"),
    [
        (0, ReceiptState.DELIVERED, False),
        (0, ReceiptState.UNDELIVERABLE, False),
        (2, ReceiptState.DELIVERED, False),
        (2, ReceiptState.UNDELIVERABLE, True),
        (1, ReceiptState.UNDELIVERABLE, True),
    ],
)
async def test_the_outbox_follows_registered_delivery(
    store: Store, registered_delivery: int, state: ReceiptState, kept: bool
) -> None:
    mid = (await store.insert_message(from_app("79990000001", registered_delivery), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.mark_parts_sent([(mid, 1)], T0)
    await store.record_outcomes([accepted(mid, 1, "1001", "1001")])
    await store.record_receipts([receipt("1001", state)])
    assert len(await store.smpp_outbox("app1")) == int(kept)


async def test_outbox_receipts_nobody_came_for_expire(store: Store) -> None:
    old = (await store.insert_message(from_app("79990000001"), T0)).message.id
    new = (await store.insert_message(from_app("79990000002"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.mark_parts_sent([(old, 1), (new, 1)], T0)
    await store.record_outcomes([accepted(old, 1, "1", "1"), accepted(new, 1, "2", "2")])
    await store.record_receipts([receipt("1", at=T0 + 10)])
    await store.record_receipts([receipt("2", at=T0 + 100)])
    assert await store.smpp_outbox_expire(T0 + 50) == 1
    assert [r.message_id for r in await store.smpp_outbox("app1")] == [new]


async def test_single_process_is_the_sqlite_store(store: Store) -> None:
    # one process owns a SQLite file; PostgreSQL is shared by the nodes of a cluster
    assert store.single_process is (store.dialect == "sqlite")


@pytest.mark.parametrize("receipts_first", [False, True], ids=["in_order", "receipts_first"])
async def test_a_batch_costs_postgresql_the_same_statements_whatever_its_size(
    store: Store, receipts_first: bool
) -> None:
    """On PostgreSQL every row-by-row write of the hot path (intake, marking parts sent,
    acceptances, receipts, receipts kept until their submit_sm_resp and matched then, state
    changes) is one set-based statement per batch, so 50 messages cost what 10 do (a receipt
    kept unmatched costs its own INSERT ... RETURNING); SQLite steps the rows of one prepared
    statement in-process (no round trip to save), so its count grows with the rows."""

    async def flow(n: int, base: int) -> int:
        before = store.statements
        news = [message(f"7999{base + i:07d}") for i in range(n)]
        ids = [r.message.id for r in await store.insert_messages(news, T0)]
        claimed = await store.claim("n", n, T0, LEASE)
        assert len(claimed) == n
        await store.mark_parts_sent([(mid, 1) for mid in ids], T0)
        receipts = [receipt(str(base + i)) for i in range(n)]
        if receipts_first:
            assert await store.record_receipts(receipts) == [None] * n
        results = await store.record_outcomes(
            [accepted(mid, 1, str(base + i), str(base + i)) for i, mid in enumerate(ids)]
        )
        if receipts_first:
            assert all(len(r.late_matches) == 1 for r in results)
            assert all(r.state is MessageState.DELIVERED for r in results)
        else:
            matches = await store.record_receipts(receipts)
            assert all(m is not None and m.message_state is MessageState.DELIVERED for m in matches)
        return store.statements - before - (n if receipts_first else 0)

    small = await flow(10, 10_000)
    large = await flow(50, 20_000)
    if store.dialect == "postgresql":
        assert large == small
    else:
        assert large > small


async def test_receipts_kept_for_a_batch_of_acceptances_go_to_their_own_parts(
    store: Store,
) -> None:
    """Receipts that came before their ids, matched by one batch of acceptances: each to the
    part whose key it names, in receipt order, and only in its own account."""
    one = (await store.insert_message(message("79990000001"), T0)).message.id
    two = (await store.insert_message(message("79990000002"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    early = [
        receipt("3001", ReceiptState.ENROUTE),
        replace(receipt("3002"), account="another"),  # not this account's: stays unmatched
        receipt("3001"),
    ]
    assert await store.record_receipts(early) == [None, None, None]
    results = await store.record_outcomes(
        [accepted(one, 1, "3001", "3001"), accepted(two, 1, "3002", "3002")]
    )
    assert [m.receipt_state for m in results[0].late_matches] == [
        ReceiptState.ENROUTE,
        ReceiptState.DELIVERED,
    ]
    assert results[0].state is MessageState.DELIVERED
    assert results[1].late_matches == ()
    assert results[1].state is MessageState.SUBMITTED
    assert await store.count_unmatched_receipts() == 1
    detail = await store.get_message(one)
    assert [r.state for r in detail.receipts] == [ReceiptState.ENROUTE, ReceiptState.DELIVERED]

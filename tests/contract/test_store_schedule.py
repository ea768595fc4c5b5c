"""Scheduling and cancelling in the store (store/schedule.py), on SQLite and PostgreSQL:
scheduled messages are never claimed before they are released, a cancel takes only queued or
scheduled messages, and a cancel racing the dispatcher's claim leaves each message cancelled
or claimed, never both."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from smppgate.store import (
    BlockSource,
    MessageState,
    NewBlock,
    NotFound,
    PartStatus,
    SmppOrigin,
    Store,
)
from smppgate.store.smpp_parts import part_id

from .test_store_contract import (
    LEASE,
    T0,
    OpenNode,
    RecordingNotifier,
    accepted,
    claim_one,
    message,
)


async def test_a_message_due_later_is_scheduled_and_released_when_due(store: Store) -> None:
    now_id = (await store.insert_message(message("79990000001"), T0)).message.id
    later = (await store.insert_message(message("79990000002", not_before=T0 + 60), T0)).message
    assert later.state is MessageState.SCHEDULED
    assert later.next_attempt_at == T0 + 60
    # a send time not ahead of the insert is an ordinary queued message
    same = await store.insert_message(message("79990000003", not_before=T0), T0)
    assert same.message.state is MessageState.QUEUED
    claimed = await store.claim("n", 10, T0 + 120, LEASE)
    assert {m.id for m in claimed} == {now_id, same.message.id}  # scheduled: never claimed
    assert await store.release_scheduled(T0 + 59) == 0
    counts = await store.count_by_state()
    assert counts[MessageState.SCHEDULED] == 1
    assert await store.release_scheduled(T0 + 60) == 1
    assert (await store.get_message(later.id)).message.state is MessageState.QUEUED
    assert [m.id for m in await store.claim("n", 10, T0 + 60, LEASE)] == [later.id]
    assert await store.release_scheduled(T0 + 60) == 0


async def test_release_moves_at_most_a_batch_and_in_time_order(store: Store) -> None:
    ids = [
        r.message.id
        for r in await store.insert_messages(
            [message(str(i), not_before=T0 + 10 + i) for i in range(5)], T0
        )
    ]
    assert await store.release_scheduled(T0 + 12) == 3
    queued = await store.list_messages(state=MessageState.QUEUED)
    assert {m.id for m in queued.items} == set(ids[:3])


async def test_cancel_takes_queued_and_scheduled_messages_only(store: Store) -> None:
    store.notifier = RecordingNotifier()
    queued = (await store.insert_message(message("1"), T0)).message.id
    scheduled = (await store.insert_message(message("2", not_before=T0 + 60), T0)).message.id
    for message_id in (queued, scheduled):
        result = await store.cancel_message(message_id, T0 + 1, by="api:shop")
        assert (result.cancelled, result.state, result.account) == (
            True,
            MessageState.CANCELLED,
            "promo",
        )
        detail = await store.get_message(message_id)
        assert detail.message.state is MessageState.CANCELLED
        assert detail.message.state.is_final
        assert [(a.outcome, a.node_id) for a in detail.attempts] == [("cancelled", "api:shop")]
        assert all(p.status is PartStatus.PLANNED for p in detail.message.parts)
    # a second cancel changes nothing and says so
    again = await store.cancel_message(queued, T0 + 2)
    assert (again.cancelled, again.state) == (False, MessageState.CANCELLED)
    # one message.status webhook each, in the cancel's transaction
    jobs = await store.claim_webhooks("n", 10, T0 + 100, LEASE)
    assert sorted((j.message_id or "", j.payload) for j in jobs) == sorted(
        [(queued, "cancelled"), (scheduled, "cancelled")]
    )
    # nothing cancelled is claimed or released
    assert await store.release_scheduled(T0 + 120) == 0
    assert await store.claim("n", 10, T0 + 120, LEASE) == []
    counts = await store.count_by_state()
    assert counts[MessageState.CANCELLED] == 2
    assert counts[MessageState.QUEUED] == counts[MessageState.SCHEDULED] == 0


async def test_a_message_on_its_way_or_final_is_not_cancelled(store: Store) -> None:
    mid = (await store.insert_message(message(), T0)).message.id
    await claim_one(store)
    sending = await store.cancel_message(mid, T0 + 1)
    assert (sending.cancelled, sending.state) == (False, MessageState.SENDING)
    await store.mark_parts_sent([(mid, 1)], T0 + 1)
    await store.record_outcomes([accepted(mid, 1, "1001", "1001", at=T0 + 2)])
    submitted = await store.cancel_message(mid, T0 + 3)
    assert (submitted.cancelled, submitted.state) == (False, MessageState.SUBMITTED)
    detail = await store.get_message(mid)
    assert detail.message.state is MessageState.SUBMITTED
    assert "cancelled" not in [a.outcome for a in detail.attempts]
    with pytest.raises(NotFound):
        await store.cancel_message("no-such-id", T0)


async def test_a_cancelled_message_ignores_a_late_requeue_and_lease_recovery(
    store: Store,
) -> None:
    """Outcomes only ever concern claimed messages; a cancelled one stays cancelled whatever
    arrives for it."""
    mid = (await store.insert_message(message(), T0)).message.id
    await store.cancel_message(mid, T0)
    await store.recover_expired_leases(T0 + 1000, every_lease=True)
    assert (await store.get_message(mid)).message.state is MessageState.CANCELLED


async def test_cancel_racing_the_claim_cancels_or_claims_each_message_never_both(
    store: Store, open_node: OpenNode
) -> None:
    """Two claimers and a canceller on their own connections (as separate nodes), all at
    once: every message ends either claimed (sending) or cancelled, and the canceller was told
    the truth about each."""
    total = 200
    ids = [
        r.message.id
        for r in await store.insert_messages([message(str(i)) for i in range(total)], T0)
    ]

    async def claimer(name: str) -> list[str]:
        got: list[str] = []
        async with open_node() as own:
            while batch := await own.claim(name, 5, T0, LEASE):
                got.extend(m.id for m in batch)
                await asyncio.sleep(0)
        return got

    async def canceller() -> list[str]:
        cancelled: list[str] = []
        async with open_node() as own:
            for message_id in reversed(ids):  # from the other end of the queue: they meet
                result = await own.cancel_message(message_id, T0, by="api:race")
                if result.cancelled:
                    cancelled.append(message_id)
                else:
                    assert result.state is MessageState.SENDING
        return cancelled

    *claims, cancelled = await asyncio.gather(claimer("a"), claimer("b"), canceller())
    claimed = [i for got in claims for i in got]
    assert len(claimed) == len(set(claimed))
    assert not set(claimed) & set(cancelled)
    assert set(claimed) | set(cancelled) == set(ids)
    for message_id in ids:
        state = (await store.get_message(message_id)).message.state
        expected = MessageState.CANCELLED if message_id in cancelled else MessageState.SENDING
        assert state is expected


async def test_postpone_hands_claimed_messages_back_as_scheduled(store: Store) -> None:
    first = (await store.insert_message(message("1"), T0)).message.id
    sent = (await store.insert_message(message("2"), T0)).message.id
    claimed = await store.claim("node-a", 10, T0, LEASE)
    assert {m.id for m in claimed} == {first, sent}
    await store.mark_parts_sent([(sent, 1)], T0)
    moved = await store.postpone(
        "node-a", [(first, T0 + 3600), (sent, T0 + 3600)], T0 + 1, "quiet_hours"
    )
    assert moved == [first]  # a part of `sent` may be on the wire: it is not taken back
    detail = await store.get_message(first)
    m = detail.message
    assert (m.state, m.next_attempt_at, m.leased_by, m.lease_until, m.attempts) == (
        MessageState.SCHEDULED,
        T0 + 3600,
        None,
        None,
        0,
    )
    assert [a.outcome for a in detail.attempts] == ["postponed:quiet_hours"]
    # another node's claim is not this node's to postpone
    assert await store.postpone("node-b", [(sent, T0 + 3600)], T0 + 1, "quiet_hours") == []
    assert await store.release_scheduled(T0 + 3600) == 1
    assert [m.id for m in await store.claim("node-a", 10, T0 + 3600, LEASE)] == [first]


async def test_an_application_message_cancelled_by_others_gets_its_deleted_receipt(
    store: Store,
) -> None:
    asked = replace(message("1"), origin=SmppOrigin("app1", registered_delivery=1))
    silent = replace(message("2"), origin=SmppOrigin("app1", registered_delivery=0))
    itself = replace(message("3"), origin=SmppOrigin("app1", registered_delivery=1))
    ids = [r.message.id for r in await store.insert_messages([asked, silent, itself], T0)]
    await store.cancel_message(ids[0], T0 + 1, by="api:ops")
    await store.cancel_message(ids[1], T0 + 1, by="api:ops")
    await store.cancel_message(ids[2], T0 + 1, by="smpp:app1", tell_application=False)
    outbox = await store.smpp_outbox("app1")
    assert [(r.message_id, r.state.value, r.done_at) for r in outbox] == [
        (ids[0], "deleted", T0 + 1)
    ]


async def test_an_application_split_message_cancelled_by_others_gets_a_receipt_per_part(
    store: Store,
) -> None:
    # the application split it itself: it holds one id per part, and each gets its receipt
    split = replace(
        message("1", parts=3), origin=SmppOrigin("app1", registered_delivery=1, split=True)
    )
    whole = replace(message("2", parts=2), origin=SmppOrigin("app1", registered_delivery=1))
    ids = [r.message.id for r in await store.insert_messages([split, whole], T0)]
    for message_id in ids:
        await store.cancel_message(message_id, T0 + 1, by="api:ops")
    outbox = await store.smpp_outbox("app1")
    assert sorted((r.message_id, r.state.value) for r in outbox) == sorted(
        [(part_id(ids[0], seq), "deleted") for seq in (1, 2, 3)] + [(ids[1], "deleted")]
    )


async def test_blocked_and_cancelled_are_both_decided_and_final(store: Store) -> None:
    # a send time does not hold a message to a listed number: it ends blocked at once
    await store.add_blocks([NewBlock("promo", "79990000001", BlockSource.API)], T0)
    listed = (await store.insert_message(message("79990000001", not_before=T0 + 60), T0)).message
    assert listed.state is MessageState.BLOCKED
    refused = await store.cancel_message(listed.id, T0 + 1, by="api:ops")
    assert (refused.cancelled, refused.state) == (False, MessageState.BLOCKED)
    # a cancelled message stays cancelled when its number is listed later
    waiting = (await store.insert_message(message("79990000002", not_before=T0 + 60), T0)).message
    await store.cancel_message(waiting.id, T0 + 1, by="api:ops")
    await store.add_blocks([NewBlock("promo", "79990000002", BlockSource.API)], T0 + 2)
    assert await store.block_listed([waiting.id], T0 + 3) == []
    assert (await store.get_message(waiting.id)).message.state is MessageState.CANCELLED

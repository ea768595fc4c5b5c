"""The blocklist in the store (issue 16): entries, `blocked` at insert and at dispatch, opt
keywords recorded with their MO. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from smppgate.store import (
    BlockSource,
    InboundMessage,
    MessageState,
    MoSet,
    NewBlock,
    NewInbound,
    NewMoPart,
    NewWebhook,
    OptAction,
    OptChange,
    OptKeyword,
    PartStatus,
    ReceiptRecord,
    ReceiptState,
    Store,
    StoredMessage,
)

from .test_store_contract import LEASE, T0, accepted, from_app, message


def block(number: str, account: str = "promo", source: BlockSource = BlockSource.API) -> NewBlock:
    return NewBlock(account, number, source, "asked", "shop")


class Notifier:
    """Every event's webhook, named by what made it."""

    def wants_status(self, account: str, callback_url: str | None) -> bool:
        return True

    def status_job(
        self, message: StoredMessage, receipts: Sequence[ReceiptRecord], now: float
    ) -> NewWebhook | None:
        m = message
        return NewWebhook("https://example.test/hook", m.state.value, "message.status", m.id)

    def inbound_job(self, inbound: InboundMessage, now: float) -> NewWebhook | None:
        return NewWebhook("https://example.test/mo", inbound.text, "inbound.mo", None)

    def opt_job(self, change: OptChange, now: float) -> NewWebhook | None:
        payload = f"{change.number} changed={change.changed} blocked={change.blocked}"
        return NewWebhook("https://example.test/mo", payload, f"inbound.{change.action}", None)


async def webhooks(store: Store) -> list[tuple[str, str]]:
    jobs = await store.claim_webhooks("n", 100, T0 + 100, LEASE)
    for job in jobs:
        await store.webhook_delivered(job.id, T0 + 100)
    return sorted((j.event, j.payload) for j in jobs)


async def test_adding_is_idempotent_and_records_who_and_why(store: Store) -> None:
    (first,) = await store.add_blocks([block("79990000001")], T0)
    assert first.created
    e = first.entry
    assert (e.account, e.number, e.source, e.reason, e.added_by, e.created_at) == (
        "promo", "79990000001", BlockSource.API, "asked", "shop", T0,
    )  # fmt: skip
    again, other = await store.add_blocks(
        [block("79990000001"), block("79990000001", "otp")], T0 + 1
    )
    assert not again.created
    assert again.entry == e
    assert other.created
    assert other.entry.account == "otp"


async def test_an_operator_block_takes_over_a_keyword_entry(store: Store) -> None:
    await store.add_blocks([block("79990000001", source=BlockSource.KEYWORD)], T0)
    (taken,) = await store.add_blocks([block("79990000001", source=BlockSource.IMPORT)], T0 + 1)
    assert not taken.created
    assert taken.entry.source is BlockSource.IMPORT
    # a keyword never downgrades an operator's entry
    (kept,) = await store.add_blocks([block("79990000001", source=BlockSource.KEYWORD)], T0 + 2)
    assert kept.entry.source is BlockSource.IMPORT


async def test_remove_and_list_pages_by_account(store: Store) -> None:
    await store.add_blocks([block(f"7999000000{i}") for i in range(5)], T0)
    await store.add_blocks([block("79990000001", "otp")], T0)
    first = await store.list_blocklist(accounts=["promo"], limit=3)
    assert [e.number for e in first.items] == ["79990000000", "79990000001", "79990000002"]
    assert first.next_cursor is not None
    rest = await store.list_blocklist(accounts=["promo"], after=first.next_cursor, limit=3)
    assert [e.number for e in rest.items] == ["79990000003", "79990000004"]
    assert rest.next_cursor is None
    everyone = await store.list_blocklist(number="79990000001")
    assert sorted(e.account for e in everyone.items) == ["otp", "promo"]
    assert (await store.list_blocklist(accounts=[])).items == ()
    removed = await store.remove_block("promo", "79990000001")
    assert removed is not None
    assert removed.number == "79990000001"
    assert await store.remove_block("promo", "79990000001") is None
    assert await store.blocked_among([("promo", "79990000001"), ("otp", "79990000001")]) == {
        ("otp", "79990000001")
    }


async def test_a_message_to_a_listed_number_is_inserted_blocked_with_its_webhook(
    store: Store,
) -> None:
    store.notifier = Notifier()
    await store.add_blocks([block("79990000001")], T0)
    blocked, free, other = await store.insert_messages(
        [message("79990000001"), message("79990000002"), message("79990000001", account="otp")],
        T0,
    )
    assert blocked.message.state is MessageState.BLOCKED
    assert free.message.state is MessageState.QUEUED
    assert other.message.state is MessageState.QUEUED  # listed for promo, not for otp
    stored = (await store.get_message(blocked.message.id)).message
    assert stored.state is MessageState.BLOCKED
    assert all(p.status is PartStatus.PLANNED for p in stored.parts)
    claimed = await store.claim("n", 10, T0, LEASE)
    assert sorted(m.id for m in claimed) == sorted([free.message.id, other.message.id])
    assert await webhooks(store) == [("message.status", "blocked")]
    counts = await store.count_by_state("promo")
    assert counts[MessageState.BLOCKED] == 1


async def test_a_number_listed_after_queueing_is_blocked_at_dispatch_not_once_sent(
    store: Store,
) -> None:
    store.notifier = Notifier()
    leased = (await store.insert_message(message("79990000001"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    sent = (await store.insert_message(message("79990000001"), T0)).message.id
    await store.claim("n", 10, T0, LEASE)
    await store.mark_parts_sent([(sent, 1)], T0)
    queued = (await store.insert_message(message("79990000001", parts=2), T0)).message.id
    await store.add_blocks([block("79990000001")], T0 + 1)
    assert await store.block_listed([leased, queued, sent], T0 + 2) == sorted([leased, queued])
    for mid in (leased, queued):
        m = (await store.get_message(mid)).message
        assert (m.state, m.leased_by, m.updated_at) == (MessageState.BLOCKED, None, T0 + 2)
    # the one on the wire goes its way; a late answer does not move a blocked message
    assert (await store.get_message(sent)).message.state is MessageState.SENDING
    await store.record_outcomes([accepted(sent, 1, "1001", "1001")])
    assert (await store.get_message(sent)).message.state is MessageState.SUBMITTED
    assert await store.block_listed([leased], T0 + 3) == []  # once only
    assert await webhooks(store) == [("message.status", "blocked")] * 2


async def test_the_front_door_gets_an_undeliverable_receipt_for_a_blocked_message(
    store: Store,
) -> None:
    await store.add_blocks([block("79990000001")], T0)
    at_intake = (await store.insert_message(from_app("79990000001"), T0)).message.id
    silent = await store.insert_message(from_app("79990000001", registered_delivery=0), T0)
    queued = await store.insert_message(from_app("79990000002", registered_delivery=2), T0)
    await store.claim("n", 10, T0, LEASE)
    await store.add_blocks([block("79990000002")], T0 + 1)
    assert await store.block_listed([queued.message.id], T0 + 2) == [queued.message.id]
    rows = await store.smpp_outbox("app1")
    assert [(r.message_id, r.state, r.done_at) for r in rows] == [
        (at_intake, ReceiptState.UNDELIVERABLE, T0),
        (queued.message.id, ReceiptState.UNDELIVERABLE, T0 + 2),
    ]
    assert silent.message.state is MessageState.BLOCKED


def mo(text: str, opt: OptKeyword | None, at: float = T0) -> NewInbound:
    return NewInbound("promo", "79990000001", "1234", text, 0, at, opt=opt)


async def test_opt_keywords_change_the_list_with_their_mo(store: Store) -> None:
    store.notifier = Notifier()
    stop = OptKeyword(OptAction.OPT_OUT, "STOP", "79990000001")
    start = OptKeyword(OptAction.OPT_IN, "START", "79990000001")
    recorded = await store.record_inbound(mo("STOP", stop))
    (entry,) = (await store.list_blocklist()).items
    assert (entry.source, entry.reason, entry.added_by) == (
        BlockSource.KEYWORD, "STOP", f"inbound:{recorded.id}",
    )  # fmt: skip
    await store.record_inbound(mo("STOP", stop, T0 + 1))  # again: nothing changes
    await store.record_inbound(mo("START", start, T0 + 2))
    assert (await store.list_blocklist()).items == ()
    # an operator's block outlives START
    await store.add_blocks([block("79990000001")], T0 + 3)
    await store.record_inbound(mo("START", start, T0 + 4))
    (kept,) = (await store.list_blocklist()).items
    assert kept.source is BlockSource.API
    assert await webhooks(store) == sorted(
        [
            ("inbound.mo", "STOP"),
            ("inbound.mo", "STOP"),
            ("inbound.mo", "START"),
            ("inbound.mo", "START"),
            ("inbound.opt_out", "79990000001 changed=True blocked=True"),
            ("inbound.opt_out", "79990000001 changed=False blocked=True"),
            ("inbound.opt_in", "79990000001 changed=True blocked=False"),
            ("inbound.opt_in", "79990000001 changed=False blocked=True"),
        ]
    )
    inbound = await store.list_inbound()
    assert [m.text for m in inbound] == ["STOP", "STOP", "START", "START"]


def mo_part(seq: int, payload: bytes, at: float = T0) -> NewMoPart:
    return NewMoPart(
        "promo", "79990000001", "1234", 9, 2, seq, payload, 0, "", None, None, "promo#0", at
    )


def keyword_set(mo_set: MoSet, now: float) -> NewInbound:
    """The service's `assemble` in small: the set's text, a keyword when it is STOP."""
    text = b"".join(s or b"" for s in mo_set.segments).decode()
    stop = OptKeyword(OptAction.OPT_OUT, text, mo_set.source) if text == "STOP" else None
    return NewInbound(mo_set.account, mo_set.source, mo_set.destination, text, 0, now, opt=stop)


async def test_a_keyword_sent_in_parts_changes_the_list_with_its_reassembled_mo(
    store: Store,
) -> None:
    store.notifier = Notifier()
    assert await store.record_mo_parts([mo_part(1, b"ST")], 120.0, keyword_set) == []
    assert (await store.list_blocklist()).items == ()  # a part alone is nothing yet
    (recorded,) = await store.record_mo_parts([mo_part(2, b"OP", T0 + 1)], 120.0, keyword_set)
    assert recorded.text == "STOP"
    (entry,) = (await store.list_blocklist()).items
    assert (entry.number, entry.source, entry.added_by, entry.created_at) == (
        "79990000001", BlockSource.KEYWORD, f"inbound:{recorded.id}", T0 + 1,
    )  # fmt: skip
    assert await webhooks(store) == [
        ("inbound.mo", "STOP"),
        ("inbound.opt_out", "79990000001 changed=True blocked=True"),
    ]


async def test_a_whole_batch_is_looked_up_by_account_and_number(store: Store) -> None:
    # more numbers than one IN list holds (SQLite reads them in chunks, PostgreSQL at once);
    # a number listed for one account only blocks that account's messages
    numbers = [f"7999{i:07d}" for i in range(700)]
    await store.add_blocks([block(numbers[3]), block(numbers[650]), block(numbers[5], "otp")], T0)
    batch = [message(n) for n in numbers] + [message(numbers[3], account="otp")]
    results = await store.insert_messages(batch, T0)
    blocked = {(r.message.account, r.message.destination) for r in results if
               r.message.state is MessageState.BLOCKED}  # fmt: skip
    assert blocked == {("promo", numbers[3]), ("promo", numbers[650])}
    assert await store.blocked_among(
        [("promo", n) for n in numbers] + [("otp", numbers[5]), ("otp", numbers[3])]
    ) == {("promo", numbers[3]), ("promo", numbers[650]), ("otp", numbers[5])}

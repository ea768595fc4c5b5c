"""ClusterCoordinator over real stores (SQLite file, fresh PostgreSQL database): several
"nodes" = several coordinators, each with its own store connection to one database, and one
manual clock (times are arguments, no sleeps).

What is checked: the account's session slots are capped cluster-wide and given back on a
session's end; one node's drop or failed attempt cools that host down for every node; a node
that dies (stops renewing) has its slots taken over only after its lease ran out *and* the
drop cooldown from then on; renewing keeps slots; a lost lease is forgotten; ``spread`` lets
nodes started together share the slots. And one store race that only several nodes show:
receipts for two parts of one message recorded by two nodes at the same moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest

from smppgate.client.cooldown import AttemptEnd
from smppgate.profiles import HostAddress, get_profile
from smppgate.service.cluster import SLOT_RETRY, ClusterCoordinator
from smppgate.service.config import AccountConfig
from smppgate.session import BindMode
from smppgate.store import (
    DropKind,
    MessageState,
    NewMessage,
    NewReceipt,
    PartAccepted,
    PlannedPart,
    ReceiptState,
    Store,
    SubmitContext,
    open_store,
)

T0 = 1_800_000_000.0
LEASE = 10.0
DROP = 60.0
FAILED = 90.0
PRIMARY = "127.0.0.1:2775"
BACKUP = "127.0.0.1:2776"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _account(sessions: int = 4) -> AccountConfig:
    return AccountConfig(
        name="promo",
        system_id="login",
        password="secret",
        profile=get_profile("smpp34"),
        hosts=(HostAddress.parse(PRIMARY), HostAddress.parse(BACKUP)),
        sessions=(BindMode.TRANSCEIVER,) * sessions,
    )


Nodes = Callable[..., Awaitable[list[ClusterCoordinator]]]


@pytest.fixture
async def nodes(store_url: str) -> AsyncIterator[Nodes]:
    """``await nodes(n, spread=..)``: n coordinators, each on its own store connection."""
    async with AsyncExitStack() as stack:

        async def make(
            n: int, *, clock: Clock, spread: float = 0.0, sessions: int = 4
        ) -> list[ClusterCoordinator]:
            out = []
            for i in range(n):
                store: Store = await stack.enter_async_context(open_store(store_url))
                out.append(
                    ClusterCoordinator(
                        store,
                        _account(sessions),
                        f"node-{i + 1}",
                        clock,
                        lease_seconds=LEASE,
                        drop_cooldown=DROP,
                        failure_cooldown=FAILED,
                        spread=spread,
                    )
                )
            return out

        yield make


async def _holders(node: ClusterCoordinator, now: float) -> dict[str, int]:
    held: dict[str, int] = {}
    for slot in await node.store.list_session_slots("login", now):
        held[slot.node_id] = held.get(slot.node_id, 0) + 1
    return held


async def test_slots_are_capped_across_nodes_and_given_back(nodes: Nodes) -> None:
    clock = Clock()
    a, b, c = await nodes(3, clock=clock)
    assert [await a.admit(i, PRIMARY) for i in range(3)] == [None, None, None]
    assert await b.admit(0, PRIMARY) is None
    # the account has 4 sessions configured: the 5th and 6th anywhere wait
    assert await b.admit(1, PRIMARY) == SLOT_RETRY
    assert await c.admit(0, PRIMARY) == SLOT_RETRY
    assert await _holders(a, clock.now) == {"node-1": 3, "node-2": 1}
    assert sorted(a.held.values()) + sorted(b.held.values()) == [0, 1, 2, 3]

    # a session of node 1 ends: its slot is free, but the host cools down for every node
    clock.now += 1
    await a.ended(1, PRIMARY, AttemptEnd.DROPPED)
    assert await _holders(a, clock.now) == {"node-1": 2, "node-2": 1}
    wait = await c.admit(0, PRIMARY)
    assert wait == pytest.approx(DROP)
    # another host of the account is not cooling down: node 3 takes the freed slot there
    assert await c.admit(0, BACKUP) is None
    assert await _holders(a, clock.now) == {"node-1": 2, "node-2": 1, "node-3": 1}
    assert await b.admit(1, BACKUP) == SLOT_RETRY  # 4 held again


async def test_the_configured_number_is_the_cluster_limit(nodes: Nodes) -> None:
    clock = Clock()
    a, b = await nodes(2, clock=clock, sessions=2)
    assert await a.admit(0, PRIMARY) is None
    assert await b.admit(0, PRIMARY) is None
    assert await a.admit(1, PRIMARY) == SLOT_RETRY
    assert await b.admit(1, PRIMARY) == SLOT_RETRY


async def test_a_failed_attempt_cools_the_host_down_for_every_node(nodes: Nodes) -> None:
    clock = Clock()
    a, b = await nodes(2, clock=clock)
    assert await a.admit(0, PRIMARY) is None
    await a.ended(0, PRIMARY, AttemptEnd.FAILED)
    assert a.held == {}
    assert await _holders(a, clock.now) == {}  # the slot went back at once
    clock.now += 30
    assert await b.admit(0, PRIMARY) == pytest.approx(FAILED - 30)
    assert await a.admit(0, PRIMARY) == pytest.approx(FAILED - 30)
    # a drop after a failure never shortens the failure's cooldown
    await b.store.record_drop("promo", PRIMARY, clock.now, DropKind.DROP, 1.0)
    assert await b.admit(0, PRIMARY) == pytest.approx(FAILED - 30)
    clock.now += FAILED - 30
    assert await b.admit(0, PRIMARY) is None


async def test_a_dead_nodes_slots_are_taken_after_its_lease_and_the_drop_cooldown(
    nodes: Nodes,
) -> None:
    clock = Clock()
    dead, b = await nodes(2, clock=clock)
    for i in range(4):
        assert await dead.admit(i, PRIMARY) is None
    assert await b.admit(0, PRIMARY) == SLOT_RETRY
    # node 2 renews, the dead node does not: its leases run out at T0 + LEASE
    clock.now = T0 + LEASE - 1
    assert await b.admit(0, PRIMARY) == SLOT_RETRY
    clock.now = T0 + LEASE + 2
    # its sessions ended at the latest when the leases ran out: 60 s from then, on every host
    assert await b.admit(0, PRIMARY) == pytest.approx(DROP - 2)
    assert await b.admit(0, BACKUP) == pytest.approx(DROP - 2)
    assert await b.store.next_connect_allowed("promo", PRIMARY) == pytest.approx(T0 + LEASE + DROP)
    assert b.held == {}
    clock.now = T0 + LEASE + DROP
    for i in range(4):
        assert await b.admit(i, PRIMARY) is None
    assert await _holders(b, clock.now) == {"node-2": 4}
    # the dead node's (forgotten) renewals fail
    await dead.renew()
    assert dead.held == {}


async def test_renewing_keeps_slots_past_the_first_lease(nodes: Nodes) -> None:
    clock = Clock()
    a, b = await nodes(2, clock=clock)
    for i in range(4):
        assert await a.admit(i, PRIMARY) is None
    for _ in range(5):
        clock.now += LEASE / 2
        await a.renew()
        assert await b.admit(0, PRIMARY) == SLOT_RETRY
    assert len(a.held) == 4
    assert await b.store.next_connect_allowed("promo", PRIMARY) is None


async def test_a_lost_lease_is_reported_and_not_released_twice(nodes: Nodes) -> None:
    clock = Clock()
    a, b = await nodes(2, clock=clock)
    assert await a.admit(0, PRIMARY) is None
    clock.now += LEASE + DROP + 1  # node 1 stalled past its lease and the cooldown
    assert await b.admit(0, PRIMARY) is None  # records the drop (long over), takes slot 0
    assert await a.renew() == [0]  # the gateway ends that slot's session
    assert a.held == {}
    await a.ended(0, PRIMARY, AttemptEnd.DROPPED)  # must not release node 2's slot
    assert await _holders(b, clock.now) == {"node-2": 1}


async def test_spread_lets_nodes_started_together_share_the_slots(nodes: Nodes) -> None:
    clock = Clock()
    spread = 3.0
    a, b, c = await nodes(3, clock=clock, spread=spread)
    # every pool asks for all 4 slots at start; a node holding one waits before its next
    assert await a.admit(0, PRIMARY) is None
    assert await a.admit(1, PRIMARY) == pytest.approx(spread)
    clock.now += 1
    assert await b.admit(0, PRIMARY) is None
    assert await b.admit(1, PRIMARY) == pytest.approx(spread)
    clock.now += 1
    assert await c.admit(0, PRIMARY) is None
    clock.now = T0 + spread
    assert await a.admit(1, PRIMARY) is None
    assert await a.admit(2, PRIMARY) == pytest.approx(spread)
    clock.now = T0 + 1 + spread
    assert await b.admit(1, PRIMARY) == SLOT_RETRY
    assert await _holders(a, clock.now) == {"node-1": 2, "node-2": 1, "node-3": 1}


# ----------------------------------------------------------- the store under several nodes


def _two_parts(n: int) -> NewMessage:
    return NewMessage(
        account="promo",
        source="SENDER",
        destination=f"7999{n:07d}",
        text="hello",
        parts=tuple(
            PlannedPart(seq, bytes([5, 0, 3, n % 256, 2, seq]) + b"part", 0x40, 0) for seq in (1, 2)
        ),
    )


async def test_receipts_for_two_parts_on_two_nodes_at_once_settle_the_message(
    store_url: str,
) -> None:
    """Each node records the receipt of one part at the same moment: neither may leave the
    message ``submitted`` with both parts delivered (write skew under READ COMMITTED)."""
    count = 60
    async with open_store(store_url) as a, open_store(store_url) as b:
        ids = [(await a.insert_message(_two_parts(n), T0)).message.id for n in range(count)]
        assert len(await a.claim("node-1", count, T0, LEASE)) == count
        context = SubmitContext(node_id="node-1")
        await a.record_outcomes(
            [
                PartAccepted(mid, seq, f"{n}-{seq}", frozenset({f"{n}-{seq}"}), T0, context)
                for n, mid in enumerate(ids)
                for seq in (1, 2)
            ]
        )

        def receipt(key: str) -> NewReceipt:
            return NewReceipt(frozenset({key}), f"id:{key}", ReceiptState.DELIVERED, T0 + 1)

        for n in range(count):
            await asyncio.gather(
                a.record_receipts([receipt(f"{n}-1")]), b.record_receipts([receipt(f"{n}-2")])
            )
        states = [(await a.get_message(mid)).message.state for mid in ids]
        assert states == [MessageState.DELIVERED] * count


def _one_part(n: int) -> NewMessage:
    return NewMessage(
        account="promo",
        source="SENDER",
        destination=f"7998{n:07d}",
        text="hello",
        parts=(PlannedPart(1, b"hello", 0, 0),),
    )


async def test_receipts_racing_their_submit_responses_all_find_their_messages(
    store_url: str,
) -> None:
    """One node records a batch of submit_sm_resp while another records the receipts of the
    same messages (the SMSC answered so fast that the receipt came first, on another
    session): whichever transaction commits second must see the other's rows, so no
    receipt stays unmatched and every message ends delivered."""
    rounds, batch = 6, 40
    async with open_store(store_url) as a, open_store(store_url) as b:
        context = SubmitContext(node_id="node-1")
        all_ids: list[str] = []
        for r in range(rounds):
            ids = [
                (await a.insert_message(_one_part(r * batch + n), T0)).message.id
                for n in range(batch)
            ]
            all_ids += ids
            assert len(await a.claim("node-1", batch, T0, LEASE)) == batch
            keys = [f"r{r}-{n}" for n in range(batch)]
            accepted = [
                PartAccepted(mid, 1, key, frozenset({key}), T0, context)
                for mid, key in zip(ids, keys, strict=True)
            ]
            receipts = [
                NewReceipt(frozenset({key}), f"id:{key}", ReceiptState.DELIVERED, T0 + 1)
                for key in keys
            ]
            await asyncio.gather(
                a.record_outcomes(accepted),
                b.record_receipts(receipts[: batch // 2]),
                b.record_receipts(receipts[batch // 2 :]),
            )
        states = {(await a.get_message(mid)).message.state for mid in all_ids}
        assert states == {MessageState.DELIVERED}

"""The retention loop over a real store (both backends): what one pass deletes with the
configured ages, that one node works while it holds the lease, and that the metrics count it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from smppgate.service.config import StoreConfig
from smppgate.service.maintenance import DAY, Retention, cutoffs
from smppgate.service.metrics import Metrics
from smppgate.store import MessageState, PurgeKind, Store, open_store

from ..contract.test_store_retention import delivered_message

T0 = 1_700_000_000.0


@pytest.fixture
def open_node(store_url: str) -> Callable[[], AbstractAsyncContextManager[Store]]:
    return lambda: open_store(store_url)


def test_cutoffs_follow_the_settings() -> None:
    settings = StoreConfig(retention_days=30, unmatched_receipt_days=7, webhook_days=60)
    got = cutoffs(settings, T0)
    assert got[PurgeKind.MESSAGES] == T0 - 30 * DAY
    assert got[PurgeKind.UNMATCHED_RECEIPTS] == T0 - 7 * DAY
    # a delivered webhook never outlives its message
    assert got[PurgeKind.DELIVERED_WEBHOOKS] == T0 - 30 * DAY
    assert PurgeKind.REDACT_TEXTS not in got
    keep_all = StoreConfig(retention_days=0, unmatched_receipt_days=0, webhook_days=0)
    assert cutoffs(keep_all, T0) == {}


async def test_a_pass_deletes_in_batches_until_done(store: Store) -> None:
    for i in range(7):
        await delivered_message(store, T0, f"A{i}")
    young = await delivered_message(store, T0 + 25 * DAY, "Y")
    metrics = Metrics()
    settings = StoreConfig(retention_days=20, retention_batch=3)
    retention = Retention(store, lambda: settings, "node-a", clock=lambda: T0 + 30 * DAY,
                          metrics=metrics)  # fmt: skip

    report = await retention.run_pass()

    assert report.worked
    assert report.done == {PurgeKind.MESSAGES: 7}
    assert report.batches >= 3  # 3 + 3 + 1 for messages, then one per other kind
    assert metrics.retention_total.get("messages") == 7
    counts = await store.count_by_state()
    assert counts[MessageState.DELIVERED] == 1
    assert (await store.get_message(young)).message.state is MessageState.DELIVERED


async def test_only_the_lease_holder_works(
    store: Store, open_node: Callable[[], AbstractAsyncContextManager[Store]]
) -> None:
    await delivered_message(store, T0, "A")
    settings = StoreConfig(retention_days=1)

    def clock() -> float:
        return T0 + 2 * DAY

    async with open_node() as other:
        first = Retention(store, lambda: settings, "node-a", clock=clock)
        second = Retention(other, lambda: settings, "node-b", clock=clock)
        assert (await first.run_pass()).done == {PurgeKind.MESSAGES: 1}
        skipped = await second.run_pass()
        assert not skipped.worked
        assert skipped.total == 0


async def test_the_loop_stops_and_releases_its_lease(
    store: Store, open_node: Callable[[], AbstractAsyncContextManager[Store]]
) -> None:
    stopping = asyncio.Event()
    settings = StoreConfig(retention_days=1)
    retention = Retention(store, lambda: settings, "node-a", clock=lambda: T0, interval=0.01)
    task = asyncio.create_task(retention.run(stopping))
    await asyncio.sleep(0.05)
    stopping.set()
    await asyncio.wait_for(task, 5)
    async with open_node() as other:
        # released: another node takes it at once, without waiting for the lease to run out
        assert await other.take_maintenance_lease("retention", "node-b", T0, 60)

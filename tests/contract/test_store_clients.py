"""API clients in the store, on every backend: each message records its client, listings
filter by it, and a daily quota is counted in the insert's transaction — exactly, even with
several nodes inserting for one client at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from smppgate.store import NewInbound, Quota, QuotaExceeded, Store

from .test_store_contract import T0, OpenNode, message

DAY = "2023-11-14"


async def test_a_message_records_its_client_and_listings_filter_by_it(store: Store) -> None:
    shop = (await store.insert_message(replace(message("1"), client="shop"), T0)).message
    crm = (await store.insert_message(replace(message("2"), client="crm"), T0)).message
    old = (await store.insert_message(message("3"), T0)).message
    assert (shop.client, crm.client, old.client) == ("shop", "crm", None)
    assert (await store.get_message(shop.id)).message.client == "shop"
    page = await store.list_messages(client="shop")
    assert [m.id for m in page.items] == [shop.id]
    assert len((await store.list_messages()).items) == 3


async def test_a_quota_counts_created_messages_and_refuses_beyond_it(store: Store) -> None:
    quota = Quota("shop", DAY, 3)
    first = [replace(message(str(i), key=f"k{i}"), client="shop") for i in range(2)]
    await store.insert_messages(first, T0, quota=quota)
    # a replay creates nothing and counts nothing
    await store.insert_messages(first, T0, quota=quota)
    assert (await store.client_usage(DAY)) == {"shop": 2}
    two_more = [replace(message(str(i)), client="shop") for i in range(2, 4)]
    with pytest.raises(QuotaExceeded) as raised:
        await store.insert_messages(two_more, T0, quota=quota)
    assert (raised.value.limit, raised.value.used) == (3, 2)
    # nothing of the refused batch was stored, and the count did not move
    assert len((await store.list_messages(client="shop")).items) == 2
    assert (await store.client_usage(DAY)) == {"shop": 2}
    await store.insert_messages(two_more[:1], T0, quota=quota)
    assert (await store.client_usage(DAY)) == {"shop": 3}
    # another day, another count
    await store.insert_messages(two_more[1:], T0, quota=Quota("shop", "2023-11-15", 3))
    assert (await store.client_usage("2023-11-15")) == {"shop": 1}


async def test_a_quota_is_exact_across_nodes_inserting_at_once(
    store: Store, open_node: OpenNode
) -> None:
    """Four nodes each try to insert 10 single messages for one client whose quota is 25: the
    store admits exactly 25, whatever the interleaving."""
    quota = Quota("shop", DAY, 25)

    async def node(n: int) -> int:
        admitted = 0
        async with open_node() as own:
            for i in range(10):
                try:
                    await own.insert_messages(
                        [replace(message(f"{n}-{i}"), client="shop")], T0, quota=quota
                    )
                except QuotaExceeded:
                    continue
                admitted += 1
        return admitted

    admitted = await asyncio.gather(*(node(n) for n in range(4)))
    assert sum(admitted) == 25
    assert (await store.client_usage(DAY)) == {"shop": 25}
    assert len((await store.list_messages(client="shop", limit=100)).items) == 25


async def test_inbound_listing_keeps_the_given_accounts(store: Store) -> None:
    for account in ("promo", "tx", "other"):
        await store.record_inbound(NewInbound(account, "79001234567", "1234", "hi", 0, T0))
    kept = await store.list_inbound(accounts=["promo", "tx"])
    assert sorted(m.account for m in kept) == ["promo", "tx"]
    assert await store.list_inbound(accounts=[]) == []

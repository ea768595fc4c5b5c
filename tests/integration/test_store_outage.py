"""The gateway through a database outage: PostgreSQL drops every connection of the node (as a
restart or a failover does) while messages flow. The node must ride it out: its loops retry
with a back-off instead of stopping, the receipts it had already acknowledged are stored once
the database answers again, and every message still ends final."""

from __future__ import annotations

import asyncio

import asyncpg

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.service.runtime import Gateway
from smppgate.store import MessageState, StoreUnavailable, open_store

from .test_gateway_e2e import _message, _wait_final, gateway_config


async def _drop_connections(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(rows)
    finally:
        await conn.close()


async def test_the_gateway_rides_out_dropped_database_connections(pg_url: str) -> None:
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.2,  # receipts arrive while the connections are being dropped
    )
    async with Emulator(emu_config) as emu, open_store(pg_url) as other:
        _, port = emu.address
        async with Gateway(
            # a batch whose "mark sent" the drop interrupted comes back through lease
            # recovery (nothing of it was sent): a short lease, so within the wait below
            gateway_config(pg_url, port, ["trx"], window=10, lease_seconds=5),
            poll_interval=0.02,
        ) as gw:  # type: ignore[arg-type]
            first = await other.insert_messages([_message(i, "before") for i in range(30)], 0.0)
            gw.wake()
            dropped = 0
            for _ in range(6):  # submits done, receipts on their way: drop, again and again
                await asyncio.sleep(0.05)
                dropped += await _drop_connections(pg_url)
            assert dropped >= 1
            # the test's own connections were dropped too: like an API client after a 503,
            # it tries again (StoreUnavailable: nothing was committed)
            for attempt in range(20):
                try:
                    second = await other.insert_messages(
                        [_message(i, "after") for i in range(30)], 0.0
                    )
                    break
                except StoreUnavailable:
                    assert attempt < 19
                    await asyncio.sleep(0.05)
            gw.wake()
            ids = [r.message.id for r in (*first, *second)]
            states = await _wait_final(other, ids, within=30)
            assert set(states.values()) == {MessageState.DELIVERED}
            assert all(not task.done() for task in gw._tasks)  # every loop still running

"""The PostgreSQL driver's pool, on a real server: one connection is kept for intake
(``priority=True``), so a customer's insert never waits for the pool behind other work."""

from __future__ import annotations

import asyncio

import pytest

from smppgate.store.backend import Connection
from smppgate.store.postgres import PostgresBackend

pytestmark = pytest.mark.postgres


async def test_intake_gets_a_connection_while_other_work_holds_the_rest(pg_url: str) -> None:
    backend = await PostgresBackend.connect(pg_url, min_size=1, max_size=3)
    release = asyncio.Event()
    two_holding = asyncio.Event()
    holding = 0

    async def hold(conn: Connection) -> None:
        nonlocal holding
        await conn.execute("SELECT 1")
        holding += 1
        if holding == 2:
            two_holding.set()
        await release.wait()

    async def intake(conn: Connection) -> int:
        row = await conn.fetchrow("SELECT 7 AS n")
        assert row is not None
        return int(row["n"])

    try:
        others = [asyncio.create_task(backend.run(hold)) for _ in range(4)]
        # two hold a connection each (the third is intake's); the other two wait their turn
        await two_holding.wait()
        await asyncio.sleep(0.05)  # room for a wrong driver to give the third one away
        # a hang here (the pool given away to the rest) fails the test, it does not time it
        async with asyncio.timeout(30):
            assert await backend.run(intake, priority=True) == 7
        assert holding == 2
        release.set()
        await asyncio.gather(*others)
        assert holding == 4
    finally:
        release.set()
        await backend.close()

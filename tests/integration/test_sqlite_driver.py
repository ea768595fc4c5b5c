"""The SQLite driver's group commit, on real database files: transactions that queue up share
one COMMIT, each in its own savepoint — one that fails is undone alone, the others commit and
survive a reopen; a transaction that awaits anything but its connection is refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from smppgate.store.backend import Connection
from smppgate.store.errors import DuplicateKey, StoreError
from smppgate.store.sqlite import SqliteBackend


async def _open(path: Path) -> SqliteBackend:
    backend = await SqliteBackend.connect(str(path))

    async def schema(conn: Connection) -> None:
        await conn.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)")

    await backend.run(schema)
    return backend


async def _rows(backend: SqliteBackend) -> list[tuple[int, str]]:
    async def read(conn: Connection) -> list[tuple[int, str]]:
        return [(r[0], r[1]) for r in await conn.fetch("SELECT k, v FROM t ORDER BY k")]

    return await backend.run(read, write=False)


def _insert(k: int, v: str) -> object:
    async def fn(conn: Connection) -> int:
        await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", k, v)
        return k

    return fn


async def test_a_failing_transaction_in_a_group_is_undone_alone(tmp_path: Path) -> None:
    backend = await _open(tmp_path / "g.db")
    try:

        async def slow_first(conn: Connection) -> int:
            # holds the driver's thread so that the others queue up behind it as one group
            time.sleep(0.2)  # noqa: ASYNC251 - runs on the driver's thread, on purpose
            await conn.execute("INSERT INTO t (k, v) VALUES (0, 'first')")
            return 0

        async def half_then_fail(conn: Connection) -> int:
            await conn.execute("INSERT INTO t (k, v) VALUES (500, 'must vanish')")
            await conn.execute("INSERT INTO t (k, v) VALUES (1, 'duplicate of job 1')")
            return -1

        first = asyncio.create_task(backend.run(slow_first))
        await asyncio.sleep(0.05)  # the thread is inside slow_first now
        jobs = [backend.run(_insert(k, f"v{k}")) for k in range(1, 40)]  # type: ignore[arg-type]
        jobs.insert(5, backend.run(half_then_fail))
        results = await asyncio.gather(first, *jobs, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1
        assert isinstance(errors[0], DuplicateKey)
    finally:
        await backend.close()
    reopened = await _open(tmp_path / "g.db")
    try:
        rows = await _rows(reopened)
    finally:
        await reopened.close()
    assert [k for k, _ in rows] == list(range(40))  # 500 rolled back with its transaction
    assert rows[1] == (1, "v1")


async def test_many_concurrent_transactions_all_commit(tmp_path: Path) -> None:
    backend = await _open(tmp_path / "many.db")
    try:
        keys = await asyncio.gather(
            *(backend.run(_insert(k, "x")) for k in range(1000))  # type: ignore[arg-type]
        )
        assert sorted(keys) == list(range(1000))
        assert len(await _rows(backend)) == 1000
    finally:
        await backend.close()


async def test_a_transaction_that_awaits_something_else_is_refused(tmp_path: Path) -> None:
    backend = await _open(tmp_path / "bad.db")
    try:

        async def sleeps(conn: Connection) -> None:
            await conn.execute("INSERT INTO t (k, v) VALUES (7, 'never')")
            await asyncio.sleep(0)

        with pytest.raises(RuntimeError, match="awaited something other"):
            await backend.run(sleeps)
        assert await _rows(backend) == []
        await backend.run(_insert(8, "after"))  # type: ignore[arg-type]
        assert await _rows(backend) == [(8, "after")]
    finally:
        await backend.close()


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    backend = await _open(tmp_path / "closed.db")
    await backend.close()
    with pytest.raises(StoreError):
        await backend.run(_insert(1, "late"))  # type: ignore[arg-type]

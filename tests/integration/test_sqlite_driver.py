"""The SQLite driver's group commit, on real database files: transactions that queue up share
one COMMIT, each in its own savepoint — one that fails is undone alone, the others commit and
survive a reopen; a transaction that awaits anything but its connection is refused. Intake
(``priority=True``) runs ahead of the other work waiting, without starving it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from smppgate.store.backend import Connection, insert_rows
from smppgate.store.errors import DuplicateKey, StoreError
from smppgate.store.sqlite import INTAKE_AHEAD, MAX_GROUP, SqliteBackend


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


# ---------------------------------------------------------------- intake first (priority)


class _Driver:
    """Jobs that note, on the driver's thread, the order they ran in and what a second
    connection (which sees committed rows only) saw then; a gate job holds the thread while
    the test queues work behind it."""

    def __init__(self, backend: SqliteBackend, path: Path) -> None:
        self.backend = backend
        self.path = path
        self.order: list[str] = []
        self.committed_seen: dict[str, set[str]] = {}

    def job(self, name: str, *, fail: bool = False) -> Callable[[Connection], Awaitable[str]]:
        async def fn(conn: Connection) -> str:
            self.order.append(name)
            reader = sqlite3.connect(self.path)
            try:
                self.committed_seen[name] = {r[0] for r in reader.execute("SELECT v FROM t")}
            finally:
                reader.close()
            await conn.execute("INSERT INTO t (v) VALUES (?)", name)
            if fail:
                await conn.execute("INSERT INTO t (k, v) VALUES (1, 'duplicate of the first')")
            return name

        return fn

    async def gate(self, name: str) -> tuple[asyncio.Task[str], threading.Event]:
        """A job holding the driver's thread until the event is set (once it runs)."""
        loop = asyncio.get_running_loop()
        entered: asyncio.Future[None] = loop.create_future()
        release = threading.Event()
        inner = self.job(name)

        async def fn(conn: Connection) -> str:
            loop.call_soon_threadsafe(entered.set_result, None)
            release.wait(30)
            return await inner(conn)

        task = asyncio.create_task(self.backend.run(fn))
        await entered
        return task, release

    def queue(self, name: str, *, priority: bool = False, fail: bool = False) -> asyncio.Task[str]:
        return asyncio.create_task(self.backend.run(self.job(name, fail=fail), priority=priority))


async def _queued() -> None:
    """Let the tasks just created put their jobs on the driver's queue, in creation order."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_intake_queued_behind_other_work_runs_first_and_commits_with_what_ran(
    tmp_path: Path,
) -> None:
    backend = await _open(tmp_path / "p.db")
    driver = _Driver(backend, tmp_path / "p.db")
    try:
        first, release_first = await driver.gate("gate")
        # a group of the rest forms behind the gate: a job holding the thread, then three more
        loop = asyncio.get_running_loop()
        entered: asyncio.Future[None] = loop.create_future()
        release = threading.Event()
        holding = driver.job("dispatch-0")

        async def hold(conn: Connection) -> str:
            loop.call_soon_threadsafe(entered.set_result, None)
            release.wait(30)
            return await holding(conn)

        rest = [asyncio.create_task(backend.run(hold))]
        rest += [driver.queue(f"dispatch-{n}") for n in (1, 2, 3)]
        await _queued()
        release_first.set()
        await entered  # the group [dispatch-0 .. dispatch-3] is running its first job
        intake = [
            driver.queue(name, priority=True, fail=name == "intake-bad")
            for name in ("intake-1", "intake-bad", "intake-2", "intake-3")
        ]
        await _queued()
        release.set()
        results = await asyncio.gather(first, *rest, *intake, return_exceptions=True)
    finally:
        await backend.close()
    assert driver.order == [
        "gate",
        "dispatch-0",
        "intake-1",
        "intake-bad",
        "intake-2",
        "intake-3",
        "dispatch-1",
        "dispatch-2",
        "dispatch-3",
    ]
    # the intake shared dispatch-0's transaction (not committed while they ran), which
    # committed before the rest of its group ran
    assert "dispatch-0" not in driver.committed_seen["intake-3"]
    assert {"dispatch-0", "intake-1", "intake-3"} <= driver.committed_seen["dispatch-1"]
    # atomicity unchanged: the failing one is undone alone, the others are on disk
    assert isinstance(results[-3], DuplicateKey)  # intake-bad
    reopened = await _open(tmp_path / "p.db")
    try:
        stored = {v for _, v in await _rows(reopened)}
    finally:
        await reopened.close()
    assert "intake-bad" not in stored
    assert stored == {name for name in driver.order if name != "intake-bad"}


async def test_a_steady_stream_of_intake_does_not_starve_the_rest(tmp_path: Path) -> None:
    backend = await _open(tmp_path / "s.db")
    driver = _Driver(backend, tmp_path / "s.db")
    rest_jobs = 3 * MAX_GROUP
    intake_jobs = 20 * MAX_GROUP
    try:
        first, release = await driver.gate("gate")
        tasks = [driver.queue(f"d{n:04d}") for n in range(rest_jobs)]
        tasks += [driver.queue(f"i{n:04d}", priority=True) for n in range(intake_jobs)]
        await _queued()
        release.set()
        await asyncio.gather(first, *tasks)
    finally:
        await backend.close()
    ran = driver.order[1:]
    rest = [name for name in ran if name.startswith("d")]
    intake = [name for name in ran if name.startswith("i")]
    # each lane first in, first out
    assert rest == sorted(rest)
    assert len(rest) == rest_jobs
    assert intake == sorted(intake)
    assert len(intake) == intake_jobs
    # the rest went on while intake was still waiting: at most INTAKE_AHEAD groups of intake
    # (plus the intake that joined the group before them) between two groups of the rest
    most_ahead = (INTAKE_AHEAD + 1) * MAX_GROUP
    positions = [index for index, name in enumerate(ran) if name.startswith("d")]
    assert positions[-1] < ran.index(intake[-1])
    gaps = [b - a - 1 for a, b in zip([-1, *positions], positions, strict=False)]
    assert max(gaps) <= most_ahead


async def test_intake_queued_before_close_still_commits(tmp_path: Path) -> None:
    backend = await _open(tmp_path / "c.db")
    driver = _Driver(backend, tmp_path / "c.db")
    first, release = await driver.gate("gate")
    intake = driver.queue("intake", priority=True)
    rest = driver.queue("dispatch")
    await _queued()
    closing = asyncio.create_task(backend.close())
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(first, intake, rest, closing) == [
        "gate",
        "intake",
        "dispatch",
        None,
    ]
    assert driver.order == ["gate", "intake", "dispatch"]


async def test_an_insert_of_many_rows_goes_several_rows_a_statement_in_order(
    tmp_path: Path,
) -> None:
    backend = await _open(tmp_path / "rows.db")
    statement = insert_rows("t", (("v", "text"),), " ON CONFLICT DO NOTHING")
    try:
        before = backend.tally.statements

        async def insert(conn: Connection) -> None:
            await conn.apply(statement, [(f"row {n:03d}",) for n in range(101)])

        await backend.run(insert)
        # 64 + 16 + 16 + 4 rows in four statements, the last row alone
        assert backend.tally.statements - before == 5
        rows = await _rows(backend)
    finally:
        await backend.close()
    assert [v for _, v in rows] == [f"row {n:03d}" for n in range(101)]
    assert [k for k, _ in rows] == list(range(1, 102))  # generated in the rows' order

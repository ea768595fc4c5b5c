"""The SQLite driver: one connection in WAL mode, owned by one thread, one writer at a time.

Durability: `synchronous=FULL` by default. In WAL mode NORMAL survives a process crash
(`kill -9`) but may lose the last commits on power loss or an OS crash; the API promises that a
2xx means the message is on disk, so FULL (one fsync of the WAL per commit) is the default and
`?synchronous=normal` in the URL is the documented opt-out.

Speed: the connection lives on the driver's own thread and a whole transaction runs there in
one hop. The store's transaction functions are coroutines that await only their `Connection`,
whose methods here complete at once, so the thread drives each coroutine to its end without an
event loop (`_drive`); one thread switch per transaction instead of one per statement.

Group commit: transactions that queue up while the thread is busy run back to back inside one
SQLite transaction, each in its own SAVEPOINT (an error rolls back that one alone), and share
one COMMIT, so one fsync. No caller hears of success before that COMMIT returned; if it fails,
every transaction of the group gets the error and none of them is on disk.

Concurrency: within the process the thread runs transactions one at a time, in the order they
were asked for; across processes `BEGIN IMMEDIATE` takes the database write lock at the start
of every write transaction and `busy_timeout` waits for it, so two claimers can never read the
same queued row and both update it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

from smppgate.store.backend import SQLITE, Connection, Row, RowsStatement, Tally
from smppgate.store.errors import DuplicateKey, StoreError, StoreUnavailable

T = TypeVar("T")

SYNCHRONOUS_MODES = ("full", "normal", "extra")
#: the most transactions sharing one COMMIT (each already bounded by the store's batch limits)
MAX_GROUP = 32


class _SqliteConnection:
    """The transaction's view of the connection, used on the driver's thread only: every
    method finishes before it returns, nothing ever suspends."""

    __slots__ = ("_db", "_tally")

    def __init__(self, db: sqlite3.Connection, tally: Tally) -> None:
        self._db = db
        self._tally = tally

    async def execute(self, sql: str, *args: object) -> None:
        self._tally.statements += 1
        self._db.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            self._tally.statements += len(rows)
            self._db.executemany(sql, rows)

    async def apply(self, statement: RowsStatement, rows: Sequence[Sequence[object]]) -> None:
        # row by row from one prepared statement: in-process, no round trip to save
        await self.executemany(statement.each, rows)

    async def fetch(self, sql: str, *args: object) -> Sequence[Row]:
        self._tally.statements += 1
        return self._db.execute(sql, args).fetchall()

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        self._tally.statements += 1
        # fetchall: an UPDATE ... RETURNING is stepped to its end, whatever it returns
        rows = self._db.execute(sql, args).fetchall()
        return rows[0] if rows else None

    async def lock(self, name: str) -> None:
        """Nothing to do: a write transaction already holds the whole database."""

    async def lock_keys(self, keys: Collection[str]) -> None:
        """Nothing to do: a write transaction already holds the whole database."""


def _drive(awaitable: Awaitable[T]) -> T:
    """Run a coroutine that never suspends (it awaits only `_SqliteConnection`) to its end."""
    if not isinstance(awaitable, Coroutine):
        raise TypeError("a SQLite store transaction must be a coroutine function")
    coro = awaitable
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a SQLite store transaction awaited something other than its connection")


class _Job:
    __slots__ = ("error", "fn", "future", "loop", "result", "write")

    def __init__(
        self,
        fn: Callable[[Connection], Awaitable[Any]],
        write: bool,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
    ) -> None:
        self.fn = fn
        self.write = write
        self.loop = loop
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None


_STOP = object()


class SqliteBackend:
    dialect = SQLITE

    def __init__(self, path: str) -> None:
        self.path = path
        self.tally = Tally()
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._closed = False
        self._stopped: asyncio.Future[None] | None = None

    @classmethod
    async def connect(
        cls, path: str, *, synchronous: str = "full", busy_timeout_ms: int = 10_000
    ) -> SqliteBackend:
        if synchronous not in SYNCHRONOUS_MODES:
            raise StoreError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
        if path in ("", ":memory:"):
            raise StoreError("the store needs a database file; :memory: is not durable")
        _create_private(Path(path))
        loop = asyncio.get_running_loop()
        backend = cls(path)
        opened: asyncio.Future[None] = loop.create_future()
        backend._stopped = loop.create_future()
        thread = threading.Thread(
            target=backend._serve,
            args=(loop, opened, synchronous, busy_timeout_ms),
            name=f"smppgate-sqlite:{Path(path).name}",
            # a backend never closed must not keep the interpreter alive; a transaction cut
            # off at exit is one that nobody was told had committed
            daemon=True,
        )
        thread.start()
        await opened
        return backend

    async def run(self, fn: Callable[[Connection], Awaitable[T]], *, write: bool = True) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, write, loop, future))
        return await future

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        if self._stopped is not None:
            await asyncio.shield(self._stopped)

    # ------------------------------------------------------------ the driver's thread

    def _serve(
        self,
        loop: asyncio.AbstractEventLoop,
        opened: asyncio.Future[None],
        synchronous: str,
        busy_timeout_ms: int,
    ) -> None:
        try:
            db = _open(self.path, synchronous, busy_timeout_ms)
        except Exception as exc:  # noqa: BLE001 - handed to `connect`
            error = exc if isinstance(exc, StoreError) else StoreUnavailable(str(exc))
            loop.call_soon_threadsafe(_settle_future, opened, None, error)
            return
        loop.call_soon_threadsafe(_settle_future, opened, None, None)
        conn = _SqliteConnection(db, self.tally)
        stop = False
        while not stop:
            jobs: list[_Job] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                    break
                if not item.future.cancelled():  # nobody waits: never started, nothing done
                    jobs.append(item)
                if len(jobs) >= MAX_GROUP or self._queue.empty():
                    break
                item = self._queue.get()
            while jobs:
                try:
                    jobs = _run_group(db, conn, jobs)
                except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting
                    _abandon(db, jobs, exc)
                    jobs = []
        db.close()
        if self._stopped is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle_future, self._stopped, None, None)


def _open(path: str, synchronous: str, busy_timeout_ms: int) -> sqlite3.Connection:
    try:
        db = sqlite3.connect(path, isolation_level=None, cached_statements=256)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
    try:
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        db.execute("PRAGMA foreign_keys = ON")
        # every page a write changes inside a SAVEPOINT (each group-commit job runs in one)
        # is first copied to the sub-journal; on disk that is a temporary file and one
        # pwrite per page once it passes 64 KiB, which was a tenth of the store's CPU on
        # the hot path. The sub-journal only ever serves a rollback of this connection's
        # open transaction, so memory loses nothing: durability is the WAL's (FULL above).
        db.execute("PRAGMA temp_store = MEMORY")
        # 32 MiB of page cache instead of 2 MiB: the indexes the hot path walks (parts,
        # match keys, the message ids) stay in memory as the history grows, rather than
        # being read again with pread after each eviction
        db.execute("PRAGMA cache_size = -32768")  # KiB
    except sqlite3.Error as exc:
        db.close()
        raise StoreUnavailable(f"cannot set up {path}: {exc}") from exc
    return db


def _run_group(db: sqlite3.Connection, conn: _SqliteConnection, jobs: list[_Job]) -> list[_Job]:
    """Run ``jobs`` in one transaction, each in a savepoint, commit once, then hand every job
    its result. Returns the jobs not run yet (when SQLite itself ended the transaction)."""
    try:
        db.execute("BEGIN IMMEDIATE" if any(j.write for j in jobs) else "BEGIN")
    except sqlite3.Error as exc:
        _deliver(jobs, StoreUnavailable(f"cannot begin a transaction: {exc}"))
        return []
    done: list[_Job] = []
    for index, job in enumerate(jobs):
        done.append(job)
        db.execute("SAVEPOINT job")
        try:
            job.result = _drive(job.fn(conn))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, translated
            job.error = _translate(exc)
            if not db.in_transaction:
                # SQLite rolled back the whole transaction (e.g. SQLITE_FULL): the jobs before
                # this one are undone too; they fail with it, the rest run afresh
                _deliver(done[:-1], StoreUnavailable(f"transaction rolled back: {exc}"))
                _deliver([job], None)
                return jobs[index + 1 :]
            _rollback_savepoint(db)
            continue
        db.execute("RELEASE job")
    try:
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        _deliver(done, StoreUnavailable(f"commit failed: {exc}"))
        return []
    _deliver(done, None)
    return []


def _abandon(db: sqlite3.Connection, jobs: list[_Job], exc: BaseException) -> None:
    """Something failed outside any job (a SAVEPOINT statement, say): undo, fail them all."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
    error = _translate(exc)
    _deliver(jobs, error if isinstance(error, StoreError) else StoreError(str(exc)))


def _rollback_savepoint(db: sqlite3.Connection) -> None:
    # no error is swallowed here: a failed job whose writes could not be undone must not
    # commit with the group, so a failure goes up to `_abandon`, which undoes the whole group
    db.execute("ROLLBACK TO job")
    db.execute("RELEASE job")


def _deliver(jobs: list[_Job], error: BaseException | None) -> None:
    """Hand each job its result (or ``error``, for all) on its event loop, in one call per
    loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]] = {}
    for job in jobs:
        outcome = (job.future, job.result, error or job.error)
        by_loop.setdefault(job.loop, []).append(outcome)
    for loop, outcomes in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(_settle_futures, outcomes)


def _settle_futures(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        _settle_future(future, result, error)


def _settle_future(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, StoreError) or not isinstance(exc, sqlite3.Error):
        return exc
    translated: StoreError
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc).upper():
        translated = DuplicateKey(str(exc))
    elif isinstance(exc, sqlite3.OperationalError):
        translated = StoreUnavailable(str(exc))
    else:
        translated = StoreError(str(exc))
    translated.__cause__ = exc
    return translated


def _create_private(path: Path) -> None:
    """Create the database file (and a missing directory) readable by its owner only: it
    holds every message text and number. SQLite gives its -wal and -shm files the database
    file's mode. An existing file keeps the mode it has."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)

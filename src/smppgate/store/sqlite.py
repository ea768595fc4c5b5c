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

Intake first: a transaction run with ``priority=True`` (one that accepts new work from a
customer: the API's and the front door's inserts) waits in a lane of its own. The next group
takes the intake waiting before the rest, and one under way takes in the intake that arrived
meanwhile after the transaction it is running: the intake runs next, the group commits right
after it, and the transactions of the group not run yet go first into the next group. So an
intake commit waits for at most one transaction of the dispatcher's, not for a queue of them,
while a group's commit is still the first after its work. The rest is not starved: after
`INTAKE_AHEAD` groups in a row in which intake went ahead of waiting work, the next group is
that work's alone.

Concurrency: within the process the thread runs transactions one at a time, in the order they
were asked for within each lane; across processes `BEGIN IMMEDIATE` takes the database write
lock at the start of every write transaction and `busy_timeout` waits for it, so two claimers
can never read the same queued row and both update it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

from smppgate.store.backend import SQLITE, Connection, Row, RowsStatement, Tally, placeholders
from smppgate.store.errors import DuplicateKey, StoreError, StoreUnavailable

T = TypeVar("T")

SYNCHRONOUS_MODES = ("full", "normal", "extra")
#: the most transactions sharing one COMMIT (each already bounded by the store's batch limits)
MAX_GROUP = 32
#: groups in a row in which intake may go ahead of other work waiting (then one group of it)
INTAKE_AHEAD = 4


#: rows per multi-row INSERT (`RowsStatement.values`), largest first: a batch is cut into
#: these few sizes so that each table has only a few statement texts to prepare and cache
_INSERT_CHUNKS = (64, 16, 4)


class _SqliteConnection:
    """The transaction's view of the connection, used on the driver's thread only: every
    method finishes before it returns, nothing ever suspends."""

    __slots__ = ("_db", "_inserts", "_tally")

    def __init__(self, db: sqlite3.Connection, tally: Tally) -> None:
        self._db = db
        self._tally = tally
        #: (values form, rows, columns) -> that multi-row INSERT's text
        self._inserts: dict[tuple[str, int, int], str] = {}

    async def execute(self, sql: str, *args: object) -> None:
        self._tally.statements += 1
        self._db.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            self._tally.statements += len(rows)
            self._db.executemany(sql, rows)

    async def apply(self, statement: RowsStatement, rows: Sequence[Sequence[object]]) -> None:
        # in-process, no round trip to save; but each step hands the GIL over and takes it
        # back, which costs the driver's thread a wait whenever the event loop is busy: an
        # INSERT goes several rows a step, the other statements row by row from one prepared
        # statement
        start = 0
        if statement.values and len(rows) >= _INSERT_CHUNKS[-1]:
            width = len(rows[0])
            for size in _INSERT_CHUNKS:
                while len(rows) - start >= size:
                    chunk = rows[start : start + size]
                    start += size
                    self._tally.statements += 1
                    self._db.execute(
                        self._insert(statement.values, size, width),
                        [value for row in chunk for value in row],
                    )
        await self.executemany(statement.each, rows[start:])

    def _insert(self, values: str, size: int, width: int) -> str:
        key = (values, size, width)
        sql = self._inserts.get(key)
        if sql is None:
            one = f"({placeholders(width)})"
            sql = self._inserts[key] = values.replace("{rows}", ", ".join([one] * size))
        return sql

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
    __slots__ = ("error", "fn", "future", "loop", "priority", "result", "write")

    def __init__(
        self,
        fn: Callable[[Connection], Awaitable[Any]],
        write: bool,
        priority: bool,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
    ) -> None:
        self.fn = fn
        self.write = write
        self.priority = priority
        self.loop = loop
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None


#: put on the queue after an intake job (which waits in its own lane): wakes the thread
_WAKE = object()
_STOP = object()


class _Lanes:
    """The jobs waiting for the driver's thread, in two lanes: intake (``priority``) and the
    rest, each first in, first out. Event loops append to `intake` and put on `queue`; only
    the driver's thread takes from either."""

    __slots__ = ("ahead", "intake", "pending", "queue", "rest_running", "stopping")

    def __init__(self, queue: SimpleQueue[Any], intake: deque[_Job]) -> None:
        self.queue = queue
        self.intake = intake
        #: the rest, taken off `queue`, not run yet
        self.pending: deque[_Job] = deque()
        #: groups in a row in which intake went ahead of waiting work
        self.ahead = 0
        #: the last group was the rest's and no intake went ahead of any of it
        self.rest_running = False
        self.stopping = False

    def next_group(self) -> tuple[list[_Job], bool] | None:
        """The next group's jobs and whether intake may join it; None once stopped and
        drained. Blocks while there is nothing to do."""
        if self.rest_running:
            self.ahead = 0
            self.rest_running = False
        while True:
            if not self.pending and not self.intake:
                if self.stopping:
                    return None
                self._take(self.queue.get())
            while len(self.pending) < MAX_GROUP and not self.queue.empty():
                self._take(self.queue.get())
            if self.intake and (not self.pending or self.ahead < INTAKE_AHEAD):
                jobs = _live(self.intake, MAX_GROUP)
                if jobs:
                    self.ahead = self.ahead + 1 if self.pending else 0
                    return jobs, True
                continue
            jobs = _live(self.pending, MAX_GROUP)
            if jobs:
                self.rest_running = True
                return jobs, self.ahead < INTAKE_AHEAD

    def join(self, jobs: list[_Job], ran: int) -> bool:
        """Between two jobs of a group: move the intake waiting into ``jobs`` right after the
        ``ran`` jobs run so far (a group holds at most `MAX_GROUP` intake jobs); the group's
        jobs not run yet go back to the front of their lane. Whether any joined."""
        joining = _live(self.intake, MAX_GROUP - sum(job.priority for job in jobs[:ran]))
        if not joining:
            return False
        rest = jobs[ran:]
        del jobs[ran:]
        jobs.extend(joining)
        if rest:  # it went ahead of the group's own rest
            self.ahead += 1
            self.rest_running = False
            self.give_back(rest)
        return True

    def give_back(self, jobs: list[_Job]) -> None:
        """Jobs of a group that did not run: first in their lanes again, in their order."""
        for job in reversed(jobs):
            (self.intake if job.priority else self.pending).appendleft(job)

    def _take(self, item: Any) -> None:
        if item is _STOP:
            self.stopping = True
        elif item is not _WAKE:
            self.pending.append(item)


def _live(lane: deque[_Job], most: int) -> list[_Job]:
    """Up to ``most`` jobs off the front of ``lane``, skipping the cancelled ones (nobody
    waits for them: never started, nothing done)."""
    jobs: list[_Job] = []
    while lane and len(jobs) < most:
        job = lane.popleft()
        if not job.future.cancelled():
            jobs.append(job)
    return jobs


class SqliteBackend:
    dialect = SQLITE

    def __init__(self, path: str) -> None:
        self.path = path
        self.tally = Tally()
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._intake: deque[_Job] = deque()
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

    async def run(
        self,
        fn: Callable[[Connection], Awaitable[T]],
        *,
        write: bool = True,
        priority: bool = False,
    ) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        job = _Job(fn, write, priority, loop, future)
        if priority:
            self._intake.append(job)  # before the wake-up: the thread finds it when it wakes
            self._queue.put(_WAKE)
        else:
            self._queue.put(job)
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
        lanes = _Lanes(self._queue, self._intake)
        while (group := lanes.next_group()) is not None:
            jobs, joinable = group
            try:
                lanes.give_back(_run_group(db, conn, jobs, lanes if joinable else None))
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting
                _abandon(db, jobs, exc)
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


def _run_group(
    db: sqlite3.Connection, conn: _SqliteConnection, jobs: list[_Job], lanes: _Lanes | None
) -> list[_Job]:
    """Run ``jobs`` in one transaction, each in a savepoint, commit once, then hand every job
    its result. With ``lanes``, the intake waiting after a job joins the group there (`join`:
    ``jobs`` is changed in place, always holding the jobs this group owns). Returns the jobs
    not run yet (when SQLite itself ended the transaction)."""
    write = any(j.write for j in jobs)
    try:
        db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error as exc:
        _deliver(jobs, StoreUnavailable(f"cannot begin a transaction: {exc}"))
        return []
    done: list[_Job] = []
    index = 0
    while index < len(jobs):
        job = jobs[index]
        index += 1
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
                return jobs[index:]
            _rollback_savepoint(db)
        else:
            db.execute("RELEASE job")
        # intake that came meanwhile runs next and commits with what ran so far: after any job
        # of the rest, after the last of a group of intake (a group that began without the
        # write lock cannot take it on safely: there intake waits for the next group)
        if (
            lanes is not None
            and write
            and lanes.intake
            and (not job.priority or index == len(jobs))
            and lanes.join(jobs, index)
        ):
            lanes = None
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

"""The SQLite driver: one connection in WAL mode, one writer at a time.

Durability: `synchronous=FULL` by default. In WAL mode NORMAL survives a process crash
(`kill -9`) but may lose the last commits on power loss or an OS crash; the API promises that a
2xx means the message is on disk, so FULL (one fsync of the WAL per commit, amortised by the
batch calls) is the default and `?synchronous=normal` in the URL is the documented opt-out.

Concurrency: within the process an asyncio lock serialises transactions on the connection;
across processes `BEGIN IMMEDIATE` takes the database write lock at the start of every write
transaction and `busy_timeout` waits for it, so two claimers can never read the same queued row
and both update it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import aiosqlite

from smppgate.store.backend import Connection, Row
from smppgate.store.errors import DuplicateKey, StoreError, StoreUnavailable

T = TypeVar("T")

SYNCHRONOUS_MODES = ("full", "normal", "extra")


class _SqliteConnection:
    __slots__ = ("_db",)

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, *args: object) -> None:
        await self._db.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            await self._db.executemany(sql, rows)

    async def fetch(self, sql: str, *args: object) -> Sequence[Row]:
        return await self._db.execute_fetchall(sql, args)  # type: ignore[return-value]

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def lock(self, name: str) -> None:
        """Nothing to do: a write transaction already holds the whole database."""


class SqliteBackend:
    dialect = "sqlite"
    skip_locked = ""

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self._conn = _SqliteConnection(db)
        self._lock = asyncio.Lock()
        self._closed = False
        self.path = path

    @classmethod
    async def connect(
        cls, path: str, *, synchronous: str = "full", busy_timeout_ms: int = 10_000
    ) -> SqliteBackend:
        if synchronous not in SYNCHRONOUS_MODES:
            raise StoreError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
        if path in ("", ":memory:"):
            raise StoreError("the store needs a database file; :memory: is not durable")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
            await db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            await db.close()
            raise StoreUnavailable(f"cannot set up {path}: {exc}") from exc
        return cls(db, path)

    async def run(self, fn: Callable[[Connection], Awaitable[T]], *, write: bool = True) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot begin a transaction: {exc}") from exc
            try:
                result = await fn(self._conn)
                await self._db.execute("COMMIT")
            except BaseException as exc:
                await self._rollback()
                translated = _translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
            return result

    async def _rollback(self) -> None:
        # SQLite may have ended the transaction itself (e.g. on SQLITE_FULL): nothing to undo
        with contextlib.suppress(sqlite3.Error):
            await self._db.execute("ROLLBACK")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            await self._db.close()


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, StoreError) or not isinstance(exc, sqlite3.Error):
        return exc
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc).upper():
        return DuplicateKey(str(exc))
    if isinstance(exc, sqlite3.OperationalError):
        return StoreUnavailable(str(exc))
    return StoreError(str(exc))

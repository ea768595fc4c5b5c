"""The PostgreSQL driver: an asyncpg pool, one transaction per call, for many nodes at once.

The store's SQL is written with `?` placeholders; this driver rewrites them to `$1, $2, ...`
once per statement text (cached), and asyncpg prepares and caches each statement per
connection. An IN list of placeholders (`id IN (?, ?, ?)`) becomes one array parameter
(`id = ANY($1)`): a lookup of a batch is then the same statement whatever the batch's size,
prepared once per connection with its plan reused, instead of one statement per list length
(each parsed and planned anew, and churning asyncpg's cache of 100 statements per connection).
Claims use `FOR UPDATE SKIP LOCKED` so concurrent nodes take disjoint rows; named critical
sections (session slots) use transaction-scoped advisory locks. Deadlocks and
serialisation failures are retried a few times, the rest is translated to `StoreError`s.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TypeVar

import asyncpg

from smppgate.store.backend import POSTGRESQL, Connection, Row, RowsStatement, Tally
from smppgate.store.errors import DuplicateKey, StoreError, StoreUnavailable

T = TypeVar("T")

_RETRIES = 5
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
)


#: advisory lock class of receipt match keys (the two-key form keeps them apart from `lock`)
_MATCH_KEY_LOCKS = 7351


#: an IN list of placeholders, as `backend.placeholders` writes it
_IN_LIST = re.compile(r"\b(NOT )?IN \((\?(?:, \?)*)\)")


@functools.lru_cache(maxsize=512)
def to_numbered(sql: str) -> str:
    """Rewrite `?` placeholders to `$n` (the store's SQL has no `?` inside literals)."""
    pieces = sql.split("?")
    out = [pieces[0]]
    for n, piece in enumerate(pieces[1:], start=1):
        out.append(f"${n}{piece}")
    return "".join(out)


@functools.lru_cache(maxsize=2048)
def to_arrays(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """``sql`` with each IN list of placeholders as one array parameter (``x IN (?, ?)`` ->
    ``x = ANY(?)``, ``NOT IN`` -> ``<> ALL``), in `$n` form; and how the caller's arguments
    map to the parameters: per parameter, 0 for one argument as it is, n for the next n
    arguments as one list (None: nothing was rewritten, the arguments go as they are)."""
    spans: list[int] = []
    parts: list[str] = []
    last = 0
    for match in _IN_LIST.finditer(sql):
        spans.extend([0] * sql.count("?", last, match.start()))
        spans.append(match.group(2).count("?"))
        parts.append(sql[last : match.start()])
        parts.append("<> ALL(?)" if match.group(1) else "= ANY(?)")
        last = match.end()
    if not parts:
        return to_numbered(sql), None
    parts.append(sql[last:])
    spans.extend([0] * sql.count("?", last))
    return to_numbered("".join(parts)), tuple(spans)


def _bind(sql: str, args: Sequence[object]) -> tuple[str, Sequence[object]]:
    text, spans = to_arrays(sql)
    if spans is None:
        return text, args
    bound: list[object] = []
    at = 0
    for span in spans:
        if span:
            bound.append(list(args[at : at + span]))
            at += span
        else:
            bound.append(args[at])
            at += 1
    return text, bound


class _PgConnection:
    __slots__ = ("_conn", "_tally")

    def __init__(
        self, conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record], tally: Tally
    ) -> None:
        self._conn = conn
        self._tally = tally

    async def execute(self, sql: str, *args: object) -> None:
        self._tally.statements += 1
        text, bound = _bind(sql, args)
        await self._conn.execute(text, *bound)

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            self._tally.statements += len(rows)
            text, _ = to_arrays(sql)
            await self._conn.executemany(text, [_bind(sql, row)[1] for row in rows])

    async def apply(self, statement: RowsStatement, rows: Sequence[Sequence[object]]) -> None:
        """Every row in one statement: one array per column (transposed here)."""
        if not rows:
            return
        self._tally.statements += 1
        columns = [list(column) for column in zip(*rows, strict=True)]
        await self._conn.execute(to_numbered(statement.unnest), *columns)

    async def fetch(self, sql: str, *args: object) -> Sequence[Row]:
        self._tally.statements += 1
        text, bound = _bind(sql, args)
        return await self._conn.fetch(text, *bound)

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        self._tally.statements += 1
        text, bound = _bind(sql, args)
        return await self._conn.fetchrow(text, *bound)

    async def lock(self, name: str) -> None:
        self._tally.statements += 1
        await self._conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)

    async def lock_keys(self, keys: Collection[str]) -> None:
        if not keys:
            return
        self._tally.statements += 1
        # one statement; locks taken in hash order, the same order for every transaction
        await self._conn.execute(
            "SELECT count(pg_advisory_xact_lock($1, h)) FROM"
            " (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS s",
            _MATCH_KEY_LOCKS,
            list(keys),
        )


class PostgresBackend:
    dialect = POSTGRESQL

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool
        # all but one of the pool's connections: intake (``priority``) never waits for the
        # pool behind the other work
        self._others = asyncio.Semaphore(max(1, pool.get_max_size() - 1))
        self._closed = False
        self.tally = Tally()

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> PostgresBackend:
        try:
            pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        return cls(pool)

    async def run(
        self,
        fn: Callable[[Connection], Awaitable[T]],
        *,
        write: bool = True,
        priority: bool = False,
    ) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        if priority:
            return await self._run(fn)
        async with self._others:
            return await self._run(fn)

    async def _run(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        for attempt in range(_RETRIES):
            try:
                async with self._pool.acquire() as conn:
                    try:
                        async with conn.transaction():
                            return await fn(_PgConnection(conn, self.tally))
                    except asyncpg.InternalClientError:
                        # seen (asyncpg 0.32) when the server dropped a pooled connection:
                        # "cannot switch to state 15; another operation (2) is in progress";
                        # its state is unknown, so it is closed and the pool opens a fresh one
                        conn.terminate()
                        raise
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError) as exc:
                if attempt == _RETRIES - 1:
                    raise StoreUnavailable(f"gave up after {_RETRIES} conflicts: {exc}") from exc
            except asyncpg.UniqueViolationError as exc:
                raise DuplicateKey(exc.constraint_name or str(exc)) from exc
            except asyncpg.DataError as exc:
                # an InterfaceError, but about the data sent, not the connection: retrying
                # would never help
                raise StoreError(str(exc)) from exc
            except _UNAVAILABLE as exc:
                raise StoreUnavailable(str(exc)) from exc
            except asyncpg.PostgresError as exc:
                raise StoreError(str(exc)) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._pool.close()

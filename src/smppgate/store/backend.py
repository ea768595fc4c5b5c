# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""The small SQL surface both drivers offer the store: run one function in one transaction.

The store's logic (the modules `sql_store.py` composes) is written once against `Backend` and
`Connection`; the two drivers differ only in what this module lets them differ in: placeholders
(`?` is written and the PostgreSQL driver rewrites it to `$n`), the `Dialect` (row locks, the
real-number type, one process or many), serialising a named critical section (`lock`), and how
a transaction starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Row(Protocol):
    """A result row: sqlite3.Row and asyncpg.Record are both indexable by column name and by
    position, and unpack into their values in column order."""

    def __getitem__(self, key: str | int, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class RowsStatement:
    """One statement applied to many rows, in the two forms the drivers want.

    ``each`` has a ``?`` per column and runs once per row: SQLite steps it in-process from one
    prepared statement, which is as cheap as a statement gets there (an INSERT's ``values``
    form, several rows a step, saves its thread a hand-over of the GIL per row). ``unnest``
    takes one array per column (``?::text[]``, ...) and does every row in one statement:
    PostgreSQL then plans and executes once per batch instead of once per row. Both must have
    the same effect for rows that name distinct keys (an UPDATE joined to a set touches a row
    once: callers pass distinct keys, or the last row per key when the last would win row by
    row). Set-based INSERTs keep the rows' order (``WITH ORDINALITY ... ORDER BY``, VALUES
    lists in order) so generated ids do too.
    """

    each: str
    unnest: str
    #: an INSERT's other form, with ``{rows}`` where its VALUES lists go (``(?, ?), (?, ?)``):
    #: several rows in one statement, for a driver that gains by it (SQLite: one step, one
    #: hand-over of the GIL, instead of one per row); "" for none
    values: str = ""


class Tally:
    """Statements sent to the database since the backend opened: one per `execute`, `fetch`
    and set-based `apply`, one per row of an `executemany` (PostgreSQL executes each row;
    pipelining saves the round trips, not the statements)."""

    __slots__ = ("statements",)

    def __init__(self) -> None:
        self.statements = 0


class Connection(Protocol):
    """One connection inside one open transaction."""

    async def execute(self, sql: str, *args: object) -> None: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    async def apply(self, statement: RowsStatement, rows: Sequence[Sequence[object]]) -> None:
        """``statement`` over ``rows``, in the form this database does best."""

    async def fetch(self, sql: str, *args: object) -> Sequence[Row]: ...

    async def fetchrow(self, sql: str, *args: object) -> Row | None: ...

    async def lock(self, name: str) -> None:
        """Serialise with every other transaction that takes the same name, until commit."""

    async def lock_keys(self, keys: Collection[str]) -> None:
        """Serialise, until commit, with every other transaction that locks one of ``keys``
        (receipt match keys): all at once, in one global order, so two never deadlock."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """What the store's SQL may differ in between the two databases, as data, so the store
    reads ``dialect.lock_rows`` rather than branching on a name. Both speak ``RETURNING`` and
    ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite >= 3.35, which the driver requires), so those
    are written once, in the statements themselves."""

    #: "sqlite" or "postgresql": also the folder of this backend's migrations
    name: str
    #: appended to a SELECT that picks rows to claim: " FOR UPDATE SKIP LOCKED" or ""
    skip_locked: str
    #: appended to a SELECT (after its ORDER BY) that reads rows it will update from what it
    #: read: " FOR NO KEY UPDATE" or "" (SQLite's write transaction holds the whole database)
    lock_rows: str
    #: the column type of a float epoch
    real: str
    #: one process owns the database (SQLite): every lease and slot left in it at start is a
    #: dead process's, and there is nobody to share session slots with
    single_process: bool
    #: the message counts are kept as appended deltas that a reader folds into the totals
    #: (PostgreSQL: concurrent writers never queue on one counter row), not updated in place
    count_deltas: bool
    #: binds arrays (``?::text[]``): a lookup of a batch's values is one statement, however
    #: many (SQLite reads IN lists of `rows.CHUNK` values, in-process)
    arrays: bool


SQLITE = Dialect(
    name="sqlite",
    skip_locked="",
    lock_rows="",
    real="REAL",
    single_process=True,
    count_deltas=False,
    arrays=False,
)
# NO KEY: the transaction may already hold KEY SHARE on the row (its inserts into tables that
# reference it), which a plain FOR UPDATE would deadlock against
POSTGRESQL = Dialect(
    name="postgresql",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    lock_rows=" FOR NO KEY UPDATE",
    real="DOUBLE PRECISION",
    single_process=False,
    count_deltas=True,
    arrays=True,
)


class Backend(Protocol):
    dialect: Dialect
    tally: Tally

    async def run(
        self,
        fn: Callable[[Connection], Awaitable[T]],
        *,
        write: bool = True,
        priority: bool = False,
    ) -> T:
        """Run `fn` in one transaction and commit; roll back and raise a `StoreError` on error.

        A write transaction holds the write lock from its start (SQLite `BEGIN IMMEDIATE`), so
        read-then-write logic inside `fn` is safe; transient conflicts (deadlock, serialisation)
        are retried by the driver.

        ``priority``: the transaction accepts new work from a customer (intake: a message
        inserted for the API or the front door, whose caller waits for the commit to answer).
        The driver runs it ahead of the other work waiting for the database (SQLite: a lane of
        its own on the one connection, the dispatcher's transactions never starved; PostgreSQL:
        a connection of the pool kept for it). Nothing else about the transaction changes.
        """
        ...

    async def close(self) -> None: ...


def placeholders(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values."""
    return ", ".join("?" * count)


def insert_rows(table: str, columns: Sequence[tuple[str, str]], suffix: str = "") -> RowsStatement:
    """The `RowsStatement` inserting ``columns`` ((name, PostgreSQL type) pairs) into
    ``table``, with ``suffix`` (e.g. `` ON CONFLICT DO NOTHING``) after either form."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"?::{kind}[]" for _, kind in columns)
    return RowsStatement(
        each=f"INSERT INTO {table} ({names}) VALUES ({placeholders(len(columns))}){suffix}",
        unnest=(
            f"INSERT INTO {table} ({names}) SELECT {names}"
            f" FROM unnest({arrays}) WITH ORDINALITY AS v({names}, n) ORDER BY n{suffix}"
        ),
        values=f"INSERT INTO {table} ({names}) VALUES {{rows}}{suffix}",
    )

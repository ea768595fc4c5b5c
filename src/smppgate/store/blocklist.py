# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""The blocklist per account: numbers no message of that account is ever sent to (issue 16).

An entry is (account, number): the number as the messages' ``destination`` column holds it
(the service layer makes both with one function, so an equality test is the whole match).
A message to a listed number ends `blocked` without being sent:

* at insert (`listed`, asked inside the transaction that inserts the messages), and
* when the dispatcher has claimed it (`block_messages`): a number listed after the message
  was queued never gets its submit_sm.

`source` records how an entry came: an operator's block (`api`, `cli`, `import`) or the
number's owner's opt-out keyword (`keyword`). An opt-in keyword removes only a `keyword`
entry, so an operator's block outlives a START; an operator adding a number that a keyword
listed makes it the operator's (`add` upgrades it). Retention never deletes entries.

Functions over a `Connection` run inside the caller's transaction (`intake.py` and
`inbound.py` call them); `BlocklistStore` is the part of `SqlStore` that runs them in
transactions of their own. The records are in `models.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from smppgate.store.backend import Connection, Dialect, Row, placeholders
from smppgate.store.base import StoreBase
from smppgate.store.errors import StoreError
from smppgate.store.finite import require_finite
from smppgate.store.models import (
    BlockEntry,
    BlocklistPage,
    BlockResult,
    BlockSource,
    InsertResult,
    MessageState,
    NewBlock,
    Notifier,
    OptAction,
    OptChange,
    OptKeyword,
)
from smppgate.store.webhooks import notify

__all__ = ["MAX_BLOCKS", "BlocklistStore"]

#: the most entries one `add_blocks` call writes (an import sends batches of this many)
MAX_BLOCKS = 1000
_CHUNK = 500
_COLUMNS = "id, account, number, source, reason, added_by, created_at"
_LISTED_PAIRS = (
    "SELECT b.account, b.number FROM unnest(?::text[], ?::text[]) AS v(account, number)"
    " JOIN blocklist AS b ON b.account = v.account AND b.number = v.number"
)


def _entry(r: Row) -> BlockEntry:
    return BlockEntry(
        id=int(r["id"]),
        account=r["account"],
        number=r["number"],
        source=BlockSource(r["source"]),
        reason=r["reason"],
        added_by=r["added_by"],
        created_at=float(r["created_at"]),
    )


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# ------------------------------------------------------------------ in the caller's transaction


async def listed(
    conn: Connection, dialect: Dialect, pairs: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The (account, number) pairs among ``pairs`` that are on the blocklist: on PostgreSQL
    one statement for the whole batch (the pairs as two arrays, matched on the unique
    index), on SQLite one per `_CHUNK` numbers."""
    wanted = set(pairs)
    if not wanted:
        return set()
    if dialect.arrays:
        accounts, numbers_of = zip(*sorted(wanted), strict=True)
        rows = await conn.fetch(_LISTED_PAIRS, list(accounts), list(numbers_of))
        return {(r["account"], r["number"]) for r in rows}
    numbers = sorted({number for _, number in wanted})
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(numbers):
        for row in await conn.fetch(
            f"SELECT account, number FROM blocklist WHERE number IN ({placeholders(len(chunk))})",
            *chunk,
        ):
            pair = (row["account"], row["number"])
            if pair in wanted:
                found.add(pair)
    return found


async def add(conn: Connection, blocks: Sequence[NewBlock], now: float) -> list[BlockResult]:
    """Add entries; a listed number keeps its entry (a keyword's becomes an operator's)."""
    results: list[BlockResult] = []
    for block in blocks:
        row = await conn.fetchrow(
            "INSERT INTO blocklist (account, number, source, reason, added_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, number) DO NOTHING"
            f" RETURNING {_COLUMNS}",
            block.account,
            block.number,
            block.source.value,
            block.reason,
            block.added_by,
            now,
        )
        if row is not None:
            results.append(BlockResult(_entry(row), True))
            continue
        if block.source is not BlockSource.KEYWORD:
            # an operator's block of a number its owner opted out: START must not lift it
            await conn.execute(
                "UPDATE blocklist SET source = ?, reason = ?, added_by = ?"
                " WHERE account = ? AND number = ? AND source = ?",
                block.source.value,
                block.reason,
                block.added_by,
                block.account,
                block.number,
                BlockSource.KEYWORD.value,
            )
        found = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM blocklist WHERE account = ? AND number = ?",
            block.account,
            block.number,
        )
        assert found is not None  # the conflict that made the insert do nothing
        results.append(BlockResult(_entry(found), False))
    return results


async def remove(
    conn: Connection, account: str, number: str, *, keyword_only: bool = False
) -> BlockEntry | None:
    """Delete an entry (with ``keyword_only``, only one a keyword made); the entry deleted,
    None when there was none to delete."""
    sql = "DELETE FROM blocklist WHERE account = ? AND number = ?"
    args: list[object] = [account, number]
    if keyword_only:
        sql += " AND source = ?"
        args.append(BlockSource.KEYWORD.value)
    row = await conn.fetchrow(sql + f" RETURNING {_COLUMNS}", *args)
    return None if row is None else _entry(row)


async def block_messages(conn: Connection, message_ids: Sequence[str], now: float) -> list[str]:
    """Move the messages among ``message_ids`` still queued or leased with no part sent whose
    destination is listed to `blocked`; their ids. Their front-door receipts are queued."""
    blocked: list[str] = []
    for chunk in _chunks(list(message_ids)):
        rows = await conn.fetch(
            "UPDATE messages SET state = ?, updated_at = ?, leased_by = NULL, lease_until = NULL"
            f" WHERE id IN ({placeholders(len(chunk))}) AND state IN ('queued', 'sending')"
            " AND EXISTS (SELECT 1 FROM blocklist b WHERE b.account = messages.account"
            " AND b.number = messages.destination)"
            " AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.message_id = messages.id"
            " AND p.status <> 'planned') RETURNING id",
            MessageState.BLOCKED.value,
            now,
            *chunk,
        )
        blocked.extend(r["id"] for r in rows)
    await front_door_receipts(conn, blocked, now)
    return sorted(blocked)


async def blocked_at_insert(
    conn: Connection, notifier: Notifier | None, results: Sequence[InsertResult], now: float
) -> None:
    """After an insert (the API's, the front door's, a released set of parts): the messages
    it created `blocked` get their front-door receipts and ``message.status`` webhooks, in
    the inserting transaction."""
    blocked = [
        r.message.id for r in results if r.created and r.message.state is MessageState.BLOCKED
    ]
    if blocked:
        await front_door_receipts(conn, blocked, now)
        await notify(conn, notifier, blocked, now)


async def front_door_receipts(conn: Connection, message_ids: Sequence[str], now: float) -> None:
    """The SMPP front door's receipts of blocked messages: ``stat:UNDELIV`` to the application
    that submitted them, when its registered_delivery asked for every final receipt or for
    failures (as the outbox triggers do for the states they know): one per part when the
    application split the message itself and holds an id per part (``split``), else one."""
    for chunk in _chunks(list(message_ids)):
        await conn.execute(
            "INSERT INTO smpp_outbox (system_id, message_id, seq, state, error_code, done_at,"
            " created_at) SELECT o.system_id, o.message_id, p.seq, 'undeliverable', NULL, ?, ?"
            " FROM smpp_origins o JOIN parts p ON p.message_id = o.message_id"
            f" WHERE o.message_id IN ({placeholders(len(chunk))})"
            " AND (o.split = 1 OR p.seq = 1) AND (o.registered_delivery & 3) IN (1, 2)",
            now,
            now,
            *chunk,
        )


async def apply_opt(
    conn: Connection, account: str, inbound_id: int, opt: OptKeyword, now: float
) -> OptChange:
    """An MO keyword's change to its account's list, in the transaction recording the MO."""
    if opt.action is OptAction.OPT_OUT:
        block = NewBlock(
            account, opt.number, BlockSource.KEYWORD, opt.keyword, f"inbound:{inbound_id}"
        )
        changed = (await add(conn, [block], now))[0].created
        blocked = True
    else:
        changed = await remove(conn, account, opt.number, keyword_only=True) is not None
        left = await conn.fetchrow(
            "SELECT 1 FROM blocklist WHERE account = ? AND number = ?", account, opt.number
        )
        blocked = left is not None  # an operator's entry stays
    return OptChange(
        opt.action, account, opt.number, opt.keyword, inbound_id, changed, blocked, now
    )


# ------------------------------------------------------------------ transactions of their own


class BlocklistStore(StoreBase):
    """The blocklist's part of `SqlStore`."""

    async def add_blocks(self, blocks: Sequence[NewBlock], now: float) -> list[BlockResult]:
        """Add entries in one transaction (at most `MAX_BLOCKS`); adding a listed number
        again changes nothing and returns its entry (``created`` False)."""
        if len(blocks) > MAX_BLOCKS:
            raise StoreError(f"at most {MAX_BLOCKS} entries per call, got {len(blocks)}")
        require_finite(now=now)

        async def run(conn: Connection) -> list[BlockResult]:
            return await add(conn, blocks, now)

        return await self._backend.run(run)

    async def remove_block(self, account: str, number: str) -> BlockEntry | None:
        """Delete an entry whatever made it; the entry, or None when it was not listed."""

        async def run(conn: Connection) -> BlockEntry | None:
            return await remove(conn, account, number)

        return await self._backend.run(run)

    async def list_blocklist(
        self,
        *,
        accounts: Sequence[str] | None = None,
        number: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> BlocklistPage:
        """Entries in id order, of ``accounts`` (None: every account), of one ``number``."""
        if accounts is not None and not accounts:
            return BlocklistPage(())
        sql = f"SELECT {_COLUMNS} FROM blocklist WHERE id > ?"
        args: list[object] = [after]
        if accounts is not None:
            sql += f" AND account IN ({placeholders(len(accounts))})"
            args.extend(accounts)
        if number is not None:
            sql += " AND number = ?"
            args.append(number)
        sql += " ORDER BY id LIMIT ?"

        async def run(conn: Connection) -> BlocklistPage:
            rows = await conn.fetch(sql, *args, limit + 1)
            items = tuple(_entry(r) for r in rows[:limit])
            return BlocklistPage(items, items[-1].id if len(rows) > limit else None)

        return await self._backend.run(run, write=False)

    async def block_listed(self, message_ids: Sequence[str], now: float) -> list[str]:
        """The dispatcher's check: see `block_messages`; their webhooks in the same
        transaction."""
        require_finite(now=now)

        async def run(conn: Connection) -> list[str]:
            ids = await block_messages(conn, message_ids, now)
            await notify(conn, self.notifier, ids, now)
            return ids

        return await self._backend.run(run)

    async def blocked_among(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (account, number) pairs that are listed (a read: the dispatcher asks it for
        every claim, and writes only when it finds one)."""
        wanted = list(pairs)

        async def run(conn: Connection) -> set[tuple[str, str]]:
            return await listed(conn, self._dialect, wanted)

        return await self._backend.run(run, write=False)

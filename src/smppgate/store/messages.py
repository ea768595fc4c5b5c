# ruff: noqa: S608  (SQL text is built only from constants and `?` lists; values are bound)
"""Reading messages: one with its history, a page of them, the counts by state."""

from __future__ import annotations

from smppgate.store.backend import Connection
from smppgate.store.base import StoreBase
from smppgate.store.models import MessageDetail, MessagePage, MessageState
from smppgate.store.rows import detail, load_messages


class MessageReads(StoreBase):
    async def get_message(self, message_id: str) -> MessageDetail:
        async def get(conn: Connection) -> MessageDetail:
            return await detail(conn, message_id)

        return await self._backend.run(get, write=False)

    async def list_messages(
        self,
        *,
        state: MessageState | None = None,
        account: str | None = None,
        since: float | None = None,
        after: str | None = None,
        limit: int = 100,
        client: str | None = None,
    ) -> MessagePage:
        where: list[str] = ["1 = 1"]
        args: list[object] = []
        for clause, value in (
            ("client = ?", client),
            ("state = ?", state.value if state is not None else None),
            ("account = ?", account),
            ("created_at >= ?", since),
            ("id > ?", after),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        # with `since`, the creation-time index finds the window and its rows are sorted
        # (`id || ''` keeps both planners from walking the whole history in id order instead,
        # filtering out everything older); else an id-ordered index (by state, or the key)
        order = "id" if since is None else "id || ''"
        sql = f"SELECT id FROM messages WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"

        async def page(conn: Connection) -> MessagePage:
            rows = await conn.fetch(sql, *args, limit + 1)
            ids = [r["id"] for r in rows[:limit]]
            items = tuple(await load_messages(conn, ids))
            cursor = ids[-1] if len(rows) > limit else None
            return MessagePage(items, cursor)

        return await self._backend.run(page, write=False)

    async def count_by_state(self, account: str | None = None) -> dict[MessageState, int]:
        """From the totals the store's triggers keep (migration 5), never by counting
        messages: a few rows however long the history. Where the triggers append deltas
        (PostgreSQL), those written since the last read are folded into the totals first (see
        `_fold_counts`)."""
        where = "" if account is None else " WHERE account = ?"
        args = () if account is None else (account, account)
        sql = (
            "SELECT state, SUM(n) AS n FROM (SELECT account, state, n FROM message_counts"
            f"{where} UNION ALL SELECT account, state, n FROM message_count_deltas{where})"
            " AS c GROUP BY state"
        )
        fold = self._dialect.count_deltas

        async def count(conn: Connection) -> dict[MessageState, int]:
            if fold:
                await _fold_counts(conn)
            counts = dict.fromkeys(MessageState, 0)
            for row in await conn.fetch(sql, *args):
                counts[MessageState(row["state"])] = int(row["n"])
            return counts

        # without deltas a read: the triggers update the totals themselves, nothing to fold
        return await self._backend.run(count, write=fold)


async def _fold_counts(conn: Connection) -> None:
    """Move the deltas the PostgreSQL triggers appended into the totals, in one statement.
    Two nodes folding at once cannot count a delta twice: the second DELETE waits for the
    first's row locks and then skips the rows it deleted; deltas committed meanwhile are
    outside this statement's snapshot and wait for the next fold."""
    await conn.execute(
        "WITH moved AS (DELETE FROM message_count_deltas RETURNING account, state, n)"
        " INSERT INTO message_counts (account, state, n)"
        " SELECT account, state, SUM(n) FROM moved GROUP BY account, state"
        " ON CONFLICT (account, state) DO UPDATE SET n = message_counts.n + excluded.n"
    )

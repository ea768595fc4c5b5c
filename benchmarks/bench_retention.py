"""Day 300 (issue 17): what a store full of history costs the ops page, /metrics, claims, and
what retention costs the dispatcher while it deletes.

    source scripts/postgres.sh      # for --backend postgresql (sets SMPPGATE_TEST_POSTGRES_URL)
    python benchmarks/bench_retention.py --backend sqlite --messages 1000000 --days 10

1. A fresh store (a SQLite file in the temp folder, or a fresh PostgreSQL database) is filled
   with ``--messages`` delivered messages, each with one part, one match key, one attempt and
   one receipt, by set-based INSERTs (a recursive CTE / generate_series, 100,000 rows a
   statement). They are spread evenly over ``--days`` days; the oldest day lies past
   ``retention_days`` (30), the others within it. The message counts are kept by the store's
   triggers as in production (on PostgreSQL the fill disables them and the counts are
   recomputed once afterwards, as the migration does).
2. Reads, ``--reads`` times each: ``count_by_state`` (the queue by state), the other store
   reads of the ops snapshot (webhook backlog, unmatched receipts, the retry scan over queued
   messages, the latency scan over the last minute, 500 messages each as the ops page's
   defaults) and ``Metrics.render`` with the store attached (cache off), after 1,000 fresh
   messages were queued.
3. Claims: ``--claims`` claims of 50 due messages (50 inserted before each, not timed), on the
   full store and on an empty one: p50/p99.
4. Retention: one pass (``Retention.run_pass``, the loop's code, default batch and pauses)
   deleting the oldest day while a dispatcher-like loop inserts 50 messages and claims them
   every 10 ms: the pass's duration and rate, and the claims' p50/p99/max meanwhile.

One JSON line per section is printed; the results and their reading are in
``benchmarks/results/retention.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from smppgate.service.config import StoreConfig
from smppgate.service.maintenance import DAY, Retention
from smppgate.service.metrics import Metrics
from smppgate.store import MessageState, NewMessage, PlannedPart, Store, open_store

POSTGRES_ENV = "SMPPGATE_TEST_POSTGRES_URL"
CHUNK = 100_000
NOW = time.time()
ACCOUNT = "bench"
#: the ops page's retry_scan and latency_scan defaults (service/ops.py)
SCAN = 500


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(_pct(samples, 0.50) * 1000, 2),
        "p99_ms": round(_pct(samples, 0.99) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
        "n": len(samples),
    }


# ------------------------------------------------------------------ filling


def _created(i_expr: str, total: int, days: float) -> str:
    """created_at of row ``i``: the oldest day 31..30 days ago, the rest spread over the last
    ``days - 1`` days (row 0 the oldest)."""
    per_day = total / days
    return (
        f"(CASE WHEN {i_expr} < {per_day} THEN {NOW - 31 * DAY} + {i_expr} * {DAY / per_day}"
        f" ELSE {NOW - (days - 1) * DAY} + ({i_expr} - {per_day}) * {DAY / per_day} END)"
    )


SQLITE_FILL = """
WITH RECURSIVE c(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM c WHERE i + 1 < ?)
INSERT INTO {table} SELECT {columns} FROM (SELECT i, {created} AS t,
    printf('0%013d%012d', CAST({created} * 1000 AS INTEGER), i) AS id FROM c)
"""
PG_FILL = """
INSERT INTO {table} SELECT {columns} FROM (SELECT i, {created} AS t,
    '0' || lpad(((({created}) * 1000)::bigint)::text, 13, '0') || lpad(i::text, 12, '0') AS id
    FROM generate_series($1::bigint, $2::bigint - 1) AS i) AS c
"""
TABLES = {
    "messages (id, account, source, destination, text, encoding, split_method, state,"
    " created_at, updated_at, next_attempt_at, part_count, attempts, last_status,"
    " last_status_name)": "id, '" + ACCOUNT + "', 'Bench', '7999' || (i % 10000000),"
    " 'code ' || (i % 10000), 'gsm7', 'udh', 'delivered', t, t + 5, t, 1, 1, 0, 'ESME_ROK'",
    "parts (message_id, seq, short_message, esm_class, data_coding, status, attempts,"
    " smsc_message_id, sent_at, submitted_at, receipt_state, receipt_at)": "id, 1, {blob},"
    " 0, 0, 'accepted', 1, 'S' || i, t, t + 0.1, 'delivered', t + 5",
    "match_keys (key, message_id, seq)": "'S' || i, id, 1",
    "attempts (message_id, seq, at, node_id, session_id, host, command_status, status_name,"
    " outcome)": "id, 1, t + 0.1, 'bench', 's1', '127.0.0.1:2775', 0, 'ESME_ROK', 'accepted'",
    "receipts (message_id, seq, state, raw, received_at)": "id, 1, 'delivered',"
    " 'id:S' || i || ' sub:001 dlvrd:001 stat:DELIVRD err:000 text:code', t + 5",
}


def fill_sqlite(path: str, total: int, days: float) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    created = _created("i", total, days)
    for start in range(0, total, CHUNK):
        db.execute("BEGIN")
        for table, columns in TABLES.items():
            sql = SQLITE_FILL.format(
                table=table, columns=columns.format(blob="X'68656C6C6F'"), created=created
            )
            db.execute(sql, (start, min(total, start + CHUNK)))
        db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


async def fill_postgres(url: str, total: int, days: float) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ALTER TABLE messages DISABLE TRIGGER USER")
        created = _created("i", total, days)
        for start in range(0, total, CHUNK):
            async with conn.transaction():
                for table, columns in TABLES.items():
                    sql = PG_FILL.format(
                        table=table, columns=columns.format(blob="'hello'::bytea"), created=created
                    )
                    await conn.execute(sql, start, min(total, start + CHUNK))
        await conn.execute("ALTER TABLE messages ENABLE TRIGGER USER")
        async with conn.transaction():
            await conn.execute("DELETE FROM message_counts")
            await conn.execute("DELETE FROM message_count_deltas")
            await conn.execute(
                "INSERT INTO message_counts (account, state, n)"
                " SELECT account, state, COUNT(*) FROM messages GROUP BY account, state"
            )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def store_url(backend: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-retention-") as folder:
            yield f"sqlite://{folder}/smppgate.db"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        raise SystemExit(f"{POSTGRES_ENV} is not set: source scripts/postgres.sh first")
    name = f"bench_retention_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# ------------------------------------------------------------------ measuring


def new_message() -> NewMessage:
    return NewMessage(
        account=ACCOUNT,
        source="Bench",
        destination="79990000001",
        text="code 1234",
        parts=(PlannedPart(1, b"code 1234", 0, 0),),
    )


async def timed(call: Callable[[], Awaitable[object]], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def reads(store: Store, times: int) -> dict[str, object]:
    """The reads, after 1,000 fresh messages were queued (live traffic: the retry and latency
    scans then find rows on every store, up to the ops page's default 500)."""
    for _ in range(2):
        await store.insert_messages([new_message() for _ in range(500)], time.time())
    metrics = Metrics(store, cache_seconds=0.0)
    result: dict[str, object] = {}
    for name, call in (
        ("count_by_state", store.count_by_state),
        ("webhook_backlog", store.webhook_backlog),
        ("count_unmatched_receipts", store.count_unmatched_receipts),
        ("retry_scan", lambda: store.list_messages(state=MessageState.QUEUED, limit=SCAN)),
        ("latency_scan", lambda: store.list_messages(since=time.time() - 60, limit=SCAN)),
        ("metrics_render", metrics.render),
    ):
        result[name] = _ms(await timed(call, times))
    return result


GROUP_BY = "SELECT state, COUNT(*) AS n FROM messages GROUP BY state"


async def group_by(url: str, times: int) -> dict[str, float]:
    """The query ``count_by_state`` ran before (issue 17), straight on the database: what the
    ops page and /metrics paid on every refresh."""
    if url.startswith("sqlite:"):
        db = sqlite3.connect(url.removeprefix("sqlite://"))

        async def count() -> object:
            return db.execute(GROUP_BY).fetchall()

        try:
            return _ms(await timed(count, times))
        finally:
            db.close()
    conn = await asyncpg.connect(url)
    try:
        return _ms(await timed(lambda: conn.fetch(GROUP_BY), times))
    finally:
        await conn.close()


async def claims(store: Store, times: int, batch: int = 50) -> list[float]:
    samples = []
    now = time.time()
    await store.claim("bench", 10_000, now + 1, 60.0, [ACCOUNT])  # what reads() queued
    for _ in range(times):
        await store.insert_messages([new_message() for _ in range(batch)], now)
        started = time.perf_counter()
        got = await store.claim("bench", batch, now + 1, 60.0, [ACCOUNT])
        samples.append(time.perf_counter() - started)
        assert len(got) == batch, len(got)
    return samples


async def retention_under_load(store: Store, batch: int) -> dict[str, object]:
    settings = StoreConfig(retention_days=30, retention_batch=batch)
    retention = Retention(store, lambda: settings, "bench")
    done = asyncio.Event()
    samples: list[float] = []

    async def dispatcher() -> None:
        while not done.is_set():
            now = time.time()
            await store.insert_messages([new_message() for _ in range(50)], now)
            started = time.perf_counter()
            await store.claim("bench", 50, now + 1, 60.0, [ACCOUNT])
            samples.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(dispatcher())
    started = time.perf_counter()
    report = await retention.run_pass()
    elapsed = time.perf_counter() - started
    done.set()
    await task
    deleted = sum(report.done.values())
    return {
        "deleted": deleted,
        "batches": report.batches,
        "seconds": round(elapsed, 1),
        "deleted_per_second": round(deleted / elapsed),
        "claims_meanwhile": _ms(samples),
    }


async def main(args: argparse.Namespace) -> None:
    async with store_url(args.backend) as url:
        async with open_store(url):
            pass  # migrated
        started = time.perf_counter()
        if args.backend == "sqlite":
            await asyncio.to_thread(fill_sqlite, url.removeprefix("sqlite://"), args.messages,
                                    args.days)  # fmt: skip
        else:
            await fill_postgres(url, args.messages, args.days)
        fill = time.perf_counter() - started
        print(json.dumps({"backend": args.backend, "messages": args.messages, "days": args.days,
                          "fill_seconds": round(fill, 1)}), flush=True)  # fmt: skip
        async with open_store(url) as store:
            counts = await store.count_by_state()
            assert counts[MessageState.DELIVERED] == args.messages, counts
            print(json.dumps({"reads_full_store": await reads(store, args.reads)}), flush=True)
            print(json.dumps({"replaced_count_group_by": await group_by(url, 5)}), flush=True)
            if args.reads_only:
                return
            print(json.dumps({"claims_full_store": _ms(await claims(store, args.claims))}),
                  flush=True)  # fmt: skip
            print(json.dumps({"retention": await retention_under_load(store, args.batch)}),
                  flush=True)  # fmt: skip
    async with store_url(args.backend) as url, open_store(url) as empty:
        print(json.dumps({"claims_empty_store": _ms(await claims(empty, args.claims))}),
              flush=True)  # fmt: skip
        print(json.dumps({"reads_empty_store": await reads(empty, args.reads)}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=10.0)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--batch", type=int, default=StoreConfig().retention_batch)
    parser.add_argument("--reads-only", action="store_true", help="fill, then the reads only")
    asyncio.run(main(parser.parse_args()))

"""Statements per message the store sends for one batch through the hot path, by call.

    source scripts/postgres.sh     # a local server; sets SMPPGATE_TEST_POSTGRES_URL
    python benchmarks/count_statements.py [--batch 100] [--url sqlite:/tmp/x.db]

In a fresh database: insert a batch of one-part messages, claim them, mark their parts sent,
record their acceptances and their receipts, and once more with every receipt arriving before
its acceptance (kept unmatched, matched by the acceptance). Prints `Store.statements` per call
and per message (BEGIN and COMMIT not counted; a batch run row by row counts one per row).
Results: benchmarks/results/statements.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from smppgate.store import (
    NewMessage,
    NewReceipt,
    PartAccepted,
    PlannedPart,
    ReceiptState,
    SubmitContext,
    open_store,
)

T0 = 1_700_000_000.0
CONTEXT = SubmitContext(node_id="bench", session_id="s1", host="127.0.0.1:2775")


async def flow(url: str, batch: int, receipts_first: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with open_store(url) as store:
        last = store.statements

        def step(what: str) -> None:
            nonlocal last
            counts[what] = store.statements - last
            last = store.statements

        news = [
            NewMessage("bench", "Bench", f"7999{i:07d}", "hi", (PlannedPart(1, b"hi"),))
            for i in range(batch)
        ]
        ids = [r.message.id for r in await store.insert_messages(news, T0)]
        step("insert_messages")
        await store.claim("bench", batch, T0, 30.0)
        step("claim")
        await store.mark_parts_sent([(m, 1) for m in ids], T0)
        step("mark_parts_sent")
        receipts = [
            NewReceipt(frozenset({str(5000 + i)}), "stat:DELIVRD", ReceiptState.DELIVERED, T0, None)
            for i in range(batch)
        ]
        if receipts_first:
            await store.record_receipts(receipts)
            step("record_receipts (before their ids)")
        outcomes = [
            PartAccepted(m, 1, str(5000 + i), frozenset({str(5000 + i)}), T0, CONTEXT)
            for i, m in enumerate(ids)
        ]
        await store.record_outcomes(outcomes)
        step("record_outcomes")
        if not receipts_first:
            await store.record_receipts(receipts)
            step("record_receipts")
    return counts


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--url", help="a store URL (default: a fresh PostgreSQL database)")
    args = parser.parse_args()
    for receipts_first in (False, True):
        admin = os.environ.get("SMPPGATE_TEST_POSTGRES_URL")
        url, name = args.url, None
        if url is None:
            if not admin:
                sys.exit("set SMPPGATE_TEST_POSTGRES_URL (source scripts/postgres.sh) or --url")
            name = f"smppgate_count_{uuid.uuid4().hex[:12]}"
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            url = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
        elif url.startswith("sqlite"):
            url = f"sqlite:{tempfile.mkdtemp()}/count.db"
        try:
            counts = await flow(url, args.batch, receipts_first)
        finally:
            if name is not None and admin:
                conn = await asyncpg.connect(admin)
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.close()
        total = sum(counts.values())
        print(
            f"batch {args.batch}, receipts {'first' if receipts_first else 'after'}: {counts};"
            f" {total} statements, {total / args.batch:.2f} per message"
        )


if __name__ == "__main__":
    asyncio.run(main())

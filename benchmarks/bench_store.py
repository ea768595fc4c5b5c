"""The SQLite store alone on the dispatcher's hot path: CPU per message by transaction.

    python benchmarks/bench_store.py                        # 20,000 messages, 20,000 of history
    python benchmarks/bench_store.py --messages 40000 --history 200000 --plan
    python benchmarks/bench_store.py --json                 # one JSON line, for A/B scripts

A fresh SQLite file in a temporary folder (WAL, `synchronous=FULL`: the store's default), with
``--history`` delivered messages already in it (written straight into the tables, as months of
traffic leave them: the B-trees are deep and the page cache no longer holds them). Then the
calls the dispatcher makes for one-part messages, with its batch sizes, round after round:

* `insert_messages`, ``--insert`` per call (a batch POST of 1,000);
* `claim`, up to 500 (the runner's claim), one account;
* `mark_parts_sent`, ``--window`` parts per call (4 sessions x window 50);
* `record_outcomes`, ``--outcomes`` acceptances per call (answers collected while the last
  batch was being recorded), each with the match keys of a hex SMSC id (the emulator's);
* `record_receipts`, ``--receipts`` DELIVRD receipts per call.

With ``--vary`` the last three take batches of 1 to twice their size (seeded), as the
gateway's are: each batch size is another text for an IN list, and a prepared statement the
driver's cache may have to compile again.

Each call is one transaction and one COMMIT (no group commit: calls run one after another).
Printed per transaction: the process CPU (all threads: the store's thread does the work) and
wall time per message, statements per message (`Store.statements`), and the share of the
whole. CPU is the figure to compare; wall time includes the fsync of every COMMIT.
``--plan`` prints SQLite's EXPLAIN QUERY PLAN of the hot statements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from smppgate.store import (
    NewMessage,
    NewReceipt,
    PartAccepted,
    PlannedPart,
    ReceiptState,
    SubmitContext,
    open_store,
)
from smppgate.text.receipt import message_id_keys

T = TypeVar("T")
T0 = 1_700_000_000.0
CONTEXT = SubmitContext(node_id="bench", session_id="s1", host="127.0.0.1:2775")
ACCOUNT = "bench"
RANDOM = random.Random(15)
CALLS = ("insert_messages", "claim", "mark_parts_sent", "record_outcomes", "record_receipts")


class Meter:
    def __init__(self, store: Any) -> None:
        self.store = store
        self.cpu = dict.fromkeys(CALLS, 0.0)
        self.wall = dict.fromkeys(CALLS, 0.0)
        self.statements = dict.fromkeys(CALLS, 0)
        self.calls = dict.fromkeys(CALLS, 0)

    async def __call__(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        statements = self.store.statements
        cpu, wall = time.process_time(), time.perf_counter()
        result = await call()
        self.cpu[what] += time.process_time() - cpu
        self.wall[what] += time.perf_counter() - wall
        self.statements[what] += self.store.statements - statements
        self.calls[what] += 1
        return result


def _history(path: str, count: int) -> None:
    """``count`` delivered one-part messages, as the hot path leaves them, written straight
    into the tables (no fsync per batch: this is the set-up, not the measurement)."""
    if count <= 0:
        return
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    at = T0 - 86_400.0
    for start in range(0, count, 5000):
        messages, parts, keys, attempts, receipts = [], [], [], [], []
        for n in range(start, min(count, start + 5000)):
            mid = f"0H{n:024d}"
            smsc = format(0x10000000 + n, "x")
            t = at + n * 0.001
            number = f"7999{n % 10_000_000:07d}"
            head = (mid, ACCOUNT, "Bench", number, "hi", "gsm7", "sar", "", "delivered")
            messages.append((*head, t, t, t, 1, "ESME_ROK", 0, 1, 0))
            parts.append((mid, 1, b"hi", 0, 0, "accepted", 1, smsc, t, t, "delivered", t))
            keys.extend((k, mid, 1) for k in sorted(message_id_keys(smsc)))
            attempts.append((mid, 1, t, "bench", "s1", "127.0.0.1:2775", 0, "ESME_ROK", "accepted"))
            receipts.append((mid, 1, "delivered", f"id:{smsc} stat:DELIVRD", t, None))
        db.executemany(
            "INSERT INTO messages (id, account, source, destination, text, encoding,"
            " split_method, idempotency_scope, state, created_at, updated_at, next_attempt_at,"
            " attempts, last_status_name, last_status, part_count, uses_payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            messages,
        )
        db.executemany(
            "INSERT INTO parts (message_id, seq, short_message, esm_class, data_coding, status,"
            " attempts, smsc_message_id, sent_at, submitted_at, receipt_state, receipt_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            parts,
        )
        db.executemany("INSERT INTO match_keys (key, message_id, seq) VALUES (?, ?, ?)", keys)
        db.executemany(
            "INSERT INTO attempts (message_id, seq, at, node_id, session_id, host,"
            " command_status, status_name, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            attempts,
        )
        db.executemany(
            "INSERT INTO receipts (message_id, seq, state, raw, received_at, error_code)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            receipts,
        )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


PLANS = {
    "claim: priorities": (
        "WITH RECURSIVE p(v) AS ( SELECT (SELECT MAX(priority) FROM messages WHERE state ="
        " 'queued') UNION ALL SELECT (SELECT MAX(priority) FROM messages WHERE state = 'queued'"
        " AND priority < p.v) FROM p WHERE p.v IS NOT NULL) SELECT v FROM p"
    ),
    "claim: update": (
        "UPDATE messages SET state = 'sending', leased_by = 'n', lease_until = 1, updated_at = 1,"
        " attempts = attempts + 1 WHERE id IN (SELECT id FROM messages WHERE state = 'queued'"
        " AND priority = 0 AND next_attempt_at <= 1 AND account IN ('a') ORDER BY"
        " next_attempt_at, id LIMIT 10) RETURNING id"
    ),
    "claim: parts": "SELECT * FROM parts WHERE message_id IN ('a', 'b') ORDER BY message_id, seq",
    "outcomes: accept part": (
        "UPDATE parts SET status = 'accepted', smsc_message_id = 'x', submitted_at = 1,"
        " last_status = 0, last_status_name = 'ok' WHERE message_id = 'a' AND seq = 1"
    ),
    "outcomes: waiting receipts": (
        "SELECT k.key, r.id FROM unmatched_receipt_keys k JOIN unmatched_receipts r"
        " ON r.id = k.receipt_id WHERE k.key IN ('a', 'b') AND r.matched_message_id IS NULL"
    ),
    "settle: parts": (
        "SELECT message_id, status, receipt_state FROM parts WHERE message_id IN ('a', 'b')"
        " ORDER BY message_id, seq"
    ),
    "receipts: find": (
        "SELECT k.key, k.message_id, k.seq, p.submitted_at, m.account FROM match_keys k"
        " JOIN parts p ON p.message_id = k.message_id AND p.seq = k.seq"
        " JOIN messages m ON m.id = k.message_id WHERE k.key IN ('a', 'b')"
    ),
}


def _plans(path: str) -> dict[str, list[str]]:
    db = sqlite3.connect(path)
    plans = {
        name: [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        for name, sql in PLANS.items()
    }
    for kind in ("trigger", "index"):
        plans[f"{kind}es" if kind == "index" else f"{kind}s"] = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = ? AND tbl_name IN"
                " ('messages', 'parts', 'receipts', 'attempts', 'match_keys') ORDER BY name",
                (kind,),
            )
        ]
    db.close()
    return plans


async def run(args: argparse.Namespace, folder: str) -> dict[str, Any]:
    path = str(Path(folder) / "bench.db")
    url = f"sqlite:{path}"
    async with open_store(url):
        pass  # migrations
    if args.ddl:
        db = sqlite3.connect(path, isolation_level=None)
        for statement in args.ddl:
            db.execute(statement)
        db.close()
    _history(path, args.history)
    async with open_store(url) as store:
        meter = Meter(store)
        now = T0
        serial = 0
        left = args.messages
        while left > 0:
            size = min(left, args.round)
            left -= size
            one_part = (PlannedPart(1, b"hi"),)
            news = [
                NewMessage(ACCOUNT, "Bench", f"7900{(serial + i) % 10_000_000:07d}", "hi", one_part)
                for i in range(size)
            ]
            for start in range(0, size, args.insert):
                batch = news[start : start + args.insert]
                await meter("insert_messages", lambda b=batch, t=now: store.insert_messages(b, t))
            claimed: list[Any] = []
            while len(claimed) < size:
                got = await meter(
                    "claim", lambda t=now: store.claim("bench", 500, t + 1, 60.0, [ACCOUNT])
                )
                if not got:
                    raise SystemExit("claim found nothing")
                claimed.extend(got)
            ids = [m.id for m in claimed]
            for start, end in _batches(size, args.window, args.vary):
                marks = [(i, 1) for i in ids[start:end]]
                await meter(
                    "mark_parts_sent", lambda m=marks, t=now: store.mark_parts_sent(m, t + 1)
                )
            smsc = {mid: format(0x80000000 + serial + n, "x") for n, mid in enumerate(ids)}
            for start, end in _batches(size, args.outcomes, args.vary):
                outcomes = [
                    PartAccepted(mid, 1, smsc[mid], message_id_keys(smsc[mid]), now + 2, CONTEXT)
                    for mid in ids[start:end]
                ]
                await meter("record_outcomes", lambda o=outcomes: store.record_outcomes(o))
            for start, end in _batches(size, args.receipts, args.vary):
                receipts = [
                    NewReceipt(
                        message_id_keys(smsc[mid]),
                        f"id:{smsc[mid]} sub:001 dlvrd:001 submit date:2311141213"
                        " done date:2311141213 stat:DELIVRD err:000 text:hi",
                        ReceiptState.DELIVERED,
                        now + 3,
                        "000",
                    )
                    for mid in ids[start:end]
                ]
                matches = await meter(
                    "record_receipts", lambda r=receipts: store.record_receipts(r)
                )
                if any(m is None for m in matches):
                    raise SystemExit("a receipt found no part")
            serial += size
            now += 10.0
        counts = await store.count_by_state()
    delivered = sum(n for (account, state), n in _flat(counts) if state == "delivered")
    if delivered != args.messages + args.history:
        raise SystemExit(f"expected {args.messages + args.history} delivered, got {delivered}")
    n = args.messages
    total_cpu = sum(meter.cpu.values())
    result: dict[str, Any] = {
        "messages": n,
        "history": args.history,
        "cpu_us_per_msg": round(total_cpu / n * 1e6, 1),
        "wall_us_per_msg": round(sum(meter.wall.values()) / n * 1e6, 1),
        "statements_per_msg": round(sum(meter.statements.values()) / n, 2),
        "by_call": {
            call: {
                "calls": meter.calls[call],
                "cpu_us_per_msg": round(meter.cpu[call] / n * 1e6, 1),
                "wall_us_per_msg": round(meter.wall[call] / n * 1e6, 1),
                "statements_per_msg": round(meter.statements[call] / n, 2),
                "cpu_share": round(meter.cpu[call] / total_cpu, 3) if total_cpu else 0.0,
            }
            for call in CALLS
        },
        "db_mib": round(_size(folder) / 2**20, 1),
    }
    if args.plan:
        result["plans"] = _plans(path)
    return result


def _batches(total: int, size: int, vary: bool) -> list[tuple[int, int]]:
    """(start, end) of each batch: ``size`` each, or with ``vary`` sizes from 1 to 2 x
    ``size`` (the gateway's batches are whatever came while the last one was committing)."""
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < total:
        end = min(total, start + (RANDOM.randint(1, 2 * size) if vary else size))
        bounds.append((start, end))
        start = end
    return bounds


def _size(folder: str) -> int:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())


def _flat(counts: Any) -> list[tuple[tuple[str, str], int]]:
    """`count_by_state` as ((account, state), n) pairs, whatever its nesting."""
    flat: list[tuple[tuple[str, str], int]] = []
    for key, value in counts.items():
        if isinstance(value, dict):
            flat.extend(((key, state), int(n)) for state, n in value.items())
        else:
            state = key.value if hasattr(key, "value") else str(key)
            flat.append(((ACCOUNT, state), int(value)))
    return flat


def _extra_pragmas(pragmas: list[str]) -> None:
    """Set ``pragmas`` on the store's connection after its own (an experiment's knob)."""
    from smppgate.store import sqlite as driver

    opened = driver._open

    def _open(*args: Any) -> sqlite3.Connection:
        db = opened(*args)
        for pragma in pragmas:
            db.execute(f"PRAGMA {pragma}")
        return db

    driver._open = _open  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--history", type=int, default=20_000)
    parser.add_argument("--round", type=int, default=2000, help="messages in flight per round")
    parser.add_argument("--insert", type=int, default=1000)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--outcomes", type=int, default=50)
    parser.add_argument("--receipts", type=int, default=50)
    parser.add_argument(
        "--vary", action="store_true", help="batch sizes from 1 to twice the given (seeded)"
    )
    parser.add_argument("--plan", action="store_true", help="EXPLAIN QUERY PLAN of hot statements")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.add_argument(
        "--pragma", action="append", default=[], help="e.g. cache_size=-65536, after the store's"
    )
    parser.add_argument(
        "--ddl", action="append", default=[], help="a statement run after the migrations"
    )
    parser.add_argument("--folder", help="keep the database here (default: a temporary folder)")
    args = parser.parse_args()
    if args.pragma:
        _extra_pragmas(args.pragma)
    if args.folder:
        os.makedirs(args.folder, exist_ok=True)
        result = asyncio.run(run(args, args.folder))
    else:
        with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
            result = asyncio.run(run(args, folder))
    result["load_1min"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{result['messages']} messages on {result['history']} of history"
        f" ({result['db_mib']} MiB), load {result['load_1min']:.2f}:"
        f" CPU {result['cpu_us_per_msg']} us/msg, wall {result['wall_us_per_msg']} us/msg,"
        f" {result['statements_per_msg']} statements/msg"
    )
    print(f"{'transaction':<18} {'calls':>6} {'CPU us/msg':>11} {'share':>6} {'wall us/msg':>12}"
          f" {'stmts/msg':>10}")  # fmt: skip
    for call, row in result["by_call"].items():
        print(
            f"{call:<18} {row['calls']:>6} {row['cpu_us_per_msg']:>11} {row['cpu_share']:>6.1%}"
            f" {row['wall_us_per_msg']:>12} {row['statements_per_msg']:>10}"
        )
    for name, lines in result.get("plans", {}).items():
        print(f"\n{name}:")
        for line in lines:
            print(f"    {line}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

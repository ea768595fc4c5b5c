"""``smppgate bench client``: the client side of the shared peer benchmark (shared/bench).

Contract (shared/bench/README.md, e2e_bench.py): bind as transceiver with system_id / password
``bench``, send up to ``--count`` submit_sm (the 70-character text, registered_delivery 1,
TON/NPI 1/1 on both addresses) keeping ``--window`` outstanding, stop at the count or after
``--max-seconds``, unbind, and print ``{"event":"start"}`` once bound, then one
``{"event":"result","acked":A,"msgs_per_s":R,"cpu_s":C}`` line.

It measures the full client path: a ``SubmitSm`` value per message, the pool's routing, the
session's window and sequence numbers, the codec both ways, and results resolved through
futures (one per batch, resolved in bulk).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import deque
from typing import Any

from smppgate.client import ClientError, SessionPool, SmppAccount, SubmitOutcome, SubmitResult
from smppgate.pdu import SubmitSm
from smppgate.profiles import SMPP34, HostAddress
from smppgate.session import BindMode

SRC_ADDR = "447700900001"
DST_ADDR = "447700900123"
TEXT = b"Hello from the SMPP peer benchmark: 70 Latin characters in one part..."


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks (the shared harness's contracts)")
    sub = parser.add_subparsers(dest="bench_target", metavar="TARGET", required=True)
    client = sub.add_parser("client", help="ESME client benchmark (bench client contract)")
    client.add_argument("--host", default="127.0.0.1")
    client.add_argument("--port", type=int, default=2775)
    client.add_argument("--window", type=int, default=10)
    client.add_argument("--count", type=int, default=20000)
    client.add_argument("--max-seconds", type=float, default=10.0)
    client.add_argument("--system-id", default="bench")
    client.add_argument("--password", default="bench")
    client.add_argument("--sessions", type=int, default=1, help="trx sessions (1..4)")
    client.set_defaults(func=run_client)


# ----------------------------------------------------------- output (bench/common.py's shape)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _result(
    sent: int, acked: int, errors: int, t0: float, t1: float, cpu0: float, cpu1: float, **extra: Any
) -> None:
    elapsed = max(t1 - t0, 1e-9)
    _emit(
        {
            "event": "result",
            "client": "smppgate",
            "sent": sent,
            "acked": acked,
            "errors": errors,
            "elapsed_s": round(elapsed, 4),
            "msgs_per_s": round(acked / elapsed, 1),
            "cpu_s": round(cpu1 - cpu0, 4),
            "cpu_pct": round(100.0 * (cpu1 - cpu0) / elapsed, 1),
            **extra,
        }
    )


# ----------------------------------------------------------- the run


def run_client(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_client(args))
    except ClientError as exc:
        print(f"smppgate bench client: {exc}", file=sys.stderr)
        return 2


async def _client(args: argparse.Namespace) -> int:
    window = max(1, args.window)
    account = SmppAccount(
        args.system_id,
        args.password,
        profile=SMPP34,
        hosts=(HostAddress(args.host, args.port),),
        sessions=(BindMode.TRANSCEIVER,) * max(1, min(4, args.sessions)),
        window=window,
    )
    async with SessionPool(account) as pool:
        await pool.wait_ready(30, fail_fast=True)
        _emit({"event": "start"})
        t0 = time.perf_counter()
        cpu0 = _cpu_seconds()
        deadline = t0 + args.max_seconds
        # batches of a few windows, several in flight, so the window never runs dry
        chunk = max(64, min(2048, window * 4))
        inflight: deque[asyncio.Future[list[SubmitResult]]] = deque()
        limit = args.count
        sent = acked = errors = 0
        accepted = SubmitOutcome.ACCEPTED
        while sent < limit or inflight:
            while sent < limit and len(inflight) < 3:
                k = min(chunk, limit - sent)
                pdus = [
                    SubmitSm(
                        source_addr_ton=1,
                        source_addr_npi=1,
                        source_addr=SRC_ADDR,
                        dest_addr_ton=1,
                        dest_addr_npi=1,
                        destination_addr=DST_ADDR,
                        registered_delivery=1,
                        short_message=TEXT,
                    )
                    for _ in range(k)
                ]
                inflight.append(pool.submit_batch(pdus))
                sent += k
            results = await inflight.popleft()
            ok = sum(1 for r in results if r.outcome is accepted)
            acked += ok
            errors += len(results) - ok
            if sent < limit and time.perf_counter() > deadline:
                limit = sent
        t1 = time.perf_counter()
        cpu1 = _cpu_seconds()
    _result(sent, acked, errors, t0, t1, cpu0, cpu1, window=window)
    return 0

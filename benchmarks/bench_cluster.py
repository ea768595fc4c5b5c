"""Scale-out throughput: messages/s end to end with 1, 2 and 3 `smppgate serve` nodes sharing
one PostgreSQL database and one emulator (issue 7).

    source scripts/postgres.sh   # a local server; sets SMPPGATE_TEST_POSTGRES_URL
    python benchmarks/bench_cluster.py [--nodes 1,2,3] [--messages 20000] [--window 20]
                                       [--dlr-delay 0.05] [--profile-node]

For each N: a fresh database, one emulator (``smppgate smsc``, receipts after ``--dlr-delay``)
and N nodes, each configured with the account's 4 trx sessions (the cluster shares those 4:
with 3 nodes that is 2+1+1). When every node has a session and the cluster holds all 4, the
messages are queued through the nodes' HTTP batch APIs (1000 per request, round robin), and
the database is polled until every message is ``submitted`` (or further) and then
``delivered``. Printed per N, one JSON line:

- ``intake_s``: how long the API took to accept all messages;
- ``submit_rate``: messages/s from the first POST to the last ``submit_sm_resp`` recorded;
- ``final_rate``: messages/s from the first POST to the last receipt recorded (matched, the
  message ``delivered``, or kept among the unmatched receipts: ``unmatched`` counts those, a
  race of the PostgreSQL store between a receipt and its ``submit_sm_resp``, see
  ``benchmarks/results/cluster.md``);
- ``cpu``: CPU seconds spent meanwhile by the nodes, the emulator and the PostgreSQL backends
  serving the nodes (``postgres_backends``; the benchmark's own poller apart,
  ``postgres_poller``), with ``load`` (1-minute load average) before and after: the machine
  is shared; ``postgres_ms_per_message``: the nodes' backends' CPU per message;
- ``statements_per_message``: the SQL statements the nodes sent to PostgreSQL from the first
  POST to the last receipt (``smppgate_store_statements_total`` of every node, before and
  after; a batch run row by row counts one per row, BEGIN/COMMIT not counted), divided by
  the messages.

``--pg-stats`` (a server with ``pg_stat_statements`` loaded: ``source scripts/pg-profile.sh``)
resets the server's statistics when the first POST goes out and prints, after the run, what
the server spent per statement (nested ones too: a trigger's statements are rows of their
own, and also counted in the statement that fired them), per trigger function and per table
(rows written, HOT updates).

``--profile-node`` runs node 1 under cProfile (about 3x slower) and prints its top functions
(own time) after the run; the profile goes to ``PROFILE`` (the temp folder). Results and their
reading: ``benchmarks/results/cluster.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

SMPPGATE = Path(sys.executable).with_name("smppgate")
POSTGRES_ENV = "SMPPGATE_TEST_POSTGRES_URL"
TICK = os.sysconf("SC_CLK_TCK")
PROFILE = Path(tempfile.gettempdir()) / "smppgate-cluster-node1.prof"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


async def _backend_pids(db: asyncpg.Connection) -> list[int]:
    """The backends serving the benchmark's database (the nodes' pools and this poller)."""
    rows = await db.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return [int(r["pid"]) for r in rows]


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


async def _fresh_database(admin_url: str) -> str:
    name = f"smppgate_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


async def _drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _node_config(folder: Path, n: int, url: str, smsc: int, http: int, window: int) -> Path:
    path = folder / f"node-{n}.toml"
    path.write_text(
        f"""
node_id = "node-{n}"

[store]
url = "{url}"
lease_seconds = 30

[http]
listen = "127.0.0.1:{http}"

[log]
level = "WARNING"

[[accounts]]
name = "bench"
hosts = ["127.0.0.1:{smsc}"]
system_id = "bench"
password = "bench"
sessions = ["trx", "trx", "trx", "trx"]
window = {window}
""",
        encoding="utf-8",
    )
    return path


async def _wait_for(
    check: Callable[[], Awaitable[bool]],
    what: str,
    timeout: float,  # noqa: ASYNC109
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def _unmatched(db: asyncpg.Connection) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM unmatched_receipts WHERE matched_message_id IS NULL"
        )
    )


async def _counts(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT state, count(*) AS n FROM messages GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows}


async def run_once(
    admin_url: str,
    nodes: int,
    messages: int,
    window: int,
    dlr_delay: float,
    profile: bool,
    pg_stats: bool = False,
) -> dict[str, object]:
    url = await _fresh_database(admin_url)
    if pg_stats:
        db = await asyncpg.connect(url)
        try:
            await db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        finally:
            await db.close()
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    smsc_port, control_port = _free_port(), _free_port()
    http_ports = [_free_port() for _ in range(nodes)]
    procs: list[asyncio.subprocess.Process] = []
    emulator = await asyncio.create_subprocess_exec(
        *[
            str(SMPPGATE),
            "smsc",
            "--listen",
            f"127.0.0.1:{smsc_port}",
            "--account",
            "bench:bench",
            "--dlr-delay",
            str(dlr_delay),
            "--control",
            f"127.0.0.1:{control_port}",
            "--stats-interval",
            "0",
            "--log-level",
            "WARNING",
        ],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=(folder / "emulator.log").open("wb"),
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def bound() -> int:
                try:
                    async with http.get(f"http://127.0.0.1:{control_port}/sessions") as r:
                        sessions = await r.json()
                except aiohttp.ClientError:
                    return -1
                return sum(1 for s in sessions if s["system_id"] == "bench" and s["mode"])

            async def listening() -> bool:
                return await bound() >= 0

            await _wait_for(listening, "the emulator", 20)
            for n in range(nodes):
                config = _node_config(folder, n + 1, url, smsc_port, http_ports[n], window)
                command = [str(SMPPGATE), "serve", "--config", str(config)]
                if profile and n == 0:
                    command = [
                        sys.executable,
                        "-m",
                        "cProfile",
                        "-o",
                        str(PROFILE),
                        "-m",
                        "smppgate.cli.main",
                        "serve",
                        "--config",
                        str(config),
                    ]
                procs.append(
                    await asyncio.create_subprocess_exec(
                        *command,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=(folder / f"node-{n + 1}.log").open("wb"),
                    )
                )
                if n == 0:  # the first node migrates the fresh database
                    await _wait_for(partial(_ready, http, http_ports[0]), "node 1", 60)

            async def all_ready() -> bool:
                for port in http_ports:
                    if not await _ready(http, port):
                        return False
                return await bound() == 4

            await _wait_for(all_ready, "every node and 4 sessions", 90)
            db = await asyncpg.connect(url)
            try:
                statements_before = await _statements(http, http_ports)
                backends = {pid: _cpu_seconds([pid]) for pid in await _backend_pids(db)}
                cpu_pids = [p.pid for p in procs], [emulator.pid]
                cpu_before = [_cpu_seconds(p) for p in cpu_pids]
                load_before = _load()
                if pg_stats:
                    await db.execute("SELECT pg_stat_statements_reset(), pg_stat_reset()")
                started = time.monotonic()
                await _queue(http, http_ports, messages)
                intake = time.monotonic() - started
                submitted_at = final_at = None
                while final_at is None:
                    counts = await _counts(db)
                    done = counts.get("submitted", 0) + counts.get("delivered", 0)
                    if submitted_at is None and done >= messages:
                        submitted_at = time.monotonic() - started
                    # every receipt recorded: matched (delivered) or kept unmatched (see
                    # "unmatched" in the results: a race of the PostgreSQL store)
                    unmatched = await _unmatched(db)
                    if counts.get("delivered", 0) + unmatched >= messages:
                        final_at = time.monotonic() - started
                    elif time.monotonic() - started > 600:
                        raise TimeoutError(f"not finished after 600 s: {counts}")
                    else:
                        # each poll scans the messages: not too often, it costs the database
                        await asyncio.sleep(0.25)
                cpu_after = [_cpu_seconds(p) for p in cpu_pids]
                # backends opened during the run count whole (the pools grow under load)
                # the benchmark's own poller (a scan of messages every 0.25 s) apart
                poller = db.get_server_pid()
                backend_cpu = sum(
                    _cpu_seconds([pid]) - backends.get(pid, 0.0)
                    for pid in await _backend_pids(db)
                    if pid != poller
                )
                poller_cpu = _cpu_seconds([poller]) - backends.get(poller, 0.0)
                assert submitted_at is not None
                nodes_by = {
                    r["node_id"]: int(r["n"])
                    for r in await db.fetch(
                        "SELECT node_id, count(*) AS n FROM attempts GROUP BY node_id"
                    )
                }
                statements = await _statements(http, http_ports) - statements_before
                if pg_stats:
                    await _print_pg_stats(db, messages)
            finally:
                await db.close()
        return {
            "bench": "cluster",
            "nodes": nodes,
            "messages": messages,
            "window": window,
            "dlr_delay": dlr_delay,
            "intake_s": round(intake, 2),
            "submitted_s": round(submitted_at, 2),
            "final_s": round(final_at, 2),
            "submit_rate": round(messages / submitted_at),
            "final_rate": round(messages / final_at),
            "cpu": {
                "nodes": round(cpu_after[0] - cpu_before[0], 1),
                "emulator": round(cpu_after[1] - cpu_before[1], 1),
                "postgres_backends": round(backend_cpu, 1),
                "postgres_poller": round(poller_cpu, 1),
            },
            "postgres_ms_per_message": round(backend_cpu / messages * 1000, 3),
            "statements_per_message": round(statements / messages, 2),
            "unmatched": unmatched,
            "sends_by_node": dict(sorted(nodes_by.items())),
            "load": [load_before, _load()],
        }
    finally:
        for proc in [*procs, emulator]:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await _drop_database(admin_url, url)


async def _print_pg_stats(db: asyncpg.Connection, messages: int) -> None:
    """What the server spent since the reset, per statement, trigger function and table
    (to stderr, after the run; the JSON line stays the only thing on stdout)."""
    out = sys.stderr
    rows = await db.fetch(
        "SELECT s.toplevel, s.calls, s.rows, s.total_exec_time, s.total_plan_time, s.plans,"
        " s.query FROM pg_stat_statements s"
        " WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " ORDER BY s.total_exec_time + s.total_plan_time DESC"
    )
    top = sum(r["total_exec_time"] + r["total_plan_time"] for r in rows if r["toplevel"])
    print(f"\n## statements (top level: {top / messages * 1000:.0f} us/message)", file=out)
    print("| level | calls | rows | exec ms | plan ms (plans) | us/message | query |", file=out)
    print("|---|---:|---:|---:|---:|---:|---|", file=out)
    for r in rows[:40]:
        spent = r["total_exec_time"] + r["total_plan_time"]
        query = " ".join(r["query"].split())[:160].replace("|", "\\|")
        print(
            f"| {'top' if r['toplevel'] else 'nested'} | {r['calls']} | {r['rows']}"
            f" | {r['total_exec_time']:.0f} | {r['total_plan_time']:.0f} ({r['plans']})"
            f" | {spent / messages * 1000:.1f} | `{query}` |",
            file=out,
        )
    print("\n## functions (triggers)", file=out)
    print("| function | calls | total ms | self ms | us/message |", file=out)
    print("|---|---:|---:|---:|---:|", file=out)
    for r in await db.fetch(
        "SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions"
        " ORDER BY total_time DESC"
    ):
        print(
            f"| {r['funcname']} | {r['calls']} | {r['total_time']:.0f} | {r['self_time']:.0f}"
            f" | {r['total_time'] / messages * 1000:.1f} |",
            file=out,
        )
    # the table counters reach the view when a backend reports them (at most every second,
    # or when it goes idle)
    await asyncio.sleep(1.5)
    print("\n## tables", file=out)
    header = "| table | inserted | updated | of which HOT | deleted | seq scans | index scans |"
    print(header, file=out)
    print("|---|---:|---:|---:|---:|---:|---:|", file=out)
    for r in await db.fetch(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, seq_scan, idx_scan"
        " FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
        " ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC"
    ):
        print(
            f"| {r['relname']} | {r['n_tup_ins']} | {r['n_tup_upd']} | {r['n_tup_hot_upd']}"
            f" | {r['n_tup_del']} | {r['seq_scan']} | {r['idx_scan']} |",
            file=out,
        )


async def _statements(http: aiohttp.ClientSession, ports: list[int]) -> int:
    """The statements every node has sent to the store (its metrics are cached for a second:
    waited out first, so the figure is the node's count now)."""
    await asyncio.sleep(1.1)
    total = 0.0
    for port in ports:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as r:
            text = await r.text()
        for line in text.splitlines():
            if line.startswith("smppgate_store_statements_total "):
                total += float(line.split()[1])
    return int(total)


async def _ready(http: aiohttp.ClientSession, port: int) -> bool:
    try:
        async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def _queue(http: aiohttp.ClientSession, ports: list[int], messages: int) -> None:
    """POST the messages, 1000 per request, round robin over the nodes, one request in flight
    per node."""

    async def post(port: int, starts: list[int]) -> None:
        for start in starts:
            batch = [
                {"to": f"7900{i:07d}", "from": "Bench", "text": f"benchmark message {i}"}
                for i in range(start, min(start + 1000, messages))
            ]
            async with http.post(
                f"http://127.0.0.1:{port}/v1/messages/batch", json={"messages": batch}
            ) as r:
                if r.status != 202:
                    raise RuntimeError(f"batch refused: {r.status} {await r.text()}")

    starts = list(range(0, messages, 1000))
    await asyncio.gather(*(post(port, starts[i :: len(ports)]) for i, port in enumerate(ports)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", default="1,2,3", help="comma-separated node counts")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--window", type=int, default=20)
    parser.add_argument("--dlr-delay", type=float, default=0.05)
    parser.add_argument("--profile-node", action="store_true", help="cProfile node 1")
    parser.add_argument(
        "--pg-stats",
        action="store_true",
        help="print the server's time per statement, trigger and table (pg_stat_statements)",
    )
    args = parser.parse_args()
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        sys.exit(f"{POSTGRES_ENV} is not set: `source scripts/postgres.sh` first")
    for nodes in (int(n) for n in args.nodes.split(",")):
        result = asyncio.run(
            run_once(
                admin_url,
                nodes,
                args.messages,
                args.window,
                args.dlr_delay,
                args.profile_node,
                args.pg_stats,
            )
        )
        print(json.dumps(result), flush=True)
        if args.profile_node:
            stats = pstats.Stats(str(PROFILE))
            stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

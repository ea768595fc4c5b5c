"""SMPP front door throughput: one application bind, a pipelined raw client over 127.0.0.1.

    python benchmarks/bench_front_door.py [--seconds 5] [--window 100] [--store URL]
    python benchmarks/bench_front_door.py --reference   # node's smpp server, same client
    python benchmarks/bench_front_door.py --no-upstream # the front door alone, dispatch idle

Starts the platform emulator (``smppgate smsc``, receipts after 0 s) and ``smppgate serve``
with an ``[smpp_server]`` user, binds one transceiver as that user, keeps ``--window`` one-part
submit_sm (registered_delivery 1) in flight for ``--seconds``, answers every deliver_sm, and
prints one JSON line: submit_sm accepted durably per second (each answered only after its
commit) and, once the run stops submitting, receipts back per second (application submit ->
upstream -> receipt back to the application), the gateway's CPU per message (robust where
rates move with the machine's load) and the 1-minute load average.

``--reference`` runs the same client against node's ``smpp`` server (tests/interop/node),
which answers from memory: the non-durable reference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from raw_client import TEXT, connect, free_port, submits, wait_port
from smppgate.pdu import SubmitSm

HERE = Path(__file__).resolve().parent
SMPPGATE = Path(sys.executable).with_name("smppgate")
NODE_SERVER = HERE.parent / "tests" / "interop" / "node" / "smsc_server.js"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _submit(seq: int) -> SubmitSm:
    return SubmitSm(
        source_addr_ton=5,
        source_addr_npi=0,
        source_addr="Bench",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=f"7900{seq % 10_000_000:07d}",
        registered_delivery=1,
        short_message=TEXT,
    )


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process (0 where /proc is missing)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def _run(
    port: int,
    window: int,
    seconds: float,
    user: tuple[str, str],
    *,
    receipts: bool = True,
    server: int | None = None,
) -> dict[str, object]:
    client = await connect(port, submits(_submit), window, *user)
    cpu_start = _cpu_seconds(server)
    started = client.start(seconds)
    await asyncio.wait_for(client.done, seconds + 60)
    elapsed = time.perf_counter() - started
    cpu_accepting = _cpu_seconds(server) - cpu_start
    accepted = client.acked - client.refused
    # receipts: wait (bounded) until every accepted message's receipt came back
    wait_until = time.perf_counter() + (max(30.0, seconds * 10) if receipts else 0.0)
    while client.receipts < accepted and time.perf_counter() < wait_until:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    end_to_end = time.perf_counter() - started
    cpu_total = _cpu_seconds(server) - cpu_start
    assert client.transport is not None
    client.transport.close()
    result: dict[str, object] = {
        "submitted": client.acked,
        "refused": client.refused,
        "accepted_per_s": round(accepted / elapsed, 1),
        "receipts": client.receipts,
        "end_to_end_per_s": round(client.receipts / end_to_end, 1),
    }
    if server is not None:
        # the server's CPU while the application submitted (dispatch included) per message
        # accepted, and over the whole run per message accepted: robust where rates are not
        result["server_cpu_s"] = round(cpu_total, 2)
        result["cpu_ms_per_accepted_while_submitting"] = round(
            1000 * cpu_accepting / max(accepted, 1), 3
        )
        result["cpu_ms_per_message"] = round(1000 * cpu_total / max(accepted, 1), 3)
    return result


def _gateway(tmp: Path, store: str | None, upstream: int, door: int) -> Path:
    config = tmp / "gw.toml"
    config.write_text(
        f"""
[store]
url = "{store or f"sqlite:///{tmp}/gw.db"}"

[http]
listen = "127.0.0.1:{free_port()}"

[[accounts]]
name = "bench"
profile = "devino-promo"
hosts = ["127.0.0.1:{upstream}"]
system_id = "bench"
password = "bench"
sessions = ["trx", "trx"]
window = 100

[smpp_server]
listen = "127.0.0.1:{door}"
window = 100

[[smpp_server.users]]
system_id = "app"
password = "app"
account = "bench"
""",
        encoding="utf-8",
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--store", help="store URL (default: SQLite in a temporary folder)")
    parser.add_argument("--reference", action="store_true", help="node's smpp server instead")
    parser.add_argument(
        "--no-upstream",
        action="store_true",
        help="no emulator (the dispatcher idle): the front door alone, no receipts",
    )
    args = parser.parse_args()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            if args.reference:
                port = free_port()
                node = ["node", str(NODE_SERVER), "--port", str(port)]
                processes.append(subprocess.Popen(node, stdout=subprocess.DEVNULL))
                wait_port(port)
                result = asyncio.run(_run(port, args.window, args.seconds, ("bench", "bench")))
                result.pop("receipts")
                result.pop("end_to_end_per_s")
                name = "front_door_reference_node"
            else:
                upstream, door = free_port(), free_port()
                emulator = [str(SMPPGATE), "smsc", "--listen", f"127.0.0.1:{upstream}",
                            "--account", "bench:bench", "--dlr-delay", "0",
                            "--stats-interval", "0", "--log-level", "WARNING"]  # fmt: skip
                if not args.no_upstream:
                    processes.append(subprocess.Popen(emulator))
                    wait_port(upstream)
                config = _gateway(tmp, args.store, upstream, door)
                serve = [str(SMPPGATE), "serve", "--config", str(config), "--log-level", "WARNING"]
                with (tmp / "gateway.log").open("wb") as log:
                    processes.append(subprocess.Popen(serve, stderr=log))
                wait_port(door)
                result = asyncio.run(
                    _run(
                        door,
                        args.window,
                        args.seconds,
                        ("app", "app"),
                        receipts=not args.no_upstream,
                        server=processes[-1].pid,
                    )
                )
                name = "front_door_alone" if args.no_upstream else "front_door"
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(30)
    load = round(os.getloadavg()[0], 2)
    print(json.dumps({"bench": name, "window": args.window, **result, "load_1m": load}))


if __name__ == "__main__":
    main()

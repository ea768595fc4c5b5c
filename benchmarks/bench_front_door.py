"""SMPP front door throughput: one application bind, a pipelined raw client over 127.0.0.1.

    python benchmarks/bench_front_door.py [--seconds 5] [--window 100] [--store URL]
    python benchmarks/bench_front_door.py --reference   # node's smpp server, same client

Starts the platform emulator (``smppgate smsc``, receipts after 0 s) and ``smppgate serve``
with an ``[smpp_server]`` user, binds one transceiver as that user, keeps ``--window`` one-part
submit_sm (registered_delivery 1) in flight for ``--seconds``, answers every deliver_sm, and
prints one JSON line: submit_sm accepted durably per second (each answered only after its
commit) and, once the run stops submitting, receipts back per second (application submit ->
upstream -> receipt back to the application).

``--reference`` runs the same client against node's ``smpp`` server (tests/interop/node),
which answers from memory: the non-durable reference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def _run(
    port: int, window: int, seconds: float, user: tuple[str, str], *, receipts: bool = True
) -> dict[str, object]:
    client = await connect(port, submits(_submit), window, *user)
    started = client.start(seconds)
    await asyncio.wait_for(client.done, seconds + 60)
    elapsed = time.perf_counter() - started
    accepted = client.acked - client.refused
    # receipts: wait (bounded) until every accepted message's receipt came back
    wait_until = time.perf_counter() + (max(30.0, seconds * 10) if receipts else 0.0)
    while client.receipts < accepted and time.perf_counter() < wait_until:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    end_to_end = time.perf_counter() - started
    assert client.transport is not None
    client.transport.close()
    return {
        "submitted": client.acked,
        "refused": client.refused,
        "accepted_per_s": round(accepted / elapsed, 1),
        "receipts": client.receipts,
        "end_to_end_per_s": round(client.receipts / end_to_end, 1),
    }


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
                processes.append(subprocess.Popen(emulator))
                wait_port(upstream)
                config = _gateway(tmp, args.store, upstream, door)
                serve = [str(SMPPGATE), "serve", "--config", str(config), "--log-level", "WARNING"]
                with (tmp / "gateway.log").open("wb") as log:
                    processes.append(subprocess.Popen(serve, stderr=log))
                wait_port(door)
                result = asyncio.run(_run(door, args.window, args.seconds, ("app", "app")))
                name = "front_door"
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(30)
    print(json.dumps({"bench": name, "window": args.window, **result}))


if __name__ == "__main__":
    main()

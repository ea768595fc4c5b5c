"""Emulator submit throughput: a pipelined raw client against the emulator over 127.0.0.1.

    python benchmarks/bench_emulator.py [--seconds 3] [--window 100] [--dlr]

Starts ``smppgate smsc`` in a subprocess (``--no-dlr`` unless ``--dlr``), binds as
transceiver with ``bench:bench``, keeps ``--window`` submit_sm (pre-encoded, 70 characters,
registered_delivery 1) in flight, answers every deliver_sm with status 0, and prints one JSON
line with submits acknowledged per second.

For the side-by-side comparison with the peers' servers (node ``smpp``, smpp34) use the shared
harness, which drives every server with the same raw client in one run:

    cd ../shared/bench && \\
      PROJECT_SERVER_CMD='/abs/path/.venv/bin/smppgate smsc --listen {host}:{port} \\
        --account bench:bench --no-dlr --stats-interval 0' QUICK=1 bash run_all.sh

Results of such runs: benchmarks/results/emulator.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from raw_client import TEXT, connect, free_port, submits
from smppgate.pdu import SubmitSm

HERE = Path(__file__).resolve().parent
SMPPGATE = Path(sys.executable).with_name("smppgate")


def _submit(seq: int) -> SubmitSm:
    return SubmitSm(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="79000000001",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="79001234567",
        registered_delivery=1,
        short_message=TEXT,
    )


async def _run(port: int, window: int, seconds: float) -> dict[str, object]:
    client = await connect(port, submits(_submit), window, "bench", "bench")
    started = client.start(seconds)
    await asyncio.wait_for(client.done, seconds + 30)
    elapsed = time.perf_counter() - started
    assert client.transport is not None
    client.transport.close()
    return {"acked": client.acked, "msgs_per_s": round(client.acked / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--dlr", action="store_true", help="receipts on (delay 0)")
    args = parser.parse_args()
    port = free_port()
    command = [
        str(SMPPGATE),
        "smsc",
        "--listen",
        f"127.0.0.1:{port}",
        "--account",
        "bench:bench",
        "--stats-interval",
        "0",
        "--log-level",
        "WARNING",
    ]
    command += ["--dlr-delay", "0"] if args.dlr else ["--no-dlr"]
    server = subprocess.Popen(command)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        result = asyncio.run(_run(port, args.window, args.seconds))
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps({"bench": "emulator", "window": args.window, "receipts": args.dlr, **result}))


if __name__ == "__main__":
    main()

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

from smppgate.pdu import BindTransceiver, SubmitSm, encode

HERE = Path(__file__).resolve().parent
SMPPGATE = Path(sys.executable).with_name("smppgate")
TEXT = b"Benchmark message number one, seventy characters long, for SMPP tests!"[:70]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Client(asyncio.Protocol):
    def __init__(self, window: int, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self.window = window
        self.seconds = seconds
        self.bound = loop.create_future()
        self.done = loop.create_future()
        self.buffer = b""
        self.acked = 0
        self.deadline = 0.0
        self.transport: asyncio.Transport | None = None
        self.ring = [
            encode(
                SubmitSm(
                    source_addr_ton=1,
                    source_addr_npi=1,
                    source_addr="79000000001",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr="79001234567",
                    registered_delivery=1,
                    short_message=TEXT,
                ),
                seq,
            )
            for seq in range(2, 2 + 4096)
        ]
        self.next = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(encode(BindTransceiver(system_id="bench", password="bench"), 1))

    def send(self, count: int) -> None:
        assert self.transport is not None
        out = []
        for _ in range(count):
            out.append(self.ring[self.next])
            self.next = (self.next + 1) % len(self.ring)
        self.transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        position, answered, out = 0, 0, []
        while len(buffer) - position >= 16:
            length = int.from_bytes(buffer[position : position + 4], "big")
            if len(buffer) - position < length:
                break
            command_id = buffer[position + 4 : position + 8]
            if command_id == b"\x80\x00\x00\x09":
                self.bound.set_result(None)
            elif command_id == b"\x80\x00\x00\x04":
                answered += 1
            elif command_id == b"\x00\x00\x00\x05":  # deliver_sm: answer with status 0
                seq = buffer[position + 12 : position + 16]
                out.append(b"\x00\x00\x00\x11\x80\x00\x00\x05\x00\x00\x00\x00" + seq + b"\x00")
            position += length
        self.buffer = buffer[position:]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        if answered:
            self.acked += answered
            if time.perf_counter() < self.deadline:
                self.send(answered)
            elif not self.done.done():
                self.done.set_result(None)


async def _run(port: int, window: int, seconds: float) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: _Client(window, seconds), "127.0.0.1", port)
    await asyncio.wait_for(client.bound, 10)
    started = time.perf_counter()
    client.deadline = started + seconds
    client.send(window)
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
    port = _free_port()
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

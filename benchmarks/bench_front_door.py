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
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smppgate.pdu import BindTransceiver, SubmitSm, encode

HERE = Path(__file__).resolve().parent
SMPPGATE = Path(sys.executable).with_name("smppgate")
NODE_SERVER = HERE.parent / "tests" / "interop" / "node" / "smsc_server.js"
TEXT = b"Benchmark message number one, seventy characters long, for SMPP tests!"[:70]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class _Client(asyncio.Protocol):
    def __init__(self, window: int, system_id: str, password: str) -> None:
        loop = asyncio.get_running_loop()
        self.window = window
        self.system_id = system_id
        self.password = password
        self.bound = loop.create_future()
        self.done = loop.create_future()
        self.buffer = b""
        self.acked = 0
        self.refused = 0
        self.receipts = 0
        self.submitting = True
        self.deadline = 0.0
        self.transport: asyncio.Transport | None = None
        self.ring = [
            encode(
                SubmitSm(
                    source_addr_ton=5,
                    source_addr_npi=0,
                    source_addr="Bench",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr=f"7900{seq % 10_000_000:07d}",
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
        transport.write(
            encode(BindTransceiver(system_id=self.system_id, password=self.password), 1)
        )

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
                self.bound.set_result(buffer[position + 8 : position + 12])
            elif command_id == b"\x80\x00\x00\x04":
                answered += 1
                if buffer[position + 8 : position + 12] != b"\x00\x00\x00\x00":
                    self.refused += 1
            elif command_id == b"\x00\x00\x00\x05":  # deliver_sm: answer with status 0
                seq = buffer[position + 12 : position + 16]
                out.append(b"\x00\x00\x00\x11\x80\x00\x00\x05\x00\x00\x00\x00" + seq + b"\x00")
                self.receipts += 1
            position += length
        self.buffer = buffer[position:]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        if answered:
            self.acked += answered
            if self.submitting and time.perf_counter() < self.deadline:
                self.send(answered)
            elif self.submitting:
                self.submitting = False
                self.done.set_result(None)


async def _run(
    port: int, window: int, seconds: float, user: tuple[str, str], *, receipts: bool = True
) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: _Client(window, *user), "127.0.0.1", port)
    status = await asyncio.wait_for(client.bound, 10)
    assert status == b"\x00\x00\x00\x00", f"bind refused: {status.hex()}"
    started = time.perf_counter()
    client.deadline = started + seconds
    client.send(window)
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
listen = "127.0.0.1:{_free_port()}"

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
                port = _free_port()
                node = ["node", str(NODE_SERVER), "--port", str(port)]
                processes.append(subprocess.Popen(node, stdout=subprocess.DEVNULL))
                _wait_port(port)
                result = asyncio.run(_run(port, args.window, args.seconds, ("bench", "bench")))
                result.pop("receipts")
                result.pop("end_to_end_per_s")
                name = "front_door_reference_node"
            else:
                upstream, door = _free_port(), _free_port()
                emulator = [str(SMPPGATE), "smsc", "--listen", f"127.0.0.1:{upstream}",
                            "--account", "bench:bench", "--dlr-delay", "0",
                            "--stats-interval", "0", "--log-level", "WARNING"]  # fmt: skip
                processes.append(subprocess.Popen(emulator))
                _wait_port(upstream)
                config = _gateway(tmp, args.store, upstream, door)
                serve = [str(SMPPGATE), "serve", "--config", str(config), "--log-level", "WARNING"]
                with (tmp / "gateway.log").open("wb") as log:
                    processes.append(subprocess.Popen(serve, stderr=log))
                _wait_port(door)
                result = asyncio.run(_run(door, args.window, args.seconds, ("app", "app")))
                name = "front_door"
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(30)
    print(json.dumps({"bench": name, "window": args.window, **result}))


if __name__ == "__main__":
    main()

"""HTTP intake alone: single ``POST /v1/messages`` from raw keep-alive clients, no SMSC.

    python benchmarks/bench_http.py [--messages 6000] [--clients 16] [--rounds 3]
        [--serve-script FILE.py]

Starts ``smppgate serve`` on a fresh SQLite file (WAL, ``synchronous=FULL``) with one account
whose SMSC address refuses connections, so nothing is dispatched: the gateway's CPU is the
HTTP server, the middlewares, validation and splitting, the store's insert and its commit
groups. ``--clients`` connections each keep one request in flight (pre-encoded, parsed by
hand: the load generator costs a few microseconds per request, unlike aiohttp's client), so
the figures are the gateway's. Each round prints one JSON line: accepted/s, the gateway's CPU
per request (milliseconds), split into the event loop's thread and the others (the store's
thread), user and system time, and the 1-minute load average.

``--serve-script FILE.py`` runs that file instead of ``-m smppgate.cli.main`` (A/B against
another tree: a file that puts that tree's ``src`` first on ``sys.path``).

Results: benchmarks/results/http.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _threads(pid: int) -> dict[str, tuple[float, float]]:
    """(user, system) CPU seconds of the event loop's thread ("loop") and all others."""
    out = {"loop": (0.0, 0.0), "other": (0.0, 0.0)}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        name = "loop" if task.name == str(pid) else "other"
        user, system = out[name]
        out[name] = (user + int(fields[11]) / TICKS, system + int(fields[12]) / TICKS)
    return out


class _Client(asyncio.Protocol):
    """One keep-alive connection with one request in flight at a time."""

    def __init__(self, port: int, numbers: list[int], count: int, done: asyncio.Future[None]):
        self.port = port
        self.numbers = numbers  # shared: [next message number]
        self.count = count
        self.done = done
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        i = self.numbers[0]
        if i >= self.count:
            self.transport.close()
            if not self.done.done():
                self.done.set_result(None)
            return
        self.numbers[0] += 1
        body = json.dumps(
            {"to": f"7900{i:07d}", "from": "Bench", "text": f"Benchmark message {i}"}
        ).encode()
        self.transport.write(
            b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (self.port, len(body), body)
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            if head[9:12] not in (b"200", b"202"):
                sys.exit(f"the gateway answered {head[:12]!r}: {rest[:300]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line[15:])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self._send()


async def _load(port: int, count: int, clients: int) -> None:
    loop = asyncio.get_running_loop()
    numbers = [0]
    done = []
    for _ in range(clients):
        finished: asyncio.Future[None] = loop.create_future()
        done.append(finished)
        await loop.create_connection(
            lambda f=finished: _Client(port, numbers, count, f),  # type: ignore[misc]
            "127.0.0.1",
            port,
        )
    await asyncio.gather(*done)


def _config(folder: Path, http_port: int) -> Path:
    path = folder / "gateway.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{folder}/gateway.db"

[http]
listen = "127.0.0.1:{http_port}"

[[accounts]]
name = "bench"
hosts = ["127.0.0.1:{_free_port()}"]
system_id = "bench"
password = "bench"
sessions = ["trx"]
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=6000, help="single POSTs per round")
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-script", metavar="FILE.py", help="run this instead of smppgate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        folder = Path(tmp)
        port = _free_port()
        config = _config(folder, port)
        serve = [sys.executable]
        serve += [args.serve_script] if args.serve_script else ["-m", "smppgate.cli.main"]
        serve += ["serve", "--config", str(config), "--log-level", "ERROR"]
        gateway = subprocess.Popen(serve, stderr=(folder / "gateway.log").open("ab"))
        try:
            deadline = time.monotonic() + 60
            while not _listening(port):
                if gateway.poll() is not None or time.monotonic() > deadline:
                    sys.exit("the gateway did not start; see its log")
                time.sleep(0.05)
            asyncio.run(_load(port, 300, 4))  # warm-up
            for _ in range(args.rounds):
                load = round(os.getloadavg()[0], 2)
                before = _threads(gateway.pid)
                started = time.perf_counter()
                asyncio.run(_load(port, args.messages, args.clients))
                took = time.perf_counter() - started
                after = _threads(gateway.pid)
                per = {
                    name: [
                        round(1000 * (after[name][k] - before[name][k]) / args.messages, 3)
                        for k in (0, 1)
                    ]
                    for name in after
                }
                cpu = sum(sum(v) for v in per.values())
                print(json.dumps({"bench": "http", "messages": args.messages,
                                  "clients": args.clients,
                                  "accepted_per_s": round(args.messages / took, 1),
                                  "cpu_ms_per_request": round(cpu, 3),
                                  "user_sys_ms_per_request": per, "load_before": load,
                                  "load_after": round(os.getloadavg()[0], 2)}),
                      flush=True)  # fmt: skip
        finally:
            gateway.send_signal(signal.SIGTERM)
            try:
                gateway.wait(60)
            except subprocess.TimeoutExpired:
                gateway.kill()


if __name__ == "__main__":
    main()

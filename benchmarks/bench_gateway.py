"""The whole gateway on one node with SQLite: API intake, end to end to receipts, send-bulk.

    python benchmarks/bench_gateway.py [--quick] [--single N] [--clients C] [--batch N]
        [--bulk N] [--sessions 4] [--window 50] [--dlr-delay 0] [--profile FILE.prof]
        [--webhook] [--webhook-per-host N]

Starts the platform emulator (``smppgate smsc``, receipts on, its own process so that it does
not share the gateway's core) and ``smppgate serve`` on a fresh SQLite database in a
temporary folder, both on 127.0.0.1, then runs three phases one after the other:

``api_single``
    ``--single`` messages, one ``POST /v1/messages`` each, from ``--clients`` concurrent
    keep-alive HTTP clients: accepted/s (every 2xx means committed to disk).
``api_batch``
    ``--batch`` messages as ``POST /v1/messages/batch`` of ``--batch-size``, from
    ``--batch-clients`` concurrent clients: accepted/s.
``send_bulk``
    a ``--bulk``-row CSV queued by ``smppgate send-bulk`` (a separate process, straight to the
    same SQLite file while the gateway runs): rows/s queued (the command's wall time,
    interpreter start included).

After each phase it waits until every message of the phase is ``delivered`` (the SMSC's
receipt matched and stored) and reports the end-to-end rate: messages / (last delivered -
first accepted). Completion is read from the SQLite file by this process (read-only, WAL), so
the gateway's own store lock is not involved. Every message is a 20-odd character GSM 03.38
text: one part, one submit_sm, one receipt.

``--webhook``: every message asks for a callback (``callback_url`` in the API phases, the
account's ``default_callback_url`` for send-bulk) to a receiver on 127.0.0.1 in its own
process (a small keep-alive HTTP/1.1 server on asyncio, uvloop where installed, answering
``200``; it counts distinct messages whose ``message.status`` says ``final``). The end to end
figure is then until the receiver holds a final callback for every message of the phase
(``store_e2e_per_s``: until every one was ``delivered`` in the store, as without the option);
``receiver_cpu_s`` is the receiver's CPU. ``--webhook-per-host N`` sets ``[webhooks]
per_host`` (and ``workers``, when smaller) instead of the gateway's defaults.

Each phase prints one JSON line: counts, rates, the 1-minute load average before and after,
and the CPU seconds the gateway and the emulator used in the phase (Linux /proc). Durability
is the store's default (WAL, ``synchronous=FULL``: every committed transaction is fsynced).

``--serve-script FILE.py`` runs that file instead of ``-m smppgate.cli.main`` (same arguments):
a way to try a patched gateway against the same load. ``--profile FILE.prof`` runs the gateway
under cProfile (written when it stops; read it with
``python -m pstats``). For a sampling profile of a running gateway use
``--hold`` and ``py-spy record --pid PID`` (the pid is printed).

Results: benchmarks/results/gateway.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

SMPPGATE = Path(sys.executable).with_name("smppgate")
OPEN_STATES = ("queued", "sending", "submitted")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (None where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _wait_port(port: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"nothing listens on 127.0.0.1:{port} after {within} s")


def _message(i: int, callback: str | None = None) -> dict[str, str]:
    message = {"to": f"7900{i:07d}", "from": "Bench", "text": f"Benchmark message {i}"}
    if callback is not None:
        message["callback_url"] = callback
    return message


@dataclass
class Processes:
    """The servers' pids, for the CPU figures."""

    gateway: int
    emulator: int
    receiver: int | None = None
    marks: dict[str, float | None] = field(default_factory=dict)

    def _pids(self) -> list[tuple[str, int]]:
        pids = [("gateway", self.gateway), ("emulator", self.emulator)]
        return pids + ([("receiver", self.receiver)] if self.receiver else [])

    def mark(self) -> None:
        self.marks = {name: _cpu_seconds(pid) for name, pid in self._pids()}

    def used(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for name, pid in self._pids():
            now, before = _cpu_seconds(pid), self.marks.get(name)
            out[f"{name}_cpu_s"] = None if now is None or before is None else round(now - before, 2)
        return out


class Progress:
    """Message counts by state, read from the SQLite file (read-only) by this process."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def counts(self) -> tuple[int, int, int]:
        """(all messages, open ones, delivered ones)."""
        total = self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        marks = ", ".join("?" * len(OPEN_STATES))
        open_ = self._db.execute(
            f"SELECT COUNT(*) FROM messages WHERE state IN ({marks})", OPEN_STATES
        ).fetchone()[0]
        delivered = self._db.execute(
            "SELECT COUNT(*) FROM messages WHERE state = 'delivered'"
        ).fetchone()[0]
        return int(total), int(open_), int(delivered)

    async def until_final(self, expected: int, stall: float = 60.0) -> tuple[float, int]:
        """Wait until ``expected`` messages exist and none is open; (when, delivered)."""
        last, since = -1, time.monotonic()
        while True:
            total, open_, delivered = self.counts()
            now = time.monotonic()
            if total >= expected and open_ == 0:
                return now, delivered
            if delivered != last:
                last, since = delivered, now
            elif now - since > stall:
                sys.exit(f"no progress for {stall:.0f} s: {total} messages, {open_} open")
            await asyncio.sleep(0.1)

    def close(self) -> None:
        self._db.close()


# ------------------------------------------------------------------ the webhook receiver


class _Receiver(asyncio.Protocol):
    """One connection of the receiver: requests with a Content-Length body, answered 200."""

    seen: set[str] = set()
    requests = 0
    last = 0.0

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # uvloop's is not an asyncio.Transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.startswith(b"content-length:"):
                    length = int(line[15:])
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            assert self._transport is not None
            if head.startswith(b"get /stats"):
                stats = json.dumps({"count": len(_Receiver.seen), "requests": _Receiver.requests,
                                    "last": _Receiver.last}).encode()  # fmt: skip
                head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(stats)
                self._transport.write(head + stats)
                continue
            _Receiver.requests += 1
            event = json.loads(body)
            if event.get("event") == "message.status" and event["message"]["final"]:
                key = event["message"]["id"]
                if key not in _Receiver.seen:
                    _Receiver.seen.add(key)
                    _Receiver.last = time.monotonic()
            self._transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def _receiver_main(port: int) -> None:
    """The webhook receiver (its own process): POSTs are callbacks; ``GET /stats`` answers
    ``{"count": distinct final messages, "requests": n, "last": monotonic time of the last}``."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Receiver, "127.0.0.1", port, backlog=4096)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


async def _callbacks(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return dict(await response.json(content_type=None))


async def until_callbacks(url: str, expected: int, stall: float = 60.0) -> tuple[float, int]:
    """Wait until the receiver holds ``expected`` final callbacks; (monotonic time of the
    last one, requests received)."""
    last, since = -1, time.monotonic()
    while True:
        stats = await _callbacks(url)
        if stats["count"] >= expected:
            return float(stats["last"]), int(stats["requests"])
        now = time.monotonic()
        if stats["count"] != last:
            last, since = stats["count"], now
        elif now - since > stall:
            sys.exit(f"no callback for {stall:.0f} s: {stats['count']} of {expected}")
        await asyncio.sleep(0.05)


async def _post(http: aiohttp.ClientSession, url: str, body: object) -> Any:
    async with http.post(url, json=body) as response:
        if response.status not in (200, 202):
            sys.exit(f"POST {url} -> {response.status}: {await response.text()}")
        return await response.json()


async def api_single(
    base: str, first: int, count: int, clients: int, callback: str | None = None
) -> float:
    """``count`` single POSTs from ``clients`` workers; returns the seconds taken."""
    numbers = iter(range(first, first + count))
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            for i in numbers:
                await _post(http, f"{base}/v1/messages", _message(i, callback))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - started


async def api_batch(
    base: str, first: int, count: int, size: int, clients: int, callback: str | None = None
) -> float:
    batches = iter(range(first, first + count, size))
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            for start in batches:
                end = min(start + size, first + count)
                body = {"messages": [_message(i, callback) for i in range(start, end)]}
                await _post(http, f"{base}/v1/messages/batch", body)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - started


def _write_csv(path: Path, first: int, count: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["to", "text", "from"])
        for i in range(first, first + count):
            m = _message(i)
            writer.writerow([m["to"], m["text"], m["from"]])


async def send_bulk(config: Path, csv_path: Path, batch_size: int) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        str(SMPPGATE), "send-bulk", str(csv_path), "--account", "bench", "--config", str(config),
        "--batch-size", str(batch_size),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        last = err.decode(errors="replace").replace("\r", "\n").strip().splitlines()[-3:]
        sys.exit(f"send-bulk exited with {proc.returncode}: {out.decode()} {' | '.join(last)}")
    return time.perf_counter() - started


def _config(folder: Path, smsc_port: int, http_port: int, args: argparse.Namespace) -> Path:
    path = folder / "gateway.toml"
    sessions = ", ".join(['"trx"'] * args.sessions)
    webhooks = ""
    if args.webhook:
        webhooks = (
            f'default_callback_url = "{args.callback}"\n\n[webhooks]\nallow_hosts = ["127.0.0.1"]\n'
        )
        if args.webhook_per_host:
            workers = max(32, args.webhook_per_host)
            webhooks += f"per_host = {args.webhook_per_host}\nworkers = {workers}\n"
    path.write_text(
        f"""
[store]
url = "sqlite:///{folder}/gateway.db"

[http]
listen = "127.0.0.1:{http_port}"

[[accounts]]
name = "bench"
hosts = ["127.0.0.1:{smsc_port}"]
system_id = "bench"
password = "bench"
sessions = [{sessions}]
window = {args.window}
# the platform's addressing (Devino: source TON 5 / NPI 1, as the emulator checks it); with
# SMPP 3.4's alphanumeric 5/0 every message is a logged D-04 violation in the emulator
source_ton = 5
source_npi = 1
{webhooks}""",
        encoding="utf-8",
    )
    return path


async def _wait_ready(base: str, gateway: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if gateway.poll() is not None:
                sys.exit(f"smppgate serve exited with {gateway.returncode}")
            try:
                async with http.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    sys.exit("the gateway did not become ready within 60 s")


def _emit(phase: str, procs: Processes, load_before: float, **figures: object) -> None:
    line = {"bench": "gateway", "phase": phase, **figures, **procs.used()}
    line["load_before"], line["load_after"] = load_before, _load()
    print(json.dumps(line), flush=True)


async def _until_done(
    progress: Progress, args: argparse.Namespace, expected: int, count: int, started: float
) -> dict[str, Any]:
    """Wait for the phase's end (every message delivered; with ``--webhook`` also every
    final callback received); its end-to-end figures (``started``: time.monotonic())."""
    finished, delivered = await progress.until_final(expected)
    store_e2e = finished - started
    figures: dict[str, Any] = {"e2e_s": round(store_e2e, 2),
                                  "e2e_per_s": round(count / store_e2e, 1),
                                  "delivered": delivered}  # fmt: skip
    if args.webhook:
        last, requests = await until_callbacks(args.stats, expected)
        e2e = max(last, finished) - started
        figures.update(e2e_s=round(e2e, 2), e2e_per_s=round(count / e2e, 1),
                       store_e2e_per_s=round(count / store_e2e, 1),
                       callbacks=requests)  # fmt: skip
    return figures


async def _phases(
    args: argparse.Namespace, folder: Path, config: Path, base: str, procs: Processes
) -> None:
    progress = Progress(folder / "gateway.db")
    expected = 0
    callback = args.callback if args.webhook else None
    try:
        if args.single:
            load = _load()
            procs.mark()
            started = time.monotonic()
            took = await api_single(base, 0, args.single, args.clients, callback)
            expected += args.single
            done = await _until_done(progress, args, expected, args.single, started)
            _emit("api_single", procs, load, messages=args.single, clients=args.clients,
                  accepted_per_s=round(args.single / took, 1), **done)  # fmt: skip
        if args.batch:
            load = _load()
            procs.mark()
            started = time.monotonic()
            took = await api_batch(
                base, 1_000_000, args.batch, args.batch_size, args.batch_clients, callback
            )
            expected += args.batch
            done = await _until_done(progress, args, expected, args.batch, started)
            _emit("api_batch", procs, load, messages=args.batch, batch_size=args.batch_size,
                  clients=args.batch_clients, accepted_per_s=round(args.batch / took, 1),
                  **done)  # fmt: skip
        if args.bulk:
            csv_path = folder / "campaign.csv"
            _write_csv(csv_path, 2_000_000, args.bulk)
            load = _load()
            procs.mark()
            started = time.monotonic()
            took = await send_bulk(config, csv_path, args.bulk_batch_size)
            queued_at = time.monotonic()
            expected += args.bulk
            done = await _until_done(progress, args, expected, args.bulk, started)
            _emit("send_bulk", procs, load, rows=args.bulk, batch_size=args.bulk_batch_size,
                  queue_s=round(took, 2), queued_per_s=round(args.bulk / took, 1),
                  drain_after_queued_s=round(started + float(done["e2e_s"]) - queued_at, 2),
                  **done)  # fmt: skip
        if args.hold:
            print(f"holding; gateway pid {procs.gateway}; Ctrl-C to stop", file=sys.stderr)
            await asyncio.Event().wait()
    finally:
        progress.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1000 single, 10000 batch, 10000 bulk")
    parser.add_argument("--single", type=int, default=5000, help="messages by single POST")
    parser.add_argument("--clients", type=int, default=8, help="concurrent single-POST clients")
    parser.add_argument("--batch", type=int, default=50_000, help="messages by batch POST")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--bulk", type=int, default=100_000, help="rows of the send-bulk CSV")
    parser.add_argument("--bulk-batch-size", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=4, help="trx sessions (1..4)")
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--dlr-delay", type=float, default=0.0)
    parser.add_argument("--profile", metavar="FILE.prof", help="run the gateway under cProfile")
    parser.add_argument("--hold", action="store_true", help="keep running after the phases")
    parser.add_argument(
        "--serve-script",
        metavar="FILE.py",
        help="for A/B experiments: run this script (same arguments) instead of smppgate",
    )
    parser.add_argument("--dir", help="work here instead of a temporary folder (kept)")
    parser.add_argument(
        "--webhook", action="store_true", help="a callback per message to a local receiver"
    )
    parser.add_argument(
        "--webhook-per-host", type=int, default=0, help="[webhooks] per_host (0: the default)"
    )
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # the receiver process
    args = parser.parse_args()
    if args.receiver:
        _receiver_main(args.receiver)
        return
    # a SIGTERM (a benchmark started in the background ignores SIGINT) stops the servers too
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.quick:
        args.single, args.batch, args.bulk = 1000, 10_000, 10_000
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        folder = Path(args.dir or tmp).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        smsc_port, http_port = _free_port(), _free_port()
        receiver = None
        if args.webhook:
            receiver_port = _free_port()
            args.callback = f"http://127.0.0.1:{receiver_port}/hook"
            args.stats = f"http://127.0.0.1:{receiver_port}/stats"
            receiver = subprocess.Popen(
                [sys.executable, __file__, "--receiver", str(receiver_port)],
                stderr=(folder / "receiver.log").open("ab"),
            )
        config = _config(folder, smsc_port, http_port, args)
        emulator = subprocess.Popen(
            [str(SMPPGATE), "smsc", "--listen", f"127.0.0.1:{smsc_port}",
             "--account", "bench:bench", "--dlr-delay", str(args.dlr_delay),
             "--stats-interval", "0", "--log-level", "WARNING"],
            stderr=(folder / "emulator.log").open("ab"),
        )  # fmt: skip
        serve = [sys.executable]
        if args.profile:
            serve += ["-m", "cProfile", "-o", str(Path(args.profile).resolve())]
        serve += [args.serve_script] if args.serve_script else ["-m", "smppgate.cli.main"]
        serve += ["serve", "--config", str(config), "--log-level", "WARNING"]
        gateway = None
        try:
            _wait_port(smsc_port)
            if receiver is not None:
                _wait_port(receiver_port)
            gateway = subprocess.Popen(serve, stderr=(folder / "gateway.log").open("ab"))
            base = f"http://127.0.0.1:{http_port}"
            asyncio.run(_wait_ready(base, gateway))
            procs = Processes(gateway.pid, emulator.pid, receiver.pid if receiver else None)
            print(json.dumps({"bench": "gateway", "gateway_pid": gateway.pid,
                              "emulator_pid": emulator.pid, "sessions": args.sessions,
                              "window": args.window, "dlr_delay": args.dlr_delay,
                              "webhook": args.webhook,
                              "webhook_per_host": args.webhook_per_host or None,
                              "folder": str(folder), "load": _load()}), flush=True)  # fmt: skip
            asyncio.run(_phases(args, folder, config, base, procs))
        except KeyboardInterrupt:
            pass
        finally:
            for proc in (gateway, emulator, receiver):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in (gateway, emulator, receiver):
                if proc is not None:
                    try:
                        proc.wait(60)
                    except subprocess.TimeoutExpired:
                        proc.kill()


if __name__ == "__main__":
    main()

"""Side by side with Kannel: the same workload through Kannel and through smppgate (issue 15).

    python benchmarks/bench_kannel.py [--messages 5000] [--clients 16] [--batch-size 1000]
        [--batch-clients 2] [--window 50] [--dlr-delay 0] [--rounds 1] [--only kannel,...]

Installs Debian's ``kannel`` (bearerbox + smsbox) with apt-get when ``bearerbox`` is missing
(needs root; ``apt-get update`` first), then runs, one after the other and each against a fresh
platform emulator (``smppgate smsc``, receipts on, the same settings every time) on 127.0.0.1:

``kannel``
    bearerbox + smsbox with its file store (``store-type = file``) and the DLR list in memory,
    1 trx session, ``max-pending-submits`` = ``--window``; ``--messages`` one-part texts as
    ``GET /cgi-bin/sendsms`` from ``--clients`` keep-alive HTTP clients, each with
    ``dlr-mask=3`` (final states) and a ``dlr-url`` naming the message.
``smppgate_single``
    ``smppgate serve`` on a fresh SQLite file (WAL, ``synchronous=FULL``: every commit
    fsynced), 1 trx session, window ``--window``; one ``POST /v1/messages`` per message from
    ``--clients`` clients, each with a ``callback_url``.
``smppgate_batch``
    the same gateway setup, the messages as ``POST /v1/messages/batch`` of ``--batch-size``
    from ``--batch-clients`` clients.

Every message asks for one callback: Kannel calls its ``dlr-url`` (a GET) when the receipt
comes, smppgate POSTs its ``message.status`` webhook. The callbacks go to one receiver (a
process of its own, listen backlog 4096) that counts distinct messages. End to end is from the
first request until the receiver has a callback for every message; accepted/s is the HTTP
phase alone. CPU per message is the user + system CPU (``/proc/PID/stat``) that the gateway's
processes (Kannel: bearerbox + smsbox; smppgate: ``serve``) used from the first request to the
last callback, divided by the messages; the emulator's is given beside it.

``--rounds N`` repeats the three runs N times, interleaved (the machine is shared: compare runs
next to each other). Every process the script starts is stopped when it ends.

Results: benchmarks/results/kannel.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from bench_gateway import SMPPGATE, _cpu_seconds, _load, _message, _wait_port

RUNS = ("kannel", "smppgate_single", "smppgate_batch")
BEARERBOX = "bearerbox"
#: listening ports come from below Linux's ephemeral range (32768-60999): Kannel opens a
#: connection per callback and the gateways connect out, and an outgoing connection may take
#: a port picked as free a moment earlier
PORTS = range(20_000, 32_000)
_taken: set[int] = set()
SMSBOX = "smsbox"


def _free_port() -> int:
    """A port nothing listens on, outside the ephemeral range, not handed out before."""
    while True:
        port = random.choice(PORTS)
        if port in _taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port


# ------------------------------------------------------------------ the callback receiver


def _receiver_main(port: int) -> None:
    """The callback receiver (run as its own process): ``GET /kannel/RUN?id=N`` and
    ``POST /smppgate/RUN`` (a webhook) are callbacks; ``GET /stats/RUN`` answers
    ``{"count": distinct messages, "requests": n, "last": monotonic time of the last new one}``."""
    seen: dict[str, set[str]] = {}
    last: dict[str, float] = {}
    requests: dict[str, int] = {}

    def record(run: str, key: str) -> None:
        requests[run] = requests.get(run, 0) + 1
        ids = seen.setdefault(run, set())
        if key not in ids:
            ids.add(key)
            last[run] = time.monotonic()

    async def kannel(request: web.Request) -> web.Response:
        record(request.match_info["run"], request.query.get("id", ""))
        return web.Response(text="ok")

    async def smppgate(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("event") == "message.status" and body["message"]["final"]:
            record(request.match_info["run"], body["message"]["id"])
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        run = request.match_info["run"]
        return web.json_response(
            {"count": len(seen.get(run, ())), "requests": requests.get(run, 0),
             "last": last.get(run)}
        )  # fmt: skip

    app = web.Application()
    app.router.add_get("/kannel/{run}", kannel)
    app.router.add_post("/smppgate/{run}", smppgate)
    app.router.add_get("/stats/{run}", stats)
    # Kannel opens a connection per callback: a short backlog delays them by seconds
    web.run_app(app, host="127.0.0.1", port=port, backlog=4096, access_log=None, print=None)


# ------------------------------------------------------------------ processes


@dataclass
class Run:
    """One gateway's processes for the CPU figures, and what it costs to stop them."""

    name: str
    gateway: list[subprocess.Popen[bytes]]
    emulator: subprocess.Popen[bytes]

    def cpu(self) -> tuple[float, float]:
        """(gateway CPU seconds, emulator CPU seconds) so far."""
        return (
            sum(_cpu_seconds(p.pid) or 0.0 for p in self.gateway),
            _cpu_seconds(self.emulator.pid) or 0.0,
        )


def _stop(procs: list[subprocess.Popen[bytes]], wait: float = 20.0) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + wait
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _emulator(folder: Path, port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(SMPPGATE), "smsc", "--listen", f"127.0.0.1:{port}", "--account", "bench:bench",
         "--dlr-delay", str(args.dlr_delay), "--stats-interval", "0", "--log-level", "WARNING"],
        stderr=(folder / "emulator.log").open("ab"),
    )  # fmt: skip
    _wait_port(port)
    return proc


def ensure_kannel() -> str:
    """The path of ``bearerbox``, installing Debian's ``kannel`` first when it is missing."""
    found = shutil.which(BEARERBOX) or shutil.which(f"/usr/sbin/{BEARERBOX}")
    if found:
        return found
    if shutil.which("apt-get") is None:
        sys.exit("kannel is not installed and there is no apt-get to install it")
    print("installing Debian's kannel (apt-get)", file=sys.stderr, flush=True)
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "kannel"]):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            sys.exit(f"{' '.join(command)} failed (root is needed)")
    found = shutil.which(BEARERBOX) or shutil.which(f"/usr/sbin/{BEARERBOX}")
    if not found:
        sys.exit("kannel installed but bearerbox is not found")
    return found


def kannel_config(folder: Path, ports: dict[str, int], args: argparse.Namespace) -> Path:
    """bearerbox + smsbox settings (see /work/shared/reference/kannel.md for why each)."""
    path = folder / "kannel.conf"
    path.write_text(
        f"""
group = core
admin-port = {ports["admin"]}
admin-interface = 127.0.0.1
admin-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = {ports["box"]}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{folder}/bearerbox.log"
log-level = 2
store-type = file
store-location = "{folder}/kannel.store"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = emulator
host = 127.0.0.1
port = {ports["smsc"]}
transceiver-mode = true
smsc-username = bench
smsc-password = bench
system-type = ""
interface-version = 34
source-addr-ton = 5
source-addr-npi = 1
source-addr-autodetect = false
dest-addr-ton = 1
dest-addr-npi = 1
max-pending-submits = {args.window}
reconnect-delay = 90
enquire-link-interval = 61

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports["box"]}
sendsms-port = {ports["http"]}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench
max-messages = 10
concatenation = true
user-allow-ip = "127.0.0.1"

group = sms-service
keyword = default
max-messages = 0
text = ""
""",
        encoding="utf-8",
    )
    return path


async def _until(check: Callable[[], Awaitable[bool]], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except (aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.2)
    sys.exit(f"{what} within {within:.0f} s")


async def _kannel_ready(admin: int, http_port: int) -> None:
    async with aiohttp.ClientSession() as http:

        async def bound() -> bool:
            url = f"http://127.0.0.1:{admin}/status.txt?password=bench"
            async with http.get(url) as response:
                text = await response.text()
            smsc = text.partition("SMSC connections:")[2]
            return "online" in smsc and "smsbox" in text.partition("Box connections:")[2]

        await _until(bound, "Kannel did not bind to the emulator and see its smsbox")
    _wait_port(http_port)


def start_kannel(bearerbox: str, folder: Path, args: argparse.Namespace) -> tuple[Run, int]:
    """The emulator, bearerbox and smsbox, bound and ready; (the run, the sendsms port)."""
    ports = {name: _free_port() for name in ("smsc", "admin", "box", "http")}
    emulator = _emulator(folder, ports["smsc"], args)
    config = kannel_config(folder, ports, args)
    smsbox = str(Path(bearerbox).with_name(SMSBOX))
    procs: list[subprocess.Popen[bytes]] = []
    run = Run("kannel", procs, emulator)
    try:
        stderr = (folder / "kannel.stderr").open("ab")
        procs.append(subprocess.Popen([bearerbox, "-v", "2", str(config)], stderr=stderr))
        _wait_port(ports["box"])
        procs.append(subprocess.Popen([smsbox, "-v", "2", str(config)], stderr=stderr))
        asyncio.run(_kannel_ready(ports["admin"], ports["http"]))
    except BaseException:
        stop_run(run)
        raise
    return run, ports["http"]


def start_smppgate(folder: Path, args: argparse.Namespace) -> tuple[Run, int]:
    """The emulator and `smppgate serve` on a fresh SQLite file, ready; (the run, HTTP port)."""
    smsc_port, http_port = _free_port(), _free_port()
    emulator = _emulator(folder, smsc_port, args)
    config = folder / "gateway.toml"
    webhooks = "".join(
        f"{key} = {value}\n"
        for key, value in (("workers", args.webhook_workers), ("per_host", args.webhook_per_host))
        if value is not None
    )
    config.write_text(
        f"""
[store]
url = "sqlite:///{folder}/gateway.db"

[http]
listen = "127.0.0.1:{http_port}"

[webhooks]
allow_hosts = ["127.0.0.1"]
{webhooks}
[[accounts]]
name = "bench"
hosts = ["127.0.0.1:{smsc_port}"]
system_id = "bench"
password = "bench"
sessions = ["trx"]
window = {args.window}
""",
        encoding="utf-8",
    )
    gateway = subprocess.Popen(
        [str(SMPPGATE), "serve", "--config", str(config), "--log-level", "WARNING"],
        stderr=(folder / "gateway.log").open("ab"),
    )
    run = Run("smppgate", [gateway], emulator)

    async def ready() -> None:
        async with aiohttp.ClientSession() as http:

            async def check() -> bool:
                if gateway.poll() is not None:
                    sys.exit(f"smppgate serve exited with {gateway.returncode}")
                async with http.get(f"http://127.0.0.1:{http_port}/readyz") as response:
                    return response.status == 200

            await _until(check, "smppgate did not become ready")

    try:
        asyncio.run(ready())
    except BaseException:
        stop_run(run)
        raise
    return run, http_port


def stop_run(run: Run) -> None:
    # smsbox first (it holds the box connection), then bearerbox, then the emulator
    _stop(list(reversed(run.gateway)))
    _stop([run.emulator])


# ------------------------------------------------------------------ load


async def _workers(count: int, work: Callable[[aiohttp.ClientSession], Awaitable[None]]) -> None:
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(work(http) for _ in range(count)))


def _check(status: int, text: str, what: str) -> None:
    if not 200 <= status < 300:
        sys.exit(f"{what} -> {status}: {text[:300]}")


async def load_kannel(port: int, callback: str, args: argparse.Namespace) -> None:
    numbers = iter(range(args.messages))

    async def work(http: aiohttp.ClientSession) -> None:
        for i in numbers:
            m = _message(i)
            query = urlencode(
                {"username": "bench", "password": "bench", "from": m["from"], "to": m["to"],
                 "text": m["text"], "dlr-mask": "3", "dlr-url": f"{callback}?id={i}&type=%d"},
                quote_via=quote,
            )  # fmt: skip
            async with http.get(f"http://127.0.0.1:{port}/cgi-bin/sendsms?{query}") as response:
                _check(response.status, await response.text(), "sendsms")

    await _workers(args.clients, work)


async def load_single(port: int, callback: str, args: argparse.Namespace) -> None:
    numbers = iter(range(args.messages))
    url = f"http://127.0.0.1:{port}/v1/messages"

    async def work(http: aiohttp.ClientSession) -> None:
        for i in numbers:
            async with http.post(url, json={**_message(i), "callback_url": callback}) as response:
                _check(response.status, await response.text(), "POST /v1/messages")

    await _workers(args.clients, work)


async def load_batch(port: int, callback: str, args: argparse.Namespace) -> None:
    starts = iter(range(0, args.messages, args.batch_size))
    url = f"http://127.0.0.1:{port}/v1/messages/batch"

    async def work(http: aiohttp.ClientSession) -> None:
        for start in starts:
            end = min(start + args.batch_size, args.messages)
            body = {"messages": [{**_message(i), "callback_url": callback}
                                 for i in range(start, end)]}  # fmt: skip
            async with http.post(url, json=body) as response:
                _check(response.status, await response.text(), "POST /v1/messages/batch")

    await _workers(args.batch_clients, work)


async def measure(
    run: Run,
    load: Callable[[], Awaitable[None]],
    stats_url: str,
    messages: int,
    stall: float = 60.0,
) -> dict[str, object]:
    """Run the load, wait for every callback; the figures of this run."""
    load_before = _load()
    gateway_cpu, emulator_cpu = run.cpu()
    started = time.monotonic()
    await load()
    accepted = time.monotonic() - started
    async with aiohttp.ClientSession() as http:
        progress, since = -1, time.monotonic()
        while True:
            async with http.get(stats_url) as response:
                stats = await response.json()
            if stats["count"] >= messages:
                break
            now = time.monotonic()
            if stats["count"] != progress:
                progress, since = stats["count"], now
            elif now - since > stall:
                sys.exit(f"{run.name}: no callback for {stall:.0f} s, {progress} of {messages}")
            await asyncio.sleep(0.05)
    gateway_after, emulator_after = run.cpu()
    e2e = stats["last"] - started
    gateway_used = gateway_after - gateway_cpu
    return {
        "messages": messages,
        "accepted_per_s": round(messages / accepted, 1),
        "e2e_s": round(e2e, 2),
        "e2e_per_s": round(messages / e2e, 1),
        "gateway_cpu_s": round(gateway_used, 2),
        "cpu_ms_per_msg": round(1000 * gateway_used / messages, 3),
        "emulator_cpu_ms_per_msg": round(1000 * (emulator_after - emulator_cpu) / messages, 3),
        "callbacks": stats["requests"],
        "load_before": load_before,
        "load_after": _load(),
    }


def _py_spy(run: Run, folder: Path, tag: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """``py-spy record`` on the gateway from now until interrupted: collapsed stacks (one line
    per stack and its sample count, all threads, C frames too) in ``--py-spy DIR/TAG.txt``."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("--py-spy needs py-spy (pip install py-spy)")
    out = Path(args.py_spy).resolve() / f"{tag}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(run.gateway[0].pid), "--format", "raw", "--threads",
         "--native", "--rate", "200", "--output", str(out)],
        stdout=(folder / "py-spy.log").open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(1.0)  # attached before the load starts
    return proc


def one_run(
    name: str, tag: str, folder: Path, receiver: int, bearerbox: str, args: argparse.Namespace
) -> dict[str, object]:
    folder.mkdir(parents=True)
    kind = "kannel" if name == "kannel" else "smppgate"
    callback = f"http://127.0.0.1:{receiver}/{kind}/{tag}"
    if name == "kannel":
        run, port = start_kannel(bearerbox, folder, args)
        load = load_kannel
    else:
        run, port = start_smppgate(folder, args)
        load = load_single if name == "smppgate_single" else load_batch
    spy = _py_spy(run, folder, tag, args) if kind == "smppgate" and args.py_spy else None
    try:
        figures = asyncio.run(
            measure(run, lambda: load(port, callback, args),
                    f"http://127.0.0.1:{receiver}/stats/{tag}", args.messages)
        )  # fmt: skip
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
            spy.wait(60)
        stop_run(run)
    return {"bench": "kannel", "run": name, **figures}


def _summary(results: list[dict[str, object]]) -> None:
    """Ratios of smppgate to Kannel, round by round (a run next to its neighbours)."""
    by_round: dict[int, dict[str, dict[str, object]]] = {}
    for r in results:
        by_round.setdefault(int(str(r["round"])), {})[str(r["run"])] = r
    for number, runs in sorted(by_round.items()):
        kannel = runs.get("kannel")
        if kannel is None:
            continue
        line: dict[str, object] = {"bench": "kannel", "summary_round": number}
        for name in ("smppgate_single", "smppgate_batch"):
            ours = runs.get(name)
            if ours is None:
                continue
            rate = float(str(ours["e2e_per_s"])) / float(str(kannel["e2e_per_s"]))
            cpu = float(str(ours["cpu_ms_per_msg"])) / float(str(kannel["cpu_ms_per_msg"]))
            line[f"{name}_rate_x"] = round(rate, 2)
            line[f"{name}_cpu_x"] = round(cpu, 2)
        print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16, help="single-request HTTP clients")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--dlr-delay", type=float, default=0.0)
    parser.add_argument("--webhook-workers", type=int, help="smppgate [webhooks] workers")
    parser.add_argument("--webhook-per-host", type=int, help="smppgate [webhooks] per_host")
    parser.add_argument("--py-spy", metavar="DIR", help="profile smppgate's runs into DIR")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the runs, interleaved")
    parser.add_argument("--only", default=",".join(RUNS), help=f"some of {','.join(RUNS)}")
    parser.add_argument("--dir", help="work here instead of a temporary folder (kept)")
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)  # the receiver process
    args = parser.parse_args()
    if args.receiver:
        _receiver_main(args.receiver)
        return
    runs = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(runs) - set(RUNS):
        parser.error(f"unknown runs: {', '.join(sorted(unknown))}")
    bearerbox = ensure_kannel() if "kannel" in runs else ""
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-kannel-") as tmp:
        folder = Path(args.dir or tmp).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        receiver_port = _free_port()
        receiver = subprocess.Popen(
            [sys.executable, __file__, "--receiver", str(receiver_port)],
            stderr=(folder / "receiver.log").open("ab"),
        )
        try:
            _wait_port(receiver_port)
            print(json.dumps({"bench": "kannel", "messages": args.messages,
                              "clients": args.clients, "batch_size": args.batch_size,
                              "batch_clients": args.batch_clients, "window": args.window,
                              "sessions": 1, "dlr_delay": args.dlr_delay, "folder": str(folder),
                              "load": _load()}), flush=True)  # fmt: skip
            for number in range(1, args.rounds + 1):
                for name in runs:
                    tag = f"{name}-{number}"
                    line = one_run(name, tag, folder / tag, receiver_port, bearerbox, args)
                    line["round"] = number
                    results.append(line)
                    print(json.dumps(line), flush=True)
            _summary(results)
        except KeyboardInterrupt:
            pass
        finally:
            _stop([receiver])


if __name__ == "__main__":
    main()

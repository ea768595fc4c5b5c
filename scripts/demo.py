"""Drive a real `smppgate serve` (demo configuration) over HTTP and show what happens."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

BASE = "http://127.0.0.1:8080"
DEMO_DIR = "data/demo"
# The embedded demo configuration, in its own folder made fresh on every run: a store left by
# an earlier run remembers that run's session drop, and the platform's 60 s reconnect cooldown
# would hold a second run that starts within the minute.
DEMO_CONFIG = f"""\
[store]
url = "sqlite:{DEMO_DIR}/smppgate.db"

[emulator]
enabled = true

[[accounts]]
name = "demo"
system_id = "demo"
password = "demo"
hosts = ["127.0.0.1:2775"]
sessions = ["trx", "trx"]
window = 50
"""


def call(method: str, path: str, body: object | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 URL
        BASE + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    ctype = "json"
    try:
        return status, json.loads(raw)
    except ValueError:
        ctype = "text"
    return status, raw.decode() if ctype == "text" else raw


def wait_ready(proc: subprocess.Popen[bytes], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"smppgate serve exited with {proc.returncode}; see its log above")
        try:
            status, _ = call("GET", "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("the gateway did not become ready within a minute")


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the gateway running")
    parser.add_argument("--count", type=int, default=500, help="messages in the batch")
    args = parser.parse_args()
    # another process on these ports would answer in the demo's place (and the demo's own
    # gateway would exit at once): refuse, saying which port
    for port, what in ((8080, "HTTP API"), (2775, "platform emulator")):
        if port_in_use(port):
            sys.exit(f"port {port} (the demo's {what}) is in use by another process: stop it first")
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    os.makedirs(DEMO_DIR)
    config = os.path.join(DEMO_DIR, "smppgate.toml")
    with open(config, "w", encoding="utf-8") as file:
        file.write(DEMO_CONFIG)
    print(f"== starting: smppgate serve --config {config}")
    print(f"   (SQLite in {DEMO_DIR}, platform emulator in-process on 127.0.0.1:2775)")
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "smppgate.cli.main", "serve", "--config", config]
    )
    complete = False
    try:
        wait_ready(proc)
        print("== ready:", call("GET", "/readyz")[1])
        text = "Привет! Это сообщение длиннее одной SMS, поэтому шлюз делит его на части. 🚀"  # noqa: RUF001
        print("== preview of a Cyrillic text with an emoji:")
        print("  ", call("POST", "/v1/messages/preview", {"text": text})[1])
        singles = [
            {"to": "+79001234567", "from": "Demo", "text": "Hello from smppgate"},
            {"to": "79001234568", "from": "Demo", "text": text},
            {"to": "79001234569", "from": "79000000000", "text": "{GSM} extension [chars] €"},
        ]
        ids = []
        for body in singles:
            status, reply = call("POST", "/v1/messages", body)
            print(f"== POST /v1/messages -> {status} {reply}")
            ids.append(reply["id"])
        batch = [
            {"to": f"7900{i:07d}", "from": "Demo", "text": f"Campaign message {i}"}
            for i in range(args.count)
        ]
        started = time.monotonic()
        status, reply = call("POST", "/v1/messages/batch", {"messages": batch})
        print(f"== POST /v1/messages/batch ({args.count} messages) -> {status}")
        ids += [m["id"] for m in reply["messages"]]
        finals: dict[str, str] = {}
        while len(finals) < len(ids) and time.monotonic() - started < 120:
            for message_id in ids:
                if message_id not in finals:
                    state = call("GET", f"/v1/messages/{message_id}")[1]
                    if state["status"] not in ("queued", "sending", "submitted"):
                        finals[message_id] = state["status"]
            time.sleep(0.2)
        took = time.monotonic() - started
        counts: dict[str, int] = {}
        for state in finals.values():
            counts[state] = counts.get(state, 0) + 1
        print(f"== {len(finals)}/{len(ids)} messages final in {took:.1f} s: {counts}")
        complete = len(finals) == len(ids)
        detail = call("GET", f"/v1/messages/{ids[1]}")[1]
        print("== the Cyrillic message, part by part:")
        for part in detail["parts"]:
            print(f"   part {part['seq']}: message_id={part.get('message_id')} "
                  f"status={part.get('status')} receipt={part.get('receipt_state')}")  # fmt: skip
        metrics = call("GET", "/metrics")[1]
        print("== a few lines of /metrics:")
        for line in str(metrics).splitlines():
            if line.startswith(("smppgate_queue_messages", "smppgate_bound_sessions",
                                "smppgate_receipts_total")):  # fmt: skip
                print("  ", line)
        print("== ops page: http://127.0.0.1:8080/ui/   API docs: /docs   OpenAPI: /openapi.json")
        if args.keep:
            print("== the gateway keeps running; Ctrl-C to stop")
            proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        print(f"== smppgate serve stopped (exit code {proc.returncode})")
    if proc.returncode != 0:
        sys.exit(proc.returncode)
    if not complete:
        sys.exit("not every message reached a final state: see the counts above")


if __name__ == "__main__":
    main()

"""Emulator throughput and CPU per message: raw clients against the emulator over 127.0.0.1.

    python benchmarks/bench_emulator.py [--seconds 3] [--window 100] [--sessions 1]
        [--dlr] [--loop auto|asyncio|uvloop]

Starts ``smppgate smsc`` in a subprocess (``--no-dlr`` unless ``--dlr``), binds ``--sessions``
transceivers with ``bench:bench`` and prints one JSON line: messages per second, the
emulator's CPU seconds over the run (Linux /proc) and per message, and the 1-minute load
average before and after.

Without ``--dlr`` each session keeps ``--window`` submit_sm (pre-encoded, 70 characters,
registered_delivery 1) in flight and a message is done when its submit_sm_resp comes.

With ``--dlr`` (receipts on, delay 0) a message is done when its *receipt* comes: each session
keeps at most ``--window`` messages whose receipt has not arrived, and answers every deliver_sm
with status 0 at once — the gateway's pattern (``bench_gateway.py``: 4 sessions, window 50)
with a client that costs next to nothing, so the emulator's CPU per message with receipts
(submit_sm, submit_sm_resp, the receipt built and sent, deliver_sm_resp) is what is measured.

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
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from raw_client import (
    _DELIVER_SM,
    _DELIVER_SM_RESP_OK,
    _OK,
    _SUBMIT_SM_RESP,
    TEXT,
    PipelinedClient,
    connect,
    free_port,
    submits,
)
from smppgate.pdu import SubmitSm

HERE = Path(__file__).resolve().parent
SMPPGATE = Path(sys.executable).with_name("smppgate")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _load() -> float:
    return round(os.getloadavg()[0], 2)


class Tally:
    """The receipt clients' shared count: receipts go to any bound session of the account
    (round robin), not to the one that sent the message, so the run is done when every
    message sent by any of them has its receipt."""

    def __init__(self) -> None:
        self.sent = 0
        self.received = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class ReceiptClient(PipelinedClient):
    """A ``PipelinedClient`` whose window counts messages until their receipt: a new submit
    goes out for each receipt (answered at once with status 0), none for a submit_sm_resp."""

    _bind_resp = b"\x80\x00\x00\x09"

    def __init__(
        self, ring: list[bytes], window: int, system_id: str, password: str, tally: Tally
    ) -> None:
        super().__init__(ring, window, system_id, password)
        self.tally = tally
        self.done = tally.done

    def start(self, seconds: float) -> float:
        self.tally.sent += self.window
        return super().start(seconds)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        position, received, out = 0, 0, []
        while len(buffer) - position >= 16:
            length = int.from_bytes(buffer[position : position + 4], "big")
            if len(buffer) - position < length:
                break
            command_id = buffer[position + 4 : position + 8]
            if command_id == _SUBMIT_SM_RESP:
                self.acked += 1
                if buffer[position + 8 : position + 12] != _OK:
                    self.refused += 1
                    received += 1  # no receipt will come for it
            elif command_id == _DELIVER_SM:
                out.append(_DELIVER_SM_RESP_OK + buffer[position + 12 : position + 16] + b"\x00")
                received += 1
            elif command_id == self._bind_resp:
                self.bound.set_result(buffer[position + 8 : position + 12])
            position += length
        self.buffer = buffer[position:]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
        if received:
            tally = self.tally
            self.receipts += received
            tally.received += received
            if self.submitting and time.perf_counter() < self.deadline:
                tally.sent += received
                self.send(received)
            else:
                self.submitting = False
            if tally.received >= tally.sent and not tally.done.done():
                tally.done.set_result(None)


async def _run(port: int, args: argparse.Namespace, pid: int) -> dict[str, object]:
    ring = submits(_submit)
    clients: list[PipelinedClient] = []
    tally = Tally()
    for _ in range(args.sessions):
        if args.dlr:
            loop = asyncio.get_running_loop()
            _, client = await loop.create_connection(
                lambda: ReceiptClient(ring, args.window, "bench", "bench", tally),
                "127.0.0.1",
                port,
            )
            status = await asyncio.wait_for(client.bound, 10)
            if status != _OK:
                raise RuntimeError(f"bind refused: {status.hex()}")
        else:
            client = await connect(port, ring, args.window, "bench", "bench")
        clients.append(client)
    load_before = _load()
    cpu_before = _cpu_seconds(pid)
    started = min(client.start(args.seconds) for client in clients)
    await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), args.seconds + 60)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds(pid) - cpu_before
    for client in clients:
        assert client.transport is not None
        client.transport.close()
    done = sum(c.receipts if args.dlr else c.acked for c in clients)
    return {
        "messages": done,
        "refused": sum(c.refused for c in clients),
        "msgs_per_s": round(done / elapsed, 1),
        "emulator_cpu_s": round(cpu, 2),
        "emulator_ms_per_msg": round(1000 * cpu / done, 4) if done else None,
        "load_before": load_before,
        "load_after": _load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=1, help="bound transceivers (max 4)")
    parser.add_argument("--dlr", action="store_true", help="receipts on (delay 0), closed loop")
    parser.add_argument("--loop", default=None, help="the emulator's --loop (default: its own)")
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
    if args.loop:
        command += ["--loop", args.loop]
    server = subprocess.Popen(command)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        result = asyncio.run(_run(port, args, server.pid))
    finally:
        server.terminate()
        server.wait(10)
    print(
        json.dumps(
            {
                "bench": "emulator",
                "sessions": args.sessions,
                "window": args.window,
                "receipts": args.dlr,
                "emulator_pid": server.pid,
                **result,
            }
        )
    )


if __name__ == "__main__":
    main()

"""The pipelined raw ESME the server benchmarks share (``bench_emulator``, ``bench_front_door``):
pre-encoded submit_sm kept ``window`` in flight over 127.0.0.1, every deliver_sm answered
with status 0, nothing else done per PDU, so the server under test is what is measured.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

from smppgate.pdu import BindTransceiver, SubmitSm, encode

TEXT = b"Benchmark message number one, seventy characters long, for SMPP tests!"[:70]
_BIND_TRANSCEIVER_RESP = b"\x80\x00\x00\x09"
_SUBMIT_SM_RESP = b"\x80\x00\x00\x04"
_DELIVER_SM = b"\x00\x00\x00\x05"
_DELIVER_SM_RESP_OK = b"\x00\x00\x00\x11\x80\x00\x00\x05\x00\x00\x00\x00"
_OK = b"\x00\x00\x00\x00"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def submits(make: Callable[[int], SubmitSm]) -> list[bytes]:
    """A ring of 4096 encoded submit_sm, ``make(seq)`` under sequence numbers 2..."""
    return [encode(make(seq), seq) for seq in range(2, 2 + 4096)]


class PipelinedClient(asyncio.Protocol):
    """Binds as transceiver, then (``start``) keeps ``window`` submits in flight until
    ``seconds`` have passed: ``done`` resolves when the first answer after that comes."""

    def __init__(self, ring: list[bytes], window: int, system_id: str, password: str) -> None:
        loop = asyncio.get_running_loop()
        self.ring = ring
        self.window = window
        self.system_id = system_id
        self.password = password
        self.bound: asyncio.Future[bytes] = loop.create_future()  # the bind's status
        self.done: asyncio.Future[None] = loop.create_future()
        self.buffer = b""
        self.acked = 0
        self.refused = 0
        self.receipts = 0
        self.submitting = True
        self.deadline = 0.0
        self.transport: asyncio.Transport | None = None
        self.next = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(
            encode(BindTransceiver(system_id=self.system_id, password=self.password), 1)
        )

    def start(self, seconds: float) -> float:
        """Start submitting; returns the start time (perf_counter)."""
        started = time.perf_counter()
        self.deadline = started + seconds
        self.send(self.window)
        return started

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
            if command_id == _SUBMIT_SM_RESP:
                answered += 1
                if buffer[position + 8 : position + 12] != _OK:
                    self.refused += 1
            elif command_id == _DELIVER_SM:  # answered with status 0
                out.append(_DELIVER_SM_RESP_OK + buffer[position + 12 : position + 16] + b"\x00")
                self.receipts += 1
            elif command_id == _BIND_TRANSCEIVER_RESP:
                self.bound.set_result(buffer[position + 8 : position + 12])
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


async def connect(
    port: int, ring: list[bytes], window: int, system_id: str, password: str
) -> PipelinedClient:
    """A bound client (raises when the bind is refused)."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: PipelinedClient(ring, window, system_id, password), "127.0.0.1", port
    )
    status = await asyncio.wait_for(client.bound, 10)
    if status != _OK:
        raise RuntimeError(f"bind refused: {status.hex()}")
    return client

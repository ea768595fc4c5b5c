"""A tiny raw ESME for emulator tests: PDUs in and out over a real socket, nothing hidden.

It does no session logic on purpose (no auto-answers unless asked), so tests can send what a
broken client would and see exactly what the emulator answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    FrameReader,
    Npi,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Ton,
    decode,
    encode,
)

BINDS = {"tx": BindTransmitter, "rx": BindReceiver, "trx": BindTransceiver}
LOGIN, SECRET = "login", "secret"


def submit(destination: str = "79001234567", text: bytes = b"Hello", **fields: Any) -> SubmitSm:
    """A submit_sm the platform accepts (5/1 sender, 1/1 destination), fields overridable."""
    values: dict[str, Any] = {
        "source_addr_ton": Ton.ALPHANUMERIC,
        "source_addr_npi": Npi.ISDN,
        "source_addr": "Devino",
        "dest_addr_ton": Ton.INTERNATIONAL,
        "dest_addr_npi": Npi.ISDN,
        "destination_addr": destination,
        "short_message": text,
    }
    values.update(fields)
    return SubmitSm(**values)


def _cstr(value: bytes) -> bytes:
    return value + b"\x00"


def submit_frame(
    seq: int,
    *,
    service_type: bytes = b"",
    source: tuple[int, int, bytes] = (5, 1, b"Devino"),
    dest: tuple[int, int, bytes] = (1, 1, b"79001234567"),
    esm_class: int = 0,
    schedule: bytes = b"",
    validity: bytes = b"",
    registered: int = 1,
    data_coding: int = 0,
    short_message: bytes = b"hello",
    tlvs: bytes = b"",
) -> bytes:
    """A submit_sm built byte by byte, so fields may break the codec's limits."""
    body = (
        _cstr(service_type)
        + bytes(source[:2])
        + _cstr(source[2])
        + bytes(dest[:2])
        + _cstr(dest[2])
        + bytes((esm_class, 0, 0))
        + _cstr(schedule)
        + _cstr(validity)
        + bytes((registered, 0, data_coding, 0, len(short_message)))
        + short_message
        + tlvs
    )
    return (
        (16 + len(body)).to_bytes(4, "big")
        + b"\x00\x00\x00\x04"
        + bytes(4)
        + seq.to_bytes(4, "big")
        + body
    )


def config(**changes: Any) -> EmulatorConfig:
    """A test config: one loopback listener on a free port, account login/secret, receipts at
    once, ids from 1, and no reconnect waits unless a test sets them."""
    values: dict[str, Any] = {
        "listeners": (ListenerConfig("127.0.0.1", 0),),
        "accounts": (Account(LOGIN, SECRET),),
        "dlr_delay": 0.0,
        "message_id_start": 1,
        "reconnect_after_drop": 0.0,
        "reconnect_after_failure": 0.0,
        "seed": 1,
    }
    values.update(changes)
    return EmulatorConfig(**values)


@asynccontextmanager
async def running(clock: Callable[[], float] | None = None, **changes: Any) -> Any:
    async with Emulator(config(**changes), clock=clock) as emulator:
        yield emulator


class ManualClock:
    """A clock the test moves (the emulator's ``clock``): the timing rules it checks (pauses,
    lockouts, reconnect waits) without waiting for them in real time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def until(predicate: Callable[[], bool], limit: float = 5.0) -> None:
    """Wait, polling, until ``predicate`` holds: for state with no change notification (what
    the emulator did with bytes just sent, its bound sessions); returns as soon as it holds."""
    for _ in range(int(limit / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


class RawEsme:
    """One TCP connection speaking raw PDUs."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.frames = FrameReader()
        self.buffered: list[bytes] = []
        self.seq = 0
        self.deliveries: list[DeliverSm] = []

    @classmethod
    async def connect(
        cls, address: tuple[str, int], ssl_context: ssl.SSLContext | None = None
    ) -> RawEsme:
        reader, writer = await asyncio.open_connection(*address, ssl=ssl_context)
        return cls(reader, writer)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    async def send(self, pdu: Pdu, seq: int | None = None) -> int:
        seq = self.next_seq() if seq is None else seq
        self.writer.write(encode(pdu, seq))
        await self.writer.drain()
        return seq

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self, within: float = 3.0) -> bytes:
        """The next whole PDU's bytes; raises EOFError when the emulator closed the socket."""
        async with asyncio.timeout(within):
            while not self.buffered:
                data = await self.reader.read(65536)
                if not data:
                    raise EOFError("connection closed by the emulator")
                self.frames.feed(data)
                self.buffered.extend(self.frames.read_frames())
        return self.buffered.pop(0)

    async def read(self, within: float = 3.0) -> Pdu:
        return decode(await self.read_frame(within))

    async def expect(self, kind: type, within: float = 3.0, *, ack: bool = True) -> Any:
        """Read until a PDU of ``kind``; deliver_sm met on the way are kept (and answered with
        status 0 when ``ack``)."""
        if kind is DeliverSm and self.deliveries:
            return self.deliveries.pop(0)
        async with asyncio.timeout(within):
            while True:
                pdu = await self.read(within)
                if isinstance(pdu, kind):
                    if ack and isinstance(pdu, DeliverSm):
                        await self.send(DeliverSmResp(), pdu.sequence_number)
                    return pdu
                if isinstance(pdu, DeliverSm):
                    self.deliveries.append(pdu)
                    if ack:
                        await self.send(DeliverSmResp(), pdu.sequence_number)

    async def bind(
        self, mode: str = "trx", system_id: str = LOGIN, password: str = SECRET, **fields: Any
    ) -> Any:
        cls = BINDS[mode]
        await self.send(cls(system_id=system_id, password=password, **fields))
        return await self.read()

    async def submit(self, pdu: SubmitSm | None = None, **fields: Any) -> Any:
        seq = await self.send(pdu if pdu is not None else submit(**fields))
        response = await self.expect(SubmitSmResp)
        assert response.sequence_number == seq
        return response

    async def closed(self, within: float = 3.0) -> bool:
        """True once the emulator closed the connection (reading anything else first fails)."""
        try:
            frame = await self.read_frame(within)
        except EOFError:
            return True
        except ConnectionResetError:
            return True
        raise AssertionError(f"expected the connection to close, got {frame.hex()}")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


@asynccontextmanager
async def esme(address: tuple[str, int], ssl_context: ssl.SSLContext | None = None) -> Any:
    client = await RawEsme.connect(address, ssl_context)
    try:
        yield client
    finally:
        await client.close()


async def bound(address: tuple[str, int], mode: str = "trx", **fields: Any) -> RawEsme:
    """A connected and bound raw ESME (the caller closes it)."""
    client = await RawEsme.connect(address)
    response = await client.bind(mode, **fields)
    assert response.command_status == 0, response
    return client


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]

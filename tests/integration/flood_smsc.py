"""A hostile SMSC for the receipt-flood tests: it binds anyone, then writes ``total`` receipt
deliver_sm as fast as TCP takes them, ignoring any window, and counts the deliver_sm_resp it
gets back. Raw bytes over 127.0.0.1 (the project's SMSC session would keep a window: this one
must not)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from smppgate.pdu import (
    BindTransceiverResp,
    CommandId,
    DeliverSm,
    EsmClass,
    TlvTag,
    encode,
    make_tlv,
)


def receipt_pdu(n: int) -> DeliverSm:
    """The n-th receipt: for SMSC message id ``f"flood{n}"`` (no message of ours has it)."""
    message_id = f"flood{n}"
    return DeliverSm(
        source_addr="79001234567",
        destination_addr="Devino",
        esm_class=int(EsmClass.SMSC_DELIVERY_RECEIPT),
        short_message=(
            f"id:{message_id} sub:001 dlvrd:001 submit date:2601011200 done date:2601011200 "
            "stat:DELIVRD err:000 text:"
        ).encode(),
        tlvs=(make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, message_id), make_tlv(TlvTag.MESSAGE_STATE, 2)),
    )


@dataclass
class FloodSmsc:
    total: int
    port: int = 0
    sent: int = 0
    #: sequence numbers of the deliver_sm_resp received, in order
    answered: list[int] = field(default_factory=list)
    #: set while the writer waits for TCP to take more (the client stopped reading)
    blocked: asyncio.Event = field(default_factory=asyncio.Event)
    #: set when every deliver_sm was answered
    all_answered: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> FloodSmsc:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            header = await reader.readexactly(16)
            await reader.readexactly(int.from_bytes(header[:4], "big") - 16)
            seq = int.from_bytes(header[12:16], "big")
            writer.write(encode(BindTransceiverResp(system_id="FLOOD"), seq))
            answers = asyncio.create_task(self._read_answers(reader))
            try:
                await self._flood(writer)
                await answers
            finally:
                answers.cancel()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _flood(self, writer: asyncio.StreamWriter) -> None:
        chunk: list[bytes] = []
        for n in range(1, self.total + 1):
            chunk.append(encode(receipt_pdu(n), n))
            if len(chunk) == 200 or n == self.total:
                writer.write(b"".join(chunk))
                self.sent = n
                chunk.clear()
                if writer.transport.get_write_buffer_size() > 64 * 1024:
                    self.blocked.set()
                    await writer.drain()
                    self.blocked.clear()

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        while len(self.answered) < self.total:
            header = await reader.readexactly(16)
            await reader.readexactly(int.from_bytes(header[:4], "big") - 16)
            if int.from_bytes(header[4:8], "big") == CommandId.DELIVER_SM_RESP:
                assert header[8:12] == b"\0\0\0\0", "deliver_sm_resp must be status 0"
                self.answered.append(int.from_bytes(header[12:16], "big"))
        self.all_answered.set()

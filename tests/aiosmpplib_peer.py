"""aiosmpplib as an independent ESME in tests: the in-memory broker it needs and a hook that
records what it receives (bind, submit_sm_resp, receipts)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiosmpplib


class QueueBroker(aiosmpplib.AbstractBroker):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    async def enqueue(self, message: Any) -> None:
        await self.queue.put(message)

    async def dequeue(self) -> Any:
        return await self.queue.get()


class RecordingHook(aiosmpplib.AbstractHook):
    def __init__(self) -> None:
        self.bound = asyncio.Event()
        self.responses: list[Any] = []
        self.receipts: list[Any] = []
        #: every PDU received, as its bytes: aiosmpplib hands the hook one submit_sm_resp and
        #: one receipt for a message it split itself, whatever its parts
        self.pdus: list[bytes] = []

    async def sending(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: Any, pdu: bytes, client_id: str) -> None:
        self.pdus.append(pdu)
        if isinstance(smpp_message, aiosmpplib.BindTransceiverResp):
            self.bound.set()
        elif isinstance(smpp_message, aiosmpplib.SubmitSmResp):
            self.responses.append(smpp_message)
        elif isinstance(smpp_message, aiosmpplib.DeliverSm) and smpp_message.is_receipt():
            self.receipts.append(smpp_message)

    async def send_error(self, smpp_message: Any, error: Exception, client_id: str) -> None:
        raise AssertionError(f"aiosmpplib could not send: {error!r}")

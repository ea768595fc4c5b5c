"""The emulator as strict as the platform: only accepted parts are billed and reassembled, an
MO to a short code carries a short code's TON/NPI, protocol errors and reassembled messages
are visible from outside (control API), data_coding 0 is read with the account's alphabet,
and the fast path refuses what the general path refuses (over 127.0.0.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from smppgate.emulator import Account
from smppgate.emulator.control import ControlServer
from smppgate.pdu import CommandStatus, DeliverSm, EsmClass, GenericNack
from tests.esme_helpers import LOGIN, SECRET, bound, running, submit_frame


def _parts(text: bytes, reference: int = 7) -> list[dict[str, Any]]:
    """Two UDH parts of one message (6-octet UDH, D-16)."""
    half = len(text) // 2
    return [
        {
            "esm_class": EsmClass.UDHI,
            "short_message": bytes((5, 0, 3, reference, 2, n)) + piece,
        }
        for n, piece in ((1, text[:half]), (2, text[half:]))
    ]


@pytest.mark.parametrize(
    ("fault", "params", "status"),
    [
        ("queue_full", {"first": 1}, CommandStatus.ESME_RMSGQFUL),
        ("reject", {"status": "ESME_RSYSERR"}, CommandStatus.ESME_RSYSERR),
        ("invalid_destination", {"pattern": "7900.*"}, CommandStatus.ESME_RINVDSTADR),
        ("throttle", {"rate": 0.001, "burst": 1}, CommandStatus.ESME_RTHROTTLED),
    ],
)
async def test_refused_parts_are_neither_billed_nor_reassembled(
    fault: str, params: dict[str, Any], status: CommandStatus
) -> None:
    async with running(qfull_pause_scale=0.0, throttle_pause=0.0) as emu:
        client = await bound(emu.address)
        rule = emu.faults.add(fault, **params)
        if fault == "throttle":  # the bucket's one token goes to another message
            assert (await client.submit(destination="79110000000")).command_status == 0
        billed = emu.counters.billed_segments
        for part in _parts(b"Hello, world"):
            assert (await client.submit(**part)).command_status == status
        # every part refused: nothing billed, nothing counted toward the message
        assert emu.counters.billed_segments == billed
        assert list(emu.assembled) == []
        emu.faults.remove(rule.id)
        for part in _parts(b"Hello, world"):
            assert (await client.submit(**part)).command_status == CommandStatus.ESME_ROK
        assert emu.counters.billed_segments == billed + 2
        (message,) = emu.assembled
        assert message.complete
        assert message.text() == "Hello, world"
        await client.close()


async def test_one_refused_part_leaves_the_message_incomplete() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        first, second = _parts(b"Hello, world")
        rule = emu.faults.add("reject", status="ESME_RSYSERR")
        assert (await client.submit(**first)).command_status == CommandStatus.ESME_RSYSERR
        emu.faults.remove(rule.id)
        assert (await client.submit(**second)).command_status == CommandStatus.ESME_ROK
        # the platform never got part 1: no reassembled message, one part billed
        assert list(emu.assembled) == []
        assert emu.counters.billed_segments == 1
        await client.close()


@pytest.mark.parametrize(
    ("destination", "ton_npi"),
    [("5500", (3, 0)), ("79001234567", (1, 1)), ("+79001234567", (1, 1))],
)
async def test_mo_destination_carries_the_ton_npi_of_its_kind(
    destination: str, ton_npi: tuple[int, int]
) -> None:
    async with running() as emu:
        client = await bound(emu.address)
        task = asyncio.create_task(emu.inject_mo(LOGIN, "79001234567", destination, "hi"))
        mo = await client.expect(DeliverSm)
        assert (mo.dest_addr_ton, mo.dest_addr_npi) == ton_npi
        assert mo.destination_addr == destination.removeprefix("+")
        assert (mo.source_addr_ton, mo.source_addr_npi) == (1, 1)
        assert await task == [CommandStatus.ESME_ROK]
        await client.close()


async def test_protocol_errors_and_reassembled_messages_through_the_control_api() -> None:
    accounts = (Account(LOGIN, SECRET, default_alphabet="latin1"),)  # type: ignore[arg-type]
    async with running(accounts=accounts) as emu, ControlServer(emu) as control:
        base = f"http://{control.address[0]}:{control.address[1]}"
        client = await bound(emu.address)
        await client.send_raw(bytes.fromhex("00000010000001990000000000000063"))  # unknown id
        nack = await client.read()
        assert isinstance(nack, GenericNack)
        assert nack.command_status == CommandStatus.ESME_RINVCMDID
        # a 25-character source: the codec refuses it, on the fast path too
        await client.send_raw(submit_frame(50, source=(5, 1, b"S" * 25)))
        refused = await client.read()
        assert refused.command_status == CommandStatus.ESME_RINVSRCADR
        # data_coding 0 read as Latin-1 on this account: 0xE9 is é
        for part in _parts(b"caf\xe9 ol\xe9"):
            assert (await client.submit(**part)).command_status == 0
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/stats") as r:
                stats = await r.json()
            async with http.get(f"{base}/assembled") as r:
                assembled = await r.json()
        assert stats["counters"]["protocol_errors"] == 2
        assert stats["assembled"] == 1
        assert assembled == [
            {
                "system_id": LOGIN,
                "source": "Devino",
                "destination": "79001234567",
                "reference": 7,
                "total": 2,
                "complete": True,
                "missing": [],
                "data_coding": 0,
                "text": "café olé",
            }
        ]
        kinds = [e.kind for e in emu.events if e.kind == "protocol_error"]
        assert kinds == ["protocol_error"] * 2
        await client.close()


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"source_addr": "S" * 30}, CommandStatus.ESME_RINVSRCADR),
        ({"destination": "7" * 30}, CommandStatus.ESME_RINVDSTADR),
        ({"service_type": "ABCDEFGHIJ"}, CommandStatus.ESME_RINVSERTYP),
    ],
)
async def test_over_long_fields_are_refused_with_source_5_1(
    fields: dict[str, Any], status: CommandStatus
) -> None:
    async with running() as emu:
        client = await bound(emu.address)
        # (submit() encodes through the codec, which refuses these: the bytes by hand)
        frame = submit_frame(
            9,
            service_type=fields.get("service_type", "").encode(),
            source=(5, 1, fields.get("source_addr", "Devino").encode()),
            dest=(1, 1, fields.get("destination", "79001234567").encode()),
        )
        await client.send_raw(frame)
        answer = await client.read()
        assert (answer.sequence_number, answer.command_status) == (9, status)
        assert emu.counters.billed_segments == 0
        await client.close()

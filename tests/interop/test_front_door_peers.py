"""Independent SMPP clients bind to the gateway's front door over 127.0.0.1 — python-smpplib
(sync, in a thread), aiosmpplib (asyncio) and node's ``smpp`` (a subprocess) — submit, and get
their receipts with the ids they were given; upstream is the emulator, strict."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import aiosmpplib
import pytest
import smpplib.client
import smpplib.consts
import smpplib.gsm
from aiosmpplib.state import SAR_MSG_REF_NUM, SAR_SEGMENT_SEQNUM, SAR_TOTAL_SEGMENTS

from smppgate.pdu import DeliverSm, SubmitSmResp, decode
from tests.aiosmpplib_peer import QueueBroker, RecordingHook
from tests.integration.test_front_door import receipted_id, running

NODE_DIR = Path(__file__).parent / "node"


def _smpplib_session(host: str, port: int) -> tuple[list[str], list[Any]]:
    """Bind as app1, send two single messages, read until both receipts came, unbind."""
    client = smpplib.client.Client(host, port, timeout=10, allow_unknown_opt_params=True)
    message_ids: list[str] = []
    receipts: list[Any] = []
    client.set_message_sent_handler(lambda pdu: message_ids.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: receipts.append(pdu))
    client.connect()
    try:
        client.bind_transceiver(system_id="app1", password="app1pw")
        for text, data_coding in ((b"Hello from smpplib", 0), ("Привет".encode("utf-16-be"), 8)):
            client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                source_addr="Devino",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr="79001234567",
                registered_delivery=True,
                data_coding=data_coding,
                short_message=text,
            )
        while len(message_ids) < 2 or len(receipts) < 2:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return message_ids, receipts


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_smpplib_submits_and_gets_its_receipts(store_url: str) -> None:
    async with running(store_url) as (emu, gateway, door):
        message_ids, receipts = await asyncio.wait_for(
            asyncio.to_thread(_smpplib_session, *door.address), 30
        )
        assert len(set(message_ids)) == 2
        assert {r.receipted_message_id.decode() for r in receipts} == set(message_ids)
        assert all(b"stat:DELIVRD" in r.short_message for r in receipts)
        texts = {(await gateway.store.get_message(i)).message.text for i in message_ids}
        assert texts == {"Hello from smpplib", "Привет"}
        assert not [v for v in emu.violations if v.rule != "D-12"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_aiosmpplib_submits_and_gets_its_receipts(store_url: str) -> None:
    async with running(store_url) as (emu, _, door):
        broker, hook = QueueBroker(), RecordingHook()
        esme = aiosmpplib.ESME(
            smsc_host=door.address[0],
            smsc_port=door.address[1],
            system_id="app1",
            password="app1pw",
            broker=broker,
            hook=hook,
            log_level=logging.WARNING,
            log_handler=logging.NullHandler(),
        )
        runner = asyncio.create_task(esme.start())
        try:
            await asyncio.wait_for(hook.bound.wait(), 5)
            source = aiosmpplib.PhoneNumber(
                "Devino", aiosmpplib.TON.ALPHANUMERIC, aiosmpplib.NPI.ISDN
            )
            dest = aiosmpplib.PhoneNumber(
                "79001234567", aiosmpplib.TON.INTERNATIONAL, aiosmpplib.NPI.ISDN
            )
            await broker.enqueue(
                aiosmpplib.SubmitSm(short_message="hello", source=source, destination=dest)
            )
            # a long text goes as one message_payload (aiosmpplib's default)
            await broker.enqueue(
                aiosmpplib.SubmitSm(short_message="Z" * 300, source=source, destination=dest)
            )
            async with asyncio.timeout(20):
                while len(hook.receipts) < 2:  # noqa: ASYNC110 - the hook has no event for it
                    await asyncio.sleep(0.02)
            given = {r.message_id for r in hook.responses}
            assert len(given) == 2
            assert {r.parse_receipt().get("id") for r in hook.receipts} == given
            assert {r.log_id for r in hook.receipts} <= given | {""}
            assert not [v for v in emu.violations if v.rule != "D-12"]
        finally:
            writer = esme._writer  # aiosmpplib 0.7.4 leaves it unclosed (see the emulator test)
            await asyncio.wait_for(esme.stop(), 5)
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            if writer is not None:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_node_smpp_submits_and_gets_its_receipts(store_url: str) -> None:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "smpp").is_dir():
        pytest.fail("node and its smpp package are needed: run `bash scripts/peers.sh`")
    async with running(store_url) as (emu, _, door):
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / "esme_client.js"),
            "--port",
            str(door.address[1]),
            "--system_id",
            "app1",
            "--password",
            "app1pw",
            "--count",
            "3",
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        events = [json.loads(line) for line in out.decode().splitlines()]
        kinds = [e["event"] for e in events]
        assert kinds[0] == "bind_resp"
        assert events[0]["command_status"] == 0
        given = {e["message_id"] for e in events if e["event"] == "submit_sm_resp"}
        assert len(given) == 3
        receipts = [e for e in events if e["event"] == "deliver_sm"]
        assert {r["receipted_message_id"] for r in receipts} == given
        assert all("stat:DELIVRD" in r["text"] for r in receipts)
        assert kinds[-1] == "unbound"
        assert not [v for v in emu.violations if v.rule != "D-12"]


# ------------------------------------------------------------------ self-split messages

UCS2_LONG = "Я" * 66 + "Ж" * 10
GSM_LONG = "A" * 153 + "B" * 20


def _smpplib_split_session(host: str, port: int) -> tuple[list[str], list[Any]]:
    """Bind as app1, send a UCS2 and a GSM message split by smpplib itself (its 6-octet UDH,
    make_parts), read until every part's receipt came."""
    client = smpplib.client.Client(host, port, timeout=10, allow_unknown_opt_params=True)
    message_ids: list[str] = []
    receipts: list[Any] = []
    client.set_message_sent_handler(lambda pdu: message_ids.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: receipts.append(pdu))
    client.connect()
    try:
        client.bind_transceiver(system_id="app1", password="app1pw")
        for text in (UCS2_LONG, GSM_LONG):
            parts, data_coding, esm_class = smpplib.gsm.make_parts(text)
            assert len(parts) == 2
            assert esm_class == smpplib.consts.SMPP_GSMFEAT_UDHI
            for part in parts:
                client.send_message(
                    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                    source_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                    source_addr="Devino",
                    dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                    dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                    destination_addr="79001234567",
                    registered_delivery=True,
                    esm_class=esm_class,
                    data_coding=data_coding,
                    short_message=part,
                )
        while len(message_ids) < 4 or len(receipts) < 4:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return message_ids, receipts


def _assembled_texts(emu: Any) -> list[str]:
    return sorted(str(m["text"]) for m in emu.assembled_messages() if m["complete"])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_smpplib_self_split_messages_get_a_receipt_per_part(store_url: str) -> None:
    async with running(store_url) as (emu, _gateway, door):
        message_ids, receipts = await asyncio.wait_for(
            asyncio.to_thread(_smpplib_split_session, *door.address), 30
        )
        assert len(set(message_ids)) == 4
        assert {r.receipted_message_id.decode() for r in receipts} == set(message_ids)
        assert all(b"stat:DELIVRD" in r.short_message for r in receipts)
        assert _assembled_texts(emu) == sorted([UCS2_LONG, GSM_LONG])
        assert not [v for v in emu.violations if v.rule != "D-12"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_aiosmpplib_self_split_messages_get_a_receipt_per_part(store_url: str) -> None:
    """aiosmpplib splits with a 6-octet UDH when esm_class has UDHI (UCS2 and GSM); its own
    SAR split makes parts of 254 octets, more than a part holds on the platform, so the SAR
    set is split here and sent with aiosmpplib's optional parameters."""
    async with running(store_url) as (emu, _, door):
        broker, hook = QueueBroker(), RecordingHook()
        esme = aiosmpplib.ESME(
            smsc_host=door.address[0],
            smsc_port=door.address[1],
            system_id="app1",
            password="app1pw",
            broker=broker,
            hook=hook,
            log_level=logging.WARNING,
            log_handler=logging.NullHandler(),
        )
        runner = asyncio.create_task(esme.start())
        try:
            await asyncio.wait_for(hook.bound.wait(), 5)
            source = aiosmpplib.PhoneNumber(
                "Devino", aiosmpplib.TON.ALPHANUMERIC, aiosmpplib.NPI.ISDN
            )
            dest = aiosmpplib.PhoneNumber(
                "79001234567", aiosmpplib.TON.INTERNATIONAL, aiosmpplib.NPI.ISDN
            )
            for text in (UCS2_LONG, GSM_LONG):
                await broker.enqueue(
                    aiosmpplib.SubmitSm(
                        short_message=text,
                        source=source,
                        destination=dest,
                        esm_class=0x40,
                        auto_message_payload=False,
                    )
                )
            for seq, chunk in enumerate((UCS2_LONG[:66], UCS2_LONG[66:]), 1):
                sar = [
                    aiosmpplib.OptionalParam(SAR_MSG_REF_NUM, 0x0304),
                    aiosmpplib.OptionalParam(SAR_TOTAL_SEGMENTS, 2),
                    aiosmpplib.OptionalParam(SAR_SEGMENT_SEQNUM, seq),
                ]
                await broker.enqueue(
                    aiosmpplib.SubmitSm(
                        short_message=chunk,
                        source=source,
                        destination=dest,
                        encoding="ucs2",
                        optional_params=sar,
                    )
                )
            async with asyncio.timeout(20):
                while True:
                    pdus = [decode(p) for p in hook.pdus]
                    given = {p.message_id for p in pdus if isinstance(p, SubmitSmResp)}
                    receipts = [p for p in pdus if isinstance(p, DeliverSm)]
                    if len(receipts) == 6:
                        break
                    await asyncio.sleep(0.02)
            assert len(given) == 6
            assert {receipted_id(r) for r in receipts} == given
            assert _assembled_texts(emu) == sorted([UCS2_LONG, UCS2_LONG, GSM_LONG])
            assert not [v for v in emu.violations if v.rule != "D-12"]
        finally:
            writer = esme._writer  # aiosmpplib 0.7.4 leaves it unclosed (see the emulator test)
            await asyncio.wait_for(esme.stop(), 5)
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            if writer is not None:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_node_smpp_self_split_messages_get_a_receipt_per_part(store_url: str) -> None:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "smpp").is_dir():
        pytest.fail("node and its smpp package are needed: run `bash scripts/peers.sh`")
    async with running(store_url) as (emu, _, door):
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_DIR / "esme_client.js"),
            "--port",
            str(door.address[1]),
            "--system_id",
            "app1",
            "--password",
            "app1pw",
            "--count",
            "4",
            "--split",
            "1",
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        events = [json.loads(line) for line in out.decode().splitlines()]
        given = {e["message_id"] for e in events if e["event"] == "submit_sm_resp"}
        assert len(given) == 4
        receipts = [e for e in events if e["event"] == "deliver_sm"]
        assert {r["receipted_message_id"] for r in receipts} == given
        assert all("stat:DELIVRD" in r["text"] for r in receipts)
        assert _assembled_texts(emu) == sorted([UCS2_LONG, GSM_LONG])
        assert not [v for v in emu.violations if v.rule != "D-12"]


def _smpplib_receive(host: str, port: int, bound: threading.Event) -> list[Any]:
    """Bind app1 as a receiver, read until one deliver_sm came, unbind."""
    client = smpplib.client.Client(host, port, timeout=10, allow_unknown_opt_params=True)
    received: list[Any] = []
    client.set_message_received_handler(lambda pdu: received.append(pdu))
    client.connect()
    try:
        client.bind_receiver(system_id="app1", password="app1pw")
        bound.set()
        while not received:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return received


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_smpplib_gets_the_mo_routed_to_it(store_url: str) -> None:
    routes = [{"user": "app1", "destination": "1234"}]
    async with running(store_url, routes=routes) as (emu, _gateway, door):
        bound = threading.Event()
        session = asyncio.create_task(asyncio.to_thread(_smpplib_receive, *door.address, bound))
        async with asyncio.timeout(10):
            while not (bound.is_set() and emu.smsc.can_deliver("demo")):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await emu.inject_mo("demo", "79001110000", "1234", "Привет, app1")
        (mo,) = await asyncio.wait_for(session, 20)
        assert mo.source_addr == b"79001110000"
        assert mo.destination_addr == b"1234"
        assert mo.data_coding == 8
        assert mo.short_message.decode("utf-16-be") == "Привет, app1"

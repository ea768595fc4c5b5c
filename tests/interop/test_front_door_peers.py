"""Independent SMPP clients bind to the gateway's front door over 127.0.0.1 — python-smpplib
(sync, in a thread), aiosmpplib (asyncio) and node's ``smpp`` (a subprocess) — submit, and get
their receipts with the ids they were given; upstream is the emulator, strict."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import aiosmpplib
import pytest
import smpplib.client
import smpplib.consts

from tests.aiosmpplib_peer import QueueBroker, RecordingHook
from tests.integration.test_front_door import running

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

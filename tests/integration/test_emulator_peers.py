"""Independent SMPP clients against the emulator over 127.0.0.1: python-smpplib (sync, run in a
thread) and aiosmpplib (asyncio). Each binds, submits a single and a concatenated message, and
receives the delivery receipts; our own session/transport ESME does the same."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiosmpplib
import smpplib.client
import smpplib.consts
import smpplib.gsm

from smppgate.pdu import DeliverSm, SubmitSm, SubmitSmResp, TlvTag, tlv_value
from smppgate.session import (
    BindMode,
    Bound,
    Event,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    SessionConfig,
)
from smppgate.text import SplitMethod, plan_split
from smppgate.transport import SessionConnection, connect
from tests.aiosmpplib_peer import QueueBroker, RecordingHook
from tests.esme_helpers import LOGIN, SECRET, running

TEXT_LONG = "Привет, это длинное сообщение для проверки склейки. " * 2


def _smpplib_session(host: str, port: int) -> tuple[list[str], list[Any]]:
    """Bind, send one single and one two-part UCS2 message, read until every receipt came."""
    client = smpplib.client.Client(host, port, timeout=5, allow_unknown_opt_params=True)
    message_ids: list[str] = []
    receipts: list[Any] = []
    client.set_message_sent_handler(lambda pdu: message_ids.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: receipts.append(pdu))
    client.connect()
    try:
        client.bind_transceiver(system_id=LOGIN, password=SECRET)
        common = {
            "source_addr_ton": smpplib.consts.SMPP_TON_ALNUM,
            "source_addr_npi": smpplib.consts.SMPP_NPI_ISDN,
            "source_addr": "Devino",
            "dest_addr_ton": smpplib.consts.SMPP_TON_INTL,
            "dest_addr_npi": smpplib.consts.SMPP_NPI_ISDN,
            "destination_addr": "79001234567",
            "registered_delivery": True,
        }
        client.send_message(short_message=b"Hello from smpplib", **common)
        parts, encoding, esm_class = smpplib.gsm.make_parts(TEXT_LONG)
        assert len(parts) == 2
        for part in parts:
            client.send_message(
                short_message=part, data_coding=encoding, esm_class=esm_class, **common
            )
        while len(message_ids) < 3 or len(receipts) < 3:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return message_ids, receipts


async def test_smpplib_binds_submits_and_gets_receipts() -> None:
    async with running() as emu:
        message_ids, receipts = await asyncio.wait_for(
            asyncio.to_thread(_smpplib_session, *emu.address), 20
        )
        assert len(set(message_ids)) == 3
        receipted = {r.receipted_message_id.decode() for r in receipts}
        assert receipted == set(message_ids)
        assert all(b"stat:DELIVRD" in r.short_message for r in receipts)
        assert [m.complete for m in emu.assembled] == [True]
        assert emu.assembled[0].text() == TEXT_LONG
        await asyncio.sleep(0.05)  # real time: a late answer from the peer would show by now
        assert "D-10" not in emu.violations.rules()
        assert "D-16" not in emu.violations.rules()


async def test_aiosmpplib_binds_submits_and_gets_receipts() -> None:
    async with running() as emu:
        broker, hook = QueueBroker(), RecordingHook()
        esme = aiosmpplib.ESME(
            smsc_host=emu.address[0],
            smsc_port=emu.address[1],
            system_id=LOGIN,
            password=SECRET,
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
            # concatenated with a UDH (aiosmpplib splits it itself)
            await broker.enqueue(
                aiosmpplib.SubmitSm(
                    short_message=TEXT_LONG,
                    source=source,
                    destination=dest,
                    esm_class=0x40,
                    auto_message_payload=False,
                )
            )
            # and as one message_payload: the platform splits and sends one receipt
            await broker.enqueue(
                aiosmpplib.SubmitSm(short_message="Z" * 300, source=source, destination=dest)
            )
            async with asyncio.timeout(10):
                # the emulator's counters have no event to wait on: poll them
                while emu.counters.receipts_sent < 4 or len(hook.receipts) < 3:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            accepted = [r for r in emu.records if r.message_id]
            assert len(accepted) == 4
            assert [m.complete for m in emu.assembled] == [True]
            assert emu.assembled[0].text() == TEXT_LONG
            assert emu.counters.billed_segments == 1 + 2 + 2  # 300 GSM chars bill 2 segments
            assert {r.pdu.esm_class for r in accepted} == {0, 0x40}  # type: ignore[union-attr]
            receipted = {r.parse_receipt().get("id") for r in hook.receipts}
            assert accepted[0].message_id in receipted
            await asyncio.sleep(0.1)  # real time: a late answer from the peer would show by now
            assert "D-10" not in emu.violations.rules()
        finally:
            # aiosmpplib 0.7.4 drops its StreamWriter after write_eof() without closing it
            # (a ResourceWarning at garbage collection): keep it and close it ourselves
            writer = esme._writer
            await asyncio.wait_for(esme.stop(), 5)
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            if writer is not None:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()


async def test_our_session_esme_binds_submits_and_gets_receipts() -> None:
    async with running() as emu:
        loop = asyncio.get_running_loop()
        bound = loop.create_future()
        ids: list[str] = []
        receipts: list[DeliverSm] = []
        done = loop.create_future()

        def handler(conn: SessionConnection, events: list[Event]) -> None:
            for event in events:
                if isinstance(event, Bound):
                    bound.set_result(event)
                elif isinstance(event, ResponseReceived) and isinstance(
                    event.response, SubmitSmResp
                ):
                    ids.append(event.response.message_id)
                elif isinstance(event, RequestReceived) and isinstance(event.pdu, DeliverSm):
                    receipts.append(event.pdu)
                    if len(receipts) == 3 and not done.done():
                        done.set_result(None)

        conn = await connect(*emu.address, Session(Role.ESME, SessionConfig(window=10)), handler)
        conn.run(lambda s, now: s.bind(BindMode.TRANSCEIVER, LOGIN, SECRET, now))
        await asyncio.wait_for(bound, 5)
        plan = plan_split(TEXT_LONG, method=SplitMethod.UDH, reference=0x21)
        pdus = [SubmitSm(short_message=b"single")] + [
            SubmitSm(
                short_message=p.short_message, esm_class=p.esm_class, data_coding=plan.data_coding
            )
            for p in plan.parts
        ]
        for pdu in pdus:
            conn.send_request(
                pdu._replace(
                    source_addr_ton=5,
                    source_addr_npi=1,
                    source_addr="Devino",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr="79001234567",
                    registered_delivery=1,
                )
            )
        await asyncio.wait_for(done, 5)
        receipted = {
            tlv_value(t) for r in receipts for t in r.tlvs if t.tag == TlvTag.RECEIPTED_MESSAGE_ID
        }
        assert receipted == set(ids)
        assert emu.violations.rules() == []
        conn.run(lambda s, now: s.unbind(now))
        await asyncio.wait_for(conn.closed, 5)

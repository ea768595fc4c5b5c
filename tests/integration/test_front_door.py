"""The SMPP front door over real sockets on 127.0.0.1: applications bind to the gateway, their
submits are committed before they are answered, go upstream to the (strict) emulator, and the
receipts come back to them as deliver_sm, kept in the store while nobody is bound."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.pdu import (
    CancelSm,
    CommandId,
    CommandStatus,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    QuerySm,
    SubmitSm,
    Tlv,
    TlvTag,
    Unbind,
    UnbindResp,
    decode,
    make_tlv,
)
from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.front_door import FrontDoor
from smppgate.service.metrics import Metrics
from smppgate.service.runtime import Gateway
from smppgate.store import MessageState
from tests.esme_helpers import RawEsme, bound, submit
from tests.gateway_helpers import free_port

DATA = Path(__file__).resolve().parents[1] / "data"
USERS = [
    {"system_id": "app1", "password": "app1pw", "account": "demo", "max_binds": 2},
    {"system_id": "app2", "password": "app2pw", "account": "demo", "throughput": 0.1},
]


def door_config(
    store_url: str, upstream_port: int, *, users: list[dict[str, Any]] | None = None, **server: Any
) -> GatewayConfig:
    return parse_config(
        {
            "store": {"url": store_url},
            "accounts": [
                {
                    "name": "demo",
                    "profile": "devino-promo",
                    "hosts": [f"127.0.0.1:{upstream_port}"],
                    "system_id": "demo",
                    "password": "demo",
                    "sessions": ["trx"],
                    "window": 20,
                }
            ],
            "smpp_server": {
                "listen": f"127.0.0.1:{free_port()}",
                "users": users or USERS,
                "failed_binds_before_lockout": 3,
                **server,
            },
            "shutdown_timeout": 2,
        },
        environ={},
    )


@asynccontextmanager
async def running(
    store_url: str, *, dlr_delay: float = 0.01, **server: Any
) -> AsyncIterator[tuple[Emulator, Gateway, FrontDoor]]:
    emulator = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=dlr_delay,
        strict=True,
    )
    async with Emulator(emulator) as emu:
        config = door_config(store_url, emu.address[1], **server)
        async with (
            Gateway(config, poll_interval=0.02) as gateway,
            FrontDoor(config, gateway, outbox_poll=0.05, redeliver_after=0.2) as door,
        ):
            yield emu, gateway, door


def tlv(pdu: DeliverSm, tag: TlvTag) -> bytes | None:
    return next((t.value for t in pdu.tlvs if t.tag == tag), None)


def receipted_id(pdu: DeliverSm) -> str:
    value = tlv(pdu, TlvTag.RECEIPTED_MESSAGE_ID)
    assert value is not None
    return value.rstrip(b"\x00").decode()


def app_submit(text: bytes = b"Hello", **fields: Any) -> SubmitSm:
    return submit(text=text, registered_delivery=1, **fields)


# ------------------------------------------------------------------ binds


async def test_binds_check_credentials_and_answer_as_an_smsc(store_url: str) -> None:
    async with running(store_url) as (_, _, door):
        client = await RawEsme.connect(door.address)
        assert (await client.bind("trx", "app1", "wrong")).command_status == (
            CommandStatus.ESME_RINVPASWD
        )
        assert await client.closed()
        await client.close()
        client = await RawEsme.connect(door.address)
        assert (await client.bind("tx", "nobody", "x")).command_status == (
            CommandStatus.ESME_RINVSYSID
        )
        await client.close()
        client = await RawEsme.connect(door.address)
        response = await client.bind("rx", "app1", "app1pw")
        assert response.command_status == CommandStatus.ESME_ROK
        assert response.system_id == "smppgate"
        version = next(t for t in response.tlvs if t.tag == TlvTag.SC_INTERFACE_VERSION)
        assert version.value == b"\x34"
        seq = await client.send(EnquireLink())
        answer = await client.read()
        assert isinstance(answer, EnquireLinkResp)
        assert answer.sequence_number == seq
        # the client unbinds: answered, then closed
        seq = await client.send(Unbind())
        answer = await client.read()
        assert isinstance(answer, UnbindResp)
        assert answer.sequence_number == seq
        assert await client.closed()
        await client.close()


async def test_max_binds_and_lockout(store_url: str) -> None:
    async with running(store_url) as (_, _, door):
        first = await bound(door.address, "tx", system_id="app1", password="app1pw")
        second = await bound(door.address, "rx", system_id="app1", password="app1pw")
        third = await RawEsme.connect(door.address)
        assert (await third.bind("trx", "app1", "app1pw")).command_status == (
            CommandStatus.ESME_RBINDFAIL
        )
        for client in (first, second, third):
            await client.close()
        # three failures from this address lock it out, even for the right password
        for _ in range(3):
            client = await RawEsme.connect(door.address)
            assert (await client.bind("trx", "app2", "bad")).command_status == (
                CommandStatus.ESME_RINVPASWD
            )
            await client.close()
        client = await RawEsme.connect(door.address)
        assert (await client.bind("trx", "app2", "app2pw")).command_status == (
            CommandStatus.ESME_RBINDFAIL
        )
        await client.close()
        # counted per system_id and address: another user from the same address still binds
        client = await bound(door.address, "tx", system_id="app1", password="app1pw")
        await client.close()


async def test_the_gateway_unbinds_applications_when_it_stops(store_url: str) -> None:
    async with running(store_url) as (_, _, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        stopping = asyncio.create_task(door.aclose())
        request = await client.read()
        assert isinstance(request, Unbind)
        await client.send(UnbindResp(), request.sequence_number)
        await stopping
        assert await client.closed()
        await client.close()


# ------------------------------------------------------------------ submits and receipts


async def test_a_submit_is_stored_before_its_answer_and_its_receipt_comes_back(
    store_url: str,
) -> None:
    async with running(store_url) as (emu, gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        response = await client.submit(app_submit(b"Hello from app1"))
        assert response.command_status == CommandStatus.ESME_ROK
        message_id = response.message_id
        stored = await gateway.store.get_message(message_id)  # on disk when answered
        assert stored.message.account == "demo"
        assert stored.message.text == "Hello from app1"
        receipt = await client.expect(DeliverSm, within=15)
        assert receipt.esm_class & 0x04
        assert receipted_id(receipt) == message_id
        text = receipt.short_message.decode()
        assert text.startswith(f"id:{message_id} ")
        assert "stat:DELIVRD" in text
        assert tlv(receipt, TlvTag.MESSAGE_STATE) == b"\x02"
        assert receipt.source_addr == "79001234567"
        assert receipt.destination_addr == "Devino"
        # upstream saw it once, and the emulator (strict) found nothing to complain about
        assert [r.status for r in emu.records] == [CommandStatus.ESME_ROK]
        assert not [v for v in emu.violations if v.rule != "D-12"]
        await _until_outbox_empty(door)
        await client.close()


async def test_a_number_of_unknown_type_is_read_as_people_type_it(store_url: str) -> None:
    """dest_addr_ton 0 with ``8 900 123-45-67``: stored, and sent upstream, as 79001234567
    with TON 1 / NPI 1; an international one goes as it is."""
    async with running(store_url) as (emu, gateway, door):
        client = await bound(door.address, "tx", system_id="app1", password="app1pw")
        typed = await client.submit(
            app_submit(dest_addr_ton=0, dest_addr_npi=0, destination_addr="8 900 123-45-67")
        )
        assert typed.command_status == CommandStatus.ESME_ROK
        stored = await gateway.store.get_message(typed.message_id)
        assert stored.message.destination == "79001234567"
        for _ in range(500):
            if emu.records:
                break
            await asyncio.sleep(0.01)
        upstream = emu.records[0].pdu
        assert isinstance(upstream, SubmitSm)
        assert (upstream.dest_addr_ton, upstream.dest_addr_npi) == (1, 1)
        assert upstream.destination_addr == "79001234567"
        await client.close()


async def test_metrics_show_bound_applications_per_user(store_url: str) -> None:
    async with running(store_url) as (_emu, _gateway, door):
        metrics = Metrics()
        metrics.attach_front_door(door.snapshot)
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        response = await client.submit(app_submit(b"counted"))
        assert response.command_status == CommandStatus.ESME_ROK
        await client.expect(DeliverSm, within=15)
        text = await metrics.render()
        assert 'smppgate_front_door_sessions{user="app1"} 1' in text
        assert 'smppgate_front_door_sessions{user="app2"} 0' in text
        assert 'smppgate_front_door_submits_total{user="app1"} 1' in text
        assert 'smppgate_front_door_receipts_total{user="app1"} 1' in text
        await client.close()


async def test_data_sm_and_message_payload(store_url: str) -> None:
    async with running(store_url) as (_, gateway, door):
        client = await bound(door.address, "tx", system_id="app1", password="app1pw")
        payload = ("Long text " * 30).encode()
        response = await client.submit(
            app_submit(b"", tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, payload),))
        )
        assert response.command_status == CommandStatus.ESME_ROK
        detail = await gateway.store.get_message(response.message_id)
        assert detail.message.parts[0].message_payload == payload
        seq = await client.send(
            DataSm(
                source_addr_ton=5,
                source_addr="Devino",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="79001234568",
                registered_delivery=1,
                tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"via data sm"),),
            )
        )
        answer = await client.read()
        assert answer.command_id == CommandId.DATA_SM_RESP
        assert answer.sequence_number == seq
        assert answer.command_status == CommandStatus.ESME_ROK
        assert (await gateway.store.get_message(answer.message_id)).message.text == "via data sm"
        await client.close()


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"destination_addr": "123"}, CommandStatus.ESME_RINVDSTADR),
        ({"dest_addr_ton": 4, "destination_addr": "1234567"}, CommandStatus.ESME_RINVDSTADR),
        ({"dest_addr_ton": 0, "destination_addr": "8 900 abc"}, CommandStatus.ESME_RINVDSTADR),
        ({"source_addr": "far too long sender"}, CommandStatus.ESME_RINVSRCADR),
        ({"short_message": b"x" * 161}, CommandStatus.ESME_RINVMSGLEN),  # GSM: 160 septets
        ({"short_message": b"x" * 142, "data_coding": 8}, CommandStatus.ESME_RINVMSGLEN),
        ({"short_message": b"x" * 141, "data_coding": 3}, CommandStatus.ESME_RINVMSGLEN),
        ({"short_message": b""}, CommandStatus.ESME_RINVMSGLEN),
        ({"validity_period": "000000000030000R"}, CommandStatus.ESME_RINVEXPIRY),
        ({"validity_period": "garbage-garbage0"}, CommandStatus.ESME_RINVEXPIRY),
        ({"schedule_delivery_time": "XX0101000000000+"}, CommandStatus.ESME_RINVSCHED),
        ({"data_coding": 0xF5}, CommandStatus.ESME_RSUBMITFAIL),
        ({"priority_flag": 4}, CommandStatus.ESME_RINVPRTFLG),
        ({"service_type": "USSD"}, CommandStatus.ESME_RINVSERTYP),
        (
            {"tlvs": (make_tlv(TlvTag.MESSAGE_PAYLOAD, b"x"),), "short_message": b"y"},
            CommandStatus.ESME_RINVMSGLEN,
        ),
    ],
)
async def test_invalid_submits_are_refused_and_never_stored(
    store_url: str, fields: dict[str, Any], status: CommandStatus
) -> None:
    async with running(store_url) as (_, gateway, door):
        client = await bound(door.address, "tx", system_id="app1", password="app1pw")
        response = await client.submit(app_submit(**fields))
        assert response.command_status == status
        assert response.message_id == ""
        assert not (await gateway.store.list_messages()).items
        await client.close()


async def test_a_store_failure_answers_syserr_never_ok(store_url: str) -> None:
    async with running(store_url) as (_, gateway, door):
        client = await bound(door.address, "tx", system_id="app1", password="app1pw")
        # the front door's own table gone: the insert fails inside its transaction
        await _sql(store_url, "ALTER TABLE smpp_origins RENAME TO smpp_origins_away")
        response = await client.submit(app_submit())
        assert response.command_status == CommandStatus.ESME_RSYSERR
        assert not (await gateway.store.list_messages()).items
        await _sql(store_url, "ALTER TABLE smpp_origins_away RENAME TO smpp_origins")
        response = await client.submit(app_submit())
        assert response.command_status == CommandStatus.ESME_ROK
        await client.close()


async def test_throughput_per_user(store_url: str) -> None:
    async with running(store_url) as (_, _, door):
        client = await bound(door.address, "tx", system_id="app2", password="app2pw")
        statuses = [(await client.submit(app_submit())).command_status for _ in range(3)]
        # 0.1 submit/s: the first goes, the next ones within 10 s are throttled
        assert statuses == [
            CommandStatus.ESME_ROK,
            CommandStatus.ESME_RTHROTTLED,
            CommandStatus.ESME_RTHROTTLED,
        ]
        await client.close()


async def test_receipts_wait_in_the_store_until_the_application_binds(store_url: str) -> None:
    async with running(store_url) as (_, gateway, door):
        sender = await bound(door.address, "tx", system_id="app1", password="app1pw")
        ids = [(await sender.submit(app_submit(f"m{i}".encode()))).message_id for i in range(5)]
        await sender.close()
        await _until_final(gateway, ids)
        backlog = await gateway.store.smpp_outbox_backlog()
        assert backlog == {"app1": 5}
        receiver = await bound(door.address, "rx", system_id="app1", password="app1pw")
        receipts = [await receiver.expect(DeliverSm, within=10) for _ in ids]
        assert sorted(receipted_id(r) for r in receipts) == sorted(ids)
        await _until_outbox_empty(door)
        await receiver.close()


async def test_a_refused_receipt_is_sent_again_and_only_an_answered_one_forgotten(
    store_url: str,
) -> None:
    async with running(store_url) as (_, gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        message_id = (await client.submit(app_submit())).message_id
        first = await client.expect(DeliverSm, within=15, ack=False)
        await client.send(
            DeliverSmResp(command_status=CommandStatus.ESME_RSYSERR), first.sequence_number
        )
        again = await client.expect(DeliverSm, within=10)  # answered OK this time
        assert receipted_id(first) == receipted_id(again) == message_id
        await _until_outbox_empty(door)
        assert await gateway.store.smpp_outbox_backlog() == {}
        await client.close()


async def test_receipts_go_to_a_receiver_of_the_same_user_only(store_url: str) -> None:
    async with running(store_url) as (_, _, door):
        other = await bound(door.address, "rx", system_id="app2", password="app2pw")
        sender = await bound(door.address, "tx", system_id="app1", password="app1pw")
        receiver = await bound(door.address, "rx", system_id="app1", password="app1pw")
        message_id = (await sender.submit(app_submit())).message_id
        receipt = await receiver.expect(DeliverSm, within=15)
        assert receipted_id(receipt) == message_id
        with pytest.raises(TimeoutError):
            await other.read(within=0.5)
        for client in (other, sender, receiver):
            await client.close()


async def test_query_sm_is_answered_from_the_store_for_the_user_own_messages(
    store_url: str,
) -> None:
    async with running(store_url) as (_, gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        message_id = (await client.submit(app_submit())).message_id
        await client.expect(DeliverSm, within=15)  # delivered by now
        await _until_final(gateway, [message_id])
        seq = await client.send(QuerySm(message_id=message_id, source_addr="Devino"))
        answer = await client.read()
        assert answer.command_id == CommandId.QUERY_SM_RESP
        assert answer.sequence_number == seq
        assert (answer.command_status, answer.message_id) == (CommandStatus.ESME_ROK, message_id)
        assert answer.message_state == 2  # DELIVERED
        assert len(answer.final_date) == 16
        # another user's message, or no such message: query_sm failed
        other = await bound(door.address, "trx", system_id="app2", password="app2pw")
        for asker, asked in ((other, message_id), (client, "nosuchid")):
            await asker.send(QuerySm(message_id=asked, source_addr="Devino"))
            answer = await asker.read()
            assert answer.command_status == CommandStatus.ESME_RQUERYFAIL
        await other.close()
        # a delivered message cannot be cancelled any more
        seq = await client.send(CancelSm(message_id=message_id, source_addr="Devino"))
        answer = await client.read()
        assert answer.command_id == CommandId.CANCEL_SM_RESP
        assert answer.sequence_number == seq
        assert answer.command_status == CommandStatus.ESME_RCANCELFAIL
        await client.close()


# ------------------------------------------------------------------ malformed input

MALFORMED = [json.loads(line) for line in (DATA / "pdu-malformed.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_malformed_pdus_get_their_answer_and_never_stop_the_gateway(store_url: str) -> None:
    async with running(store_url) as (_, _, door):
        for case in MALFORMED:
            client = await bound(door.address, "trx", system_id="app1", password="app1pw")
            await client.send_raw(bytes.fromhex(case["hex"]))
            expected = CommandStatus[case["expect_status"]]
            if case["name"] == "cmdlen_mismatch_longer_than_data":
                with pytest.raises(TimeoutError):  # waits for the rest of the frame
                    await client.read_frame(within=0.3)
            elif expected is not CommandStatus.ESME_ROK:
                answer = decode(await client.read_frame())
                assert answer.command_status == expected, case["name"]
                if case.get("response") == "generic_nack":
                    assert answer.command_id == CommandId.GENERIC_NACK, case["name"]
            await client.close()
        # still serving
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        assert (await client.submit(app_submit())).command_status == CommandStatus.ESME_ROK
        await client.close()


# ------------------------------------------------------------------ helpers


async def _sql(store_url: str, statement: str) -> None:
    if store_url.startswith("sqlite"):
        import sqlite3

        path = store_url.removeprefix("sqlite://")
        with sqlite3.connect(path) as db:
            db.execute(statement)
        return
    import asyncpg

    conn = await asyncpg.connect(store_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _until_final(gateway: Gateway, ids: list[str], within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while True:
            states = [(await gateway.store.get_message(i)).message.state for i in ids]
            if all(s.is_final for s in states):
                assert set(states) == {MessageState.DELIVERED}
                return
            await asyncio.sleep(0.05)


async def _until_outbox_empty(door: FrontDoor, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if not await door.store.smpp_outbox_backlog():
                return
            await asyncio.sleep(0.05)

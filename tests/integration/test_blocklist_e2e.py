"""Blocklists end to end over real sockets on 127.0.0.1, on SQLite and PostgreSQL: MO opt-out
and opt-in keywords through the platform emulator, a number listed after its message was
queued blocked at dispatch, and the SMPP front door's receipt for a blocked submit."""

from __future__ import annotations

import asyncio
import json

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.pdu import CommandStatus, DeliverSm, QuerySm, TlvTag
from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.metrics import Metrics
from smppgate.service.runtime import Gateway
from smppgate.service.webhooks import WebhookOutbox
from smppgate.store import (
    BlockSource,
    MessageState,
    NewBlock,
    NewMessage,
    PlannedPart,
    Store,
    open_store,
    parse_part_id,
)
from tests.esme_helpers import bound

from .test_front_door import app_submit, receipted_id, running, tlv
from .test_front_door_parts import _receipts, ucs2_parts, udh_submit
from .test_platform_rules import until

NUMBER = "79001234567"
HOOK = "http://127.0.0.1:9/hook"  # never called: the jobs are read from the store


def config(store_url: str, port: int) -> GatewayConfig:
    return parse_config(
        {
            "store": {"url": store_url},
            "webhooks": {"allow_hosts": ["127.0.0.1"]},
            "accounts": [
                {
                    "name": "demo",
                    "profile": "devino-promo",
                    "hosts": [f"127.0.0.1:{port}"],
                    "system_id": "demo",
                    "password": "demo",
                    "sessions": ["trx"],
                    "default_callback_url": HOOK,
                    "opt_in_keywords": ["START", "СТАРТ", "Unstop"],  # noqa: RUF001
                }
            ],
            "shutdown_timeout": 2,
        },
        environ={},
    )


def emulator() -> EmulatorConfig:
    return EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.01,
    )


def sms(destination: str = NUMBER, text: str = "hello") -> NewMessage:
    return NewMessage(
        account="demo",
        source="Devino",
        destination=destination,
        text=text,
        parts=(PlannedPart(1, text.encode()),),
    )


async def final_state(store: Store, message_id: str, within: float = 15.0) -> MessageState:
    async with asyncio.timeout(within):
        while True:
            state = (await store.get_message(message_id)).message.state
            if state.is_final:
                return state
            await asyncio.sleep(0.05)


async def events(store: Store, *, inbound_only: bool = False) -> list[dict[str, object]]:
    """The webhooks queued since the last call, oldest first (``inbound_only``: without the
    ``message.status`` of the messages sent meanwhile)."""
    jobs = await store.claim_webhooks("test", 100, 4e9, 30.0)
    for job in jobs:
        await store.webhook_delivered(job.id, 4e9)
    found = [json.loads(j.payload) for j in sorted(jobs, key=lambda j: j.id)]
    return [e for e in found if not inbound_only or e["event"] != "message.status"]


def sent_to(emu: Emulator, number: str) -> int:
    return sum(1 for r in emu.records if getattr(r.pdu, "destination_addr", None) == number)


async def test_mo_keywords_opt_out_and_back_in_through_the_emulator(store_url: str) -> None:
    async with Emulator(emulator()) as emu:
        cfg = config(store_url, emu.address[1])
        metrics = Metrics()
        gateway = Gateway(
            cfg,
            poll_interval=0.02,
            metrics=metrics,
            notifier=lambda store: WebhookOutbox(cfg, store),
        )
        async with gateway as gw:
            await until(lambda: bool(emu.bound_sessions("demo")), 10)
            # the handset answers " Stop " (trimmed, any case): answered once stored
            assert await emu.inject_mo("demo", NUMBER, "1234", " Stop ") == [CommandStatus.ESME_ROK]
            (entry,) = (await gw.store.list_blocklist()).items
            assert (entry.account, entry.number, entry.source, entry.reason) == (
                "demo", NUMBER, BlockSource.KEYWORD, "Stop",
            )  # fmt: skip
            (mo,) = await gw.store.list_inbound()  # the MO itself is kept as ever
            assert (mo.text, mo.source) == (" Stop ", NUMBER)
            assert entry.added_by == f"inbound:{mo.id}"
            mo_event, opt_event = await events(gw.store)
            assert mo_event["event"] == "inbound.mo"
            assert opt_event == {
                "event": "inbound.opt_out",
                "created_at": opt_event["created_at"],
                "opt": {
                    "account": "demo",
                    "number": NUMBER,
                    "keyword": "Stop",
                    "inbound_id": mo.id,
                    "changed": True,
                    "blocked": True,
                    "at": opt_event["opt"]["at"],  # type: ignore[index]
                },
            }
            # a message to the number now ends blocked, unsent
            (blocked,) = await gw.store.insert_messages([sms()], gw.clock())
            assert blocked.message.state is MessageState.BLOCKED
            # a Cyrillic START in any case lifts the keyword's entry
            await emu.inject_mo("demo", NUMBER, "1234", "старт")
            assert (await gw.store.list_blocklist()).items == ()
            status, _, opt_in = await events(gw.store)
            assert status["message"]["status"] == "blocked"  # type: ignore[index]
            assert (opt_in["event"], opt_in["opt"]["changed"]) == ("inbound.opt_in", True)  # type: ignore[index]
            (sent,) = await gw.store.insert_messages([sms(text="welcome back")], gw.clock())
            gw.wake()
            assert await final_state(gw.store, sent.message.id) is MessageState.DELIVERED
            # an operator's block outlives a configured opt-in word
            await gw.store.add_blocks([NewBlock("demo", NUMBER, BlockSource.API)], gw.clock())
            await emu.inject_mo("demo", NUMBER, "1234", "UNSTOP")
            (kept,) = (await gw.store.list_blocklist()).items
            assert kept.source is BlockSource.API
            (_, opt_in) = await events(gw.store, inbound_only=True)
            assert (opt_in["opt"]["changed"], opt_in["opt"]["blocked"]) == (False, True)  # type: ignore[index]
            # a text that merely contains the word is an ordinary MO
            await emu.inject_mo("demo", "79001234568", "1234", "please stop it")
            assert [e["event"] for e in await events(gw.store, inbound_only=True)] == ["inbound.mo"]
        assert sent_to(emu, NUMBER) == 1  # only the message sent after START
        assert metrics.opt_keywords_total.get("demo", "opt_out") == 1
        assert metrics.opt_keywords_total.get("demo", "opt_in") == 2


async def test_a_keyword_sent_in_parts_opts_out_through_the_emulator(store_url: str) -> None:
    async with Emulator(emulator()) as emu:
        cfg = config(store_url, emu.address[1])
        metrics = Metrics()
        notifier = lambda store: WebhookOutbox(cfg, store)  # noqa: E731
        async with Gateway(cfg, poll_interval=0.02, metrics=metrics, notifier=notifier) as gw:
            await until(lambda: bool(emu.bound_sessions("demo")), 10)
            # the Cyrillic keyword in two parts with a UDH: each part stored, the set reassembled
            # with its last one
            statuses = await emu.inject_mo("demo", NUMBER, "1234", "СТОП", concatenated=True)
            assert statuses == [CommandStatus.ESME_ROK, CommandStatus.ESME_ROK]
            (mo,) = await gw.store.list_inbound()
            assert mo.text == "СТОП"
            (entry,) = (await gw.store.list_blocklist()).items
            assert (entry.number, entry.source, entry.added_by) == (
                NUMBER, BlockSource.KEYWORD, f"inbound:{mo.id}",
            )  # fmt: skip
            assert [e["event"] for e in await events(gw.store)] == [
                "inbound.mo", "inbound.opt_out",
            ]  # fmt: skip
            (blocked,) = await gw.store.insert_messages([sms()], gw.clock())
            assert blocked.message.state is MessageState.BLOCKED
        assert metrics.opt_keywords_total.get("demo", "opt_out") == 1


async def test_a_number_listed_after_its_message_was_queued_is_blocked_at_dispatch(
    store_url: str,
) -> None:
    async with Emulator(emulator()) as emu:
        cfg = config(store_url, emu.address[1])
        async with open_store(store_url) as store:
            queued, other = await store.insert_messages([sms(), sms("79001234568")], 1e9)
            assert queued.message.state is MessageState.QUEUED
            await store.add_blocks([NewBlock("demo", NUMBER, BlockSource.CLI)], 1e9)
        metrics = Metrics()
        notifier = lambda store: WebhookOutbox(cfg, store)  # noqa: E731
        async with Gateway(cfg, poll_interval=0.02, metrics=metrics, notifier=notifier) as gw:
            assert await final_state(gw.store, other.message.id) is MessageState.DELIVERED
            assert await final_state(gw.store, queued.message.id) is MessageState.BLOCKED
            found = {e["message"]["to"]: e["message"] for e in await events(gw.store)}  # type: ignore[index]
            assert found[NUMBER]["status"] == "blocked"
            assert found[NUMBER]["final"] is True
            assert found[NUMBER]["parts"][0]["status"] == "planned"  # never sent
        assert sent_to(emu, NUMBER) == 0
        assert sent_to(emu, "79001234568") == 1
        assert metrics.blocked_total.get("demo", "dispatch") == 1


async def test_a_front_door_submit_to_a_listed_number_gets_an_undeliverable_receipt(
    store_url: str,
) -> None:
    async with running(store_url) as (emu, gateway, door):
        await gateway.store.add_blocks([NewBlock("demo", NUMBER, BlockSource.API)], 1e9)
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        response = await client.submit(app_submit(b"Hello"))
        # accepted (the submit itself is fine), then a receipt saying it cannot be delivered
        assert response.command_status == CommandStatus.ESME_ROK
        message_id = response.message_id
        receipt = await client.expect(DeliverSm, within=15)
        assert receipted_id(receipt) == message_id
        assert "stat:UNDELIV" in receipt.short_message.decode()
        assert tlv(receipt, TlvTag.MESSAGE_STATE) == b"\x05"  # UNDELIVERABLE
        await client.send(QuerySm(message_id=message_id, source_addr="Devino"))
        answer = await client.read()
        assert (answer.command_status, answer.message_state) == (CommandStatus.ESME_ROK, 5)
        stored = await gateway.store.get_message(message_id)
        assert stored.message.state is MessageState.BLOCKED
        assert sent_to(emu, NUMBER) == 0  # never upstream
        await client.close()


async def test_a_set_an_application_split_itself_to_a_listed_number_gets_a_receipt_per_part(
    store_url: str,
) -> None:
    async with running(store_url) as (emu, gateway, door):
        await gateway.store.add_blocks([NewBlock("demo", NUMBER, BlockSource.API)], 1e9)
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        ids = []
        for part in ucs2_parts(0x2B):
            response = await client.submit(udh_submit(part))
            assert response.command_status == CommandStatus.ESME_ROK
            ids.append(response.message_id)
        # the set is released blocked: each part id the application holds gets its receipt
        assert await _receipts(client, 2) == dict.fromkeys(ids, "UNDELIV")
        message_id = parse_part_id(ids[0])[0]
        assert message_id is not None
        stored = await gateway.store.get_message(message_id)
        assert stored.message.state is MessageState.BLOCKED
        assert sent_to(emu, NUMBER) == 0
        await client.close()

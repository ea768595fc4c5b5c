"""MO and USSD from the platform routed to front door applications by [[smpp_server.routes]]
(destination, keyword, kind), delivered as deliver_sm through the durable outbox; unrouted
ones stay on the HTTP API only. Real sockets, the emulator upstream."""

from __future__ import annotations

import asyncio

import pytest

from smppgate.pdu import DeliverSm, TlvTag
from smppgate.service.config import ConfigError
from smppgate.service.metrics import Metrics
from tests.esme_helpers import bound
from tests.integration.test_front_door import door_config, running

USERS = [
    {"system_id": "app1", "password": "app1pw", "account": "demo"},
    {"system_id": "app2", "password": "app2pw", "account": "demo"},
]
ROUTES = [
    {"user": "app2", "destination": "1234", "keyword": "stop"},
    {"user": "app1", "destination": "1234", "kind": "sms"},
    {"user": "app2", "kind": "ussd"},
]


async def _upstream_bound(emu: object) -> None:
    async with asyncio.timeout(10):
        while True:
            if emu.smsc.can_deliver("demo"):  # type: ignore[attr-defined]
                return
            await asyncio.sleep(0.05)


async def test_mo_and_ussd_go_to_the_routed_user_and_unrouted_stay_on_the_api(
    store_url: str,
) -> None:
    async with running(store_url, users=USERS, routes=ROUTES) as (emu, gateway, door):
        app1 = await bound(door.address, "trx", system_id="app1", password="app1pw")
        await _upstream_bound(emu)
        await emu.inject_mo("demo", "79001110000", "1234", "hello there")
        await emu.inject_mo("demo", "79001110001", "1234", "STOP all")
        await emu.inject_mo("demo", "79001110002", "5555", "to nobody")
        await emu.inject_mo("demo", "79001110003", "*100#", "*100#", ussd_service_op=1)
        await emu.inject_mo("demo", "79001110004", "1234", "Привет " * 30, concatenated=True)
        first = await app1.expect(DeliverSm, within=10)
        assert first.source_addr == "79001110000"
        assert first.destination_addr == "1234"
        assert first.short_message == b"hello there"
        assert not first.esm_class & 0x04  # an MO, not a receipt
        long = await app1.expect(DeliverSm, within=10)
        assert long.data_coding == 8
        payload = long.short_message or next(
            t.value for t in long.tlvs if t.tag == TlvTag.MESSAGE_PAYLOAD
        )
        assert payload.decode("utf-16-be") == "Привет " * 30
        # app2 is not bound: its two wait in the store; it binds and gets them
        assert (await door.store.smpp_mo_backlog()).get("app2") == 2
        app2 = await bound(door.address, "rx", system_id="app2", password="app2pw")
        got = [await app2.expect(DeliverSm, within=10) for _ in range(2)]
        assert [p.short_message for p in got] == [b"STOP all", b"*100#"]
        assert got[1].service_type == "USSD"
        assert next(t.value for t in got[1].tlvs if t.tag == TlvTag.USSD_SERVICE_OP) == b"\x01"
        # every one stays on the HTTP API, the unrouted one too
        texts = {m.text for m in await gateway.store.list_inbound()}
        assert "to nobody" in texts
        assert len(texts) == 5
        async with asyncio.timeout(10):
            while await door.store.smpp_mo_backlog():  # noqa: ASYNC110 - polled store
                await asyncio.sleep(0.05)
        metrics = Metrics()
        metrics.attach_front_door(door.snapshot)
        text = await metrics.render()
        assert 'smppgate_front_door_mo_total{user="app1"} 2' in text
        assert 'smppgate_front_door_mo_total{user="app2"} 2' in text
        await app1.close()
        await app2.close()


async def test_routed_mo_survive_a_restart_until_the_application_binds(store_url: str) -> None:
    routes = [{"user": "app1"}]
    async with running(store_url, users=USERS, routes=routes) as (emu, _gateway, door):
        await _upstream_bound(emu)
        await emu.inject_mo("demo", "79001110000", "1234", "kept")
        assert (await door.store.smpp_mo_backlog()) == {"app1": 1}
    async with running(store_url, users=USERS, routes=routes) as (_emu, _gateway, door):
        app1 = await bound(door.address, "rx", system_id="app1", password="app1pw")
        assert (await app1.expect(DeliverSm, within=10)).short_message == b"kept"
        await app1.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_routes_name_known_users(store_url: str) -> None:
    with pytest.raises(ConfigError, match=r"routes\[0\]\.user"):
        door_config(store_url, 1, users=USERS, routes=[{"user": "ghost"}])
    with pytest.raises(ConfigError, match=r"routes\[0\]\.kind"):
        door_config(store_url, 1, users=USERS, routes=[{"user": "app1", "kind": "mms"}])

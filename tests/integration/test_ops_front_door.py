"""The ops view's SMPP front door panel (issue 14: bound applications, their windows,
submits/s and the receipt backlog per user), from applications bound over real sockets on
127.0.0.1 to a gateway in front of the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from smppgate.service.metrics import Metrics
from smppgate.service.ops import OpsView
from tests.esme_helpers import bound
from tests.integration.test_front_door import _until_final, app_submit, running


async def test_the_panel_shows_users_sessions_submits_and_the_receipt_backlog(
    store_url: str,
) -> None:
    async with running(store_url) as (_emu, gateway, door):
        ops = OpsView(gateway, Metrics(), front_door=door.snapshot, min_interval=0)
        sender = await bound(door.address, "tx", system_id="app1", password="app1pw")
        ops.sample()
        ids = [(await sender.submit(app_submit(f"m{i}".encode()))).message_id for i in range(3)]
        ops.sample()
        panel = (await ops.snapshot())["front_door"]
        assert panel["listen"] == str(gateway.config.smpp_server.listen)
        users = {u["system_id"]: u for u in panel["users"]}
        assert set(users) == {u.system_id for u in gateway.config.smpp_server.users}
        app1 = users["app1"]
        assert app1["account"] == "demo"
        assert [s["mode"] for s in app1["sessions"]] == ["tx"]
        assert app1["submits"] == 3
        assert app1["submits_per_second"] > 0
        assert users["app2"]["sessions"] == []
        assert users["app2"]["submits"] == 0

        # no receiver bound: the receipts wait in the outbox, and the panel says how many
        await sender.close()
        await _until_final(gateway, ids)
        panel = (await ops.snapshot())["front_door"]
        app1 = next(u for u in panel["users"] if u["system_id"] == "app1")
        assert app1["sessions"] == []
        assert app1["receipt_backlog"] == 3
        assert app1["receipts_sent"] == 0
        # and /metrics, from the same store figure
        metrics = Metrics(gateway.store)
        metrics.attach_front_door(door.snapshot)
        text = await metrics.render()
        assert 'smppgate_front_door_receipt_backlog{user="app1"} 3' in text
        assert 'smppgate_front_door_receipt_backlog{user="app2"} 0' in text


async def test_the_panel_and_metrics_show_routed_mo_waiting_for_an_application(
    store_url: str,
) -> None:
    """Routed MO waiting for an unbound application is a backlog too: shown beside the
    receipts' (smpp_mo_outbox, every node's), on the panel and as a gauge."""
    users = [
        {"system_id": "app1", "password": "app1pw", "account": "demo"},
        {"system_id": "app2", "password": "app2pw", "account": "demo"},
    ]
    routes = [{"user": "app2", "destination": "1234"}]
    async with running(store_url, users=users, routes=routes) as (emu, gateway, door):
        async with asyncio.timeout(10):
            while not emu.smsc.can_deliver("demo"):  # noqa: ASYNC110 - polled emulator
                await asyncio.sleep(0.05)
        await emu.inject_mo("demo", "79001110000", "1234", "one")
        await emu.inject_mo("demo", "79001110001", "1234", "two")
        # (inject_mo returns once the gateway answered: stored, and routed in that commit)
        ops = OpsView(gateway, Metrics(), front_door=door.snapshot, min_interval=0)
        panel = (await ops.snapshot())["front_door"]
        backlog = {u["system_id"]: (u["receipt_backlog"], u["mo_backlog"]) for u in panel["users"]}
        assert backlog == {"app1": (0, 0), "app2": (0, 2)}
        metrics = Metrics(gateway.store)
        metrics.attach_front_door(door.snapshot)
        text = await metrics.render()
        assert 'smppgate_front_door_mo_backlog{user="app2"} 2' in text
        assert 'smppgate_front_door_mo_backlog{user="app1"} 0' in text


async def test_without_a_front_door_the_panel_is_absent(store_url: str) -> None:
    async with running(store_url) as (_emu, gateway, _door):
        ops = OpsView(gateway, Metrics(), min_interval=0)
        assert (await ops.snapshot())["front_door"] is None

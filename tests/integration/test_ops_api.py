"""The ops routes over a real socket on 127.0.0.1: a gateway bound to the platform emulator,
the app wired as `smppgate serve` wires it, messages sent through the API."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from smppgate.api import create_app
from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.intake import Intake
from smppgate.service.metrics import Metrics
from smppgate.service.ops import OpsView
from smppgate.service.runtime import Gateway

KEY = "ops-key-1-0123456789abcdef"
AUTH = {"X-API-Key": KEY}
SHOP_KEY = "shop-key-0123456789abcdef"


def _config(tmp_path: Path, port: int) -> GatewayConfig:
    return parse_config(
        {
            "store": {"url": f"sqlite:///{tmp_path}/gw.db"},
            "http": {"api_keys": [KEY]},
            "accounts": [
                {
                    "name": "demo",
                    "hosts": [f"127.0.0.1:{port}", "127.0.0.2:1"],
                    "system_id": "demo",
                    "password": "demo",
                    "sessions": ["trx", "trx"],
                    "window": 10,
                }
            ],
            "clients": [{"name": "shop", "api_keys": [SHOP_KEY], "rate": 100, "daily_quota": 1000}],
            "shutdown_timeout": 2,
        },
        environ={},
    )


@dataclass
class Ops:
    base: str
    http: ClientSession
    emulator: Emulator
    gateway: Gateway

    async def get(self, path: str, **headers: str) -> tuple[int, Any]:
        async with self.http.get(self.base + path, headers=headers) as response:
            if response.content_type in ("application/json", "application/problem+json"):
                return response.status, await response.json()
            return response.status, await response.text()

    async def snapshot(self) -> dict[str, Any]:
        status, body = await self.get("/v1/ops", **AUTH)
        assert status == 200, body
        return dict(body)

    async def until(
        self, condition: Callable[[dict[str, Any]], bool], within: float = 20.0
    ) -> dict[str, Any]:
        """The first snapshot that meets ``condition`` (no timing assertion: a deadline)."""
        async with asyncio.timeout(within):
            while True:
                snapshot = await self.snapshot()
                if condition(snapshot):
                    return snapshot
                await asyncio.sleep(0.1)

    async def send(self, to: str, text: str, key: str = KEY) -> str:
        body = {"to": to, "from": "Demo", "text": text}
        headers = {"X-API-Key": key}
        async with self.http.post(self.base + "/v1/messages", json=body, headers=headers) as r:
            assert r.status in (200, 201, 202), await r.text()
            return str((await r.json())["id"])


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[Ops]:
    """Emulator, gateway, ops view and app, entered and left in the test's own task (a
    fixture's teardown runs in another task, and the gateway's task group must be left in the
    task that entered it)."""
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.05,
    )
    async with Emulator(emu_config) as emu:
        config = _config(tmp_path, emu.address[1])
        # wired as cli/serve.py wires it
        async with Gateway(config, poll_interval=0.02, metrics=Metrics()) as gateway:
            metrics = Metrics(gateway.store)
            gateway.metrics = metrics
            async with OpsView(
                gateway, metrics, interval=0.2, min_interval=0.1, latency_every=0.0
            ) as view:
                app = create_app(
                    config=config,
                    store=gateway.store,
                    intake=Intake(config, gateway.store),
                    metrics=metrics,
                    readiness=gateway.ready,
                    ops=view,
                )
                async with TestServer(app, host="127.0.0.1") as server, ClientSession() as http:
                    base = str(server.make_url("")).rstrip("/")
                    yield Ops(base, http, emu, gateway)


def _bound(snapshot: dict[str, Any]) -> bool:
    sessions = snapshot["accounts"][0]["sessions"]
    return all(s["state"] == "bound" for s in sessions)


async def test_the_page_and_its_files_need_no_key(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        status, html = await ops.get("/ui/")
        assert status == 200
        assert "/ui/static/app.js" in html
        assert "/ui/static/style.css" in html
        for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
            async with ops.http.get(f"{ops.base}/ui/static/{name}") as response:
                assert response.status == 200
                assert response.content_type == kind
        for path in ("/", "/ui"):
            async with ops.http.get(ops.base + path, allow_redirects=False) as response:
                assert response.status == 302
                assert response.headers["Location"] == "/ui/"
        for name in ("nope.js", "index.html", "..%2Fops.py", ".hidden.js"):
            status, _ = await ops.get(f"/ui/static/{name}")
            assert status == 404, name


async def test_the_data_routes_need_the_key(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        for path in ("/v1/ops", "/v1/ops/events", "/v1/ops/search?q=79001234567"):
            status, body = await ops.get(path)
            assert status == 401, path
            assert body["error"]["code"] == "unauthorized"
            status, _ = await ops.get(path, **{"X-API-Key": "wrong"})
            assert status == 401, path


async def test_the_snapshot_shows_sessions_queue_rates_and_receipts(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        snapshot = await ops.until(_bound)
        account = snapshot["accounts"][0]
        assert account["name"] == "demo"
        assert [h["role"] for h in account["hosts"]] == ["primary", "backup"]
        for row in account["sessions"]:
            assert row["host"] == f"127.0.0.1:{ops.emulator.address[1]}"
            assert row["role"] == "primary"
            assert row["mode"] == "trx"
            assert row["window_size"] == 10
        assert set(snapshot["queue"]) >= {"queued", "sending", "submitted", "delivered", "failed"}
        assert snapshot["store_up"] is True

        ids = [await ops.send(f"7900000{i:04d}", f"hello {i}") for i in range(12)]
        snapshot = await ops.until(
            lambda s: s["queue"]["delivered"] == len(ids) and s["receipts"]["received"] == len(ids)
        )
        assert snapshot["totals"]["accepted"] == len(ids)
        assert snapshot["totals"]["submits"] == len(ids)
        assert {"status": "ESME_ROK", "count": len(ids)} in snapshot["responses"]
        receipts = snapshot["receipts"]
        assert receipts["match_rate"] == 1.0
        assert receipts["by_state"] == {"delivered": len(ids)}
        assert receipts["median_latency"] is not None
        assert receipts["median_latency"] >= 0
        assert receipts["latency_sample"] == len(ids)
        # the rates series is the counters sampled: its sum is every submit sent
        snapshot = await ops.until(lambda s: sum(s["rates"]["submits"]) > 0)
        rates = snapshot["rates"]
        assert len(rates["t"]) == len(rates["submits"]) == len(rates["receipts"])
        assert snapshot["webhooks"] == {"backlog": 0, "delivered": 0, "retry": 0, "gave_up": 0}
        assert snapshot["retries"]["items"] == []
        assert snapshot["retries"]["waiting"] == 0


async def test_the_snapshot_shows_each_client_its_limits_and_todays_count(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as ops:
        for i in range(3):
            await ops.send(f"7900000{i:04d}", "hello", key=SHOP_KEY)
        await ops.send("79000009999", "hello")
        snapshot = await ops.until(lambda s: s["clients"][0]["used_today"] == 3)
        shop, default = snapshot["clients"]
        assert shop == {
            "name": "shop", "accounts": None, "default_class": None, "rate": 100.0,
            "burst": 100, "daily_quota": 1000, "operator": False, "used_today": 3,
            "accepted": 3, "limited": {"rate": 0, "daily_quota": 0},
        }  # fmt: skip
        assert (default["name"], default["operator"], default["accepted"]) == ("default", True, 1)
        # a client that is no operator may not read it
        status, body = await ops.get("/v1/ops", **{"X-API-Key": SHOP_KEY})
        assert (status, body["error"]["code"]) == (403, "operator_only")


async def test_a_queue_full_message_waits_in_the_retry_list(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        await ops.until(_bound)
        ops.emulator.faults.add("queue_full", prefix="7901", first=1)
        waiting = await ops.send("79010000001", "queue full once")
        snapshot = await ops.until(lambda s: s["retries"]["waiting"] == 1)
        [row] = snapshot["retries"]["items"]
        assert row["id"] == waiting
        assert row["reason"] == "queue_full"
        assert row["detail"] == "queue full 1 of 5, 5 s"
        assert 0 <= row["in"] <= 5
        assert snapshot["retries"]["by_reason"] == {"queue_full": 1}
        assert {"status": "ESME_RMSGQFUL", "count": 1} in snapshot["responses"]


async def test_the_event_stream_carries_snapshots(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        async with ops.http.get(f"{ops.base}/v1/ops/events", headers=AUTH) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/event-stream"
            events: list[dict[str, Any]] = []
            async with asyncio.timeout(10):
                async for line in response.content:
                    if line.startswith(b"data: "):
                        events.append(json.loads(line[6:]))
                        if len(events) == 2:
                            break
        assert events[0]["node_id"] == ops.gateway.node_id
        assert events[1]["now"] >= events[0]["now"]


async def test_search_by_id_and_by_number(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        await ops.until(_bound)
        first = await ops.send("79005550101", "first")
        await ops.send("79005550199", "someone else")
        second = await ops.send("79005550101", "second, longer " + "x" * 200)
        await ops.until(lambda s: s["queue"]["delivered"] == 3 and s["receipts"]["received"] >= 4)

        status, body = await ops.get(f"/v1/ops/search?q={second.lower()}", **AUTH)
        assert status == 200
        assert body["kind"] == "id"
        [message] = body["messages"]
        assert message["id"] == second
        assert message["part_count"] == 2
        assert [p["receipt_state"] for p in message["parts"]] == ["delivered", "delivered"]
        assert all(len(p["receipts"]) == 1 for p in message["parts"])
        assert len(message["attempts"]) == 2

        status, body = await ops.get("/v1/ops/search?q=%2B7%20900%20555-01-01", **AUTH)
        assert status == 200
        assert body["kind"] == "destination"
        assert [m["id"] for m in body["messages"]] == [second, first]  # newest first
        assert body["scanned"] == 3

        # as people type it: the trunk prefix 8, brackets, dots, read by the account's plan
        for typed in ("8%20900%20555-01-01", "8%20(900)%20555%2001%2001", "8.900.555.01.01"):
            status, body = await ops.get(f"/v1/ops/search?q={typed}", **AUTH)
            assert status == 200, typed
            assert [m["id"] for m in body["messages"]] == [second, first], typed
        status, body = await ops.get("/v1/ops/search?q=89005550101&account=demo", **AUTH)
        assert [m["id"] for m in body["messages"]] == [second, first]
        status, body = await ops.get("/v1/ops/search?q=89005550101&account=nope", **AUTH)
        assert status == 422
        assert body["field"] == "account"

        status, body = await ops.get("/v1/ops/search?q=79009999999", **AUTH)
        assert (status, body["messages"]) == (200, [])
        status, body = await ops.get("/v1/ops/search?q=01JH8ZB1Q2W3E4R5T6Y7V8J9P0", **AUTH)
        assert (status, body["messages"]) == (200, [])


async def test_search_refuses_junk(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        for q in ("", "hello", "12", "x" * 65, "7" * 65, "%27%3B%20DROP"):
            status, body = await ops.get(f"/v1/ops/search?q={q}", **AUTH)
            assert status == 422, q
            assert body["error"]["code"] == "validation_error"
            assert body["error"]["field"] == "q"


async def test_a_dropped_session_shows_its_cooldown(tmp_path: Path) -> None:
    async with running(tmp_path) as ops:
        bound = await ops.until(_bound)
        # the view samples the slots' hosts once per interval: wait for a sample taken after
        # the sessions were bound, so that it knows the host they drop from
        await ops.until(lambda s: s["rates"]["t"][-1:] > [bound["now"]])
        ops.emulator.drop_sessions("demo")
        snapshot = await ops.until(
            lambda s: all(r["state"] == "cooling_down" for r in s["accounts"][0]["sessions"])
        )
        for row in snapshot["accounts"][0]["sessions"]:
            assert row["cooldown_reason"] == "drop"
            assert 0 < row["cooldown_left"] <= row["cooldown_total"]
            assert row["cooldown_total"] >= 60
            # the host it was on stays visible
            assert row["host"] == f"127.0.0.1:{ops.emulator.address[1]}"
            assert row["host_current"] is False
            assert row["last_close_reason"] == "connection_lost"


async def test_an_app_without_the_ops_view_answers_503(tmp_path: Path) -> None:
    config = _config(tmp_path, 1)
    async with Gateway(config) as gateway:
        app = create_app(
            config=config,
            store=gateway.store,
            intake=Intake(config, gateway.store),
            metrics=Metrics(gateway.store),
            readiness=gateway.ready,
        )
        async with (
            TestServer(app, host="127.0.0.1") as server,
            ClientSession() as http,
            http.get(server.make_url("/v1/ops"), headers=AUTH) as response,
        ):
            assert response.status == 503
            assert (await response.json())["error"]["code"] == "ops_unavailable"

"""kill -9 while submits are answered but not yet recorded, then a restart (issue 21), on SQLite
and PostgreSQL.

Deterministic: the emulator holds each submit_sm_resp 2 s; once every submit reached it (their
parts are marked sent before the write), the test locks what recording the answers needs (SQLite:
the database's write lock; PostgreSQL: the parts' rows), waits until the node has the answers
and is blocked recording them, and kills it. The restarted node finds the messages leased with
parts sent: they become ``unknown``, and every one of them reads through the API, the ops
search and its webhook, with times that are dates around the test's run (the old recovery on
SQLite wrote infinity and the API answered 500).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from smppgate.emulator import Account, Emulator, EmulatorConfig, FaultSpec, ListenerConfig

from ..gateway_helpers import free_port, start_serve, wait_ready

COUNT = 10


class Hooks:
    """A webhook endpoint on 127.0.0.1 that keeps every payload."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.payloads.append(json.loads(await request.read()))
        return web.Response(text="ok")


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    found = Hooks()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    found.url = str(server.make_url("/hook"))
    try:
        yield found
    finally:
        await server.close()


def _config(tmp_path: Path, store_url: str, smsc_port: int, http_port: int) -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(
        f"""
node_id = "gw-1"

[store]
url = "{store_url}"

[http]
listen = "127.0.0.1:{http_port}"

[webhooks]
allow_hosts = ["127.0.0.1"]  # the test's receiver; webhooks go to loopback only when listed

[[accounts]]
name = "demo"
hosts = ["127.0.0.1:{smsc_port}"]
system_id = "demo"
password = "demo"
sessions = ["trx"]
window = {COUNT}
# the restart after the kill waits this long after the killed session ended (the platform's
# 60 s on a real account: test_restart_cooldown.py)
reconnect_after_drop = 1
""",
        encoding="utf-8",
    )
    return path


class Blocker:
    """Holds what recording the answers needs, from outside the gateway."""

    def __init__(self, store_url: str, log: Path) -> None:
        self.store_url = store_url
        self.log = log
        self._sqlite: sqlite3.Connection | None = None
        self._pg: asyncpg.Connection | None = None

    async def hold(self, message_ids: list[str]) -> None:
        if self.store_url.startswith("sqlite:"):
            path = self.store_url.removeprefix("sqlite://")
            self._sqlite = sqlite3.connect(path, timeout=10, isolation_level=None)
            self._sqlite.execute("BEGIN IMMEDIATE")  # every writer waits, readers go on
            return
        self._pg = await asyncpg.connect(self.store_url)
        await self._pg.execute("BEGIN")
        await self._pg.execute(
            "SELECT 1 FROM parts WHERE message_id = ANY($1::text[]) FOR UPDATE", message_ids
        )

    async def node_blocked_recording(self) -> bool:
        """The node has the answers and cannot record them."""
        if self._sqlite is not None:
            return "record outcomes: store unavailable" in self.log.read_text(encoding="utf-8")
        assert self._pg is not None
        # (pg_stat_activity's query column is not reliable for a statement that waits here)
        waiting = await self._pg.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE NOT l.granted AND l.locktype = 'transactionid'"
            " AND a.datname = current_database()"
        )
        return bool(waiting)

    async def release(self) -> None:
        if self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
        if self._pg is not None:
            await self._pg.execute("ROLLBACK")
            await self._pg.close()


def _epoch(text: str | None) -> float:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_kill_9_with_answers_not_recorded_then_every_message_reads(
    tmp_path: Path, store_url: str, hooks: Hooks
) -> None:
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        faults=(FaultSpec("delay", params={"seconds": 2.0}),),
    )
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    started = time.time()
    async with Emulator(emu_config) as emu, aiohttp.ClientSession() as http:
        config = _config(tmp_path, store_url, emu.address[1], http_port)
        blocker = Blocker(store_url, tmp_path / "gateway.log")
        gateway = await start_serve(config)
        try:
            await wait_ready(http, base, process=gateway)
            hook = hooks.url
            batch = [
                {"to": f"7900000{i:04d}", "from": "Demo", "text": f"m{i}", "callback_url": hook}
                for i in range(COUNT)
            ]
            async with http.post(f"{base}/v1/messages/batch", json={"messages": batch}) as r:
                assert r.status == 202
                ids = [m["id"] for m in (await r.json())["messages"]]
            async with asyncio.timeout(10):
                while len(emu.records) < COUNT:  # noqa: ASYNC110  (the emulator has no event)
                    await asyncio.sleep(0.01)
            await blocker.hold(ids)
            async with asyncio.timeout(30):
                while not await blocker.node_blocked_recording():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        finally:
            gateway.send_signal(signal.SIGKILL)
            await gateway.wait()
            await blocker.release()
        assert len(emu.records) == COUNT  # every submit reached the SMSC, and was answered

        gateway = await start_serve(config)
        try:
            await wait_ready(http, base, process=gateway)
            async with asyncio.timeout(15):
                while len({p["message"]["id"] for p in hooks.payloads}) < COUNT:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            now = time.time()
            for message_id in ids:
                async with http.get(f"{base}/v1/messages/{message_id}") as r:
                    assert r.status == 200
                    message = await r.json()
                assert message["status"] == "unknown"
                assert started <= _epoch(message["updated_at"]) <= now
                assert [a["outcome"] for a in message["attempts"]] == ["lease_expired"]
                assert started <= _epoch(message["attempts"][0]["at"]) <= now
                async with http.get(f"{base}/v1/ops/search", params={"q": message_id}) as r:
                    assert r.status == 200
                    (found,) = (await r.json())["messages"]
                assert found["status"] == "unknown"
                assert started <= _epoch(found["updated_at"]) <= now
            async with http.get(f"{base}/v1/messages", params={"status": "unknown"}) as r:
                assert r.status == 200
                assert {m["id"] for m in (await r.json())["items"]} == set(ids)
        finally:
            gateway.send_signal(signal.SIGTERM)
            await gateway.wait()
        # never sent twice
        assert len(emu.records) == COUNT
    for payload in hooks.payloads:
        assert payload["message"]["status"] == "unknown"
        assert started <= _epoch(payload["created_at"]) <= now
        assert started <= _epoch(payload["message"]["updated_at"]) <= now

"""Scale-out for real (issue 7): three `smppgate serve` processes share one PostgreSQL
database and one platform emulator; one of them is killed with SIGKILL in the middle of a
campaign.

Promises checked:
- the emulator never has more than 4 bound sessions of the account (sampled all along, and
  replayed exactly from its event log; it never refused a bind for the session limit, D-06),
  and no reconnect broke the cooldowns (D-08, D-09);
- the slots are shared: every node binds at least one session and sends messages;
- nothing is lost: every accepted message ends in a final state — the dead node's in-flight
  messages are recovered by the others after its lease (``unknown`` where a submit may have
  gone out, requeued where none did), its lost receipts are asked for with query_sm;
- nothing is sent twice, and the parts of a split message went out through one session;
- webhooks: one delivery per event (no job POSTed twice), every final message has its final
  webhook, or its job is still leased by the dead node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from smppgate.emulator import Account, Emulator, EmulatorConfig, FaultSpec, ListenerConfig
from smppgate.service.webhooks import DELIVERY_HEADER

from ..gateway_helpers import free_port, start_serve, wait_ready

pytestmark = pytest.mark.postgres

NODES = 3
CAMPAIGN = 2000
LONG = 60  # of which split in two parts
LEASE = 5
WINDOW = 5
MAX_SESSIONS = 4
FINAL = {"delivered", "unknown"}


def _config(tmp_path: Path, n: int, pg_url: str, smsc_port: int, http_port: int, hook: str) -> Path:
    path = tmp_path / f"node-{n}.toml"
    path.write_text(
        f"""
node_id = "node-{n}"

[store]
url = "{pg_url}"
lease_seconds = {LEASE}

[http]
listen = "127.0.0.1:{http_port}"

[webhooks]
allow_hosts = ["127.0.0.1"]

[[accounts]]
name = "demo"
hosts = ["127.0.0.1:{smsc_port}"]
system_id = "demo"
password = "demo"
sessions = ["trx", "trx", "trx", "trx"]
window = {WINDOW}
default_callback_url = "{hook}"
# receipts the killed node acknowledged but never stored, and those the PostgreSQL store
# kept unmatched (a known race, benchmarks/results/cluster.md): the others ask with query_sm
query_after = 2
query_rate = 200
""",
        encoding="utf-8",
    )
    return path


async def _states(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT state, count(*) AS n FROM messages GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows}


async def _stuck(db: asyncpg.Connection) -> list[str]:
    """What a message that never became final went through (for the failure message)."""
    out = []
    for m in await db.fetch(
        "SELECT id, state, leased_by, lease_until, attempts, updated_at FROM messages"
        " WHERE state NOT IN ('delivered', 'unknown') ORDER BY id LIMIT 5"
    ):
        parts = await db.fetch(
            "SELECT seq, status, smsc_message_id, receipt_state FROM parts WHERE message_id = $1",
            m["id"],
        )
        attempts = await db.fetch(
            "SELECT at, node_id, outcome FROM attempts WHERE message_id = $1", m["id"]
        )
        out.append(f"{dict(m)} parts={[dict(p) for p in parts]} {[dict(a) for a in attempts]}")
    return out


def _peak_bound(emu: Emulator, system_id: str) -> int:
    """The most sessions of ``system_id`` bound at once, replayed from the event log."""
    bound: set[int] = set()
    peak = 0
    for event in emu.events:
        if event.kind == "bind" and event.system_id == system_id:
            bound.add(event.session)
            peak = max(peak, len(bound))
        elif event.kind == "disconnect":
            bound.discard(event.session)
    return peak


async def test_three_nodes_share_four_sessions_and_survive_a_kill(
    tmp_path: Path, pg_url: str
) -> None:
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        max_sessions=MAX_SESSIONS,
        dlr_delay=0.01,
        record_limit=CAMPAIGN * 3,
        event_limit=10_000,
        # slow the SMSC down a little so that the kill lands in the middle of the campaign
        faults=(FaultSpec("delay", params={"seconds": 0.004}),),
    )
    hooks: list[tuple[str, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        hooks.append((request.headers[DELIVERY_HEADER], json.loads(await request.read())))
        return web.Response(status=204)

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    ports = [free_port() for _ in range(NODES)]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    samples: list[int] = []
    nodes: list[asyncio.subprocess.Process] = []
    async with (
        TestServer(receiver, host="127.0.0.1") as hook_server,
        Emulator(emu_config) as emu,
        aiohttp.ClientSession() as http,
    ):
        hook_url = str(hook_server.make_url("/hook"))

        async def sample() -> None:
            while True:
                samples.append(len(emu.bound_sessions("demo")))
                await asyncio.sleep(0.01)

        sampler = asyncio.get_running_loop().create_task(sample())
        db = await asyncpg.connect(pg_url)
        try:
            configs = [
                _config(tmp_path, n + 1, pg_url, emu.address[1], ports[n], hook_url)
                for n in range(NODES)
            ]
            # the first node migrates the fresh database; the others start together after it
            nodes.append(await start_serve(configs[0], f"{configs[0].stem}.log"))
            await wait_ready(http, bases[0], process=nodes[0], within=40)
            nodes += [await start_serve(c, f"{c.stem}.log") for c in configs[1:]]
            for base, node in zip(bases, nodes, strict=True):
                await wait_ready(http, base, process=node, within=40)
            # and the cluster holds all 4 slots. (A node that dies while a slot is free lets
            # another bind on it before its death is known from its lease: see docs/scaling.md)
            async with asyncio.timeout(30):
                while True:
                    if len(emu.bound_sessions("demo")) == MAX_SESSIONS:
                        break
                    await asyncio.sleep(0.05)

            # the campaign, queued through every node's API; some texts take two parts
            accepted: list[str] = []
            for start in range(0, CAMPAIGN, 500):
                batch = [
                    {
                        "to": f"7900{i:07d}",
                        "from": "Demo",
                        "text": f"campaign {i} "
                        + ("x" * 170 if i % (CAMPAIGN // LONG) == 0 else ""),
                    }
                    for i in range(start, start + 500)
                ]
                base = bases[(start // 500) % NODES]
                async with http.post(f"{base}/v1/messages/batch", json={"messages": batch}) as r:
                    assert r.status == 202, await r.text()
                    accepted += [m["id"] for m in (await r.json())["messages"]]

            # kill node 1 when part of the campaign is through and the rest is not, while it
            # holds messages (most of the time it does; the checks hold either way)
            async with asyncio.timeout(60):
                while True:
                    states = await _states(db)
                    done = states.get("delivered", 0) + states.get("submitted", 0)
                    busy = await db.fetchval(
                        "SELECT count(*) FROM messages WHERE leased_by = 'node-1'"
                    )
                    if done >= CAMPAIGN / 5 and (busy or done >= CAMPAIGN / 2):
                        break
                    await asyncio.sleep(0.01)
            killed_at = time.time()
            nodes[0].send_signal(signal.SIGKILL)
            await nodes[0].wait()
            assert len(emu.records) < CAMPAIGN + LONG, "the kill must land mid-campaign"
            held_by_dead = [
                r["id"]
                for r in await db.fetch("SELECT id FROM messages WHERE leased_by = 'node-1'")
            ]

            # the two survivors finish the campaign, recovering what node 1 held
            try:
                async with asyncio.timeout(60):
                    while True:
                        states = await _states(db)
                        if sum(states.values()) == CAMPAIGN and set(states) <= FINAL:
                            break
                        await asyncio.sleep(0.2)
            except TimeoutError:
                pytest.fail(f"not all final: {states}; {await _stuck(db)}")

            # every message that became final after the kill has its final webhook (or node 1
            # holds the job). Those node 1 made final just before it died may have none: the
            # job is queued after the receipt's transaction (see the report of issue 7)
            async with asyncio.timeout(30):
                while True:
                    finals = {h["message"]["id"] for _, h in hooks if h["message"]["final"]}
                    held = {
                        r["message_id"]
                        for r in await db.fetch(
                            "SELECT message_id FROM webhooks WHERE state = 'pending'"
                            " AND leased_by = 'node-1'"
                        )
                    }
                    since_kill = {
                        r["id"]
                        for r in await db.fetch(
                            "SELECT id FROM messages WHERE updated_at > $1", killed_at
                        )
                    }
                    if not since_kill - finals - held:
                        break
                    await asyncio.sleep(0.2)
            no_webhook = set(accepted) - finals - held
            attempts_by_node = {
                r["node_id"]: int(r["n"])
                for r in await db.fetch(
                    "SELECT node_id, count(*) AS n FROM attempts GROUP BY node_id"
                )
            }
            recovered = {
                r["message_id"]
                for r in await db.fetch(
                    "SELECT message_id FROM attempts WHERE outcome LIKE 'lease_expired%'"
                )
            }
            dead_states = {
                r["id"]: r["state"]
                for r in await db.fetch(
                    "SELECT id, state FROM messages WHERE id = ANY($1::text[])", held_by_dead
                )
            }
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await db.close()
            for node in nodes:
                if node.returncode is None:
                    node.send_signal(signal.SIGTERM)
            for node in nodes:
                await node.wait()

        # at most 4 sessions of the account, ever: sampled, replayed, never refused for it
        assert samples
        assert max(samples) <= MAX_SESSIONS
        assert _peak_bound(emu, "demo") <= MAX_SESSIONS
        assert not [e for e in emu.events if e.kind == "bind_failed"]
        rules = set(emu.violations.rules())
        assert not rules & {"D-06", "D-08", "D-09"}, rules
        # every node got a slot and sent
        assert {f"node-{n + 1}" for n in range(NODES)} <= set(attempts_by_node), attempts_by_node

        # nothing lost: every accepted message is final
        assert len(set(accepted)) == CAMPAIGN
        assert sum(states.values()) == CAMPAIGN
        assert set(states) <= FINAL, states
        # what node 1 held at its death was recovered by the others after its lease: unknown
        # where a part had been marked sent (recorded as lease_expired), else requeued and
        # sent by a survivor
        unknown = {m for m, state in dead_states.items() if state == "unknown"}
        assert unknown <= recovered
        assert recovered <= set(held_by_dead)
        assert set(dead_states) == set(held_by_dead)
        # unknown is only what node 1 had in flight: at most its capacity (2 x 4 windows)
        assert states.get("unknown", 0) == len(unknown) <= 2 * MAX_SESSIONS * WINDOW

        # never sent twice; the parts of a message through one session
        sessions_of: dict[str, set[int]] = defaultdict(set)
        per_part: Counter[tuple[str, bytes]] = Counter()
        for record in emu.records:
            pdu = record.pdu
            sessions_of[pdu.destination_addr].add(record.session)  # type: ignore[union-attr]
            per_part[(pdu.destination_addr, pdu.short_message)] += 1  # type: ignore[union-attr]
        assert max(per_part.values()) == 1
        assert max(len(s) for s in sessions_of.values()) == 1
        assert CAMPAIGN - states.get("unknown", 0) <= len(sessions_of) <= CAMPAIGN

        # webhooks: each job POSTed once, by one node; none missing but of messages node 1
        # made final in its last moments (at most one batch of receipts: 500)
        deliveries = Counter(job for job, _ in hooks)
        assert max(deliveries.values()) == 1
        assert not no_webhook & since_kill
        assert len(no_webhook) <= 500, len(no_webhook)

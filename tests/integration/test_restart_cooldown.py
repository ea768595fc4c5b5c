"""The platform's reconnect wait holds across restarts (issue 12 §1), on SQLite and PostgreSQL.

After a session ends the client waits at least 60 s before it connects again; a deploy (a
graceful stop) and a crash (``kill -9``) end sessions too. A graceful stop records the drop in
its own step of the shutdown order; a crash is inferred at the next start from the session
slots the dead process left in the store. The wait is visible: the log says why the node does
not bind and for how long, ``/readyz`` and the ops page show the cooldown.

The store-level tests use an injected clock; the gateway tests use the emulator on 127.0.0.1,
which logs a D-08 violation for a bind that comes too early after a session of the account
ended, with a short configured wait (the smpp34 profile allows it) or the default 60 s where
only what the node shows is checked. The real 60 s is behind ``-m slow``.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.service.cluster import ClusterCoordinator
from smppgate.service.config import parse_config
from smppgate.service.runtime import Gateway
from smppgate.store import NewMessage, PlannedPart, Store, open_store

from ..gateway_helpers import free_port, start_serve, wait_ready
from .test_cluster_coordinator import DROP, LEASE, PRIMARY, T0, Clock, _account

#: the short wait the gateway tests configure (the smpp34 profile allows it; devino does not)
SHORT = 2.0


# ----------------------------------------------------------------- the store's view (clock)


def _node(store: Store, clock: Clock, node_id: str) -> ClusterCoordinator:
    return ClusterCoordinator(
        store, _account(2), node_id, clock, lease_seconds=LEASE, drop_cooldown=DROP
    )


def _dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_a_crash_on_sqlite_ends_every_slot_at_the_restart(store: Store) -> None:
    clock = Clock()
    old = _node(store, clock, "old-process")
    assert await old.admit(0, PRIMARY) is None
    assert await old.admit(1, PRIMARY) is None
    # killed; restarted 3 s later, before the slots' leases ran out
    clock.now = T0 + 3
    new = _node(store, clock, "new-process")
    allowed = await new.recover_at_start(clock.now, every_slot=True)
    # the sessions ended at the latest now (not at the last renewal: that is only a bound
    # from below of the real end)
    assert allowed == pytest.approx(T0 + 3 + DROP)
    assert await store.list_session_slots("login", float("-inf")) == []
    clock.now = T0 + 3 + DROP - 0.5
    assert await new.admit(0, PRIMARY) == pytest.approx(0.5)
    clock.now = T0 + 3 + DROP
    assert await new.admit(0, PRIMARY) is None


async def test_a_crash_long_ago_ended_when_its_lease_ran_out(store: Store) -> None:
    clock = Clock()
    old = _node(store, clock, "old-process")
    assert await old.admit(0, PRIMARY) is None
    clock.now = T0 + LEASE + DROP + 5  # restarted after the lease and the wait are over
    new = _node(store, clock, "new-process")
    allowed = await new.recover_at_start(clock.now, every_slot=True)
    assert allowed == pytest.approx(T0 + LEASE + DROP)
    assert await new.admit(0, PRIMARY) is None


async def test_in_a_cluster_only_slots_of_dead_processes_end_at_start(store: Store) -> None:
    """PostgreSQL: the slots of this node_id and of processes of this host that exited are a
    previous run's; another node's live slots are left alone."""
    clock = Clock()
    gone = f"{socket.gethostname()}-{_dead_pid()}"
    other_host = _node(store, clock, "elsewhere-1")
    dead_here = _node(store, clock, gone)
    assert await other_host.admit(0, PRIMARY) is None
    assert await dead_here.admit(0, PRIMARY) is None
    clock.now = T0 + 1
    restarted = _node(store, clock, "node-a")
    assert await restarted.recover_at_start(clock.now, every_slot=False) == pytest.approx(
        T0 + 1 + DROP
    )
    left = await store.list_session_slots("login", float("-inf"))
    assert [s.node_id for s in left] == ["elsewhere-1"]

    # a node restarted with the same node_id: its own slots are its previous run's
    same = _node(store, clock, "elsewhere-1")
    clock.now = T0 + 2
    assert await same.recover_at_start(clock.now, every_slot=False) == pytest.approx(T0 + 2 + DROP)
    assert await store.list_session_slots("login", float("-inf")) == []


async def test_close_records_the_drop_of_every_session_still_held(store: Store) -> None:
    clock = Clock()
    node = _node(store, clock, "node-a")
    assert await node.admit(0, PRIMARY) is None
    assert await node.admit(1, "127.0.0.1:2776") is None
    clock.now = T0 + 7
    await node.close()
    assert node.held == {}
    assert await store.list_session_slots("login", float("-inf")) == []
    for host in (PRIMARY, "127.0.0.1:2776"):
        assert await store.next_connect_allowed("promo", host) == pytest.approx(T0 + 7 + DROP)


# ------------------------------------------------------------------- the gateway (in process)


def _emulator(after_drop: float = SHORT) -> Emulator:
    return Emulator(
        EmulatorConfig(
            listeners=(ListenerConfig("127.0.0.1", 0),),
            accounts=(Account("demo", "demo"),),
            dlr_delay=0.01,
            reconnect_after_drop=after_drop,
        )
    )


def _account_toml(port: int, after_drop: float | None) -> dict[str, Any]:
    account: dict[str, Any] = {
        "name": "demo",
        "hosts": [f"127.0.0.1:{port}"],
        "system_id": "demo",
        "password": "demo",
        "sessions": ["trx"],
    }
    if after_drop is not None:
        account["reconnect_after_drop"] = after_drop
    return account


def _config(store_url: str, port: int, after_drop: float | None = SHORT) -> Any:
    return parse_config(
        {
            "store": {"url": store_url, "lease_seconds": 10},
            "accounts": [_account_toml(port, after_drop)],
            "shutdown_timeout": 1,
        },
        environ={},
    )


async def _bound(emu: Emulator, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not emu.bound_sessions("demo"):  # noqa: ASYNC110  (the emulator has no event)
            await asyncio.sleep(0.01)


def _times(emu: Emulator, kind: str) -> list[float]:
    return [e.at for e in emu.events if e.kind == kind and (e.system_id in ("demo", None))]


def _early_binds(emu: Emulator) -> list[str]:
    return [v.detail for v in emu.violations if v.rule == "D-08"]


async def _cooldown_shown(gw: Gateway, within: float = SHORT) -> float:
    """The cooldown /readyz shows, polled until it shows one (the slot asks the store first)."""
    async with asyncio.timeout(within):
        while True:
            ready, details = await gw.ready()
            if "cooldown:demo" in details:
                assert not ready
                return float(details["cooldown:demo"])
            await asyncio.sleep(0.01)


async def test_graceful_restart_waits_after_the_session_it_ended(store_url: str) -> None:
    async with _emulator() as emu:
        port = emu.address[1]
        async with Gateway(_config(store_url, port), poll_interval=0.02):
            await _bound(emu)
        ended = max(_times(emu, "disconnect"))
        async with Gateway(_config(store_url, port), poll_interval=0.02) as again:
            assert 0 < await _cooldown_shown(again) <= SHORT
            await _bound(emu)
        binds = _times(emu, "bind")
        assert len(binds) == 2
        assert binds[1] - ended >= SHORT - 0.05  # the emulator's clock saw the wait too
        assert _early_binds(emu) == []


async def test_the_default_wait_is_the_platforms_60_s(store_url: str) -> None:
    """No timer configured: a graceful stop at (injected) time T records that connecting is
    allowed at T + 60; a start 10 s later shows 50 s left and does not bind."""
    clock = Clock()
    async with _emulator(after_drop=60) as emu:
        port = emu.address[1]
        config = _config(store_url, port, after_drop=None)
        async with Gateway(config, clock=clock, poll_interval=0.02) as gw:
            await _bound(emu)
            host = str(gw.runners["demo"].account.hosts[0])
            clock.now = T0 + 100
        clock.now = T0 + 110
        async with Gateway(config, clock=clock, poll_interval=0.02) as again:
            assert await again.store.next_connect_allowed("demo", host) == pytest.approx(
                T0 + 100 + 60
            )
            left = await _cooldown_shown(again)
            assert 45 < left <= 50
            assert len(emu.bound_sessions("demo")) == 0
        assert _early_binds(emu) == []


@pytest.mark.slow
async def test_graceful_restart_in_real_time_waits_60_s(tmp_path: Path) -> None:
    async with _emulator(after_drop=60) as emu:
        port = emu.address[1]
        config = _config(f"sqlite:///{tmp_path}/gw.db", port, after_drop=None)
        async with Gateway(config, poll_interval=0.02):
            await _bound(emu)
        ended = max(_times(emu, "disconnect"))
        async with Gateway(config, poll_interval=0.02):
            await _bound(emu, within=75)
        assert _times(emu, "bind")[1] - ended >= 60 - 0.05
        assert _early_binds(emu) == []


# ------------------------------------------------------------ kill -9 (a `smppgate serve`)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _serve_config(
    tmp_path: Path, store_url: str, smsc_port: int, http_port: int, after_drop: float | None
) -> Path:
    timer = "" if after_drop is None else f"reconnect_after_drop = {after_drop}"
    path = tmp_path / "gw.toml"
    path.write_text(
        f"""
[store]
url = "{store_url}"
lease_seconds = 10

[http]
listen = "127.0.0.1:{http_port}"

[[accounts]]
name = "demo"
hosts = ["127.0.0.1:{smsc_port}"]
system_id = "demo"
password = "demo"
sessions = ["trx"]
{timer}
""",
        encoding="utf-8",
    )
    return path


async def _killed_after_binding(
    tmp_path: Path, store_url: str, emu: Emulator, http: aiohttp.ClientSession, after: float | None
) -> tuple[Path, str]:
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    config = _serve_config(tmp_path, store_url, emu.address[1], http_port, after)
    first = await start_serve(config)
    try:
        await wait_ready(http, base, process=first)
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    return config, base


async def test_kill_9_restart_waits_after_the_killed_session(
    tmp_path: Path, store_url: str, http: aiohttp.ClientSession
) -> None:
    async with _emulator() as emu:
        config, base = await _killed_after_binding(tmp_path, store_url, emu, http, SHORT)
        killed_at = time.monotonic()
        second = await start_serve(config)
        try:
            await wait_ready(http, base, process=second)
            assert time.monotonic() - killed_at >= SHORT
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()
        ended = next(e.at for e in emu.events if e.kind == "disconnect")
        binds = _times(emu, "bind")
        assert len(binds) == 2
        assert binds[1] - ended >= SHORT - 0.05
        assert _early_binds(emu) == []
        assert second.returncode == 0


async def test_kill_9_restart_shows_why_it_does_not_bind_yet(
    tmp_path: Path, store_url: str, http: aiohttp.ClientSession
) -> None:
    """The platform's 60 s by default: the restarted node says so in its log, /readyz (503,
    with the cooldown) and the ops page (the session cooling down), and does not bind."""
    async with _emulator(after_drop=60) as emu:
        config, base = await _killed_after_binding(tmp_path, store_url, emu, http, None)
        second = await start_serve(config)
        try:
            async with asyncio.timeout(15):
                while True:
                    try:
                        async with http.get(f"{base}/readyz") as r:
                            body = await r.json()
                            if "cooldown:demo" in body["details"]:
                                assert r.status == 503
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
            assert 50 < body["details"]["cooldown:demo"] <= 60
            async with http.get(f"{base}/v1/ops") as r:
                ops = await r.json()
            (session,) = ops["accounts"][0]["sessions"]
            assert session["state"] == "cooling_down"
            assert 50 < session["cooldown_left"] <= 60
            assert emu.bound_sessions("demo") == []
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()
        log = (config.parent / "gateway.log").read_text(encoding="utf-8")
        assert "ended without a recorded drop" in log
        assert "not binding for" in log
        assert _early_binds(emu) == []


@pytest.mark.postgres
async def test_in_a_cluster_leases_of_dead_processes_are_recovered_at_start(pg_url: str) -> None:
    """The same rule for message leases as for session slots: a node that starts takes back
    at once the messages leased by a process of its host that exited (before: only those of
    its own node_id, and the default node_id is host-pid, so a restarted process never had
    one — its previous run's messages waited for the lease to run out); another node's
    leases are left to run out."""
    gone = f"{socket.gethostname()}-{_dead_pid()}"
    async with _emulator() as emu:
        config = _config(pg_url, emu.address[1])
        async with open_store(pg_url) as store:
            now = time.time()
            inserted = await store.insert_messages([_new_message(i) for i in range(2)], now)
            (dead,) = await store.claim(gone, 1, now, 3600, ["demo"])
            (alive,) = await store.claim("elsewhere-1", 1, now, 3600, ["demo"])
            assert {dead.id, alive.id} == {r.message.id for r in inserted}
        async with Gateway(config, node_id="node-new", poll_interval=0.02) as gw:
            recovered = (await gw.store.get_message(dead.id)).message
            kept = (await gw.store.get_message(alive.id)).message
    assert recovered.leased_by != gone
    assert kept.leased_by == "elsewhere-1"


def _new_message(i: int) -> NewMessage:
    parts = (PlannedPart(seq=1, short_message=b"hi"),)
    return NewMessage(
        account="demo", source="Devino", destination=f"7903{i:07d}", text="hi", parts=parts
    )

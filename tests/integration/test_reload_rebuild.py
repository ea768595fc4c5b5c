"""A reload that changes the settings an account's sessions are built from rebuilds that
account's sessions alone (service/runtime.py `AccountRunner.rebuild`), on SQLite and
PostgreSQL, against the emulator on 127.0.0.1: the window drains first (nothing becomes
``unknown`` through the rebuild), the sessions unbind, the new ones bind only after the
platform's reconnect wait (a short configured one: the smpp34 profile allows it; the emulator
logs a D-08 violation for an early bind), the queued messages all go out, and the other
account's session is never touched."""

from __future__ import annotations

import asyncio
from typing import Any

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.reload import plan_reload
from smppgate.service.runtime import Gateway
from smppgate.store import MessageState, NewMessage, PlannedPart
from smppgate.text import SplitMethod, plan_split

from .test_gateway_e2e import _wait_final
from .test_platform_rules import until

#: the reconnect wait after a session ended, configured short on both sides
SHORT = 1.0
#: how long the emulator holds each submit_sm_resp of account "a": parts are in flight when
#: the reload comes
DELAY = 0.3


def _config(store_url: str, port: int, **a: Any) -> GatewayConfig:
    def account(name: str, **changes: Any) -> dict[str, Any]:
        return {
            "name": name,
            "profile": "smpp34",
            "hosts": [f"127.0.0.1:{port}"],
            "system_id": name,
            "password": name,
            "sessions": ["trx"],
            "window": 4,
            "reconnect_after_drop": SHORT,
            "reconnect_after_failure": SHORT,
            **changes,
        }

    return parse_config(
        {
            "store": {"url": store_url, "lease_seconds": 10},
            "accounts": [account("a", **a), account("b")],
            "shutdown_timeout": 5,
        },
        environ={},
    )


def _message(account: str, i: int) -> NewMessage:
    plan = plan_split(f"message {i}", method=SplitMethod.UDH, reference=i % 256)
    parts = tuple(
        PlannedPart(seq=n, short_message=p.short_message, esm_class=p.esm_class,
                    data_coding=plan.data_coding)
        for n, p in enumerate(plan.parts, 1)
    )  # fmt: skip
    return NewMessage(
        account=account, source="79001112233", destination="79001234567", text="x", parts=parts
    )


def _emulator() -> Emulator:
    return Emulator(
        EmulatorConfig(
            listeners=(ListenerConfig("127.0.0.1", 0),),
            accounts=(Account("a", "a"), Account("b", "b")),
            dlr_delay=0.01,
            reconnect_after_drop=SHORT,
        )
    )


def _events(emu: Emulator, kind: str, system_id: str) -> list[float]:
    return [e.at for e in emu.events if e.kind == kind and e.system_id == system_id]


async def test_a_session_change_rebuilds_that_account_alone(store_url: str) -> None:
    async with _emulator() as emu:
        port = emu.address[1]
        running = _config(store_url, port)
        async with Gateway(running, poll_interval=0.02) as gw:
            await until(lambda: bool(emu.bound_sessions("a") and emu.bound_sessions("b")))
            runner_a, runner_b = gw.runners["a"], gw.runners["b"]
            pool_b = runner_b.pool
            emu.faults.add("delay", account="a", seconds=DELAY)
            results = await gw.store.insert_messages(
                [_message("a", i) for i in range(30)], gw.clock()
            )
            gw.wake()
            await until(lambda: runner_a.unsettled_parts > 0)

            # two sessions and a larger window: a change the sessions are built from
            new = _config(store_url, port, sessions=["trx", "trx"], window=8)
            plan = plan_reload(running, new)
            assert plan.refused == ()
            assert "accounts[a]: sessions rebuilt" in plan.applied
            old_pool = runner_a.pool
            gw.reconfigure(plan.config)
            assert runner_a.window_budget == 0  # nothing more is marked sent
            assert runner_a.account.window == 4  # the running sessions' settings, until rebuilt
            b_sent = await gw.store.insert_messages([_message("b", 99)], gw.clock())
            gw.wake()

            states = await _wait_final(gw.store, [r.message.id for r in results], within=30)
            assert set(states.values()) == {MessageState.DELIVERED}
            assert runner_a.pool is not old_pool
            assert runner_a.account == plan.config.account("a")
            await until(lambda: len(emu.bound_sessions("a")) == 2)
            assert runner_a.stats.unknown == 0
            b_states = await _wait_final(gw.store, [b_sent[0].message.id])
            assert set(b_states.values()) == {MessageState.DELIVERED}

            # the old session unbound once its window drained, the new ones waited the
            # platform's reconnect time
            ended = _events(emu, "disconnect", "a")
            binds = _events(emu, "bind", "a")
            assert len(ended) == 1
            assert len(binds) == 3
            assert min(binds[1:]) - ended[0] >= SHORT - 0.05
            assert not [v for v in emu.violations if v.rule == "D-08"]
            # the other account: the same pool, one bind, never unbound
            assert runner_b.pool is pool_b
            assert len(_events(emu, "bind", "b")) == 1
            assert _events(emu, "disconnect", "b") == []


async def test_submit_rate_and_query_after_apply_to_the_running_sessions(
    store_url: str,
) -> None:
    async with _emulator() as emu:
        port = emu.address[1]
        running = _config(store_url, port)
        async with Gateway(running, poll_interval=0.02) as gw:
            await until(lambda: bool(emu.bound_sessions("a")))
            pool = gw.runners["a"].pool
            new = _config(store_url, port, max_submit_rate=5, query_after=60)
            plan = plan_reload(running, new)
            assert set(plan.applied) == {"accounts[a].max_submit_rate", "accounts[a].query_after"}
            assert "a" not in gw._sweeping
            gw.reconfigure(plan.config)
            assert "a" in gw._sweeping  # the query_sm sweeper runs from now on
            assert gw.runners["a"].pool is pool
            assert pool.account.max_submit_rate == 5
            assert not gw.runners["a"].rebuilding
            await asyncio.sleep(0)
            assert len(_events(emu, "bind", "a")) == 1

"""The gateway end to end: messages in the store go to the platform emulator over SMPP on
127.0.0.1, receipts come back, every message reaches its final state."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

from smppgate.emulator import Account, Emulator, EmulatorConfig, FaultSpec, ListenerConfig
from smppgate.service.config import parse_config
from smppgate.service.runtime import Gateway
from smppgate.store import (
    MessageState,
    NewMessage,
    OutcomeResult,
    PlannedPart,
    ReceiptMatch,
    Store,
    StoreUnavailable,
)
from smppgate.text import SplitMethod, plan_split

from .test_platform_rules import until


def _message(i: int, text: str, destination: str = "79001234567") -> NewMessage:
    plan = plan_split(text, method=SplitMethod.UDH, reference=i % 256)
    parts = tuple(
        PlannedPart(seq=n, short_message=p.short_message, esm_class=p.esm_class,
                    data_coding=plan.data_coding)
        for n, p in enumerate(plan.parts, 1)
    )  # fmt: skip
    return NewMessage(
        account="demo", source="Devino", destination=destination, text=text, parts=parts
    )


def _config(tmp_path: Path, port: int, sessions: list[str] | None = None) -> object:
    return gateway_config(f"sqlite:///{tmp_path}/gw.db", port, sessions or ["trx", "trx"])


def gateway_config(
    store_url: str, port: int, sessions: list[str], window: int = 20, lease_seconds: float = 60
) -> object:
    """One account "demo" on the emulator at 127.0.0.1:``port``, the store at ``store_url``."""
    return parse_config(
        {
            "store": {"url": store_url, "lease_seconds": lease_seconds},
            "accounts": [
                {
                    "name": "demo",
                    "profile": "devino-promo",  # the emulator plays the platform
                    "hosts": [f"127.0.0.1:{port}"],
                    "system_id": "demo",
                    "password": "demo",
                    "sessions": sessions,
                    "window": window,
                }
            ],
            "shutdown_timeout": 2,
        },
        environ={},
    )


async def _wait_final(
    store: Store, ids: list[str], within: float = 20.0
) -> dict[str, MessageState]:
    async with asyncio.timeout(within):
        while True:
            try:
                states = {i: (await store.get_message(i)).message.state for i in ids}
            except StoreUnavailable:  # (the outage test drops this store's connections too)
                states = {}
            if states and all(s.is_final for s in states.values()):
                return states
            await asyncio.sleep(0.05)


async def test_messages_are_delivered_end_to_end(tmp_path: Path) -> None:
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.01,
    )
    async with Emulator(emu_config) as emu:
        _, port = emu.address
        async with Gateway(_config(tmp_path, port), poll_interval=0.02) as gw:  # type: ignore[arg-type]
            # the listeners (they wake senders) hear once per recorded batch, with the batch
            outcome_calls: list[list[OutcomeResult]] = []
            receipt_calls: list[list[ReceiptMatch]] = []

            async def on_outcomes(results: list[OutcomeResult]) -> None:
                outcome_calls.append(results)

            async def on_receipts(matches: list[ReceiptMatch]) -> None:
                receipt_calls.append(matches)

            gw.outcome_listeners.append(on_outcomes)
            gw.receipt_listeners.append(on_receipts)
            texts = ["hello", "Привет " * 30, "x" * 400]
            results = await gw.store.insert_messages(
                [_message(i, texts[i % 3]) for i in range(60)], gw.clock()
            )
            gw.wake()
            ids = [r.message.id for r in results]
            states = await _wait_final(gw.store, ids)
            assert set(states.values()) == {MessageState.DELIVERED}
            assert all(type(call) is list and call for call in outcome_calls + receipt_calls)
            assert {r.message_id for call in outcome_calls for r in call} == set(ids)
            matched = [m for call in receipt_calls for m in call]
            assert {m.message_id for m in matched} == set(ids)
            assert len(outcome_calls) < len(ids)  # batches, not a call per message
            detail = await gw.store.get_message(ids[1])
            assert len(detail.message.parts) == 4  # 210 UCS2 units, 67 per part
            assert all(p.smsc_message_id for p in detail.message.parts)
            assert len(detail.receipts) == 4
            # every attempt says where it happened: node, session, host; one session per message
            assert len(detail.attempts) == 4
            assert {(a.node_id, a.host) for a in detail.attempts} == {
                (gw.node_id, f"127.0.0.1:{port}")
            }
            assert len({a.session_id for a in detail.attempts}) == 1
            assert detail.attempts[0].session_id
        # every session was unbound on the way out
        assert emu.bound_sessions("demo") == []
        assert not [v for v in emu.violations if v.rule not in ("D-12",)]


async def test_invalid_destination_is_never_resent(tmp_path: Path) -> None:
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.01,
        faults=(FaultSpec("invalid_destination", params={"pattern": "7999.*"}),),
    )
    async with Emulator(emu_config) as emu:
        _, port = emu.address
        async with Gateway(_config(tmp_path, port), poll_interval=0.02) as gw:  # type: ignore[arg-type]
            bad, good = await gw.store.insert_messages(
                [_message(1, "to nowhere", "79990000000"), _message(2, "fine")], gw.clock()
            )
            gw.wake()
            states = await _wait_final(gw.store, [bad.message.id, good.message.id])
            assert states[bad.message.id] is MessageState.REJECTED
            assert states[good.message.id] is MessageState.DELIVERED
            await asyncio.sleep(0.3)  # real time: that nothing is resent meanwhile is the point
        assert sum(1 for r in emu.records if r.pdu.destination_addr == "79990000000") == 1  # type: ignore[union-attr]


async def test_a_lost_session_slot_lease_ends_its_session(tmp_path: Path) -> None:
    # another node took this node's session slots (as after a database stall past the lease):
    # at its next renewal the node ends those sessions instead of keeping them, so the
    # account never has more sessions than its slots; and it binds no new ones while the
    # other node holds the slots
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),), accounts=(Account("demo", "demo"),)
    )
    async with Emulator(emu_config) as emu:
        _, port = emu.address
        config = _config(tmp_path, port)
        config = replace(config, store=replace(config.store, lease_seconds=2.0))  # type: ignore[attr-defined,type-var]
        async with Gateway(config, poll_interval=0.02) as gw:  # type: ignore[arg-type]
            await until(lambda: len(emu.bound_sessions("demo")) == 2, 10)
            with sqlite3.connect(tmp_path / "gw.db") as db:
                taken = db.execute(
                    "UPDATE session_slots SET node_id = 'other-node', lease_until = ?"
                    " WHERE system_id = 'demo'",
                    (gw.clock() + 3600,),
                ).rowcount
            assert taken == 2
            await until(lambda: emu.bound_sessions("demo") == [], 10)
            await asyncio.sleep(0.5)  # real time: that no session comes back is the point
            assert emu.bound_sessions("demo") == []
            assert emu.counters.binds == 2

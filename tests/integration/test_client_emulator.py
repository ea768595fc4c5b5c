"""The client against the project's platform emulator (in process, 127.0.0.1): the emulator
checks the platform's rules from the SMSC side, so every test also asserts it logged no
violation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from smppgate.client import (
    DeliveryReport,
    MoMessage,
    OutboundMessage,
    SessionPool,
    SmppAccount,
    send_message,
)
from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.pdu import CommandStatus, RetryClass
from smppgate.profiles import DEVINO_PROMO, HostAddress, RetryRules
from smppgate.session import BindMode
from smppgate.text import DeliveryState
from tests.esme_helpers import until

SCALE = 0.01  # the emulator checks 5/15/45 s pauses scaled by this
RULES = RetryRules(
    throttle_pause=0.3,
    queue_full_delays=tuple(d * SCALE for d in (5.0, 15.0, 45.0, 135.0, 405.0)),
)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("login", "secret"),),
        dlr_delay=0.0,
        reconnect_after_drop=0.3,
        reconnect_after_failure=0.3,
        throttle_pause=0.3,
        qfull_pause_scale=SCALE,
    )
    async with Emulator(config) as emulator:
        yield emulator


def account(emu: Emulator, **kwargs: object) -> SmppAccount:
    host, port = emu.address
    base: dict[str, object] = {
        "profile": replace(DEVINO_PROMO, retry=RULES),
        "hosts": (HostAddress(host, port),),
        "unsafe_below_platform_minimums": True,
        "reconnect_after_drop": 0.3,
        "reconnect_after_failure": 0.3,
    }
    base.update(kwargs)
    return SmppAccount("login", "secret", **base)  # type: ignore[arg-type]


async def test_split_message_and_receipts(emu: Emulator) -> None:
    async with SessionPool(account(emu)) as pool:
        await pool.wait_ready(5)
        result = await send_message(
            pool, OutboundMessage("Devino", "+79001234567", "Привет мир! " * 10, validity=60)
        )
        assert result.accepted
        assert len(result.parts) == 2
        reports: list[DeliveryReport] = []
        async with asyncio.timeout(5):
            async for event in pool.incoming():
                if isinstance(event, DeliveryReport):
                    reports.append(event)
                if len(reports) == 2:
                    break
    assert {r.message_id for r in reports} == set(result.message_ids)
    assert all(r.state is DeliveryState.DELIVERED for r in reports)
    assert emu.violations.rules() == []


async def test_invalid_destination_from_emulator(emu: Emulator) -> None:
    emu.faults.add("invalid_destination", pattern="7999.*")
    async with SessionPool(account(emu)) as pool:
        await pool.wait_ready(5)
        result = await send_message(pool, OutboundMessage("Devino", "79990000000", "x"))
    assert result.parts[0].status is CommandStatus.ESME_RINVDSTADR
    assert result.parts[0].retry is RetryClass.PERMANENT
    assert len([r for r in emu.records if r.status == CommandStatus.ESME_RINVDSTADR]) == 1
    assert emu.violations.rules() == []


async def test_throttle_and_queue_full_are_obeyed(emu: Emulator) -> None:
    emu.faults.add("throttle", account="login", rate=2, burst=1)
    emu.faults.add("queue_full", account="login", first=2)
    async with SessionPool(account(emu)) as pool:
        await pool.wait_ready(5)
        results = await asyncio.gather(
            *(
                send_message(pool, OutboundMessage("Devino", f"7900123456{i}", "m"))
                for i in range(3)
            )
        )
    assert all(r.accepted for r in results)
    statuses = [r.status for r in emu.records]
    assert CommandStatus.ESME_RTHROTTLED in statuses
    assert CommandStatus.ESME_RMSGQFUL in statuses
    assert emu.violations.rules() == []


async def test_mo_and_drop_cooldown(emu: Emulator) -> None:
    modes = (BindMode.TRANSMITTER, BindMode.RECEIVER)
    async with SessionPool(account(emu, sessions=modes)) as pool:
        await pool.wait_ready(5)
        await until(lambda: len(emu.bound_sessions("login")) == 2)
        await emu.inject_mo("login", "79001234567", "1234", "hello " * 40, concatenated=True)
        async with asyncio.timeout(5):
            mo = await anext(aiter(pool.incoming()))
        assert isinstance(mo, MoMessage)
        assert mo.text == "hello " * 40
        assert mo.parts >= 2
        emu.drop_sessions("login")
        await until(lambda: len(emu.bound_sessions("login")) == 2)
        assert pool.snapshot().bound == 2
    assert emu.violations.rules() == []

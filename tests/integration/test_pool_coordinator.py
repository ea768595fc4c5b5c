"""The pool with a coordinator (the cluster's admission) over a real emulator on 127.0.0.1:
closing the pool while a slot waits for the coordinator's answer ends cleanly, and that slot
never connects afterwards (it once bound right after the others unbound, then hung close)."""

from __future__ import annotations

import asyncio

from smppgate.client import SessionPool
from smppgate.client.cooldown import AttemptEnd
from smppgate.emulator import Emulator

from .test_platform_rules import emulator_account, emulator_config, until


class GatedCoordinator:
    """Admits slot 0 at once; slot 1 waits until ``gate`` opens."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.asked: list[int] = []
        self.ends: list[tuple[int, AttemptEnd]] = []

    async def admit(self, slot: int, host: str) -> float | None:
        self.asked.append(slot)
        if slot == 1:
            await self.gate.wait()
        return None

    async def ended(self, slot: int, host: str, end: AttemptEnd) -> None:
        self.ends.append((slot, end))


async def test_closing_while_a_slot_waits_for_admission_never_connects_it() -> None:
    async with Emulator(emulator_config()) as emu:
        coordinator = GatedCoordinator()
        account = emulator_account(
            emu.address, sessions=(emulator_account(emu.address).sessions[0],) * 2
        )
        pool = SessionPool(account, coordinator=coordinator)
        await pool.start()
        await until(lambda: len(emu.bound_sessions("login")) == 1 and 1 in coordinator.asked)
        closing = asyncio.create_task(pool.aclose())
        await asyncio.sleep(0)  # close has begun: it is unbinding slot 0
        coordinator.gate.set()  # and the coordinator answers slot 1 "yes" just then
        await asyncio.wait_for(closing, 10)
        await asyncio.sleep(0.2)  # a late connect would show up by now
        assert emu.bound_sessions("login") == []
        assert emu.counters.binds == 1
        assert not [v for v in emu.violations if v.rule == "D-08"]
        assert coordinator.ends == [(0, AttemptEnd.DROPPED)]

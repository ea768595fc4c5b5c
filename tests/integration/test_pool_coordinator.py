"""The pool with a coordinator (the cluster's admission) over a real emulator on 127.0.0.1:
closing the pool while a slot waits for the coordinator's answer ends cleanly, and that slot
never connects afterwards (it once bound right after the others unbound, then hung close)."""

from __future__ import annotations

import asyncio

from smppgate.client import SessionPool
from smppgate.client.cooldown import AttemptEnd
from smppgate.emulator import Emulator
from smppgate.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    CommandId,
    FrameReader,
    Unbind,
    UnbindResp,
    decode,
    encode,
)

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


class CountingCoordinator:
    """Admits every slot at once; records the questions and the ends."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.ends: list[tuple[int, AttemptEnd]] = []

    async def admit(self, slot: int, host: str) -> float | None:
        self.asked.append(slot)
        return None

    async def ended(self, slot: int, host: str, end: AttemptEnd) -> None:
        self.ends.append((slot, end))


async def test_end_slot_unbinds_that_session_and_reconnects_it_after_the_drop_cooldown() -> None:
    # what the gateway does when the cluster slot of a live session was lost: that session
    # ends in order (never a fifth session for the account), the others stay up
    async with Emulator(emulator_config()) as emu:
        coordinator = CountingCoordinator()
        base = emulator_account(emu.address)
        account = emulator_account(emu.address, sessions=(base.sessions[0],) * 2)
        async with SessionPool(account, coordinator=coordinator) as pool:
            await until(lambda: len(emu.bound_sessions("login")) == 2)
            loop = asyncio.get_running_loop()
            assert pool.end_slot(1) is True
            ended_at = loop.time()
            await until(lambda: coordinator.ends == [(1, AttemptEnd.DROPPED)])
            assert len(emu.bound_sessions("login")) == 1
            assert pool.snapshot().slots[0].state.value == "bound"
            await until(lambda: coordinator.asked.count(1) == 2)
            assert loop.time() - ended_at >= 0.3  # the drop cooldown (shortened here)
            await until(lambda: len(emu.bound_sessions("login")) == 2)
            assert pool.end_slot(1) is True
            await until(lambda: len(emu.bound_sessions("login")) == 1)
        assert emu.counters.binds == 3  # two, then slot 1 again once
        assert not [v for v in emu.violations if v.rule == "D-08"]


async def test_end_slot_without_a_session_does_nothing() -> None:
    async with Emulator(emulator_config()) as emu:
        account = emulator_account(emu.address, reconnect_after_drop=60.0)
        async with SessionPool(account) as pool:
            await pool.wait_ready(5)
            assert pool.end_slot(0) is True
            await until(lambda: emu.bound_sessions("login") == [])
            await until(lambda: pool.snapshot().slots[0].state.value == "waiting")
            assert pool.end_slot(0) is False  # cooling down for 60 s: nothing to end


async def test_end_slot_while_connecting_unbinds_as_soon_as_bound() -> None:
    # a bare SMSC that answers the bind only when told: end_slot arrives in between
    bind_seen = asyncio.Event()
    answer = asyncio.Event()
    after_bind: list[int] = []

    async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader()
        while True:
            data = await reader.read(4096)
            if not data:
                break
            frames.feed(data)
            for frame in frames.read_frames():
                pdu = decode(frame)
                if isinstance(pdu, BindTransceiver):
                    bind_seen.set()
                    await answer.wait()
                    writer.write(encode(BindTransceiverResp(system_id="x"), pdu.sequence_number))
                    continue
                after_bind.append(pdu.command_id)
                if isinstance(pdu, Unbind):
                    writer.write(encode(UnbindResp(), pdu.sequence_number))
        writer.close()

    server = await asyncio.start_server(smsc, "127.0.0.1", 0)
    try:
        address = server.sockets[0].getsockname()[:2]
        coordinator = CountingCoordinator()
        account = emulator_account(address, reconnect_after_drop=60.0)
        async with SessionPool(account, coordinator=coordinator) as pool:
            await asyncio.wait_for(bind_seen.wait(), 5)
            assert pool.snapshot().slots[0].state.value == "connecting"
            assert pool.end_slot(0) is True
            answer.set()
            await until(lambda: coordinator.ends == [(0, AttemptEnd.DROPPED)])
            assert after_bind == [CommandId.UNBIND]
            assert pool.snapshot().bound == 0
    finally:
        server.close()
        await server.wait_closed()

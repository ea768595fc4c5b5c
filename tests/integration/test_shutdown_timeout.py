"""``shutdown_timeout`` is a limit (issue 19): a stopping node waits that long for in-flight
responses, no longer; what is still unanswered becomes ``unknown`` (the submit may have reached
the SMSC: never resent), the sessions unbind and the node exits. The emulator holds every
submit_sm_resp far longer than the limit."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from smppgate.emulator import Account, Emulator, EmulatorConfig, FaultSpec, ListenerConfig
from smppgate.service.config import GatewayConfig
from smppgate.service.runtime import Gateway
from smppgate.store import MessageState, open_store

from .test_gateway_e2e import _message, gateway_config

#: how long the emulator holds each response: far beyond the node's limit (1 s)
HELD = 60.0


async def test_stop_gives_up_on_held_responses_after_shutdown_timeout(store_url: str) -> None:
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        faults=(FaultSpec("delay", params={"seconds": HELD}),),
    )
    async with Emulator(emu_config) as emu:
        base = gateway_config(store_url, emu.address[1], ["trx"])
        assert isinstance(base, GatewayConfig)
        gw = Gateway(replace(base, shutdown_timeout=1.0), poll_interval=0.02)
        await gw.start()
        try:
            results = await gw.store.insert_messages(
                [_message(i, f"held {i}", f"7900000000{i}") for i in range(3)], gw.clock()
            )
            gw.wake()
            async with asyncio.timeout(10):
                while len(emu.records) < 3:  # noqa: ASYNC110  (the emulator has no event)
                    await asyncio.sleep(0.01)
        finally:
            # the responses are due in a minute: the stop must not wait for them
            async with asyncio.timeout(HELD / 4):
                await gw.aclose()
        # unbound on the way out (not dropped), nothing left bound
        assert [e.kind for e in emu.events if e.kind in ("unbind", "drop")] == ["unbind"]
        assert emu.bound_sessions("demo") == []
    async with open_store(store_url) as store:
        for result in results:
            detail = await store.get_message(result.message.id)
            assert detail.message.state is MessageState.UNKNOWN
            assert [a.outcome for a in detail.attempts] == ["no_response"]

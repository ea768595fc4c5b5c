"""Scheduled messages and quiet hours in a running gateway, SQLite and PostgreSQL: the platform
emulator on 127.0.0.1, the gateway's clock moved forward instead of waiting (no sleep waits
for a schedule)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.service.cancel import NotCancellableError, cancel_message
from smppgate.service.config import parse_config
from smppgate.service.runtime import Gateway
from smppgate.store import MessageState, NewMessage, PlannedPart, Store
from smppgate.text import DeliveryState

HOUR = 3600.0


class Clock:
    """Real time plus a jump the test makes."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.time() + self.ahead


def sms(
    destination: str, traffic_class: str | None = None, not_before: float | None = None
) -> NewMessage:
    return NewMessage(
        account="demo",
        source="Devino",
        destination=destination,
        text="hello",
        parts=(PlannedPart(1, b"hello"),),
        traffic_class=traffic_class,
        not_before=not_before,
    )


@asynccontextmanager
async def running(
    store_url: str,
    clock: Clock,
    quiet_hours: list[dict[str, Any]] | None = None,
    *,
    profile: str = "devino-promo",
    dlr_delay: float = 0.01,
    emulators: list[Emulator] | None = None,
) -> AsyncIterator[Gateway]:
    emulator = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=dlr_delay,
        strict=profile.startswith("devino"),
    )
    async with Emulator(emulator) as emu:
        if emulators is not None:
            emulators.append(emu)
        config = parse_config(
            {
                "store": {"url": store_url},
                "accounts": [
                    {
                        "name": "demo",
                        "profile": profile,
                        "hosts": [f"127.0.0.1:{emu.address[1]}"],
                        "system_id": "demo",
                        "password": "demo",
                        "sessions": ["trx"],
                    }
                ],
                "quiet_hours": quiet_hours or [],
                "shutdown_timeout": 2,
            },
            environ={},
        )
        async with Gateway(
            config, clock=clock, poll_interval=0.02, schedule_interval=0.02
        ) as gateway:
            yield gateway


async def until_state(store: Store, message_id: str, state: MessageState) -> None:
    async with asyncio.timeout(20):
        while (await store.get_message(message_id)).message.state is not state:  # noqa: ASYNC110 - a store has no event
            await asyncio.sleep(0.02)


async def test_a_scheduled_message_waits_for_its_time_then_goes(store_url: str) -> None:
    clock = Clock()
    async with running(store_url, clock) as gw:
        now = clock()
        [later, at_once] = [
            r.message.id
            for r in await gw.store.insert_messages(
                [sms("79001234567", not_before=now + HOUR), sms("79001234568")], now
            )
        ]
        gw.wake()
        await until_state(gw.store, at_once, MessageState.DELIVERED)
        # the dispatcher and the release loop have run many times meanwhile
        detail = await gw.store.get_message(later)
        assert detail.message.state is MessageState.SCHEDULED
        assert detail.message.attempts == 0
        clock.ahead = HOUR
        await until_state(gw.store, later, MessageState.DELIVERED)
        parts = (await gw.store.get_message(later)).message.parts
        assert parts[0].sent_at is not None
        assert parts[0].sent_at >= now + HOUR


async def test_a_message_claimed_in_its_quiet_hours_is_postponed_to_their_end(
    store_url: str,
) -> None:
    """Queued straight into the store (as a backlog from before the window closed would be):
    the dispatcher does not send it in the night, it reschedules it for the morning."""
    clock = Clock()
    now = clock()
    # a window opening two hours (and a bit) from now, UTC: now is in the quiet hours
    opens = (int(now // 60) + 121) * 60
    start = opens % 86400
    end = (start + 4 * 3600) % 86400
    window = (
        f"{start // 3600:02d}:{start % 3600 // 60:02d}-{end // 3600:02d}:{end % 3600 // 60:02d}"
    )
    quiet = [{"class": "promo", "send_between": window, "utc_offset": "+00:00"}]
    async with running(store_url, clock, quiet) as gw:
        [promo, otp] = [
            r.message.id
            for r in await gw.store.insert_messages(
                [sms("79001234567", "promo"), sms("79001234568", "transactional")], now
            )
        ]
        # a USSD answer is never held, whatever rule matches it
        ussd = replace(sms("79001234569", "promo"), ussd_service_op=17)
        ussd_id = (await gw.store.insert_message(ussd, now)).message.id
        gw.wake()
        await until_state(gw.store, otp, MessageState.DELIVERED)
        await until_state(gw.store, promo, MessageState.SCHEDULED)
        async with asyncio.timeout(20):
            while (await gw.store.get_message(ussd_id)).message.parts[0].sent_at is None:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        detail = await gw.store.get_message(promo)
        assert detail.message.next_attempt_at == opens
        assert detail.message.attempts == 0  # the claim is given back, not counted
        assert [a.outcome for a in detail.attempts] == ["postponed:quiet_hours"]
        assert detail.message.parts[0].sent_at is None
        clock.ahead = opens - now
        await until_state(gw.store, promo, MessageState.DELIVERED)


async def test_a_submitted_message_is_cancelled_at_the_smsc_only_where_the_profile_has_cancel_sm(
    store_url: str,
) -> None:
    """The receipts are held back (dlr_delay 30 s, never waited for): the message stays
    `submitted` until the cancel. smpp34 has cancel_sm: the SMSC agrees and the message ends
    `cancelled`; devino-promo has none (its page promises query_sm only): 409's reason."""
    for profile, cancels in (("smpp34", True), ("devino-promo", False)):
        clock = Clock()
        emulators: list[Emulator] = []
        async with running(
            store_url, clock, profile=profile, dlr_delay=30, emulators=emulators
        ) as gw:
            message_id = (
                await gw.store.insert_message(sms(f"7900123456{int(cancels)}"), clock())
            ).message.id
            gw.wake()
            await until_state(gw.store, message_id, MessageState.SUBMITTED)
            if cancels:
                result = await cancel_message(
                    gw.store, message_id, clock(), by="api:ops", upstream=gw.cancel_upstream
                )
                assert result.cancelled
                detail = await gw.store.get_message(message_id)
                assert detail.message.state is MessageState.CANCELLED
                smsc_id = detail.message.parts[0].smsc_message_id
                assert smsc_id is not None
                status = emulators[0].message_state(smsc_id)
                assert status is not None
                assert status.state is DeliveryState.DELETED
            else:
                with pytest.raises(
                    NotCancellableError, match="devino-promo profile has no cancel_sm"
                ):
                    await cancel_message(
                        gw.store, message_id, clock(), by="api:ops", upstream=gw.cancel_upstream
                    )
                state = (await gw.store.get_message(message_id)).message.state
                assert state is MessageState.SUBMITTED

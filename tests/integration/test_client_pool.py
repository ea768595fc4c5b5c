"""The client against a scripted SMSC over 127.0.0.1: each platform rule driven by the SMSC's
answers, timers shortened through the account's settings (never sleeps standing in for them)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from smppgate.client import (
    BindError,
    ClientSession,
    ConnectError,
    DeliveryReport,
    HeldEvent,
    MoMessage,
    OutboundMessage,
    SessionPool,
    SlotState,
    SmppAccount,
    SubmitOutcome,
    UnsupportedOperationError,
    send_message,
)
from smppgate.pdu import (
    BindTransceiver,
    CommandStatus,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    RetryClass,
    SubmitMulti,
    SubmitSm,
    Tlv,
    TlvTag,
    make_tlv,
)
from smppgate.profiles import (
    DEVINO_ONLINE,
    DEVINO_PROMO,
    SMPP34,
    HostAddress,
    ProviderProfile,
    RetryRules,
)
from smppgate.session import BindMode
from smppgate.text import DeliveryState, UssdServiceOp, concatenation_udh

from .test_client_fakesmsc import FakeSmsc, accept_all

FAST_RULES = RetryRules(
    throttle_pause=0.3,
    queue_full_delays=(0.1, 0.2, 0.3, 0.4, 0.5),
    queue_full_max_retries=3,
    transient_delays=(0.05,),
    transient_max_retries=1,
)
PROFILE = replace(SMPP34, retry=FAST_RULES)
DEVINO = replace(DEVINO_PROMO, retry=FAST_RULES)


def account(smsc: FakeSmsc, **kwargs: object) -> SmppAccount:
    base: dict[str, object] = {
        "profile": PROFILE,
        # a devino profile at test speed: its 60 / 90 s floors lifted, loudly
        "unsafe_below_platform_minimums": True,
        "hosts": (HostAddress.parse(smsc.address),),
        "reconnect_after_drop": 0.3,
        "reconnect_after_failure": 0.4,
        "reconnect_jitter": 0.0,
    }
    base.update(kwargs)
    return SmppAccount("login", "secret", **base)  # type: ignore[arg-type]


def part(text: bytes = b"hi", dest: str = "79001234567") -> SubmitSm:
    return SubmitSm(
        source_addr_ton=5,
        source_addr_npi=1,
        source_addr="Devino",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=dest,
        short_message=text,
    )


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    server = await FakeSmsc().start()
    yield server
    await server.close()


#: Devino: the page's mandatory 5/1 for every sender; smpp34: the usual conventions
_SOURCES = {
    "devino-promo": {"Devino": (5, 1), "+79161234567": (5, 1), "900": (5, 1)},
    "smpp34": {"Devino": (5, 0), "+79161234567": (1, 1), "900": (3, 0)},
}


@pytest.mark.parametrize("profile", [DEVINO, PROFILE], ids=lambda p: p.name)
async def test_bind_parameters_and_addressing(smsc: FakeSmsc, profile: ProviderProfile) -> None:
    async with SessionPool(account(smsc, profile=profile)) as pool:
        await pool.wait_ready(5)
        for sender in _SOURCES[profile.name]:
            result = await send_message(pool, OutboundMessage(sender, "+79001234567", "hello"))
            assert result.accepted
    (_, bind), *_ = smsc.binds
    assert isinstance(bind, BindTransceiver)
    assert (bind.system_id, bind.password, bind.system_type) == ("login", "secret", "")
    assert bind.interface_version == 0x34
    wire = {s.pdu.source_addr: (s.pdu.source_addr_ton, s.pdu.source_addr_npi) for s in smsc.submits}
    assert wire == {s.lstrip("+"): tonnpi for s, tonnpi in _SOURCES[profile.name].items()}
    for s in smsc.submits:
        assert (s.pdu.dest_addr_ton, s.pdu.dest_addr_npi, s.pdu.destination_addr) == (
            1, 1, "79001234567",
        )  # fmt: skip


async def test_account_source_ton_npi_override_reaches_submit_and_query(smsc: FakeSmsc) -> None:
    # a contract that says numeric senders go out 1/1: the account's profile says so
    contract = replace(DEVINO, addresses=DEVINO.addresses.with_source(1, 1))
    async with SessionPool(account(smsc, profile=contract)) as pool:
        await pool.wait_ready(5)
        assert (
            await send_message(pool, OutboundMessage("79161234567", "79001234567", "x"))
        ).accepted
        await pool.query("id1", "79161234567")
    sent = smsc.submits[0].pdu
    assert (sent.source_addr_ton, sent.source_addr_npi) == (1, 1)
    assert [(q.source_addr_ton, q.source_addr_npi) for q in smsc.queries] == [(1, 1)]


async def test_devino_online_never_sends_what_it_lacks(smsc: FakeSmsc) -> None:
    online = replace(DEVINO_ONLINE, retry=FAST_RULES)
    async with SessionPool(account(smsc, profile=online)) as pool:
        await pool.wait_ready(5)
        with pytest.raises(UnsupportedOperationError, match="query_sm"):
            await pool.query("id1", "Devino")
        data_sm = DataSm(source_addr="Devino", destination_addr="79001234567")
        with pytest.raises(UnsupportedOperationError, match="data_sm"):
            pool.submit_batch([data_sm])  # type: ignore[list-item]
        # submit_sm is what the platform takes
        assert (await send_message(pool, OutboundMessage("Devino", "79001234567", "x"))).accepted
    # one session on its own refuses too (the pool is not the only way in)
    session = ClientSession(account(smsc, profile=online), BindMode.TRANSCEIVER)
    await session.open(HostAddress.parse(smsc.address))
    with pytest.raises(UnsupportedOperationError, match="data_sm"):
        session.submit_nowait([data_sm])
    with pytest.raises(UnsupportedOperationError, match="submit_multi"):
        session.request_nowait(SubmitMulti(source_addr="Devino"))
    await session.aclose()
    assert smsc.queries == []
    assert [type(s.pdu) for s in smsc.submits] == [SubmitSm]


async def test_window_backpressure_and_out_of_order_responses(smsc: FakeSmsc) -> None:
    smsc.script = lambda pdu, n: None  # hold every response
    async with SessionPool(account(smsc, window=5)) as pool:
        await pool.wait_ready(5)
        fut = pool.submit_batch([part(b"m%d" % i) for i in range(20)])
        await smsc.wait_for(lambda: len(smsc.submits) == 5)
        await asyncio.sleep(0.05)  # give a wrong client the chance to send a 6th
        assert len(smsc.submits) == 5
        assert pool.snapshot().slots[0].window_used == 5
        for i in (4, 2, 3, 0, 1):
            smsc.answer(smsc.submits[i])
        await smsc.wait_for(lambda: len(smsc.submits) == 10)
        smsc.script = lambda pdu, n: CommandStatus.ESME_ROK
        while smsc.held:
            smsc.answer(smsc.held[0])
        results = await asyncio.wait_for(fut, 5)
    assert [r.message_id for r in results] == [s.message_id for s in smsc.submits]
    assert [s.pdu.short_message for s in smsc.submits] == [b"m%d" % i for i in range(20)]


async def test_throttled_pauses_that_connection(smsc: FakeSmsc) -> None:
    smsc.script = lambda pdu, n: CommandStatus.ESME_RTHROTTLED if n == 2 else CommandStatus.ESME_ROK
    async with SessionPool(account(smsc, window=1)) as pool:
        await pool.wait_ready(5)
        results = await pool.submit_many([part(b"%d" % i) for i in range(4)])
        throttled = results[2]
        assert throttled.outcome is SubmitOutcome.FAILED
        assert throttled.retry is RetryClass.THROTTLED
        assert throttled.pause == 0.3
        gap = smsc.submits[3].at - smsc.submits[2].at
        assert gap >= 0.3
        # the helper requeues a throttled part and it is accepted
        smsc.script = lambda pdu, n: (
            CommandStatus.ESME_RTHROTTLED if n == 4 else CommandStatus.ESME_ROK
        )
        sent = await send_message(pool, OutboundMessage("Devino", "79001234567", "again"))
    assert sent.accepted
    assert len(smsc.submits) == 6
    assert smsc.submits[5].at - smsc.submits[4].at >= 0.3


async def test_a_part_out_of_retries_ends_the_message(smsc: FakeSmsc) -> None:
    # D-19 as the gateway applies it (decide_message): the first part's queue-full retries are
    # used up (none allowed here) while the second was throttled and waits to go again; the
    # message has failed, so the second is cancelled, not sent a second time
    seen: list[int] = []

    def script(pdu: SubmitSm, n: int) -> CommandStatus:
        number = pdu.short_message[5]  # the UDH's part number
        seen.append(number)
        if number == 1:
            return CommandStatus.ESME_RMSGQFUL
        # the second part: throttled once, accepted if it ever came again
        return CommandStatus.ESME_RTHROTTLED if seen.count(2) == 1 else CommandStatus.ESME_ROK

    smsc.script = script
    rules = replace(FAST_RULES, queue_full_max_retries=0)
    async with SessionPool(account(smsc, profile=replace(PROFILE, retry=rules))) as pool:
        await pool.wait_ready(5)
        result = await send_message(pool, OutboundMessage("Devino", "79001234567", "x" * 300))
        await asyncio.sleep(0.2)  # real time: a resend would reach the SMSC by now
    assert [p.outcome for p in result.parts] == [SubmitOutcome.FAILED, SubmitOutcome.FAILED]
    assert result.parts[0].status is CommandStatus.ESME_RMSGQFUL
    assert result.parts[1].reason == "cancelled: another part failed"
    assert len(smsc.submits) == 2


async def test_invalid_destination_is_never_resent(smsc: FakeSmsc) -> None:
    smsc.script = lambda pdu, n: (
        CommandStatus.ESME_RINVDSTADR
        if pdu.destination_addr == "79990000000"
        else CommandStatus.ESME_ROK
    )
    async with SessionPool(account(smsc)) as pool:
        await pool.wait_ready(5)
        text = "x" * 300  # two parts: the second is cancelled with the first
        result = await send_message(pool, OutboundMessage("Devino", "79990000000", text))
        await asyncio.sleep(0.2)  # real time: a resend would reach the SMSC by now
    assert not result.accepted
    assert result.parts[0].status is CommandStatus.ESME_RINVDSTADR
    assert result.parts[0].retry is RetryClass.PERMANENT
    assert all(p.retry is RetryClass.PERMANENT for p in result.parts)
    # both parts went out together (windowed), each once, and nothing was resent
    assert len(smsc.submits) <= 2
    assert len({s.pdu.short_message for s in smsc.submits}) == len(smsc.submits)


async def test_queue_full_retries_with_progressive_delays_then_fails(smsc: FakeSmsc) -> None:
    smsc.script = lambda pdu, n: CommandStatus.ESME_RMSGQFUL
    async with SessionPool(account(smsc)) as pool:
        await pool.wait_ready(5)
        result = await send_message(pool, OutboundMessage("Devino", "79000000014", "q"))
    assert not result.accepted
    assert result.parts[0].retry is RetryClass.QUEUE_FULL
    times = [s.at for s in smsc.submits]
    assert len(times) == 1 + FAST_RULES.queue_full_max_retries
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap, minimum in zip(gaps, FAST_RULES.queue_full_delays, strict=False):
        assert gap >= minimum


async def test_queue_full_then_accepted(smsc: FakeSmsc) -> None:
    smsc.script = lambda pdu, n: CommandStatus.ESME_RMSGQFUL if n < 2 else CommandStatus.ESME_ROK
    async with SessionPool(account(smsc)) as pool:
        await pool.wait_ready(5)
        result = await send_message(pool, OutboundMessage("Devino", "79000000014", "q"))
    assert result.accepted
    assert len(smsc.submits) == 3


async def test_no_response_is_unknown_and_not_resent(smsc: FakeSmsc) -> None:
    smsc.script = lambda pdu, n: None
    async with SessionPool(account(smsc, response_timeout=0.2)) as pool:
        await pool.wait_ready(5)
        result = await send_message(pool, OutboundMessage("Devino", "79001234567", "lost"))
        await asyncio.sleep(0.1)  # real time: a resend would reach the SMSC by now
    assert result.parts[0].outcome is SubmitOutcome.UNKNOWN
    assert len(smsc.submits) == 1
    with pytest.raises(Exception, match="outcome unknown"):
        result.parts[0].raise_for_outcome()


async def test_drop_waits_the_drop_cooldown_then_rebinds(smsc: FakeSmsc) -> None:
    async with SessionPool(account(smsc)) as pool:
        await pool.wait_ready(5)
        loop = asyncio.get_running_loop()
        dropped_at = loop.time()
        smsc.live()[0].abort()
        await smsc.wait_for(lambda: len(smsc.connects) == 2)
        assert smsc.connects[1] - dropped_at >= 0.3
        await pool.wait_ready(5)
        # an unbind from the SMSC is answered and handled as a drop
        unbound_at = loop.time()
        smsc.unbind(smsc.live()[0])
        await smsc.wait_for(lambda: len(smsc.connects) == 3)
        assert smsc.connects[2] - unbound_at >= 0.3
        await pool.wait_ready(5)
        snap = pool.snapshot()
        assert snap.slots[0].reconnects == 2
        assert snap.bound == 1


async def test_inflight_at_drop_is_unknown(smsc: FakeSmsc) -> None:
    smsc.script = lambda pdu, n: None
    async with SessionPool(account(smsc)) as pool:
        await pool.wait_ready(5)
        fut = pool.submit_batch([part()])
        await smsc.wait_for(lambda: len(smsc.submits) == 1)
        smsc.live()[0].abort()
        (result,) = await asyncio.wait_for(fut, 5)
    assert result.outcome is SubmitOutcome.UNKNOWN


async def test_a_throttle_among_a_batch_of_answers_stops_new_submits_at_once(
    smsc: FakeSmsc,
) -> None:
    # D-20 with a full window answered in one write: the client must not refill the window
    # from the answers before the throttle one, however it splits its work
    smsc.script = lambda pdu, n: None  # hold every submit
    async with SessionPool(account(smsc, window=32)) as pool:
        await pool.wait_ready(5)
        fut = pool.submit_batch([part(dest=f"790000{i:05d}") for i in range(64)])
        await smsc.wait_for(lambda: len(smsc.held) == 32)
        smsc.script = accept_all
        answered_at = asyncio.get_running_loop().time()
        for i, submit in enumerate(list(smsc.held)):  # one loop iteration: one write
            smsc.answer(
                submit, CommandStatus.ESME_RTHROTTLED if i == 20 else CommandStatus.ESME_ROK
            )
        results = await asyncio.wait_for(fut, 10)
    assert [r.retry for r in results].count(RetryClass.THROTTLED) == 1
    later = smsc.submits[32:]
    assert len(later) == 32
    assert min(s.at for s in later) - answered_at >= FAST_RULES.throttle_pause


@pytest.mark.parametrize("how", ["unbind", "abort"])
async def test_queued_submits_survive_the_end_of_their_session(smsc: FakeSmsc, how: str) -> None:
    # the window holds two; eight wait in the session's queue when the SMSC unbinds or the
    # connection drops: those eight were never written, so they go out on the next session
    # (before, they were failed permanently as "may not be sent in state closed")
    smsc.script = lambda pdu, n: None
    async with SessionPool(account(smsc, window=2)) as pool:
        await pool.wait_ready(5)
        fut = pool.submit_batch([part(dest=f"7900000000{i}") for i in range(10)])
        await smsc.wait_for(lambda: len(smsc.submits) == 2)
        smsc.script = accept_all
        if how == "unbind":
            smsc.unbind(smsc.live()[0])
        else:
            smsc.live()[0].abort()
        results = await asyncio.wait_for(fut, 10)
    assert [r.outcome for r in results] == [SubmitOutcome.UNKNOWN] * 2 + [
        SubmitOutcome.ACCEPTED
    ] * 8
    assert [s.pdu.destination_addr for s in smsc.submits[2:]] == [
        f"7900000000{i}" for i in range(2, 10)
    ]
    assert len(smsc.connects) == 2


async def test_failed_bind_waits_the_failure_cooldown(smsc: FakeSmsc) -> None:
    smsc.bind_status = CommandStatus.ESME_RINVPASWD
    async with SessionPool(account(smsc)) as pool:
        with pytest.raises(BindError) as info:
            await pool.wait_ready(5, fail_fast=True)
        assert info.value.status is CommandStatus.ESME_RINVPASWD
        await smsc.wait_for(lambda: len(smsc.binds) == 3)
    times = [t for t, _ in smsc.binds]
    assert all(b - a >= 0.4 for a, b in itertools.pairwise(times))


async def test_failover_to_backup_and_back_to_primary(smsc: FakeSmsc) -> None:
    primary = await FakeSmsc().start()
    port = primary.port
    await primary.close()  # the primary is down: connections are refused
    try:
        acc = account(
            smsc,
            hosts=(HostAddress("127.0.0.1", port), HostAddress.parse(smsc.address)),
            primary_return_after=0.3,
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with SessionPool(acc, housekeeping_interval=0.05) as pool:
            await pool.wait_ready(5)
            # the primary failed first; the backup was tried only after the failure cooldown
            assert smsc.connects[0] - started >= 0.4
            assert pool.snapshot().bound_by_host == {smsc.address: 1}
            assert pool.snapshot().slots[0].failures == 1
            await primary.start(port)  # the primary is back
            await primary.wait_for(lambda: len(primary.live()) == 1)
            await pool.wait_ready(5)
            assert pool.snapshot().bound_by_host == {f"127.0.0.1:{port}": 1}
            # the move back was an orderly unbind from the backup, then the drop cooldown
            assert smsc.live() == []
            assert primary.connects[0] - smsc.connects[0] >= 0.3 + 0.3
    finally:
        await primary.close()


async def test_connect_refused_is_reported(smsc: FakeSmsc) -> None:
    await smsc.close()
    async with SessionPool(account(smsc)) as pool:
        with pytest.raises(ConnectError):
            await pool.wait_ready(5, fail_fast=True)
        assert pool.snapshot().slots[0].state in (SlotState.WAITING, SlotState.CONNECTING)
        assert pool.snapshot().slots[0].failures >= 1


async def test_four_sessions_share_the_work(smsc: FakeSmsc) -> None:
    modes = (BindMode.TRANSCEIVER, BindMode.TRANSMITTER, BindMode.TRANSMITTER, BindMode.RECEIVER)
    async with SessionPool(account(smsc, sessions=modes, window=2)) as pool:
        await smsc.wait_for(lambda: len(smsc.live()) == 4)
        await pool.wait_ready(5)
        async with asyncio.timeout(5):
            while len(pool.sessions) < 4:
                await pool.wait_ready()
                await smsc.wait_for(lambda: len(smsc.live()) == 4)
                await asyncio.sleep(0)  # the runners mark their sessions bound
        results = await pool.submit_many([part(b"%d" % i) for i in range(60)])
        assert all(r.accepted for r in results)
        used = {r.session for r in results}
        assert len(used) == 3  # tx and trx sessions; never the receiver
        # the parts of one message stay on one session, in order
        parts = [part(b"p%d" % i) for i in range(6)]
        res = await pool.submit(parts)
        assert len({r.session for r in res}) == 1
        sent = [s.pdu.short_message for s in smsc.submits[-6:]]
        assert sent == [p.short_message for p in parts]


async def test_submit_messages_pins_each_message_and_spreads_them(smsc: FakeSmsc) -> None:
    """The gateway's hand-over: many messages at once, a future each; every message's parts
    through one session in order, the messages spread over the sessions with room (more
    than the windows hold: the rest waits in the backlog)."""
    modes = (BindMode.TRANSCEIVER, BindMode.TRANSMITTER, BindMode.TRANSMITTER)
    async with SessionPool(account(smsc, sessions=modes, window=3)) as pool:
        async with asyncio.timeout(5):
            while len(pool.sessions) < 3:
                await pool.wait_ready()
                await smsc.wait_for(lambda: len(smsc.live()) == 3)
                await asyncio.sleep(0)  # the runners mark their sessions bound
        messages = [[part(b"m%d.%d" % (m, p)) for p in range(1 + m % 3)] for m in range(30)]
        futures = pool.submit_messages(messages)
        assert len(futures) == len(messages)
        results = await asyncio.gather(*futures)
        used: set[str] = set()
        for pdus, res in zip(messages, results, strict=True):
            assert [r.outcome for r in res] == [SubmitOutcome.ACCEPTED] * len(pdus)
            assert len({r.session for r in res}) == 1
            used.add(res[0].session)
        assert len(used) == 3
        sent = [s.pdu.short_message for s in smsc.submits]
        for pdus in messages:
            order = [sent.index(p.short_message) for p in pdus]
            assert order == sorted(order)
        assert pool.submit_messages([]) == []


async def test_receipts_and_mo_reach_the_application(smsc: FakeSmsc) -> None:
    async with SessionPool(account(smsc)) as pool:
        await pool.wait_ready(5)
        (result,) = await pool.submit([part()])
        conn = smsc.live()[0]
        receipt = DeliverSm(
            source_addr="79001234567",
            destination_addr="Devino",
            esm_class=0x04,
            short_message=f"id:{result.message_id} sub:001 dlvrd:001 submit date:2501011200 "
            "done date:2501011201 stat:DELIVRD err:000 text:".encode(),
            tlvs=(make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, result.message_id or ""),),
        )
        smsc.deliver(conn, receipt)
        mo1 = DeliverSm(
            source_addr="79001234567",
            destination_addr="1234",
            esm_class=0x40,
            short_message=concatenation_udh(5, 2, 1) + b"Hello ",
        )
        smsc.deliver(conn, mo1)
        smsc.deliver(conn, mo1._replace(short_message=concatenation_udh(5, 2, 2) + b"world"))
        smsc.deliver(
            conn,
            DeliverSm(
                service_type="USSD",
                source_addr="79001234567",
                destination_addr="100",
                short_message=b"*100#",
                tlvs=(Tlv(TlvTag.USSD_SERVICE_OP, b"\x01"),),
            ),
        )
        events = []
        async with asyncio.timeout(5):
            async for event in pool.incoming():
                events.append(event)
                if len(events) == 3:
                    break
        await smsc.wait_for(lambda: len(smsc.responses) == 4)
    report, mo, ussd = events
    assert isinstance(report, DeliveryReport)
    assert report.message_id == result.message_id
    assert report.state is DeliveryState.DELIVERED
    assert isinstance(mo, MoMessage)
    assert mo.text == "Hello world"
    assert isinstance(ussd, MoMessage)
    assert ussd.ussd_service_op is UssdServiceOp.PSSR_INDICATION
    # every deliver_sm was answered deliver_sm_resp with status 0 (D-10)
    assert all(isinstance(r, DeliverSmResp) for r in smsc.responses)
    assert all(r.command_status == CommandStatus.ESME_ROK for r in smsc.responses)


async def test_failing_callback_does_not_change_the_answer(smsc: FakeSmsc) -> None:
    def boom(event: object) -> None:
        raise RuntimeError("application bug")

    async with SessionPool(account(smsc), on_incoming=boom) as pool:
        await pool.wait_ready(5)
        smsc.deliver(smsc.live()[0], DeliverSm(source_addr="7900", short_message=b"x"))
        await smsc.wait_for(lambda: len(smsc.responses) == 1)
    assert smsc.responses[0].command_status == CommandStatus.ESME_ROK


async def test_a_held_event_the_application_cannot_take_is_not_counted_held(
    smsc: FakeSmsc,
) -> None:
    """``on_held`` raising: the deliver_sm is not answered (it is not safe anywhere), no longer
    counted as held (before: the count never went down, and at ``held_limit`` the session
    stopped reading for good), and the session ends so that the SMSC delivers it again."""
    taken: list[HeldEvent] = []

    def on_held(event: HeldEvent) -> None:
        if not taken:
            taken.append(event)
            raise RuntimeError("application bug")
        taken.append(event)
        event.answer.send()

    async with SessionPool(account(smsc), on_held=on_held, held_limit=2) as pool:
        await pool.wait_ready(5)
        (session,) = pool.sessions
        first = smsc.live()[0]
        smsc.deliver(first, DeliverSm(source_addr="7900", short_message=b"x"))
        await smsc.wait_for(lambda: first not in smsc.live())  # unbound, closed
        assert session.held == 0
        assert smsc.responses == []  # never answered 0 for what nobody has
        # the next session takes it (the SMSC delivers it again there)
        await smsc.wait_for(lambda: len(smsc.live()) == 1)
        smsc.deliver(smsc.live()[0], DeliverSm(source_addr="7900", short_message=b"x"))
        await smsc.wait_for(lambda: len(smsc.responses) == 1)
    assert smsc.responses[0].command_status == CommandStatus.ESME_ROK
    assert len(taken) == 2


async def test_query_sm_is_rate_limited(smsc: FakeSmsc) -> None:
    async with SessionPool(account(smsc, profile=DEVINO, query_rate=10.0)) as pool:
        await pool.wait_ready(5)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        results = await asyncio.gather(*(pool.query(f"id{i}", "Devino") for i in range(4)))
        elapsed = loop.time() - t0
    assert elapsed >= 0.3 - 0.01  # 4 queries at 10/s: 3 waits of 0.1 s
    assert all(r.is_final for r in results)
    assert [(q.source_addr_ton, q.source_addr_npi, q.source_addr) for q in smsc.queries] == [
        (5, 1, "Devino")
    ] * 4


async def test_ussd_goes_through_the_same_api(smsc: FakeSmsc) -> None:
    async with SessionPool(account(smsc)) as pool:
        await pool.wait_ready(5)
        msg = OutboundMessage(
            "Devino", "79001234567", "1. Balance", ussd_service_op=UssdServiceOp.PSSR_RESPONSE
        )
        result = await send_message(pool, msg)
    assert result.accepted
    assert Tlv(TlvTag.USSD_SERVICE_OP, b"\x11") in smsc.submits[0].pdu.tlvs


async def test_aclose_is_idempotent_and_unbinds(smsc: FakeSmsc) -> None:
    pool = SessionPool(account(smsc))
    await pool.start()
    await pool.wait_ready(5)
    await asyncio.gather(pool.aclose(), pool.aclose())
    await pool.aclose()
    assert smsc.live() == []
    assert pool.snapshot().slots[0].state is SlotState.STOPPED


async def test_max_submit_rate_holds_across_all_sessions(smsc: FakeSmsc) -> None:
    """The cap belongs to the account, not to a session: with 0.001 submits a second and a
    budget of one, four sessions with room still send one submit_sm, and the rest wait."""
    modes = (BindMode.TRANSCEIVER,) * 4
    async with SessionPool(account(smsc, sessions=modes, max_submit_rate=0.001)) as pool:
        await smsc.wait_for(lambda: len(smsc.live()) == 4)
        await pool.wait_ready(5)
        async with asyncio.timeout(5):
            while len(pool.sessions) < 4:
                await pool.wait_ready()
                await asyncio.sleep(0)
        waiting = pool.submit_batch([part(b"%d" % i) for i in range(5)])
        first = pool.submit_batch([part(b"first")])  # queued behind them
        await smsc.wait_for(lambda: len(smsc.submits) == 1)
        for _ in range(20):
            await asyncio.sleep(0)  # every session had its chance to send a second one
        assert len(smsc.submits) == 1
        assert not waiting.done()
        assert not first.done()
    # the pool closed: what the cap held back was never sent
    assert len(smsc.submits) == 1


async def test_a_long_message_leaves_whole_under_the_cap(smsc: FakeSmsc) -> None:
    """The parts of one message go together even above the budget (a debt that holds back
    what follows), so a concatenated message is never split across a wait."""
    async with SessionPool(account(smsc, max_submit_rate=0.001)) as pool:
        await pool.wait_ready(5)
        results = await asyncio.wait_for(pool.submit([part(b"p%d" % i) for i in range(3)]), 5)
        assert all(r.accepted for r in results)
        later = pool.submit_batch([part(b"next")])
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(smsc.submits) == 3
        assert not later.done()

"""The Devino platform's acceptance cases (spec Part C, D-01..D-25) over real sockets on
127.0.0.1 where the existing integration tests do not check them as the spec states them:
a hand-rolled raw SMSC (below) sees the client's exact bytes, the project's emulator checks
the rules from the SMSC side, and ``FakeSmsc`` scripts answers. Timers are shortened through
the account's settings; timing assertions are lower bounds ("never early") measured on the
loop's clock. See docs/platform-rules.md for the rule -> test map."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

import pytest

from smppgate.client import (
    DeliveryReport,
    OutboundMessage,
    SessionPool,
    SmppAccount,
    SubmitOutcome,
    send_message,
)
from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.pdu import CommandStatus, FrameReader, RetryClass, SmppMessageState, SubmitSm, TlvTag
from smppgate.profiles import DEVINO_PROMO, DEVINO_TRANSACTIONAL, HostAddress, RetryRules
from smppgate.session import BindMode, CloseReason
from smppgate.text import DeliveryState, SplitMethod
from tests.esme_helpers import until

from .test_client_fakesmsc import FakeSmsc


def hx(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def with_seq(frame: bytes, seq: int) -> bytes:
    return frame[:12] + seq.to_bytes(4, "big") + frame[16:]


def cid(frame: bytes) -> int:
    return int.from_bytes(frame[4:8], "big")


def seq_of(frame: bytes) -> int:
    return int.from_bytes(frame[12:16], "big")


# the spec's reusable PDUs (Part C)
BIND_TRX = hx(
    "00 00 00 22 00 00 00 09 00 00 00 00 00 00 00 01"
    "6C 6F 67 69 6E 00 73 65 63 72 65 74 00 00 34 00 00 00"
)
BIND_TRX_RESP = hx(
    "00 00 00 1C 80 00 00 09 00 00 00 00 00 00 00 01 44 45 56 49 4E 4F 00 02 10 00 01 34"
)
ENQUIRE_LINK_7 = hx("00 00 00 10 00 00 00 15 00 00 00 00 00 00 00 07")
ENQUIRE_LINK_RESP_7 = hx("00 00 00 10 80 00 00 15 00 00 00 00 00 00 00 07")
SUBMIT_SM_RESP_OK = hx(
    "00 00 00 1B 80 00 00 04 00 00 00 00 00 00 00 03 31 32 33 34 35 36 37 38 39 30 00"
)
QUERY_SM_5 = hx(
    "00 00 00 24 00 00 00 03 00 00 00 00 00 00 00 05 31 32 33 34 35 36 37 38 39 30 00"
    "05 01 44 65 76 69 6E 6F 00"
)
QUERY_SM_RESP_5 = hx(
    "00 00 00 2E 80 00 00 03 00 00 00 00 00 00 00 05 31 32 33 34 35 36 37 38 39 30 00"
    "32 35 30 31 30 31 31 32 30 30 30 30 30 30 30 2B 00 02 00"
)
ENQUIRE_LINK, UNBIND, GENERIC_NACK = 0x15, 0x06, 0x80000000

FAST_RULES = RetryRules(
    throttle_pause=0.5,
    queue_full_delays=(0.1, 0.2, 0.3, 0.4, 0.5),
    queue_full_max_retries=3,
    transient_delays=(0.05,),
    transient_max_retries=1,
)


# ---------------------------------------------------------------------- a raw SMSC


@dataclass
class RawConn:
    """One accepted connection: every frame read with the loop time it arrived."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    opened_at: float
    first_chunk: bytes = b""
    frames: list[tuple[float, bytes]] = field(default_factory=list)
    written: list[tuple[float, bytes]] = field(default_factory=list)
    closed_at: float | None = None

    def write(self, data: bytes) -> None:
        self.written.append((asyncio.get_running_loop().time(), data))
        self.writer.write(data)


@dataclass
class RawSmsc:
    """A hand-rolled SMSC: accepts TCP on 127.0.0.1, records bytes, answers only what the
    test's ``on_frame`` writes (``bind_ok`` answers binds with the spec's response and unbind
    with unbind_resp unless ``answer_unbind`` is off; ``mode`` "close" closes at once,
    "silent" never answers)."""

    on_frame: Callable[[RawConn, bytes], None] | None = None
    mode: str = "bind_ok"
    answer_unbind: bool = True
    conns: list[RawConn] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None
    port: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> RawSmsc:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        conn = RawConn(reader, writer, loop.time())
        self.conns.append(conn)
        self.changed.set()
        frames = FrameReader()
        try:
            if self.mode == "close":
                writer.close()
                return
            while data := await reader.read(65536):
                if not conn.first_chunk:
                    conn.first_chunk = data
                frames.feed(data)
                for frame in frames.read_frames():
                    conn.frames.append((loop.time(), frame))
                    if self.mode == "bind_ok" and cid(frame) in (1, 2, 9):
                        conn.write(_bind_resp(frame))
                    elif cid(frame) == UNBIND and self.answer_unbind:
                        conn.write(hx("00 00 00 10 80 00 00 06 00 00 00 00") + frame[12:16])
                    elif self.on_frame is not None:
                        self.on_frame(conn, frame)
                    self.changed.set()
        except ConnectionError:
            pass
        finally:
            conn.closed_at = loop.time()
            self.changed.set()
            writer.close()

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 5.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def account(self, **kwargs: object) -> SmppAccount:
        base: dict[str, object] = {
            "profile": replace(DEVINO_PROMO, retry=FAST_RULES),
            "hosts": (HostAddress("127.0.0.1", self.port),),
            # the platform's rules at test speed: the 60 / 90 s floors are lifted, loudly
            "unsafe_below_platform_minimums": True,
            "reconnect_after_drop": 0.3,
            "reconnect_after_failure": 0.4,
            "reconnect_jitter": 0.0,
        }
        base.update(kwargs)
        return SmppAccount("login", "secret", **base)  # type: ignore[arg-type]

    async def close(self) -> None:
        for conn in self.conns:
            conn.writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def _bind_resp(bind: bytes) -> bytes:
    """The spec's bind_transceiver_resp, for the bind's mode and sequence number."""
    resp = with_seq(BIND_TRX_RESP, seq_of(bind))
    return resp[:4] + (cid(bind) | 0x80000000).to_bytes(4, "big") + resp[8:]


@pytest.fixture
async def raw() -> AsyncIterator[RawSmsc]:
    server = await RawSmsc().start()
    yield server
    await server.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSmsc]:
    server = await FakeSmsc().start()
    yield server
    await server.close()


def fake_account(smsc: FakeSmsc, **kwargs: object) -> SmppAccount:
    base: dict[str, object] = {
        "profile": replace(DEVINO_PROMO, retry=FAST_RULES),
        "hosts": (HostAddress.parse(smsc.address),),
        "unsafe_below_platform_minimums": True,
        "reconnect_after_drop": 0.3,
        "reconnect_after_failure": 0.4,
        "reconnect_jitter": 0.0,
    }
    base.update(kwargs)
    return SmppAccount("login", "secret", **base)  # type: ignore[arg-type]


def emulator_config(**changes: object) -> EmulatorConfig:
    values: dict[str, object] = {
        "listeners": (ListenerConfig("127.0.0.1", 0),),
        "accounts": (Account("login", "secret"),),
        "dlr_delay": 0.0,
        "reconnect_after_drop": 0.3,
        "reconnect_after_failure": 0.3,
        "throttle_pause": 0.5,
    }
    values.update(changes)
    return EmulatorConfig(**values)  # type: ignore[arg-type]


def emulator_account(address: tuple[str, int], **kwargs: object) -> SmppAccount:
    host, port = address
    base: dict[str, object] = {
        "profile": replace(DEVINO_PROMO, retry=FAST_RULES),
        "hosts": (HostAddress(host, port),),
        "unsafe_below_platform_minimums": True,
        "reconnect_after_drop": 0.3,
        "reconnect_after_failure": 0.3,
        "reconnect_jitter": 0.0,
    }
    base.update(kwargs)
    system_id = str(base.pop("system_id", "login"))
    return SmppAccount(system_id, "secret", **base)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- D-01 / D-03 / D-04


async def test_d01_d03_first_bytes_are_the_spec_bind(raw: RawSmsc) -> None:
    """D-01 + D-03: the first bytes after TCP connect are a bind (command_id 9) whose
    command_length equals the bytes read, byte for byte the spec's bind_transceiver (system_type
    0x00, interface_version 0x34, ton/npi 0, empty address_range)."""
    async with SessionPool(raw.account()) as pool:
        await pool.wait_ready(5)
        (conn,) = raw.conns
        first = conn.first_chunk
        assert cid(first) in (1, 2, 9)
        assert int.from_bytes(first[:4], "big") == len(first)
        assert first == BIND_TRX
        assert pool.sessions[0].bound_system_id == "DEVINO"


async def test_d04_d22_submit_bytes_on_the_wire(raw: RawSmsc) -> None:
    """D-04 + D-22: the submit_sm carries ``05 01 Devino 00 01 01 79001234567 00`` right after
    service_type (the ``+`` stripped) and validity 60 s as ``000000000100000R``."""

    def answer(conn: RawConn, frame: bytes) -> None:
        if cid(frame) == 4:
            conn.write(with_seq(SUBMIT_SM_RESP_OK, seq_of(frame)))

    raw.on_frame = answer
    async with SessionPool(raw.account()) as pool:
        await pool.wait_ready(5)
        result = await send_message(
            pool, OutboundMessage("Devino", "+79001234567", "Hello", validity=60)
        )
    assert result.accepted
    assert result.message_ids == ("1234567890",)
    (submit,) = [f for _, f in raw.conns[0].frames if cid(f) == 4]
    body = submit[16:]
    assert body.startswith(b"\x00" + hx("05 01") + b"Devino\x00" + hx("01 01") + b"79001234567\x00")
    assert b"\x00000000000100000R\x00" in body


# ---------------------------------------------------------------------- D-10 / D-11


async def test_d10_every_incoming_pdu_answered_zero_same_seq(raw: RawSmsc) -> None:
    """D-10: a valid DLR, a DLR for an unknown id, a UCS2 deliver_sm with invalid UTF-16, a
    data_sm MO and an unreadable deliver_sm are each answered with status 0 and their own
    sequence number (deliver_sm_resp is the 17-octet form); the session stays bound."""
    from smppgate.pdu import DataSm, DeliverSm, encode, make_tlv

    receipt = DeliverSm(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="79001234567",
        dest_addr_ton=5,
        dest_addr_npi=1,
        destination_addr="Devino",
        esm_class=0x04,
        short_message=b"id:1234567890 sub:001 dlvrd:001 submit date:2501011200 "
        b"done date:2501011201 stat:DELIVRD err:000 text:",
        tlvs=(
            make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, "1234567890"),
            make_tlv(TlvTag.MESSAGE_STATE, 2),
            make_tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03\x00\x00"),
        ),
    )
    unknown = receipt._replace(
        short_message=receipt.short_message.replace(b"1234567890", b"555"),
        tlvs=(make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, "555"),),
    )
    bad_text = DeliverSm(source_addr="79001234567", data_coding=8, short_message=b"\xdc\x00\x41")
    mo = DataSm(source_addr="79001234567", tlvs=(make_tlv(TlvTag.MESSAGE_PAYLOAD, b"hi"),))
    # sm_length 0 but one octet too few for the fields: cannot be decoded
    unreadable = hx(
        "00 00 00 1C 00 00 00 05 00 00 00 00 00 00 00 2E 00 01 01 61 00 01 01 62 00 00 00 00"
    )
    burst = (
        encode(receipt, 0x2A)
        + encode(unknown, 0x2B)
        + encode(bad_text, 0x2C)
        + encode(mo, 0x2D)
        + unreadable
    )
    async with SessionPool(raw.account()) as pool:
        await pool.wait_ready(5)
        conn = raw.conns[0]
        conn.write(burst)
        await raw.wait_for(lambda: len(conn.frames) >= 6)
        answers = [f for _, f in conn.frames[1:]]
        assert pool.sessions[0].bound
    deliver_resp = hx("00 00 00 11 80 00 00 05 00 00 00 00 00 00 00 00 00")
    data_resp = hx("00 00 00 11 80 00 01 03 00 00 00 00 00 00 00 00 00")
    assert answers[:5] == [
        with_seq(deliver_resp, 0x2A),
        with_seq(deliver_resp, 0x2B),
        with_seq(deliver_resp, 0x2C),
        with_seq(data_resp, 0x2D),
        with_seq(deliver_resp, 0x2E),
    ]
    assert GENERIC_NACK not in {cid(f) for f in answers}


async def test_d11_unknown_command_is_ignored_no_generic_nack(raw: RawSmsc) -> None:
    """D-11: after a PDU with command_id 0x00000199 the client sends nothing with command_id
    0x80000000, the session stays bound and the next enquire_link (seq 7) gets the spec's
    enquire_link_resp as the very next frame."""
    async with SessionPool(raw.account()) as pool:
        await pool.wait_ready(5)
        conn = raw.conns[0]
        conn.write(hx("00 00 00 10 00 00 01 99 00 00 00 00 00 00 00 06") + ENQUIRE_LINK_7)
        await raw.wait_for(lambda: len(conn.frames) >= 2)
        assert [f for _, f in conn.frames[1:]] == [ENQUIRE_LINK_RESP_7]
        assert pool.sessions[0].bound
        assert conn.closed_at is None


async def test_unreadable_submit_sm_resp_resolves_its_submit_by_the_header(
    raw: RawSmsc,
) -> None:
    """A submit_sm_resp whose body cannot be read (message_id without its NUL) still answers
    its submit: status 0 in the header -> outcome unknown (the SMSC may have the message, its
    id is lost); ESME_RTHROTTLED -> failed, throttled. Before, the submit waited forever."""
    statuses = iter((0x00, 0x58))

    def answer(conn: RawConn, frame: bytes) -> None:
        if cid(frame) == 4:
            body = b"abc"  # no NUL
            status = next(statuses)
            header = (16 + len(body)).to_bytes(4, "big") + hx("80 00 00 04")
            conn.write(header + status.to_bytes(4, "big") + frame[12:16] + body)

    raw.on_frame = answer
    async with SessionPool(raw.account()) as pool:
        await pool.wait_ready(5)
        first = await asyncio.wait_for(pool.submit_many([SubmitSm(destination_addr="1")]), 5)
        second = await asyncio.wait_for(pool.submit_many([SubmitSm(destination_addr="2")]), 5)
        assert pool.sessions[0].bound
    assert first[0].outcome is SubmitOutcome.UNKNOWN
    assert second[0].outcome is SubmitOutcome.FAILED
    assert second[0].retry is RetryClass.THROTTLED


# ---------------------------------------------------------------------- D-12 / D-13 / D-08


async def test_d12_enquire_link_only_after_silence_from_the_smsc(raw: RawSmsc) -> None:
    """D-12: idle 0.3 s configured: the first enquire_link comes no sooner than 0.3 s after the
    bind_resp; while the SMSC writes a deliver_sm every 0.1 s, no enquire_link is sent; every
    enquire_link follows at least 0.3 s of silence from the SMSC."""
    from smppgate.pdu import DeliverSm, encode

    idle = 0.3

    def answer(conn: RawConn, frame: bytes) -> None:
        if cid(frame) == ENQUIRE_LINK:
            conn.write(with_seq(ENQUIRE_LINK_RESP_7, seq_of(frame)))

    raw.on_frame = answer
    async with SessionPool(raw.account(enquire_link_idle=idle)) as pool:
        await pool.wait_ready(5)
        conn = raw.conns[0]
        await raw.wait_for(lambda: any(cid(f) == ENQUIRE_LINK for _, f in conn.frames))
        count = sum(1 for _, f in conn.frames if cid(f) == ENQUIRE_LINK)
        for i in range(10):  # traffic from the SMSC: 10 deliver_sm, 0.1 s apart
            conn.write(encode(DeliverSm(source_addr="7900", short_message=b"x"), 0x100 + i))
            await asyncio.sleep(0.1)  # real time: traffic spread on the wire is the point
        await raw.wait_for(lambda: sum(1 for _, f in conn.frames if cid(f) == 0x80000005) == 10)
        assert pool.sessions[0].bound
    links = [t for t, f in conn.frames if cid(f) == ENQUIRE_LINK]
    writes = [t for t, _ in conn.written]
    assert count >= 1
    for at in links:  # never early: each one follows `idle` of silence from the SMSC
        last_write = max(t for t in writes if t <= at)
        assert at - last_write >= idle
    assert links[0] - conn.written[0][0] >= idle  # the bind_resp is the first write


async def test_d13_unanswered_enquire_link_unbind_close_then_drop_cooldown(raw: RawSmsc) -> None:
    """D-13 + D-08: the SMSC never answers enquire_link (T_el 0.5 s): an unbind follows no
    sooner than T + T_el, then the client closes TCP (no unbind_resp either: unbind wait
    0.3 s), and reconnects no sooner than the drop cooldown (0.6 s) after the close."""
    raw.answer_unbind = False
    acc = raw.account(
        enquire_link_idle=0.2,
        enquire_link_timeout=0.5,
        unbind_timeout=0.3,
        reconnect_after_drop=0.6,
    )
    async with SessionPool(acc) as pool:
        await pool.wait_ready(5)
        await raw.wait_for(lambda: len(raw.conns) == 2 and bool(raw.conns[1].frames))
        snapshot = pool.snapshot()
    first = raw.conns[0]
    kinds = [cid(f) for _, f in first.frames]
    assert kinds == [9, ENQUIRE_LINK, UNBIND]
    (_t_bind, _), (t_el, _), (t_unbind, _) = first.frames
    # the raw SMSC stamps a frame when its loop reads it, which may be late for the first of
    # a pair on a busy machine: allow that much, far below the timers checked
    slack = 0.1
    assert t_unbind - t_el >= 0.5 - slack
    assert first.closed_at is not None
    assert first.closed_at - t_unbind >= 0.3 - slack
    assert raw.conns[1].opened_at - first.closed_at >= 0.6 - slack
    assert snapshot.slots[0].last_close_reason is CloseReason.ENQUIRE_LINK_TIMEOUT
    assert GENERIC_NACK not in kinds


# ---------------------------------------------------------------------- D-09


@pytest.mark.parametrize(
    ("mode", "extra"),
    [
        ("close", 0.0),  # TCP accepted, closed before the bind_resp
        ("silent", 0.2),  # no bind_resp within bind_timeout (0.2 s)
    ],
)
async def test_d09_failed_attempts_spaced_by_the_failure_cooldown(
    raw: RawSmsc, mode: str, extra: float
) -> None:
    """D-09: a connection closed before the bind_resp, or a bind_resp that never comes, is a
    failed attempt: successive connects are spaced by the failure cooldown (0.4 s), never by
    the shorter drop cooldown (0.1 s)."""
    raw.mode = mode
    acc = raw.account(reconnect_after_drop=0.1, reconnect_after_failure=0.4, bind_timeout=0.2)
    async with SessionPool(acc) as pool:
        await raw.wait_for(lambda: len(raw.conns) == 3)
        assert pool.snapshot().slots[0].failures >= 2
    opened = [c.opened_at for c in raw.conns]
    for a, b in itertools.pairwise(opened):
        # accept is stamped by the SMSC's loop, possibly after the client's bind timer began
        assert b - a >= 0.4 + extra - 0.05


# ---------------------------------------------------------------------- D-23


async def test_d23_query_sm_bytes_and_delivered(raw: RawSmsc) -> None:
    """D-23: querying id 1234567890 sent from Devino writes the spec's query_sm (5/1 source);
    the spec's query_sm_resp reads as DELIVERED and final."""

    def answer(conn: RawConn, frame: bytes) -> None:
        if cid(frame) == 3:
            conn.write(with_seq(QUERY_SM_RESP_5, seq_of(frame)))

    raw.on_frame = answer
    async with SessionPool(raw.account()) as pool:
        await pool.wait_ready(5)
        result = await pool.query("1234567890", "Devino")
    (query,) = [f for _, f in raw.conns[0].frames if cid(f) == 3]
    assert with_seq(query, 5) == QUERY_SM_5
    assert result.state is SmppMessageState.DELIVERED
    assert result.is_final
    assert result.final_date == "250101120000000+"


# ---------------------------------------------------------------------- D-19 / D-20 / D-21


async def test_d19_invalid_destination_not_resent_across_reconnect(fake: FakeSmsc) -> None:
    """D-19: 0x0B on 79990000000: the message is failed permanently and exactly one submit_sm
    for it is ever seen, also after the session is dropped and bound again."""
    fake.script = lambda pdu, n: (
        CommandStatus.ESME_RINVDSTADR
        if pdu.destination_addr == "79990000000"
        else CommandStatus.ESME_ROK
    )
    async with SessionPool(fake_account(fake)) as pool:
        await pool.wait_ready(5)
        result = await send_message(pool, OutboundMessage("Devino", "79990000000", "x"))
        fake.live()[0].abort()
        await fake.wait_for(lambda: len(fake.connects) == 2 and len(fake.live()) == 1)
        await pool.wait_ready(5)
        ok = await send_message(pool, OutboundMessage("Devino", "79001234567", "y"))
    assert ok.accepted
    assert result.parts[0].status is CommandStatus.ESME_RINVDSTADR
    assert result.parts[0].retry is RetryClass.PERMANENT
    assert [s.pdu.destination_addr for s in fake.submits] == ["79990000000", "79001234567"]


async def test_d20_throttle_pauses_only_that_connection(fake: FakeSmsc) -> None:
    """D-20: the first submit on session S gets 0x58 at T: S sends no submit before T + pause
    (0.5 s here), the other session keeps submitting during the pause, and the throttled
    message is accepted when resent."""
    fake.script = lambda pdu, n: CommandStatus.ESME_RTHROTTLED if n == 0 else CommandStatus.ESME_ROK
    modes = (BindMode.TRANSCEIVER, BindMode.TRANSCEIVER)
    async with SessionPool(fake_account(fake, sessions=modes, window=1)) as pool:
        await fake.wait_for(lambda: len(fake.live()) == 2)
        await until(lambda: len(pool.sessions) == 2)
        throttled = send_message(pool, OutboundMessage("Devino", "79000000058", "t"))
        first = asyncio.ensure_future(throttled)
        await fake.wait_for(lambda: len(fake.submits) == 1)
        others = [OutboundMessage("Devino", f"7900000010{i}", "o") for i in range(6)]
        rest = await asyncio.gather(*(send_message(pool, m) for m in others))
        result = await first
    assert result.accepted
    assert all(r.accepted for r in rest)
    t, s_conn = fake.submits[0].at, fake.submits[0].conn
    on_s = [x.at for x in fake.submits[1:] if x.conn is s_conn]
    on_other = [x.at for x in fake.submits[1:] if x.conn is not s_conn]
    assert all(at - t >= 0.5 for at in on_s)
    assert any(at - t < 0.5 for at in on_other)
    resent = [x for x in fake.submits[1:] if x.pdu.destination_addr == "79000000058"]
    assert len(resent) == 1


async def test_d21_queue_full_goes_to_the_back_with_5_15_45_pauses(fake: FakeSmsc) -> None:
    """D-21: 0x14 three times for M (79000000014) while 10 other messages are queued: the
    others are submitted before M's second attempt, M's resends wait at least 0.1 / 0.2 /
    0.3 s (5 / 15 / 45 s scaled) after each 0x14, and M is accepted on the 4th attempt."""
    m_dest = "79000000014"
    seen: list[int] = []

    def script(pdu: object, n: int) -> CommandStatus:
        if getattr(pdu, "destination_addr", "") == m_dest:
            seen.append(n)
            if len(seen) <= 3:
                return CommandStatus.ESME_RMSGQFUL
        return CommandStatus.ESME_ROK

    fake.script = script
    async with SessionPool(fake_account(fake, window=1)) as pool:
        await pool.wait_ready(5)
        messages = [OutboundMessage("Devino", m_dest, "M")] + [
            OutboundMessage("Devino", f"790000001{i:02d}", "o") for i in range(10)
        ]
        results = await asyncio.gather(*(send_message(pool, m) for m in messages))
    assert all(r.accepted for r in results)
    m_times = [s.at for s in fake.submits if s.pdu.destination_addr == m_dest]
    other_times = [s.at for s in fake.submits if s.pdu.destination_addr != m_dest]
    assert len(m_times) == 4
    assert max(other_times) < m_times[1]
    for k, minimum in enumerate((0.1, 0.2, 0.3)):
        assert m_times[k + 1] - m_times[k] >= minimum


# ---------------------------------------------------------------------- emulator: D-02 .. D-18


async def test_d02_traffic_classes_and_backup_after_failure() -> None:
    """D-02: the promo account's primary refuses TCP, so it binds to the promo backup after
    the failure cooldown and never to the transactional listener; each message's submit_sm
    arrives only on its own class's listener."""
    dead = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = dead.sockets[0].getsockname()[1]
    dead.close()
    await dead.wait_closed()
    listeners = (
        ListenerConfig("127.0.0.1", 0, "promo"),
        ListenerConfig("127.0.0.1", 0, "transactional"),
    )
    async with Emulator(emulator_config(listeners=listeners)) as emu:
        (ph, pp), (th, tp) = emu.addresses
        promo = emulator_account(
            (ph, pp),
            profile=replace(DEVINO_PROMO, retry=FAST_RULES),
            hosts=(HostAddress("127.0.0.1", dead_port), HostAddress(ph, pp)),
            reconnect_after_failure=0.4,
        )
        trans = emulator_account((th, tp), profile=replace(DEVINO_TRANSACTIONAL, retry=FAST_RULES))
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with SessionPool(promo) as p_pool, SessionPool(trans) as t_pool:
            await p_pool.wait_ready(5)
            bound_promo_at = loop.time()
            await t_pool.wait_ready(5)
            a = await send_message(p_pool, OutboundMessage("Devino", "79000000001", "promo"))
            b = await send_message(t_pool, OutboundMessage("Devino", "79000000002", "trans"))
            assert p_pool.snapshot().bound_by_host == {f"{ph}:{pp}": 1}
        assert a.accepted
        assert b.accepted
        assert bound_promo_at - started >= 0.4
        classes = {r.pdu.destination_addr: r.traffic_class for r in emu.records}
        assert classes == {"79000000001": "promo", "79000000002": "transactional"}
        assert emu.violations.rules() == []


async def test_d06_four_sessions_never_five_through_reconnect_storms() -> None:
    """D-06: four sessions for one system_id stay at most four bound at the emulator through
    three drops of every session (the emulator logs a D-06 violation on a fifth bind)."""
    async with Emulator(emulator_config()) as emu:
        acc = emulator_account(emu.address, sessions=(BindMode.TRANSCEIVER,) * 4)
        async with SessionPool(acc):
            for _ in range(3):
                await until(lambda: len(emu.bound_sessions("login")) == 4)
                assert emu.drop_sessions("login") == 4
            await until(lambda: len(emu.bound_sessions("login")) == 4)
        assert "D-06" not in emu.violations.rules()
        assert emu.violations.rules() == []


async def test_d07_receipt_arrives_on_the_receiver_and_is_correlated() -> None:
    """D-07: with one tx and one rx session, the submit goes out on tx and its receipt
    (registered_delivery 1) arrives on the rx session, matched to the message_id."""
    async with Emulator(emulator_config()) as emu:
        modes = (BindMode.TRANSMITTER, BindMode.RECEIVER)
        async with SessionPool(emulator_account(emu.address, sessions=modes)) as pool:
            await until(lambda: len(emu.bound_sessions("login")) == 2)
            await until(lambda: len(pool.sessions) == 2)
            result = await send_message(pool, OutboundMessage("Devino", "79001234567", "hi"))
            async with asyncio.timeout(5):
                report = await anext(aiter(pool.incoming()))
            names = {s.mode: s.name for s in pool.sessions}
        assert isinstance(report, DeliveryReport)
        assert report.message_id == result.parts[0].message_id
        assert report.state is DeliveryState.DELIVERED
        assert report.session == names[BindMode.RECEIVER]
        assert result.parts[0].session == names[BindMode.TRANSMITTER]
        assert emu.violations.rules() == []


async def test_d15_payload_one_submit_three_billed_one_receipt() -> None:
    """D-15: 200 Cyrillic characters in payload mode: one submit_sm with sm_length 0 and a
    400-octet message_payload, the emulator bills 3 segments and sends exactly one receipt,
    which marks the message delivered."""
    async with Emulator(emulator_config()) as emu:
        async with SessionPool(emulator_account(emu.address)) as pool:
            await pool.wait_ready(5)
            msg = OutboundMessage("Devino", "79001234567", "Ж" * 200, split=SplitMethod.PAYLOAD)
            result = await send_message(pool, msg)
            async with asyncio.timeout(5):
                report = await anext(aiter(pool.incoming()))
            await until(lambda: emu.counters.receipts_sent >= 1)
        assert result.accepted
        (record,) = emu.records
        pdu = record.pdu
        assert pdu.short_message == b""
        (payload,) = [t for t in pdu.tlvs if t.tag == TlvTag.MESSAGE_PAYLOAD]
        assert len(payload.value) == 400
        assert emu.counters.billed_segments == 3
        assert emu.counters.receipts_sent == 1
        assert isinstance(report, DeliveryReport)
        assert report.message_id == result.parts[0].message_id
        assert report.state is DeliveryState.DELIVERED
        assert emu.violations.rules() == []


async def test_d18_parts_of_each_message_under_one_system_id() -> None:
    """D-18: two accounts with four sessions each send three-part messages while one session
    of account A is killed: every message the emulator reassembles has all its parts under
    one system_id, and no D-18 violation is logged. (Each account writes to its own
    destinations: see test_d18_reference_reuse_by_another_account_is_not_a_violation.)"""
    accounts = (Account("alpha", "secret"), Account("beta", "secret"))
    async with Emulator(emulator_config(accounts=accounts)) as emu:
        four = (BindMode.TRANSCEIVER,) * 4
        acc_a = emulator_account(emu.address, system_id="alpha", sessions=four)
        acc_b = emulator_account(emu.address, system_id="beta", sessions=four)
        text = "x" * 400  # three GSM parts
        async with SessionPool(acc_a) as pool_a, SessionPool(acc_b) as pool_b:
            await until(lambda: len(pool_a.sessions) == 4 and len(pool_b.sessions) == 4)
            sends = [
                send_message(pool, OutboundMessage("Devino", f"79{tag}000{i:04d}", text))
                for i in range(12)
                for pool, tag in ((pool_a, "1"), (pool_b, "2"))
            ]
            tasks = [asyncio.ensure_future(s) for s in sends]
            await until(lambda: len(emu.records) >= 10)
            pool_a.sessions[0].abort()
            await asyncio.gather(*tasks)
        assert "D-18" not in emu.violations.rules()
        assert len(emu.assembled) >= 12
        for message in emu.assembled:
            owner = "alpha" if message.destination.startswith("791") else "beta"
            assert message.account == owner


async def test_d18_parts_could_spread_over_accounts_and_sessions_and_do_not() -> None:
    """D-18, built so that it can fail: two accounts send three-part messages to the same
    destinations at the same time, each account with four sessions of window 1, so that
    consecutive parts would land on different sessions unless the pool keeps a message's
    parts together. Every message (sender, destination, reference) the emulator received
    came whole (three parts), through one system_id and one session; the work did spread
    over the sessions. (Parts sent unpinned, submit_batch(pinned=False), fail this test.)
    Each account has its own sender: both accounts' reference allocators may pick the same
    reference for a destination, which only the sender then tells apart."""
    accounts = (Account("alpha", "secret"), Account("beta", "secret"))
    async with Emulator(emulator_config(accounts=accounts)) as emu:
        four = (BindMode.TRANSCEIVER,) * 4
        pools = {
            name: SessionPool(
                emulator_account(emu.address, system_id=name, sessions=four, window=1)
            )
            for name in ("alpha", "beta")
        }
        text = "x" * 400  # three GSM parts
        async with pools["alpha"] as pool_a, pools["beta"] as pool_b:
            await until(lambda: len(pool_a.sessions) == 4 and len(pool_b.sessions) == 4)
            results = await asyncio.gather(
                *(
                    send_message(pool, OutboundMessage(sender, f"7900000{i:04d}", text))
                    for i in range(16)
                    for pool, sender in ((pool_a, "Alpha"), (pool_b, "Beta"))
                )
            )
        assert all(r.accepted for r in results)
        groups: dict[tuple[str, str, int], list[tuple[str, int]]] = {}
        for record in emu.records:
            pdu = record.pdu
            assert isinstance(pdu, SubmitSm)
            key = (pdu.source_addr, pdu.destination_addr, pdu.short_message[3])
            groups.setdefault(key, []).append((record.system_id, record.session))
        assert len(groups) == 32
        owner = {"Alpha": "alpha", "Beta": "beta"}
        for (sender, _, _), places in groups.items():
            assert len(places) == 3
            assert len(set(places)) == 1, places  # one system_id and one session
            assert places[0][0] == owner[sender]
        assert len({session for places in groups.values() for _, session in places}) == 8
        assert "D-18" not in emu.violations.rules()


async def test_d18_reference_reuse_by_another_account_is_not_a_violation() -> None:
    """D-18 (emulator side): account alpha sends a complete two-part message, then account
    beta sends its own two-part message to the same destination from the same sender with
    the same 8-bit reference: the first group is closed, so no D-18 violation."""
    accounts = (Account("alpha", "secret"), Account("beta", "secret"))
    async with Emulator(emulator_config(accounts=accounts)) as emu:
        text = "y" * 200  # two GSM parts
        for system_id in ("alpha", "beta"):
            async with SessionPool(emulator_account(emu.address, system_id=system_id)) as pool:
                await pool.wait_ready(5)
                msg = OutboundMessage("Devino", "79005550000", text)
                assert (await send_message(pool, msg)).accepted
        refs = {r.pdu.short_message[3] for r in emu.records}
        assert len(refs) == 1  # both accounts' allocators picked the same reference
        assert len(emu.assembled) == 2
        assert emu.violations.rules() == []

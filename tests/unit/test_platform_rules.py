"""The Devino platform's acceptance cases (spec Part C, D-01..D-25) that existing unit tests do
not check as the spec states them: exact bytes from the spec's reusable PDUs, timers driven
by the ``now`` passed to the sans-IO session (never a clock). See docs/platform-rules.md for
which test covers which rule."""

from __future__ import annotations

import pytest

from smppgate.client import (
    DeliveryReport,
    IncomingDecoder,
    MoMessage,
    OutboundMessage,
    SmppAccount,
    UnreadablePdu,
    build_submits,
)
from smppgate.pdu import (
    BindTransceiver,
    CommandId,
    CommandStatus,
    DataSm,
    DeliverSm,
    QuerySm,
    QuerySmResp,
    SmppMessageState,
    SubmitSm,
    TlvTag,
    decode,
    encode,
    make_tlv,
)
from smppgate.profiles import DEVINO_PROMO, DEVINO_TRANSACTIONAL, SMPP34, HostAddress
from smppgate.session import (
    BindMode,
    BindRequested,
    Bound,
    CloseReason,
    CloseRequested,
    LocalProtocolError,
    ProtocolViolation,
    RequestReceived,
    Role,
    Session,
    SessionConfig,
    State,
)
from smppgate.text import DeliveryState, SplitMethod, concatenation_udh


def hx(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("\n", ""))


# the spec's reusable PDUs (Part C, "Common test scaffolding")
BIND_TRX = hx(
    "00 00 00 22 00 00 00 09 00 00 00 00 00 00 00 01"
    "6C 6F 67 69 6E 00 73 65 63 72 65 74 00 00 34 00 00 00"
)
BIND_TRX_RESP = hx(
    "00 00 00 1C 80 00 00 09 00 00 00 00 00 00 00 01 44 45 56 49 4E 4F 00 02 10 00 01 34"
)
ENQUIRE_LINK_7 = hx("00 00 00 10 00 00 00 15 00 00 00 00 00 00 00 07")
ENQUIRE_LINK_RESP_7 = hx("00 00 00 10 80 00 00 15 00 00 00 00 00 00 00 07")
DELIVER_SM_RESP_2A = hx("00 00 00 11 80 00 00 05 00 00 00 00 00 00 00 2A 00")
QUERY_SM_5 = hx(
    "00 00 00 24 00 00 00 03 00 00 00 00 00 00 00 05 31 32 33 34 35 36 37 38 39 30 00"
    "05 01 44 65 76 69 6E 6F 00"
)
QUERY_SM_RESP_5 = hx(
    "00 00 00 2E 80 00 00 03 00 00 00 00 00 00 00 05 31 32 33 34 35 36 37 38 39 30 00"
    "32 35 30 31 30 31 31 32 30 30 30 30 30 30 30 2B 00 02 00"
)
DLR_TEXT = (
    b"id:1234567890 sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 "
    b"stat:DELIVRD err:000 text:"
)


def dlr(message_id: str = "1234567890") -> DeliverSm:
    """The spec's DLR deliver_sm (src 1/1 79001234567, dst 5/1 Devino, esm_class 0x04)."""
    return DeliverSm(
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="79001234567",
        dest_addr_ton=5,
        dest_addr_npi=1,
        destination_addr="Devino",
        esm_class=0x04,
        short_message=DLR_TEXT.replace(b"1234567890", message_id.encode()),
        tlvs=(
            make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, message_id),
            make_tlv(TlvTag.MESSAGE_STATE, 2),
            make_tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03\x00\x00"),
        ),
    )


def bound_esme(config: SessionConfig | None = None, now: float = 0.0) -> Session:
    """An ESME session bound by the spec's bind_transceiver_resp bytes at ``now``."""
    esme = Session(Role.ESME, config, now)
    esme.start(now)
    esme.bind(BindMode.TRANSCEIVER, "login", "secret", now)
    assert esme.data_to_send() == BIND_TRX
    events = esme.receive_data(BIND_TRX_RESP, now)
    assert events[-1] == Bound(BindMode.TRANSCEIVER, "DEVINO", 0x34)
    return esme


# ------------------------------------------------------------------ D-01 / D-02 / D-03


def test_d01_default_port_2775_and_bind_framing() -> None:
    """D-01: plain SMPP 3.4 over TCP, port 2775 by default; the bind is the first PDU and its
    command_length is its byte count."""
    assert HostAddress.parse("194.226.179.12").port == 2775
    assert HostAddress("smsc").port == 2775
    for profile in (DEVINO_PROMO, DEVINO_TRANSACTIONAL):
        assert {h.port for h in profile.hosts} == {2775}
    for mode in BindMode:
        esme = Session(Role.ESME)
        esme.bind(mode, "login", "secret", 0.0)
        wire = esme.data_to_send()
        assert int.from_bytes(wire[4:8], "big") in (1, 2, 9)
        assert int.from_bytes(wire[:4], "big") == len(wire)


def test_d02_hosts_and_traffic_classes() -> None:
    """D-02: promo = smpp01 (194.226.179.12) primary, smpp02 (.13) backup; transactional =
    smpp03 (.10) primary, smpp04 (.11) backup; IPs are the defaults, names kept for logs."""
    assert [(h.host, h.name) for h in DEVINO_PROMO.hosts] == [
        ("194.226.179.12", "smpp01.integrationapi.net"),
        ("194.226.179.13", "smpp02.integrationapi.net"),
    ]
    assert [(h.host, h.name) for h in DEVINO_TRANSACTIONAL.hosts] == [
        ("194.226.179.10", "smpp03.integrationapi.net"),
        ("194.226.179.11", "smpp04.integrationapi.net"),
    ]
    promo = SmppAccount("login", "secret", profile=DEVINO_PROMO)
    trans = SmppAccount("login", "secret", profile=DEVINO_TRANSACTIONAL)
    assert not set(promo.effective_hosts) & set(trans.effective_hosts)


def test_d03_bind_bytes_and_bound_by_spec_response() -> None:
    """D-03: the bind is the spec's bind_transceiver byte for byte (0x00 system_type, 0x34
    interface_version, ton/npi 0, empty range); the spec's bind_transceiver_resp binds with
    system_id DEVINO and sc_interface_version 0x34."""
    esme = bound_esme()
    assert esme.state is State.BOUND_TRX
    assert esme.peer_system_id == "DEVINO"
    # the profile's values are the ones written into the bind
    assert (DEVINO_PROMO.interface_version, DEVINO_PROMO.system_type) == (0x34, "")
    assert BIND_TRX[16 + len(b"login\0secret\0")] == 0x00  # system_type NULL
    assert BIND_TRX[16 + len(b"login\0secret\0") + 1] == 0x34  # interface_version


def test_d03_wrong_password_bind_resp_fails_and_closes() -> None:
    """D-03: a header-only bind_transceiver_resp 0x0000000E fails the bind and ends the
    session (the pool then waits the failure cooldown, D-09)."""
    esme = Session(Role.ESME)
    esme.bind(BindMode.TRANSCEIVER, "login", "wrong", 0.0)
    esme.data_to_send()
    events = esme.receive_data(hx("00 00 00 10 80 00 00 09 00 00 00 0E 00 00 00 01"), 0.5)
    assert [type(e).__name__ for e in events[-2:]] == ["BindFailed", "CloseRequested"]
    assert events[-2].status is CommandStatus.ESME_RINVPASWD  # type: ignore[union-attr]
    assert events[-1] == CloseRequested(CloseReason.BIND_REJECTED)
    assert esme.closed


# ------------------------------------------------------------------ D-04


def test_d04_submit_address_bytes() -> None:
    """D-04: after service_type the submit_sm carries ``05 01 <sender> 00 01 01 <digits> 00``,
    with the destination's ``+`` stripped."""
    (part,) = build_submits(OutboundMessage("Devino", "+79001234567", "hi"), DEVINO_PROMO).parts
    wire = encode(part, 3)
    body = wire[16:]
    assert body[:1] == b"\x00"  # service_type NULL
    assert body[1:].startswith(hx("05 01") + b"Devino\0" + hx("01 01") + b"79001234567\0")


# ------------------------------------------------------------------ D-07


def test_d07_mode_decides_what_a_session_may_send() -> None:
    """D-07: submits and query_sm only on tx/trx; a receiver session refuses them locally,
    yet still answers deliver_sm with status 0."""
    for mode, may_submit in (
        (BindMode.TRANSMITTER, True),
        (BindMode.RECEIVER, False),
        (BindMode.TRANSCEIVER, True),
    ):
        esme = Session(Role.ESME)
        esme.bind(mode, "login", "secret", 0.0)
        seq = decode(esme.data_to_send()).sequence_number
        resp_id = mode.command_id | 0x80000000
        esme.receive_data(
            (16 + 7).to_bytes(4, "big") + resp_id.to_bytes(4, "big") + bytes(4)
            + seq.to_bytes(4, "big") + b"DEVINO\0",
            0.0,
        )  # fmt: skip
        assert esme.state.is_bound
        assert esme.can_send(CommandId.SUBMIT_SM) is may_submit
        assert esme.can_send(CommandId.QUERY_SM) is may_submit
        if not may_submit:
            with pytest.raises(LocalProtocolError):
                esme.send_request(SubmitSm(), 0.0)
    receiver = Session(Role.ESME)
    receiver.bind(BindMode.RECEIVER, "login", "secret", 0.0)
    receiver.data_to_send()
    receiver.receive_data(hx("00 00 00 17 80 00 00 01 00 00 00 00 00 00 00 01") + b"DEVINO\0", 0.0)
    receiver.receive_data(encode(dlr(), 0x2A), 1.0)
    assert receiver.data_to_send() == DELIVER_SM_RESP_2A


# ------------------------------------------------------------------ D-10


def test_d10_every_deliver_sm_and_data_sm_answered_zero_same_seq() -> None:
    """D-10: (a) a valid DLR, (b) a DLR for an unknown id, (c) a deliver_sm whose UCS2 text is
    invalid UTF-16, (d) a data_sm MO: each gets its *_resp with status 0 and the same
    sequence number at once (17-octet deliver_sm_resp), and the application still sees them."""
    esme = bound_esme()
    decoder = IncomingDecoder("login")
    cases: list[tuple[int, DeliverSm | DataSm]] = [
        (0x2A, dlr()),
        (0x2B, dlr("999999")),
        (
            0x2C,
            DeliverSm(
                source_addr="79001234567",
                destination_addr="1234",
                data_coding=8,
                short_message=b"\xd8\x3d\x00",  # a lone high surrogate and an odd octet
            ),
        ),
        (
            0x2D,
            DataSm(
                source_addr="79001234567",
                destination_addr="1234",
                tlvs=(make_tlv(TlvTag.MESSAGE_PAYLOAD, b"hello"),),
            ),
        ),
    ]
    seen = []
    for seq, pdu in cases:
        (event,) = esme.receive_data(encode(pdu, seq), 1.0)
        assert isinstance(event, RequestReceived)
        assert event.answered
        wire = esme.data_to_send()
        if isinstance(pdu, DeliverSm):
            assert wire == DELIVER_SM_RESP_2A[:15] + bytes([seq, 0])
        else:
            assert wire == hx("00 00 00 11 80 00 01 03 00 00 00 00 00 00 00") + bytes([seq, 0])
        assert isinstance(event.pdu, DeliverSm | DataSm)
        seen.extend(decoder.feed(event.pdu, 1.0))
    assert esme.state is State.BOUND_TRX
    report, unknown_report, bad_text, mo = seen
    assert isinstance(report, DeliveryReport)
    assert (report.message_id, report.state) == ("1234567890", DeliveryState.DELIVERED)
    assert isinstance(unknown_report, DeliveryReport)
    assert unknown_report.message_id == "999999"
    assert isinstance(bad_text, MoMessage | UnreadablePdu)
    assert isinstance(mo, MoMessage)
    assert mo.payload == b"hello"


def test_d10_unreadable_deliver_sm_and_data_sm_still_answered_zero() -> None:
    """D-10: a deliver_sm or data_sm whose body cannot be decoded is answered status 0 with
    its sequence number; the raw bytes travel in the event."""
    esme = bound_esme()
    # data_sm whose TLV length runs past the end of the PDU
    bad = hx(
        "00 00 00 1E 00 00 01 03 00 00 00 00 00 00 00 2A00 00 00 00 00 00 00 00 00 00 04 24 00 09"
    )
    (violation,) = esme.receive_data(bad, 1.0)
    assert isinstance(violation, ProtocolViolation)
    assert violation.answered_with is CommandStatus.ESME_ROK
    assert violation.raw == bad
    assert esme.data_to_send() == hx("00 00 00 11 80 00 01 03 00 00 00 00 00 00 00 2A 00")
    assert esme.state is State.BOUND_TRX


# ------------------------------------------------------------------ D-11


def test_d11_unknown_command_then_enquire_link_still_bound_no_generic_nack() -> None:
    """D-11: a PDU with command_id 0x00000199 gets no answer at all (no generic_nack), the
    session stays bound and answers the next enquire_link with the spec's bytes."""
    esme = bound_esme()
    events = esme.receive_data(hx("00 00 00 10 00 00 01 99 00 00 00 00 00 00 00 06"), 1.0)
    assert [type(e) for e in events] == [ProtocolViolation]
    assert esme.data_to_send() == b""
    assert esme.receive_data(ENQUIRE_LINK_7, 2.0) == []
    assert esme.data_to_send() == ENQUIRE_LINK_RESP_7
    assert esme.state is State.BOUND_TRX


def test_d11_unframeable_stream_closes_without_generic_nack() -> None:
    """D-11: an unframeable byte stream (command_length 4) closes the connection; the ESME
    writes nothing, least of all a generic_nack."""
    esme = bound_esme()
    events = esme.receive_data(hx("00 00 00 04 00 00 00 04 00 00 00 00 00 00 00 01"), 1.0)
    assert isinstance(events[0], ProtocolViolation)
    assert events[0].answered_with is None
    assert events[-1] == CloseRequested(CloseReason.UNFRAMEABLE)
    assert esme.data_to_send() == b""


# ------------------------------------------------------------------ D-12 / D-13


def test_d12_first_enquire_link_60s_after_bind_next_60s_after_resp() -> None:
    """D-12: idle from the bind_resp at 0 s, the first enquire_link goes at 60 s (not before);
    its response at 60.5 s restarts the idle clock, so the next goes at 120.5 s."""
    esme = bound_esme(SessionConfig(enquire_link_idle=60.0, enquire_link_timeout=10.0))
    assert esme.next_deadline() == 60.0
    esme.tick(59.999)
    assert esme.data_to_send() == b""
    esme.tick(60.0)
    el = decode(esme.data_to_send())
    assert el.command_id == CommandId.ENQUIRE_LINK
    resp = ENQUIRE_LINK_RESP_7[:12] + el.sequence_number.to_bytes(4, "big")
    assert esme.receive_data(resp, 60.5) == []
    assert esme.next_deadline() == 120.5
    esme.tick(120.4)
    assert esme.data_to_send() == b""
    esme.tick(120.5)
    assert decode(esme.data_to_send()).command_id == CommandId.ENQUIRE_LINK


def test_d12_traffic_from_the_smsc_every_30s_means_no_enquire_link() -> None:
    """D-12: with a deliver_sm from the SMSC every 30 s, no enquire_link in 5 minutes; our own
    sending does not count as activity (only what is received does)."""
    esme = bound_esme()
    sent: list[int] = []
    now = 0.0
    while now <= 300.0:
        if now % 30.0 == 0.0 and now > 0:
            esme.receive_data(encode(dlr(), int(now)), now)
        esme.send_request(SubmitSm(destination_addr="79001234567"), now)
        esme.tick(now)
        wire = esme.data_to_send()
        while wire:
            length = int.from_bytes(wire[:4], "big")
            sent.append(int.from_bytes(wire[4:8], "big"))
            wire = wire[length:]
        now += 5.0
        # the SMSC answers nothing: the submits time out, the window frees
    assert CommandId.ENQUIRE_LINK not in sent
    assert esme.state is State.BOUND_TRX


def test_d12_smsc_enquire_link_answered_at_once() -> None:
    """D-12: the SMSC's enquire_link is answered immediately, same sequence number."""
    esme = bound_esme()
    assert esme.receive_data(ENQUIRE_LINK_7, 10.0) == []
    assert esme.data_to_send() == ENQUIRE_LINK_RESP_7


def test_d13_unbind_exactly_at_enquire_link_timeout_then_close() -> None:
    """D-13: enquire_link sent at T = 60 s, unanswered: unbind at T + T_el (not a moment
    before), then the close after the unbind wait; the close reason names the cause."""
    config = SessionConfig(enquire_link_idle=60.0, enquire_link_timeout=20.0, unbind_timeout=5.0)
    esme = bound_esme(config)
    esme.tick(60.0)
    assert decode(esme.data_to_send()).command_id == CommandId.ENQUIRE_LINK
    assert esme.tick(79.999) == []
    assert esme.data_to_send() == b""
    assert esme.tick(80.0) == []
    unbind = esme.data_to_send()
    assert unbind[:12] == hx("00 00 00 10 00 00 00 06 00 00 00 00")
    assert esme.tick(84.999) == []
    assert esme.tick(85.0) == [CloseRequested(CloseReason.ENQUIRE_LINK_TIMEOUT)]


# ------------------------------------------------------------------ D-15 / D-22 / D-23


def test_d15_payload_bytes_and_billing_estimate() -> None:
    """D-15: 200 Cyrillic characters in payload mode: one submit_sm with sm_length 0, TLV
    ``04 24 01 90`` (400 octets), no UDHI, no SAR, billing estimate 3 segments."""
    plan = build_submits(
        OutboundMessage("Devino", "79001234567", "Ж" * 200, split=SplitMethod.PAYLOAD),
        DEVINO_PROMO,
    )
    (part,) = plan.parts
    assert plan.plan.billed_segments == 3
    assert part.esm_class & 0x40 == 0
    assert {t.tag for t in part.tlvs} == {TlvTag.MESSAGE_PAYLOAD}
    wire = encode(part, 3)
    tlv_at = wire.index(hx("04 24 01 90"))
    assert wire[tlv_at - 1] == 0x00  # sm_length 0, short_message empty
    assert len(wire) == tlv_at + 4 + 400


def test_d22_relative_minimum_on_the_wire() -> None:
    """D-22: validity 60 s is written as ``000000000100000R`` (the minimum); below 60 s the
    message is refused before anything is sent (our choice, see docs/platform-rules.md)."""
    (part,) = build_submits(
        OutboundMessage("Devino", "79001234567", "hi", validity=60), DEVINO_PROMO
    ).parts
    wire = encode(part, 3)
    assert b"\x00000000000100000R\x00" in wire  # schedule_delivery_time NUL, then validity


def test_d23_query_sm_bytes_and_delivered_response() -> None:
    """D-23: query_sm for id 1234567890 from Devino (5/1) is the spec's bytes; the spec's
    query_sm_resp decodes to DELIVERED with a final_date (final)."""
    esme = bound_esme()
    esme._next_seq = 5
    esme.send_request(
        QuerySm(
            message_id="1234567890", source_addr_ton=5, source_addr_npi=1, source_addr="Devino"
        ),
        1.0,
    )
    assert esme.data_to_send() == QUERY_SM_5
    (event,) = esme.receive_data(QUERY_SM_RESP_5, 1.5)
    resp = event.response  # type: ignore[union-attr]
    assert isinstance(resp, QuerySmResp)
    assert SmppMessageState(resp.message_state) is SmppMessageState.DELIVERED
    assert SmppMessageState(resp.message_state).is_final
    assert resp.final_date == "250101120000000+"


# ------------------------------------------------------------------ D-25


def test_d25_two_part_udh_mo_two_zero_acks_one_text() -> None:
    """D-25: a 2-part UDH MO: two deliver_sm_resp with status 0 (same seqs) and one
    reassembled text for the application."""
    esme = bound_esme()
    decoder = IncomingDecoder("login")
    out = []
    for seq, (n, chunk) in ((0x31, (1, b"Hello ")), (0x32, (2, b"world"))):
        pdu = DeliverSm(
            source_addr="79001234567",
            destination_addr="1234",
            esm_class=0x40,
            short_message=concatenation_udh(0x11, 2, n) + chunk,
        )
        (event,) = esme.receive_data(encode(pdu, seq), float(seq))
        assert esme.data_to_send() == DELIVER_SM_RESP_2A[:15] + bytes([seq, 0])
        assert isinstance(event, RequestReceived)
        assert isinstance(event.pdu, DeliverSm)
        out.extend(decoder.feed(event.pdu, float(seq)))
    (mo,) = out
    assert isinstance(mo, MoMessage)
    assert (mo.text, mo.parts) == ("Hello world", 2)


def test_d03_smsc_role_reads_the_spec_bind() -> None:
    """D-03 (emulator side): the SMSC role reads the spec's bind_transceiver as a bind with
    the platform's parameters."""
    smsc = Session(Role.SMSC)
    (event,) = smsc.receive_data(BIND_TRX, 0.0)
    assert isinstance(event, BindRequested)
    pdu = event.pdu
    assert isinstance(pdu, BindTransceiver)
    assert (pdu.system_id, pdu.password, pdu.system_type) == ("login", "secret", "")
    assert pdu.interface_version == 0x34
    assert SMPP34.interface_version == 0x34

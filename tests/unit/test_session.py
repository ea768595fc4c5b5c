"""The sans-IO session: an ESME and an SMSC joined in memory, time passed in by hand."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from smppgate.pdu import (
    BindTransceiver,
    CommandId,
    CommandStatus,
    DeliverSm,
    EnquireLink,
    FrameReader,
    GenericNack,
    InvalidFieldError,
    InvalidTlvError,
    QuerySm,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    Unbind,
    decode,
    encode,
)
from smppgate.profiles import DEVINO_PROMO, SMPP34
from smppgate.session import (
    BindFailed,
    BindMode,
    BindRequested,
    Bound,
    CloseReason,
    CloseRequested,
    LocalProtocolError,
    ProtocolViolation,
    RequestAbandoned,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    Role,
    SendResult,
    Session,
    SessionConfig,
    SessionPolicy,
    State,
    UnexpectedResponse,
    WindowFullError,
)
from tests.pdu_fixtures import load


def pump(src: Session, dst: Session, now: float = 0.0) -> list[Any]:
    return dst.receive_data(src.data_to_send(), now)


def bound_pair(
    mode: BindMode = BindMode.TRANSCEIVER, config: SessionConfig | None = None
) -> tuple[Session, Session]:
    esme = Session(Role.ESME, config)
    smsc = Session(Role.SMSC, config)
    esme.bind(mode, "login", "secret", 0.0)
    (req,) = pump(esme, smsc)
    assert isinstance(req, BindRequested)
    assert req.mode is mode
    smsc.accept_bind(req.pdu, "DEVINO", 0.0)
    events = pump(smsc, esme)
    assert isinstance(events[-1], Bound)
    assert events[-1].sc_interface_version == 0x34
    return esme, smsc


def test_bind_bytes_are_the_platform_parameters() -> None:
    esme = Session(Role.ESME)
    esme.bind(BindMode.TRANSCEIVER, "login", "secret", 0.0)
    assert esme.data_to_send().hex() == (
        "000000220000000900000000000000016c6f67696e00736563726574000034000000"
    )


def test_bind_then_submit_and_out_of_order_responses() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=5))
    assert esme.state is State.BOUND_TRX
    assert smsc.state is State.BOUND_TRX
    seqs = [
        esme.send_request(SubmitSm(destination_addr=f"7900000000{i}"), 1.0, context=i)
        for i in range(5)
    ]
    with pytest.raises(WindowFullError):
        esme.send_request(SubmitSm(), 1.0)
    # enquire_link never waits for a window slot
    esme.send_request(EnquireLink(), 1.0)
    requests = [e for e in pump(esme, smsc) if isinstance(e, RequestReceived)]
    assert [r.pdu.sequence_number for r in requests] == seqs
    for index in (4, 2, 3, 0, 1):
        smsc.send_response(requests[index].pdu, SubmitSmResp(message_id=f"id{index}"), 2.0)
    got = [e for e in pump(smsc, esme, 2.0) if isinstance(e, ResponseReceived)]
    assert [(e.context, e.response.message_id) for e in got] == [
        (4, "id4"),
        (2, "id2"),
        (3, "id3"),
        (0, "id0"),
        (1, "id1"),
    ]
    assert esme.window_free == 5


def test_sequence_numbers_wrap_and_skip_pending() -> None:
    esme, _ = bound_pair(config=SessionConfig(window=3))
    esme._next_seq = 0x7FFFFFFF
    first = esme.send_request(SubmitSm(), 0.0)
    second = esme.send_request(SubmitSm(), 0.0)
    assert (first, second) == (0x7FFFFFFF, 1)


def test_esme_answers_every_deliver_sm_with_zero_even_unreadable() -> None:
    esme, smsc = bound_pair()
    # a well-formed one
    smsc.send_request(DeliverSm(short_message=b"hi"), 0.0)
    events = pump(smsc, esme)
    assert isinstance(events[0], RequestReceived)
    assert events[0].answered
    resp = esme.data_to_send()
    assert resp[4:12] == bytes.fromhex("8000000500000000")
    assert len(resp) == 17
    # sm_length runs past the end: still status 0, same sequence number, raw kept
    bad = (
        bytes.fromhex("00000020000000050000000000000042")
        + b"\x00\x01\x01a\x00\x01\x01b\x00\x00\x00\x00"
    )
    bad = len(bad).to_bytes(4, "big") + bad[4:]
    events = esme.receive_data(bad, 1.0)
    (violation,) = events
    assert isinstance(violation, ProtocolViolation)
    assert violation.answered_with is CommandStatus.ESME_ROK
    assert violation.raw == bad
    assert esme.data_to_send().hex() == "0000001180000005000000000000004200"


def test_deferred_deliver_sm_is_answered_zero_only_when_acknowledged() -> None:
    """Issue 13: with defer_incoming_answers the application answers once it stored the PDU;
    the answer is still status 0 with the same sequence number (D-10), readable or not."""
    esme, smsc = bound_pair(config=SessionConfig(defer_incoming_answers=True))
    seq = smsc.send_request(DeliverSm(short_message=b"hi"), 0.0)
    (event,) = pump(smsc, esme)
    assert isinstance(event, RequestReceived)
    assert not event.answered
    assert esme.data_to_send() == b""
    assert esme.acknowledge(seq, 1.0)
    assert (
        esme.data_to_send()
        == (17).to_bytes(4, "big")
        + bytes.fromhex("8000000500000000")
        + seq.to_bytes(4, "big")
        + b"\x00"
    )
    assert not esme.acknowledge(seq, 1.0)  # once only
    assert esme.data_to_send() == b""
    # an unreadable one: nothing sent until acknowledged, then 0
    bad = (
        bytes.fromhex("00000020000000050000000000000042")
        + b"\x00\x01\x01a\x00\x01\x01b\x00\x00\x00\x00"
    )
    bad = len(bad).to_bytes(4, "big") + bad[4:]
    (violation,) = esme.receive_data(bad, 1.0)
    assert isinstance(violation, ProtocolViolation)
    assert violation.answered_with is None
    assert esme.data_to_send() == b""
    assert esme.acknowledge(0x42, 2.0)
    assert esme.data_to_send().hex() == "0000001180000005000000000000004200"
    # a number no deliver_sm waits under, and a closed session: nothing
    assert not esme.acknowledge(7, 2.0)
    smsc.send_request(DeliverSm(short_message=b"late"), 2.0)
    pump(smsc, esme)
    esme.connection_lost(3.0)
    assert not esme.acknowledge(seq + 1, 3.0)


def test_esme_never_sends_generic_nack() -> None:
    esme, _ = bound_pair()
    unknown = bytes.fromhex("00000010000001990000000000000007")
    events = esme.receive_data(unknown, 0.0)
    assert isinstance(events[0], ProtocolViolation)
    assert events[0].answered_with is None
    assert esme.data_to_send() == b""
    assert esme.state is State.BOUND_TRX


def test_enquire_link_only_after_idle_and_unbind_when_unanswered() -> None:
    config = SessionConfig(enquire_link_idle=60.0, enquire_link_timeout=10.0, unbind_timeout=5.0)
    esme, smsc = bound_pair(config=config)
    assert esme.next_deadline() == 60.0
    assert esme.tick(59.9) == []
    assert esme.data_to_send() == b""
    # any PDU from the SMSC restarts the idle clock
    smsc.send_request(DeliverSm(), 30.0)
    pump(smsc, esme, 30.0)
    esme.data_to_send()
    assert esme.tick(89.9) == []
    assert esme.data_to_send() == b""
    esme.tick(90.0)
    sent = decode(esme.data_to_send())
    assert sent.command_id == CommandId.ENQUIRE_LINK
    # no second enquire_link while one is outstanding
    esme.tick(95.0)
    assert esme.data_to_send() == b""
    # unanswered for 10 s: unbind goes out, then the close after the unbind timeout
    assert esme.tick(100.0) == []
    assert decode(esme.data_to_send()).command_id == CommandId.UNBIND
    assert esme.state is State.UNBOUND
    assert esme.tick(105.0) == [CloseRequested(CloseReason.ENQUIRE_LINK_TIMEOUT)]
    assert esme.closed


def test_answered_enquire_link_keeps_session() -> None:
    esme, smsc = bound_pair(config=SessionConfig(enquire_link_idle=60.0))
    esme.tick(60.0)
    pump(esme, smsc, 60.0)  # the SMSC answers enquire_link by itself
    pump(smsc, esme, 60.5)
    assert esme.tick(200.0) == []
    assert decode(esme.data_to_send()).command_id == CommandId.ENQUIRE_LINK  # idle again


def test_request_timeout_then_late_response() -> None:
    esme, smsc = bound_pair(config=SessionConfig(response_timeout=30.0))
    esme.send_request(SubmitSm(), 0.0, context="m1")
    (req,) = pump(esme, smsc)
    (timed_out,) = esme.tick(30.0)
    assert isinstance(timed_out, RequestTimedOut)
    assert timed_out.context == "m1"
    assert esme.window_used == 0
    smsc.send_response(req.pdu, SubmitSmResp(message_id="late"), 31.0)
    (late,) = pump(smsc, esme, 31.0)
    assert isinstance(late, UnexpectedResponse)


def test_generic_nack_fails_the_matching_request() -> None:
    esme, _smsc = bound_pair()
    seq = esme.send_request(SubmitSm(), 0.0, context="m")
    esme.data_to_send()
    nack = encode(GenericNack(command_status=CommandStatus.ESME_RINVCMDID), seq)
    (event,) = esme.receive_data(nack, 0.0)
    assert isinstance(event, ResponseReceived)
    assert event.response.command_status is CommandStatus.ESME_RINVCMDID


def test_peer_unbind_is_answered_and_pending_requests_are_abandoned() -> None:
    esme, smsc = bound_pair()
    esme.send_request(SubmitSm(), 0.0, context="m")
    pump(esme, smsc)
    smsc.unbind(1.0)
    events = pump(smsc, esme, 1.0)
    assert events == [CloseRequested(CloseReason.PEER_UNBOUND)]
    unbind_resp = esme.data_to_send()
    assert decode(unbind_resp).command_id == CommandId.UNBIND_RESP
    abandoned = esme.connection_lost(1.5)
    assert [type(e) for e in abandoned] == [RequestAbandoned]
    assert abandoned[0].context == "m"
    assert smsc.receive_data(unbind_resp, 1.5) == [CloseRequested(CloseReason.LOCAL_UNBIND)]


def test_bind_rejected() -> None:
    esme = Session(Role.ESME)
    smsc = Session(Role.SMSC)
    esme.bind(BindMode.TRANSMITTER, "login", "wrong", 0.0)
    (req,) = pump(esme, smsc)
    smsc.reject_bind(req.pdu, CommandStatus.ESME_RINVPASWD, 0.0)
    wire = smsc.data_to_send()
    assert wire.hex() == "00000010800000020000000e00000001"
    events = esme.receive_data(wire, 0.0)
    assert events[-2:] == [
        BindFailed(CommandStatus.ESME_RINVPASWD),
        CloseRequested(CloseReason.BIND_REJECTED),
    ]
    assert esme.closed


def test_local_state_rules() -> None:
    esme, _ = bound_pair(BindMode.RECEIVER)
    with pytest.raises(LocalProtocolError):
        esme.send_request(SubmitSm(), 0.0)
    fresh = Session(Role.ESME)
    with pytest.raises(LocalProtocolError):
        fresh.send_request(SubmitSm(), 0.0)


def test_smsc_answers_wrong_state_with_rinvbndsts() -> None:
    _esme, smsc = bound_pair(BindMode.RECEIVER)
    raw = encode(SubmitSm(), 7)
    (violation,) = smsc.receive_data(raw, 0.0)
    assert isinstance(violation, ProtocolViolation)
    assert smsc.data_to_send().hex() == "00000010800000040000000400000007"
    # before bind too
    fresh = Session(Role.SMSC)
    fresh.receive_data(raw, 0.0)
    assert fresh.data_to_send().hex() == "00000010800000040000000400000007"
    # a second bind
    smsc.receive_data(encode(BindTransceiver(system_id="x"), 8), 0.0)
    assert smsc.data_to_send().hex() == "00000010800000090000000500000008"


def test_smsc_closes_connection_never_bound() -> None:
    smsc = Session(Role.SMSC, SessionConfig(bind_timeout=5.0), now=100.0)
    assert smsc.tick(104.9) == []
    assert smsc.tick(105.0) == [CloseRequested(CloseReason.BIND_TIMEOUT)]


MALFORMED = load("pdu-malformed.jsonl")


@pytest.mark.parametrize("case", MALFORMED, ids=[c["name"] for c in MALFORMED])
def test_smsc_answers_malformed_input(case: dict[str, Any]) -> None:
    _, smsc = bound_pair()
    data = bytes.fromhex(case["hex"])
    events = smsc.receive_data(data, 0.0)
    out = smsc.data_to_send()
    expected = CommandStatus[case["expect_status"]]
    if case["name"] == "cmdlen_mismatch_longer_than_data":
        assert events == []
        assert out == b""
        return
    if expected is CommandStatus.ESME_ROK:
        assert not any(isinstance(e, ProtocolViolation) for e in events)
        return
    assert any(isinstance(e, ProtocolViolation) for e in events)
    answer = decode(out[: int.from_bytes(out[:4], "big")])
    assert answer.command_status is expected
    if case.get("response") == "generic_nack":
        assert answer.command_id == CommandId.GENERIC_NACK


# ---------------------------------------------------------------- send_from (the batch path)


def _queue(*pdus: Any) -> deque[tuple[Any, Any]]:
    return deque((pdu, f"ctx{i}") for i, pdu in enumerate(pdus))


def test_send_from_fills_the_window_and_leaves_the_rest_queued() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=3))
    queue = _queue(*(SubmitSm(destination_addr=f"7900000000{i}") for i in range(5)))
    result = esme.send_from(queue, 1.0)
    assert result == SendResult(3, [])
    assert [ctx for _, ctx in queue] == ["ctx3", "ctx4"]
    assert esme.window_free == 0
    requests = [e for e in pump(esme, smsc) if isinstance(e, RequestReceived)]
    assert [r.pdu.destination_addr for r in requests] == [f"7900000000{i}" for i in range(3)]
    # the window full, nothing moves
    assert esme.send_from(queue, 1.0) == SendResult(0, [])
    for r in requests[:2]:
        smsc.send_response(r.pdu, SubmitSmResp(message_id=r.pdu.destination_addr), 2.0)
    got = pump(smsc, esme, 2.0)
    assert [(e.context, e.response.message_id) for e in got] == [
        ("ctx0", "79000000000"),
        ("ctx1", "79000000001"),
    ]
    assert esme.send_from(queue, 2.0).sent == 2
    assert not queue


def test_send_from_writes_what_send_request_writes() -> None:
    pdus = [
        SubmitSm(destination_addr="79000000001", short_message=b"a" * n, registered_delivery=1)
        for n in range(0, 200, 40)
    ] + [QuerySm(message_id="abc"), EnquireLink(), SubmitSm(validity_period="000000000500000R")]
    one, _ = bound_pair(config=SessionConfig(window=10))
    many, _ = bound_pair(config=SessionConfig(window=10))
    for pdu in pdus:
        one.send_request(pdu, 1.0, pdu)
    assert many.send_from(deque((p, p) for p in pdus), 1.0) == SendResult(len(pdus), [])
    assert many.data_to_send() == one.data_to_send()
    assert many.window_free == one.window_free == 10 - (len(pdus) - 1)  # enquire_link: no slot
    assert many.pending_count == one.pending_count


def test_send_from_fails_an_unsendable_request_alone() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=5))
    too_long = SubmitSm(destination_addr="7" * 30)
    queue = _queue(SubmitSm(destination_addr="1"), too_long, BindTransceiver(), SubmitSm())
    result = esme.send_from(queue, 1.0)
    assert result.sent == 2
    assert [(ctx, type(exc)) for ctx, exc in result.failed] == [
        ("ctx1", InvalidFieldError),
        ("ctx2", LocalProtocolError),
    ]
    assert esme.window_free == 3
    seqs = [e.pdu.sequence_number for e in pump(esme, smsc) if isinstance(e, RequestReceived)]
    assert seqs == [2, 3]  # the failed ones used no sequence number


def test_send_from_wraps_and_skips_pending_sequence_numbers() -> None:
    esme, _ = bound_pair(config=SessionConfig(window=5))
    esme._next_seq = 2
    taken = esme.send_request(SubmitSm(), 0.0)
    assert taken == 2
    esme._next_seq = 0x7FFFFFFE
    queue = _queue(*(SubmitSm() for _ in range(4)))
    assert esme.send_from(queue, 0.0).sent == 4
    seqs = [decode(f).sequence_number for f in _frames(esme.data_to_send())]
    assert seqs == [2, 0x7FFFFFFE, 0x7FFFFFFF, 1, 3]


def test_send_from_leaves_the_queue_alone_once_the_session_is_not_bound() -> None:
    esme, _ = bound_pair()
    queue = _queue(SubmitSm(), Unbind(), SubmitSm())
    assert esme.send_from(queue, 0.0) == SendResult(2, [])
    assert esme.state is State.UNBOUND
    # the submit after the unbind stays queued, for another session: not failed
    assert [ctx for _, ctx in queue] == ["ctx2"]
    assert esme.send_from(queue, 0.0) == SendResult(0, [])
    esme.close()
    assert esme.send_from(queue, 0.0) == SendResult(0, [])
    assert len(queue) == 1
    unbound = Session(Role.ESME)
    assert unbound.send_from(_queue(SubmitSm()), 0.0) == SendResult(0, [])


def test_send_from_fails_what_the_bind_mode_never_allows() -> None:
    receiver, _ = bound_pair(BindMode.RECEIVER)
    queue = _queue(SubmitSm(), SubmitSm())
    result = receiver.send_from(queue, 0.0)
    assert result.sent == 0
    assert [(ctx, type(exc)) for ctx, exc in result.failed] == [
        ("ctx0", LocalProtocolError),
        ("ctx1", LocalProtocolError),
    ]


def _frames(data: bytes) -> list[bytes]:
    reader = FrameReader()
    reader.feed(data)
    return reader.read_frames()


# ---------------------------------------------------------------- receive_data's fast path


def test_unreadable_submit_sm_resp_is_still_matched_by_its_header() -> None:
    esme, _ = bound_pair()
    seq = esme.send_request(SubmitSm(), 0.0, context="c")
    esme.data_to_send()
    # message_id without its NUL: the body cannot be read, the status in the header can
    bad = bytes.fromhex("000000138000000400000058") + seq.to_bytes(4, "big") + b"abc"
    events = esme.receive_data(bad, 1.0)
    assert [type(e) for e in events] == [ProtocolViolation, ResponseReceived]
    # the request is answered with the header's status, so its sender learns the outcome
    answer = events[1]
    assert answer.context == "c"
    assert answer.response.command_id == CommandId.GENERIC_NACK
    assert answer.response.command_status is CommandStatus.ESME_RTHROTTLED
    assert esme.pending_count == 0
    assert esme.window_free == esme.config.window


def test_unreadable_enquire_link_resp_still_ends_the_keepalive_wait() -> None:
    esme, _ = bound_pair(config=SessionConfig(enquire_link_idle=10.0, enquire_link_timeout=5.0))
    esme.tick(10.0)  # idle: enquire_link goes out
    (frame,) = _frames(esme.data_to_send())
    seq = decode(frame).sequence_number
    # an enquire_link_resp with a body it must not have: unreadable, but answered
    bad = bytes.fromhex("000000118000001500000000") + seq.to_bytes(4, "big") + b"x"
    events = esme.receive_data(bad, 11.0)
    assert [type(e) for e in events] == [ProtocolViolation]
    assert esme.tick(16.0) == []  # no unbind for a keepalive that was answered
    assert esme.state is State.BOUND_TRX
    assert esme.next_deadline() == 21.0  # the next keepalive, 10 s after the last PDU


def test_smsc_deliver_sm_resp_frees_its_window_slot() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=2))
    smsc.send_from(_queue(DeliverSm(short_message=b"x"), DeliverSm(short_message=b"y")), 0.0)
    assert smsc.window_free == 0
    pump(smsc, esme)  # the ESME answers both at once (D-10)
    events = pump(esme, smsc)
    assert [(type(e), e.context) for e in events] == [
        (ResponseReceived, "ctx0"),
        (ResponseReceived, "ctx1"),
    ]
    assert smsc.window_free == 2


def test_response_to_the_wrong_request_type_is_unexpected() -> None:
    esme, _ = bound_pair()
    seq = esme.send_request(QuerySm(message_id="x"), 0.0)
    esme.data_to_send()
    events = esme.receive_data(encode(SubmitSmResp(message_id="m"), seq), 1.0)
    assert [type(e) for e in events] == [UnexpectedResponse]
    assert esme.pending_count == 1


def test_next_deadline_may_be_early_never_late() -> None:
    config = SessionConfig(window=10, response_timeout=5.0, enquire_link_idle=1000.0)
    esme, smsc = bound_pair(config=config)
    esme.send_from(_queue(SubmitSm(), SubmitSm()), 0.0)
    assert esme.next_deadline() == 5.0
    for event in pump(esme, smsc):
        smsc.send_response(event.pdu, SubmitSmResp(message_id="m"), 1.0)
    assert len(pump(smsc, esme, 1.0)) == 2
    esme.send_request(SubmitSm(), 3.0, context="late")
    # the bound from the answered requests is still 5: a wake-up too early does nothing...
    deadline = esme.next_deadline()
    assert deadline is not None
    assert deadline <= 8.0
    assert esme.tick(deadline) == []
    # ...and the next one is exact
    assert esme.next_deadline() == 8.0
    esme.send_request(SubmitSm(), 3.5, context="later")
    assert esme.next_deadline() == 8.0
    (timed_out,) = esme.tick(8.0)
    assert isinstance(timed_out, RequestTimedOut)
    assert timed_out.context == "late"
    assert esme.next_deadline() == 8.5


def test_send_from_counts_right_when_a_tlv_value_is_not_bytes() -> None:
    esme, smsc = bound_pair(config=SessionConfig(window=2))
    bad = SubmitSm(tlvs=(Tlv(0x1403, "text"),))  # type: ignore[arg-type]
    result = esme.send_from(_queue(SubmitSm(), bad, SubmitSm()), 0.0)
    assert result.sent == 2
    assert [(ctx, type(exc)) for ctx, exc in result.failed] == [("ctx1", InvalidTlvError)]
    assert esme.window_free == 0
    for event in pump(esme, smsc):
        smsc.send_response(event.pdu, SubmitSmResp(message_id="m"), 1.0)
    assert len(pump(smsc, esme, 1.0)) == 2
    assert esme.window_free == 2
    assert esme.pending_count == 0


def test_next_deadline_counts_fast_requests_sent_before_a_general_one() -> None:
    # found by the window model: a submit (fast path) then an enquire_link (general path) in
    # one send_from, with the lower bound already known from an earlier enquire_link
    config = SessionConfig(response_timeout=5.0, enquire_link_timeout=30.0, enquire_link_idle=1e9)
    esme, _ = bound_pair(config=config)
    esme.send_from(_queue(EnquireLink()), 0.0)
    assert esme.next_deadline() == 30.0
    esme.send_from(_queue(SubmitSm(), EnquireLink()), 0.0)
    assert esme.next_deadline() == 5.0


# ------------------------------------------------------------------ policy from the profile


def _bound_esme(policy: SessionPolicy) -> Session:
    esme = Session(Role.ESME, policy=policy)
    smsc = Session(Role.SMSC)
    esme.bind(BindMode.TRANSCEIVER, "login", "secret", 0.0)
    (req,) = pump(esme, smsc)
    smsc.accept_bind(req.pdu, "SMSC", 0.0)
    pump(smsc, esme)
    assert esme.state is State.BOUND_TRX
    return esme


def test_the_profile_decides_generic_nack_not_the_role() -> None:
    unknown = bytes.fromhex("00000010000001990000000000000007")
    # Devino (page point 5): silence, reported
    devino = _bound_esme(DEVINO_PROMO.session_policy())
    (violation,) = devino.receive_data(unknown, 1.0)
    assert isinstance(violation, ProtocolViolation)
    assert violation.answered_with is None
    assert devino.data_to_send() == b""
    # smpp34 (SMPP 3.4 §3.3): generic_nack with the same sequence number
    plain = _bound_esme(SMPP34.session_policy())
    (violation,) = plain.receive_data(unknown, 1.0)
    assert violation.answered_with == CommandStatus.ESME_RINVCMDID
    nack = decode(plain.data_to_send())
    assert isinstance(nack, GenericNack)
    assert (nack.sequence_number, nack.command_status) == (7, CommandStatus.ESME_RINVCMDID)
    # a request the SMSC may not send (submit_sm) gets its response with ESME_RINVBNDSTS
    wrong = encode(SubmitSm(destination_addr="1"), 8)
    (violation,) = plain.receive_data(wrong, 2.0)
    resp = decode(plain.data_to_send())
    assert (resp.command_id, resp.command_status) == (
        CommandId.SUBMIT_SM_RESP,
        CommandStatus.ESME_RINVBNDSTS,
    )
    assert devino.receive_data(wrong, 2.0)[0].answered_with is None
    assert devino.data_to_send() == b""
    # both answer every deliver_sm with 0, even an unreadable one
    for esme in (devino, plain):
        bad = bytes.fromhex("00000011000000050000000000000009") + b"\x00"
        (violation,) = esme.receive_data(bad, 3.0)
        assert violation.answered_with == CommandStatus.ESME_ROK
        assert decode(esme.data_to_send()).command_status == CommandStatus.ESME_ROK


def test_an_smsc_policy_without_generic_nack_stays_silent() -> None:
    smsc = Session(Role.SMSC, policy=SessionPolicy(answer_deliveries=False, answer_errors=False))
    events = smsc.receive_data(bytes.fromhex("00000010000001990000000000000007"), 0.0)
    assert isinstance(events[0], ProtocolViolation)
    assert events[0].answered_with is None
    assert smsc.data_to_send() == b""


def test_enquire_link_idle_counts_only_what_the_smsc_sent() -> None:
    """D-12 / page point 6: the client keeps sending and the SMSC answers nothing for 60 s;
    the enquire_link is due 60 s after the last PDU *received*, however busy the sending side.
    (A session counting both directions would wait until 60 s after its last submit.)"""
    config = SessionConfig(window=100, enquire_link_idle=60.0, response_timeout=300.0)
    esme, _ = bound_pair(config=config)  # bind_resp received at t=0
    for t in range(5, 60, 5):
        esme.send_request(SubmitSm(destination_addr="79001234567"), float(t))
        esme.data_to_send()  # written; the SMSC answers nothing
        assert esme.next_deadline() == 60.0
        assert esme.tick(float(t)) == []
        assert esme.data_to_send() == b""
    assert esme.last_sent == 55.0
    esme.send_request(SubmitSm(destination_addr="79001234567"), 59.9)
    esme.data_to_send()
    esme.tick(59.9)
    assert esme.data_to_send() == b""
    esme.tick(60.0)
    assert decode(esme.data_to_send()).command_id == CommandId.ENQUIRE_LINK

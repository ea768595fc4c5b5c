"""The client's decisions, without a loop: cooldowns, failover, routing, retry rules, validity,
configuration, message building, incoming events, the query rate limit."""

from __future__ import annotations

import ssl
from dataclasses import replace

import pytest

from smppgate.client import (
    Action,
    AddressError,
    AttemptEnd,
    Attempts,
    Candidate,
    ClientConfigError,
    CooldownPolicy,
    DeliveryReport,
    IncomingDecoder,
    MoMessage,
    MoPart,
    OutboundMessage,
    SmppAccount,
    SubmitOutcome,
    SubmitResult,
    TlsConfig,
    TokenBucket,
    ValidityError,
    build_submits,
    check_validity,
    decide,
    next_host,
    normalize_destination,
    parse_mode,
    relative_validity,
    select_session,
    should_return_to_primary,
    slot_to_return,
)
from smppgate.client.results import not_sent, unknown
from smppgate.pdu import CommandStatus, DeliverSm, RetryClass, Tlv, TlvTag, make_tlv
from smppgate.profiles import (
    DEVINO_ONLINE,
    DEVINO_PROMO,
    DEVINO_TRANSACTIONAL,
    SMPP34,
    HostAddress,
    RetryRules,
)
from smppgate.session import BindMode
from smppgate.text import (
    AssemblyStatus,
    DeliveryState,
    Encoding,
    ItsSessionInfo,
    SplitMethod,
    UssdServiceOp,
    concatenation_udh,
)

RULES = DEVINO_PROMO.retry

# ------------------------------------------------------------------ cooldowns (D-08, D-09)


def test_cooldown_defaults_are_the_platforms() -> None:
    account = SmppAccount("login", "secret")
    assert account.drop_cooldown == 60.0
    assert account.failure_cooldown == 90.0
    policy = CooldownPolicy(account.drop_cooldown, account.failure_cooldown)
    assert policy.next_attempt_at(100.0, AttemptEnd.DROPPED) == 160.0
    assert policy.next_attempt_at(100.0, AttemptEnd.FAILED) == 190.0
    assert policy.next_attempt_at(100.0, AttemptEnd.NONE) == 100.0


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999, 1.0, -3.0, 7.0])
def test_jitter_only_lengthens(draw: float) -> None:
    policy = CooldownPolicy(60.0, 90.0, jitter=0.2)
    for end, base in ((AttemptEnd.DROPPED, 60.0), (AttemptEnd.FAILED, 90.0)):
        wait = policy.wait(end, draw)
        assert base <= wait <= base * 1.2


def test_consecutive_failures_keep_90s() -> None:
    policy = CooldownPolicy(60.0, 90.0, jitter=0.0)
    t = 0.0
    for _ in range(5):
        nxt = policy.next_attempt_at(t, AttemptEnd.FAILED)
        assert nxt - t == 90.0
        t = nxt


def test_cooldowns_are_settings() -> None:
    account = SmppAccount("login", "secret", reconnect_after_drop=61, reconnect_after_failure=95)
    assert (account.drop_cooldown, account.failure_cooldown) == (61, 95)
    plain = SmppAccount(
        "login", "secret", profile=SMPP34, hosts=(HostAddress("h"),), reconnect_after_drop=0.1,
        reconnect_after_failure=0.2,
    )  # fmt: skip
    assert (plain.drop_cooldown, plain.failure_cooldown) == (0.1, 0.2)
    with pytest.raises(ClientConfigError):
        SmppAccount("login", "secret", reconnect_jitter=-0.1)


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("reconnect_after_drop", 59.0, "page point 4"),
        ("reconnect_after_failure", 89.0, "page point 4"),
        ("enquire_link_idle", 30.0, "page point 6"),
    ],
)
def test_devino_minimums_are_refused_unless_loudly_overridden(
    key: str, value: float, rule: str
) -> None:
    for profile in (DEVINO_PROMO, DEVINO_TRANSACTIONAL, DEVINO_ONLINE):
        with pytest.raises(ClientConfigError, match=f"{key} = {value:g} s .*{rule}"):
            SmppAccount("login", "secret", profile=profile, **{key: value})  # type: ignore[arg-type]
        unsafe = SmppAccount(
            "login", "secret", profile=profile, unsafe_below_platform_minimums=True,
            **{key: value},  # type: ignore[arg-type]
        )  # fmt: skip
        assert getattr(unsafe, key) == value
    # the smpp34 profile has no floors
    SmppAccount("login", "secret", profile=SMPP34, hosts=(HostAddress("h"),), **{key: value})  # type: ignore[arg-type]


def test_short_timers_on_the_default_profile_say_which_profile_to_choose() -> None:
    """A library user who set no profile gets Devino's (the default) and learns the name of
    the one for another SMSC."""
    with pytest.raises(ClientConfigError, match=r"default profile.*profile=SMPP34"):
        SmppAccount("login", "secret", reconnect_after_drop=1.0)
    with pytest.raises(ClientConfigError) as refused:
        SmppAccount("login", "secret", profile=DEVINO_TRANSACTIONAL, reconnect_after_drop=1.0)
    assert "default profile" not in str(refused.value)


# ------------------------------------------------------------------ failover (D-02)


def test_failover_order_and_return_to_primary() -> None:
    assert next_host(2, None, AttemptEnd.NONE) == 0
    assert next_host(2, 0, AttemptEnd.FAILED) == 1  # primary down -> backup
    assert next_host(2, 1, AttemptEnd.FAILED) == 0  # backup down too -> primary again
    assert next_host(3, 1, AttemptEnd.FAILED) == 2
    assert next_host(2, 1, AttemptEnd.DROPPED) == 0  # after a drop: the primary first
    assert next_host(1, 0, AttemptEnd.FAILED) == 0
    with pytest.raises(ValueError, match="no hosts"):
        next_host(0, None, AttemptEnd.NONE)


def test_return_to_primary_decisions() -> None:
    assert should_return_to_primary(1, 0.0, 700.0, 600.0, others_returning=False)
    assert not should_return_to_primary(1, 0.0, 500.0, 600.0, others_returning=False)
    assert not should_return_to_primary(0, 0.0, 700.0, 600.0, others_returning=False)
    assert not should_return_to_primary(1, 0.0, 700.0, None, others_returning=False)
    assert not should_return_to_primary(1, 0.0, 700.0, 600.0, others_returning=True)
    # two bound on the backup: the longest-bound one moves first
    assert slot_to_return([(1, 50.0), (1, 10.0)], 700.0, 600.0) == 1
    # a slot still on the primary is never moved; unbound slots are ignored
    assert slot_to_return([(0, 10.0), (1, None)], 700.0, 600.0) is None
    # the only bound slot of a multi-slot pool keeps working while others reconnect
    assert slot_to_return([(1, 10.0), (1, None)], 700.0, 600.0) is None
    # a single-slot pool moves its slot (it reconnects to the primary after the cooldown)
    assert slot_to_return([(1, 10.0)], 700.0, 600.0) == 0
    assert slot_to_return([(1, 10.0)], 700.0, None) is None


# ------------------------------------------------------------------ routing (D-05, D-20)


def test_select_session_picks_bound_unpaused_with_most_room() -> None:
    now = 10.0
    cands = [
        Candidate(False, True, 0.0, 10, 0),  # not bound
        Candidate(True, False, 0.0, 10, 0),  # receiver
        Candidate(True, True, 11.0, 10, 0),  # paused (throttled) until 11
        Candidate(True, True, 0.0, 3, 0),
        Candidate(True, True, 0.0, 8, 2),  # room 6: the winner
        Candidate(True, True, 0.0, 7, 7),  # no room once the queue is counted
    ]
    assert select_session(cands, now) == 4
    assert select_session(cands[:3], now) is None
    assert select_session(cands[:3], 11.0) == 2  # the pause is over
    assert select_session([Candidate(True, True, 0.0, 5, 0)] * 2, now) == 0  # stable ties


# ------------------------------------------------------------------ error rules (D-19..D-21)


def _failed(status: CommandStatus) -> SubmitResult:
    return SubmitResult(SubmitOutcome.FAILED, None, status, RULES.classify(status))


def test_invalid_destination_is_permanent_never_resent() -> None:
    d = decide(_failed(CommandStatus.ESME_RINVDSTADR), Attempts(), RULES)
    assert d.action is Action.FAIL
    assert d.retry is RetryClass.PERMANENT


def test_throttled_resends_and_pauses_the_connection() -> None:
    d = decide(_failed(CommandStatus.ESME_RTHROTTLED), Attempts(), RULES)
    assert d.action is Action.RESEND
    assert d.pause_connection == DEVINO_PROMO.retry.throttle_pause == 1.0
    assert d.delay == 0.0
    assert not d.back_of_queue
    assert d.attempts == Attempts()  # throttling is not counted as an attempt


def test_queue_full_back_of_queue_5_15_45_then_fails() -> None:
    attempts = Attempts()
    delays = []
    for _ in range(5):
        d = decide(_failed(CommandStatus.ESME_RMSGQFUL), attempts, RULES)
        assert d.action is Action.RESEND
        assert d.back_of_queue
        delays.append(d.delay)
        attempts = d.attempts
    assert delays == [5.0, 15.0, 45.0, 135.0, 405.0]
    last = decide(_failed(CommandStatus.ESME_RMSGQFUL), attempts, RULES)
    assert last.action is Action.FAIL


def test_queue_full_max_retries_is_a_setting() -> None:
    rules = RetryRules(queue_full_max_retries=3)
    attempts = Attempts()
    actions = []
    for _ in range(4):
        d = decide(_failed(CommandStatus.ESME_RMSGQFUL), attempts, rules)
        actions.append(d.action)
        attempts = d.attempts
    assert actions == [Action.RESEND] * 3 + [Action.FAIL]


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (CommandStatus.ESME_RSYSERR, Action.RESEND),
        (CommandStatus.ESME_RINVSRCADR, Action.FAIL),
        (CommandStatus.ESME_RINVMSGLEN, Action.FAIL),
        (CommandStatus.ESME_RINVBNDSTS, Action.RESEND),
        (CommandStatus(0x400), Action.RESEND),  # vendor code: transient by default
    ],
)
def test_other_statuses_follow_the_table(status: CommandStatus, action: Action) -> None:
    assert decide(_failed(status), Attempts(), RULES).action is action


def test_transient_retries_are_bounded() -> None:
    attempts = Attempts()
    for _ in range(RULES.transient_max_retries):
        d = decide(_failed(CommandStatus.ESME_RSYSERR), attempts, RULES)
        assert d.action is Action.RESEND
        attempts = d.attempts
    assert decide(_failed(CommandStatus.ESME_RSYSERR), attempts, RULES).action is Action.FAIL


def test_no_response_is_unknown_never_resent_silently() -> None:
    d = decide(unknown("no response in time"), Attempts(), RULES)
    assert d.action is Action.UNKNOWN
    # a request never written anywhere may go again
    assert decide(not_sent("pool closed"), Attempts(), RULES).action is Action.RESEND


def test_provider_overrides_change_the_class() -> None:
    from types import MappingProxyType

    rules = RetryRules(overrides=MappingProxyType({0x08: RetryClass.PERMANENT}))
    assert decide(_failed(CommandStatus.ESME_RSYSERR), Attempts(), rules).action is Action.FAIL


# ------------------------------------------------------------------ validity (D-22)


def test_validity_relative_format_and_minimum() -> None:
    assert relative_validity(60) == "000000000100000R"
    assert relative_validity(90061) == "000001010101000R"
    assert relative_validity(60.2) == "000000000101000R"  # rounds up, never below
    with pytest.raises(ValidityError, match="below the platform minimum of 60"):
        relative_validity(30)
    with pytest.raises(ValidityError):
        check_validity(59.9, 60.0)
    with pytest.raises(ValidityError):
        check_validity(float("nan"), 60.0)
    with pytest.raises(ValidityError, match="99 days"):
        relative_validity(200 * 86400)


def test_short_validity_is_refused_before_sending() -> None:
    message = OutboundMessage("Devino", "79001234567", "hi", validity=30)
    with pytest.raises(ValidityError) as info:
        build_submits(message, DEVINO_PROMO)
    assert info.value.minimum == DEVINO_PROMO.min_validity


# ------------------------------------------------------------------ configuration


def test_more_than_four_sessions_is_a_config_error() -> None:
    with pytest.raises(ClientConfigError, match=r"5 sessions.*at most 4"):
        SmppAccount("login", "secret", sessions=(BindMode.TRANSCEIVER,) * 5)
    assert len(SmppAccount("login", "secret", sessions=(BindMode.TRANSMITTER,) * 4).sessions) == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"system_id": "x" * 16}, "at most 15"),
        ({"password": "p" * 9}, "at most 8"),
        ({"system_id": ""}, "required"),
        ({"sessions": ()}, "at least one"),
        ({"profile": SMPP34}, "no hosts"),
        ({"window": 0}, "window"),
        ({"bind_timeout": 0}, "bind_timeout"),
    ],
)
def test_config_validation(kwargs: dict[str, object], match: str) -> None:
    base: dict[str, object] = {"system_id": "login", "password": "secret"}
    base.update(kwargs)
    with pytest.raises(ClientConfigError, match=match):
        SmppAccount(**base)  # type: ignore[arg-type]


def test_hosts_come_from_the_profile() -> None:
    promo = SmppAccount("login", "secret")
    assert [h.host for h in promo.effective_hosts] == ["194.226.179.12", "194.226.179.13"]
    tr = SmppAccount("login", "secret", profile=DEVINO_TRANSACTIONAL)
    assert [str(h) for h in tr.effective_hosts] == ["194.226.179.10:2775", "194.226.179.11:2775"]
    own = SmppAccount("login", "secret", hosts=(HostAddress.parse("127.0.0.1:1"),))
    assert own.effective_hosts == (HostAddress("127.0.0.1", 1),)
    cfg = promo.session_config()
    assert cfg.enquire_link_idle == 60.0
    assert cfg.window == 10


def test_parse_mode() -> None:
    assert parse_mode("tx") is BindMode.TRANSMITTER
    assert parse_mode("RX") is BindMode.RECEIVER
    assert parse_mode("transceiver") is BindMode.TRANSCEIVER
    with pytest.raises(ClientConfigError):
        parse_mode("both")


def test_tls_verifies_by_default() -> None:
    ctx = TlsConfig().context()
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.check_hostname
    off = TlsConfig(verify=False).context()
    assert off.verify_mode is ssl.CERT_NONE


# ------------------------------------------------------------- building submits (D-04, D-14..16)


def test_addressing_alphanumeric_numeric_and_plus() -> None:
    parts = build_submits(OutboundMessage("Devino", "+79001234567", "hi"), DEVINO_PROMO).parts
    p = parts[0]
    assert (p.source_addr_ton, p.source_addr_npi, p.source_addr) == (5, 1, "Devino")
    assert (p.dest_addr_ton, p.dest_addr_npi, p.destination_addr) == (1, 1, "79001234567")
    assert p.registered_delivery == 1
    assert p.validity_period == ""
    # the page's mandatory Src_Addr_TON 0x05 / NPI 0x01: numeric senders and short codes too
    numeric = build_submits(OutboundMessage("+79990001122", "79001234567", "hi"), DEVINO_PROMO)
    q = numeric.parts[0]
    assert (q.source_addr_ton, q.source_addr_npi, q.source_addr) == (5, 1, "79990001122")
    short = build_submits(OutboundMessage("900", "79001234567", "hi"), DEVINO_PROMO).parts[0]
    assert (short.source_addr_ton, short.source_addr_npi, short.source_addr) == (5, 1, "900")
    assert normalize_destination(" +7 900-123-45-67 ") == "79001234567"
    with pytest.raises(AddressError):
        normalize_destination("+")
    with pytest.raises(AddressError):
        build_submits(OutboundMessage("x" * 21, "79001234567", "hi"), DEVINO_PROMO)


def test_udh_split_6_octet_header_same_reference() -> None:
    text = "A" * 152 + "€" + "B" * 10
    plan = build_submits(OutboundMessage("Devino", "79001234567", text), DEVINO_PROMO, 0xA7)
    assert len(plan.parts) == 2
    assert plan.reference == 0xA7
    for n, part in enumerate(plan.parts, 1):
        assert part.esm_class == 0x40
        assert part.short_message[:6] == concatenation_udh(0xA7, 2, n)
        assert part.data_coding == 0
    assert plan.parts[1].short_message[6:8] == b"\x1b\x65"


def test_sar_and_payload_and_ussd() -> None:
    text = "Я" * 66 + "😀" + "Я" * 5
    sar = build_submits(
        OutboundMessage("Devino", "79001234567", text, split=SplitMethod.SAR), DEVINO_PROMO, 0x1A7
    )
    assert [p.esm_class for p in sar.parts] == [0, 0]
    assert sar.parts[0].tlvs == (
        Tlv(TlvTag.SAR_MSG_REF_NUM, b"\x01\xa7"),
        Tlv(TlvTag.SAR_TOTAL_SEGMENTS, b"\x02"),
        Tlv(TlvTag.SAR_SEGMENT_SEQNUM, b"\x01"),
    )
    payload = build_submits(
        OutboundMessage("Devino", "79001234567", "Ж" * 200, split=SplitMethod.PAYLOAD),
        DEVINO_PROMO,
    )
    assert len(payload.parts) == 1
    assert payload.parts[0].short_message == b""
    assert payload.parts[0].tlvs[0].tag == TlvTag.MESSAGE_PAYLOAD
    assert len(payload.parts[0].tlvs[0].value) == 400
    assert payload.reference is None
    ussd = build_submits(
        OutboundMessage(
            "Devino",
            "79001234567",
            "menu",
            ussd_service_op=UssdServiceOp.PSSR_RESPONSE,
            its_session_info=ItsSessionInfo(5, 1),
            encoding=Encoding.GSM7,
        ),
        DEVINO_PROMO,
    )
    assert ussd.parts[0].tlvs[:2] == (
        Tlv(TlvTag.USSD_SERVICE_OP, b"\x11"),
        Tlv(TlvTag.ITS_SESSION_INFO, b"\x05\x02"),
    )


# ------------------------------------------------------------------ incoming (D-10, D-24, D-25)


def test_receipt_becomes_a_delivery_report() -> None:
    decoder = IncomingDecoder("login")
    pdu = DeliverSm(
        source_addr="79001234567",
        destination_addr="Devino",
        esm_class=0x04,
        short_message=b"id:1234567890 sub:001 dlvrd:001 submit date:2501011200 "
        b"done date:2501011201 stat:DELIVRD err:000 text:",
        tlvs=(
            make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, "1234567890"),
            make_tlv(TlvTag.MESSAGE_STATE, 2),
        ),
    )
    (event,) = decoder.feed(pdu, 0.0)
    assert isinstance(event, DeliveryReport)
    assert event.message_id == "1234567890"
    assert event.state is DeliveryState.DELIVERED


def test_two_part_mo_is_reassembled_and_ussd_exposed() -> None:
    decoder = IncomingDecoder("login")
    first = DeliverSm(
        source_addr="79001234567",
        destination_addr="1234",
        esm_class=0x40,
        short_message=concatenation_udh(9, 2, 1) + b"Hello ",
    )
    second = first._replace(short_message=concatenation_udh(9, 2, 2) + b"world")
    assert decoder.feed(first, 0.0) == []
    (mo,) = decoder.feed(second, 1.0)
    assert isinstance(mo, MoMessage)
    assert mo.text == "Hello world"
    assert mo.status is AssemblyStatus.COMPLETE
    assert mo.parts == 2
    ussd = DeliverSm(
        service_type="USSD",
        source_addr="79001234567",
        destination_addr="*100#",
        short_message=b"*100#",
        tlvs=(Tlv(TlvTag.USSD_SERVICE_OP, b"\x01"), Tlv(TlvTag.ITS_SESSION_INFO, b"\x07\x00")),
    )
    (u,) = decoder.feed(ussd, 2.0)
    assert isinstance(u, MoMessage)
    assert u.is_ussd
    assert u.ussd_service_op is UssdServiceOp.PSSR_INDICATION
    assert u.its_session_info == ItsSessionInfo(7, 0)


def test_parts_are_handed_over_one_by_one_when_the_application_keeps_them() -> None:
    """``hand_over_parts``: each part of a multi-part MO (UDH or SAR) comes out as a
    ``MoPart`` (UDH stripped), nothing is kept in memory; a whole MO comes out as before."""
    decoder = IncomingDecoder("login", hand_over_parts=True)
    udh = DeliverSm(
        source_addr="79001234567", destination_addr="1234", esm_class=0x40,
        short_message=concatenation_udh(9, 2, 2) + b"world",
    )  # fmt: skip
    (part,) = decoder.feed(udh, 0.0, "login#1")
    assert isinstance(part, MoPart)
    assert (part.reference, part.total, part.seqnum, part.payload) == (9, 2, 2, b"world")
    assert part.session == "login#1"
    sar = DeliverSm(
        source_addr="79001234567", destination_addr="1234", short_message=b"Hello ",
        tlvs=(make_tlv(TlvTag.SAR_MSG_REF_NUM, 300), make_tlv(TlvTag.SAR_TOTAL_SEGMENTS, 2),
              make_tlv(TlvTag.SAR_SEGMENT_SEQNUM, 1)),
    )  # fmt: skip
    (part,) = decoder.feed(sar, 0.0)
    assert isinstance(part, MoPart)
    assert (part.reference, part.total, part.seqnum, part.payload) == (300, 2, 1, b"Hello ")
    assert len(decoder.reassembler) == 0
    whole = DeliverSm(source_addr="79001234567", destination_addr="1234", short_message=b"hi")
    (mo,) = decoder.feed(whole, 0.0)
    assert isinstance(mo, MoMessage)
    assert mo.text == "hi"


def test_incomplete_mo_is_handed_over_after_timeout() -> None:
    decoder = IncomingDecoder("login", reassembly_timeout=5.0)
    part = DeliverSm(
        source_addr="7900", destination_addr="1", esm_class=0x40,
        short_message=concatenation_udh(3, 2, 1) + b"half",
    )  # fmt: skip
    assert decoder.feed(part, 0.0) == []
    assert decoder.expire(4.0) == []
    (mo,) = decoder.expire(5.0)
    assert isinstance(mo, MoMessage)
    assert mo.status is AssemblyStatus.TIMED_OUT
    assert mo.payload == b"half"


# ------------------------------------------------------------------ query rate limit (D-23)


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=10.0, burst=1.0, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.05) == pytest.approx(0.05)
    assert bucket.take(0.1) == 0.0
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(0)


def test_profile_is_the_only_source_of_defaults() -> None:
    slow = replace(DEVINO_PROMO, reconnect_after_drop=61.0)
    assert SmppAccount("login", "secret", profile=slow).drop_cooldown == 61.0


def test_a_submit_budget_goes_into_debt_and_pays_it_back() -> None:
    bucket = TokenBucket(rate=2.0, burst=2.0, now=0.0)
    assert bucket.available(0.0) == 2
    bucket.spend(5, 0.0)  # a five-part message leaves whole
    assert bucket.available(0.0) == 0
    assert bucket.delay(0.0) == 2.0  # three tokens owed, one needed: 4 tokens at 2/s
    assert bucket.available(1.9) == 0
    assert bucket.available(2.0) == 1
    assert bucket.available(10.0) == 2  # never more than the burst


def test_decide_message_precedence_fail_then_unknown_then_resend() -> None:
    from smppgate.client.retry import MessageAction, decide_message

    accepted = SubmitResult(SubmitOutcome.ACCEPTED, "id", CommandStatus.ESME_ROK, RetryClass.OK)
    throttled = _failed(CommandStatus.ESME_RTHROTTLED)
    qfull = _failed(CommandStatus.ESME_RMSGQFUL)
    lost = unknown("no response in time")
    invalid = _failed(CommandStatus.ESME_RINVDSTADR)

    def verdict(*results: SubmitResult) -> tuple[MessageAction, int | None, tuple[int, ...]]:
        d = decide_message(results, [Attempts()] * len(results), RULES)
        assert [p.action for p in d.parts] == [decide(r, Attempts(), RULES).action for r in results]
        return d.action, d.deciding, d.unknown

    assert verdict(accepted, accepted) == (MessageAction.DONE, None, ())
    # a part that fails ends the message, whatever the others met
    assert verdict(throttled, lost, invalid, invalid) == (MessageAction.FAIL, 2, (1,))
    assert verdict(accepted, lost, throttled) == (MessageAction.UNKNOWN, None, (1,))
    # the resend waits for the longest of its parts: queue full (5 s) over throttled (1 s)
    assert verdict(throttled, qfull, accepted) == (MessageAction.RESEND, 1, ())
    d = decide_message([throttled, qfull], [Attempts(), Attempts()], RULES)
    assert d.wait == 5.0
    # retries used up count as a failure of the message (D-19)
    used_up = Attempts(queue_full=RULES.queue_full_max_retries)
    d = decide_message([accepted, qfull], [Attempts(), used_up], RULES)
    assert (d.action, d.deciding) == (MessageAction.FAIL, 1)


async def test_pool_releases_the_reference_of_a_destination_written_with_plus() -> None:
    # prepare() took the reference under "+7900..." and release() gave it back under the
    # parts' "7900...": never found, so after 256 split messages to one such number every
    # further one failed with ReferencesExhaustedError
    from smppgate.client import SessionPool
    from smppgate.profiles import HostAddress

    pool = SessionPool(SmppAccount("login", "secret", hosts=(HostAddress("127.0.0.1", 1),)))
    for _ in range(300):
        plan = pool.prepare(OutboundMessage("Devino", "+79001234567", "x" * 300))
        assert plan.reference is not None
        pool.release(plan)


async def test_pool_never_gives_a_udh_and_a_sar_message_to_one_person_the_same_reference() -> None:
    # a handset reassembles by (sender, reference): a UDH-split and a SAR-split message in
    # flight to the same person at once must not both get reference 0
    from smppgate.client import SessionPool
    from smppgate.profiles import HostAddress

    pool = SessionPool(SmppAccount("login", "secret", hosts=(HostAddress("127.0.0.1", 1),)))
    udh = pool.prepare(OutboundMessage("Devino", "79001234567", "x" * 300))
    sar = pool.prepare(OutboundMessage("Devino", "79001234567", "x" * 300, split=SplitMethod.SAR))
    assert udh.reference is not None
    assert udh.reference != sar.reference
    # released, its number is free for the other method again
    pool.release(udh)
    pool.release(sar)
    assert pool._refs.in_flight("79001234567") == frozenset()


def test_the_old_client_names_still_import_with_a_warning() -> None:
    import smppgate.client as client

    for old, new in (
        ("AccountConfig", client.SmppAccount),
        ("ConfigError", client.ClientConfigError),
        ("Outcome", client.SubmitOutcome),
    ):
        with pytest.warns(DeprecationWarning, match=f"smppgate.client.{old} is deprecated"):
            assert getattr(client, old) is new
    with pytest.raises(AttributeError):
        _ = client.NoSuchName  # type: ignore[attr-defined]

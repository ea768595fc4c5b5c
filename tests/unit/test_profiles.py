"""The provider profiles carry the platform's rules (shared/seed/devino-smpp-en.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smppgate.pdu import CommandId, CommandStatus, RetryClass
from smppgate.profiles import (
    DEVINO_ONLINE,
    DEVINO_PROMO,
    DEVINO_TRANSACTIONAL,
    SMPP34,
    BelowPlatformMinimumError,
    HostAddress,
    RetryRules,
    SenderKind,
    UnsupportedOperationError,
    get_profile,
)
from smppgate.session import SessionPolicy


def test_devino_hosts_primary_first() -> None:
    assert [str(h) for h in DEVINO_PROMO.hosts] == ["194.226.179.12:2775", "194.226.179.13:2775"]
    assert [str(h) for h in DEVINO_TRANSACTIONAL.hosts] == [
        "194.226.179.10:2775",
        "194.226.179.11:2775",
    ]
    assert get_profile("devino-promo") is DEVINO_PROMO
    with pytest.raises(ValueError, match="known profiles"):
        get_profile("nope")


def test_platform_timers_and_limits() -> None:
    p = DEVINO_PROMO
    assert (p.reconnect_after_drop, p.reconnect_after_failure) == (60.0, 90.0)
    assert p.enquire_link_idle == 60.0
    assert p.max_sessions == 4
    assert p.min_validity == 60.0
    assert p.interface_version == 0x34
    assert p.system_type == ""
    # the page's mandatory Src_Addr_TON 0x05 / NPI 0x01, whatever the sender
    for sender in ("Devino", "+79001234567", "79001234567", "900"):
        assert p.addresses.source(sender) == (5, 1)
    assert (p.addresses.dest_ton, p.addresses.dest_npi) == (1, 1)


def test_smpp34_addressing_keeps_the_usual_conventions() -> None:
    a = SMPP34.addresses
    assert a.kind("Devino") is SenderKind.ALPHANUMERIC
    assert a.kind("+900") is SenderKind.INTERNATIONAL  # a + makes it international
    assert a.kind("79001234567") is SenderKind.INTERNATIONAL
    assert a.kind("12345678") is SenderKind.SHORT_CODE  # up to short_code_max_digits
    assert a.kind("\uff19\uff10\uff10") is SenderKind.ALPHANUMERIC  # fullwidth digits: not a number
    assert a.source("Devino") == (5, 0)
    assert a.source("+79001234567") == (1, 1)
    assert a.source("900") == (3, 0)
    assert a.with_source(1, 1).source("Devino") == (1, 1)


def test_devino_floors_live_in_the_profiles_not_in_retry_rules() -> None:
    seven = RetryRules(queue_full_delays=(1.0,) * 7, queue_full_max_retries=7)
    assert seven.queue_full_delay(7) == 1.0  # plain rules take any count
    for profile in (DEVINO_PROMO, DEVINO_TRANSACTIONAL, DEVINO_ONLINE):
        assert profile.queue_full_retries == (3, 5)
        with pytest.raises(ValueError, match=r"3\.\.5.*page point 14"):
            replace(profile, retry=seven)
        with pytest.raises(BelowPlatformMinimumError, match=r"reconnect_after_drop.*point 4"):
            replace(profile, reconnect_after_drop=10.0)
        with pytest.raises(BelowPlatformMinimumError, match=r"min_validity.*point 15"):
            replace(profile, min_validity=30.0)
        assert {m.key for m in profile.minimums} == {
            "reconnect_after_drop", "reconnect_after_failure", "enquire_link_idle",
            "min_validity",
        }  # fmt: skip
    # smpp34 has no floors: any count, any timer
    replace(SMPP34, retry=seven, reconnect_after_drop=0.1)


def test_devino_online_and_session_policies() -> None:
    online = get_profile("devino-online")
    assert [str(h) for h in online.hosts] == ["smpp.devino.online:2775"]
    for cid in (CommandId.QUERY_SM, CommandId.DATA_SM, CommandId.SUBMIT_MULTI):
        assert not online.supports(cid)
        with pytest.raises(UnsupportedOperationError):
            online.require(cid)
    assert online.supports(CommandId.SUBMIT_SM)
    assert DEVINO_PROMO.supports(CommandId.QUERY_SM)
    # Devino: every deliver_sm answered 0, never generic_nack; smpp34: generic_nack as 3.4 asks
    assert DEVINO_PROMO.session_policy() == SessionPolicy(
        answer_deliveries=True, answer_errors=False
    )
    assert SMPP34.session_policy() == SessionPolicy(answer_deliveries=True, answer_errors=True)


def test_retry_rules() -> None:
    rules = RetryRules()
    assert rules.classify(CommandStatus.ESME_RINVDSTADR) is RetryClass.PERMANENT
    assert rules.classify(CommandStatus.ESME_RTHROTTLED) is RetryClass.THROTTLED
    assert rules.classify(CommandStatus.ESME_RMSGQFUL) is RetryClass.QUEUE_FULL
    assert [rules.queue_full_delay(k) for k in range(1, 7)] == [5, 15, 45, 135, 405, None]
    assert RetryRules(queue_full_max_retries=3).queue_full_delay(4) is None
    with pytest.raises(ValueError, match="one delay per allowed retry"):
        RetryRules(queue_full_max_retries=7)


def test_host_parse() -> None:
    assert HostAddress.parse("127.0.0.1:2776") == HostAddress("127.0.0.1", 2776)
    assert HostAddress.parse("smsc.example") == HostAddress("smsc.example", 2775)
    assert HostAddress.parse("[::1]:2775") == HostAddress("::1", 2775)
    with pytest.raises(ValueError, match="HOST:PORT"):
        HostAddress.parse(":0")

"""The provider profiles carry the platform's rules (shared/seed/devino-smpp-en.md)."""

from __future__ import annotations

import pytest

from smppgate.pdu import CommandStatus, RetryClass
from smppgate.profiles import (
    DEVINO_PROMO,
    DEVINO_TRANSACTIONAL,
    HostAddress,
    RetryRules,
    get_profile,
)


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
    assert p.addresses.source("Devino") == (5, 1)
    assert p.addresses.source("+79001234567") == (1, 1)
    assert (p.addresses.dest_ton, p.addresses.dest_npi) == (1, 1)


def test_retry_rules() -> None:
    rules = RetryRules()
    assert rules.classify(CommandStatus.ESME_RINVDSTADR) is RetryClass.PERMANENT
    assert rules.classify(CommandStatus.ESME_RTHROTTLED) is RetryClass.THROTTLED
    assert rules.classify(CommandStatus.ESME_RMSGQFUL) is RetryClass.QUEUE_FULL
    assert [rules.queue_full_delay(k) for k in range(1, 7)] == [5, 15, 45, 135, 405, None]
    assert RetryRules(queue_full_max_retries=3).queue_full_delay(4) is None
    with pytest.raises(ValueError, match=r"3\.\.5"):
        RetryRules(queue_full_max_retries=7)


def test_host_parse() -> None:
    assert HostAddress.parse("127.0.0.1:2776") == HostAddress("127.0.0.1", 2776)
    assert HostAddress.parse("smsc.example") == HostAddress("smsc.example", 2775)
    assert HostAddress.parse("[::1]:2775") == HostAddress("::1", 2775)
    with pytest.raises(ValueError, match="HOST:PORT"):
        HostAddress.parse(":0")

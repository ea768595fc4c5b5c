"""send_at and quiet hours: reading RFC 3339 times, the windows' arithmetic, the
``[[quiet_hours]]`` configuration and what the intake makes of them (no store, a fixed clock)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from smppgate.service.config import ConfigError, GatewayConfig, parse_config
from smppgate.service.intake import Intake, MessageRequest, ValidationError, parse_send_at
from smppgate.service.quiet_hours import (
    QuietHours,
    WindowError,
    next_allowed,
    parse_offset,
    parse_window,
)
from smppgate.store import Store

#: 2023-11-14 22:13:20 UTC (01:13:20 on the 15th in Moscow, UTC+03:00)
NOW = 1_700_000_000.0
H = 3600


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# ------------------------------------------------------------------- send_at


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-15T09:00:00+03:00", utc("2023-11-15T06:00:00")),
        ("2023-11-15T06:00:00Z", utc("2023-11-15T06:00:00")),
        ("2023-11-15t06:00:00z", utc("2023-11-15T06:00:00")),
        ("2023-11-15 06:00:00.250Z", utc("2023-11-15T06:00:00") + 0.25),
        ("2023-11-14T20:00:00-05:30", utc("2023-11-15T01:30:00")),
    ],
)
def test_send_at_reads_rfc_3339_with_its_offset(text: str, expected: float) -> None:
    assert parse_send_at(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2023-11-15T09:00:00", "no UTC offset: add Z or e.g. +03:00"),
        ("2023-11-15", "RFC 3339"),
        ("tomorrow 9am", "RFC 3339"),
        ("1700000000", "RFC 3339"),
        ("2023-13-15T09:00:00Z", "not a valid time"),
        ("2023-11-15T09:00:00+3", "RFC 3339"),
    ],
)
def test_send_at_refuses_naive_and_unreadable_times(text: str, says: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_send_at(text)
    assert info.value.field == "send_at"
    assert says in info.value.message


# ------------------------------------------------------------------- windows


def test_a_day_window_opens_at_its_start_in_the_recipients_offset() -> None:
    moscow = QuietHours(9 * H, 21 * H, 3 * H)
    # 01:13 in Moscow: wait for 09:00 Moscow = 06:00 UTC
    assert moscow.opens_at(NOW) == utc("2023-11-15T06:00:00")
    assert moscow.opens_at(utc("2023-11-15T06:00:00")) is None  # the start is inside
    assert moscow.opens_at(utc("2023-11-15T17:59:59")) is None
    # 21:00 Moscow is outside: the next morning
    assert moscow.opens_at(utc("2023-11-15T18:00:00")) == utc("2023-11-16T06:00:00")


def test_a_window_over_midnight() -> None:
    night = QuietHours(22 * H, 6 * H)  # e.g. maintenance texts only at night, UTC
    assert night.opens_at(utc("2023-11-15T23:00:00")) is None
    assert night.opens_at(utc("2023-11-16T05:59:00")) is None
    assert night.opens_at(utc("2023-11-16T06:00:00")) == utc("2023-11-16T22:00:00")


def test_the_first_matching_rule_decides() -> None:
    rules = [
        QuietHours(10 * H, 18 * H, 3 * H, traffic_class="promo", prefix="7"),
        QuietHours(9 * H, 21 * H, 0, traffic_class="promo"),
    ]
    at = utc("2023-11-15T08:00:00")  # 11:00 Moscow, 08:00 UTC
    assert next_allowed(rules, "any", "promo", "79001234567", at) is None
    assert next_allowed(rules, "any", "promo", "4915112345678", at) == utc("2023-11-15T09:00:00")
    assert next_allowed(rules, "any", "transactional", "4915112345678", at) is None
    assert next_allowed(rules, "any", None, "79001234567", at) is None


@pytest.mark.parametrize(
    ("text", "expected"), [("09:00-21:00", (9 * H, 21 * H)), ("21:00-24:00", (21 * H, 24 * H))]
)
def test_windows_read(text: str, expected: tuple[int, int]) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["9-21", "09:00", "09:00-09:00", "25:00-26:00", "09:0-21:00"])
def test_bad_windows_say_what_to_write(text: str) -> None:
    with pytest.raises(WindowError):
        parse_window(text)


def test_offsets_read() -> None:
    assert parse_offset("+03:00") == 3 * H
    assert parse_offset("-05:30") == -(5 * H + 1800)
    assert parse_offset("Z") == 0
    for bad in ("+3", "03:00", "+15:00", "+03:60", "MSK"):
        with pytest.raises(WindowError):
            parse_offset(bad)


# ------------------------------------------------------------------- config


def config(quiet: list[dict[str, Any]]) -> GatewayConfig:
    account = {"system_id": "l", "password": "p", "hosts": ["127.0.0.1:2775"]}
    return parse_config(
        {
            "accounts": [
                {"name": "promo", "default_sender": "Shop", **account},
                {"name": "tx", "default_sender": "Shop", **account},
            ],
            "quiet_hours": quiet,
        },
        environ={},
    )


def test_quiet_hours_config() -> None:
    rules = config(
        [
            {"class": "promo", "send_between": "09:00-21:00", "utc_offset": "+03:00"},
            {"account": "tx", "prefix": "49", "send_between": "08:00-20:00"},
        ]
    ).quiet_hours
    assert rules == (
        QuietHours(9 * H, 21 * H, 3 * H, traffic_class="promo"),
        QuietHours(8 * H, 20 * H, 0, account="tx", prefix="49"),
    )


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ({"class": "promo"}, "quiet_hours[0].send_between"),
        ({"send_between": "9-21"}, "quiet_hours[0].send_between"),
        ({"send_between": "09:00-21:00", "utc_offset": "MSK"}, "quiet_hours[0].utc_offset"),
        ({"send_between": "09:00-21:00", "account": "nope"}, "quiet_hours[0].account"),
        ({"send_between": "09:00-21:00", "class": "spam"}, "quiet_hours[0].class"),
        ({"send_between": "09:00-21:00", "prefix": "+7"}, "quiet_hours[0].prefix"),
        ({"send_between": "09:00-21:00", "when": "never"}, "quiet_hours[0].when"),
    ],
)
def test_quiet_hours_config_errors_name_the_key(rule: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config([rule])
    assert info.value.key == key


# ------------------------------------------------------------------- intake


def intake(quiet: list[dict[str, Any]] | None = None) -> Intake:
    return Intake(config(quiet or []), cast(Store, object()), clock=lambda: NOW)


def test_send_at_ahead_schedules_the_message() -> None:
    message = intake().prepare(MessageRequest(to="79001234567", text="hi", send_at=NOW + 600))
    assert message.not_before == NOW + 600


def test_send_at_now_or_a_little_behind_sends_now() -> None:
    for send_at in (NOW, NOW - 60):
        message = intake().prepare(MessageRequest(to="79001234567", text="hi", send_at=send_at))
        assert message.not_before is None


@pytest.mark.parametrize(
    ("send_at", "says"),
    [
        (NOW + 31 * 86400, "at most 30 days ahead"),
        (NOW - 3600, "60 minutes in the past"),
    ],
)
def test_send_at_absurdly_far_is_refused(send_at: float, says: str) -> None:
    with pytest.raises(ValidationError) as info:
        intake().prepare(MessageRequest(to="79001234567", text="hi", send_at=send_at))
    assert info.value.field == "send_at"
    assert says in info.value.message


def test_a_message_due_in_quiet_hours_is_scheduled_for_the_windows_opening() -> None:
    quiet = [{"class": "promo", "send_between": "09:00-21:00", "utc_offset": "+03:00"}]
    promo = intake(quiet).prepare(
        MessageRequest(to="79001234567", text="sale", traffic_class="promo")
    )
    assert promo.not_before == utc("2023-11-15T06:00:00")
    # a send time inside the window is kept; one in the next night moves to the next morning
    at_noon = utc("2023-11-15T09:00:00")
    kept = intake(quiet).prepare(
        MessageRequest(to="79001234567", text="sale", traffic_class="promo", send_at=at_noon)
    )
    assert kept.not_before == at_noon
    night = utc("2023-11-15T19:00:00")  # 22:00 Moscow
    moved = intake(quiet).prepare(
        MessageRequest(to="79001234567", text="sale", traffic_class="promo", send_at=night)
    )
    assert moved.not_before == utc("2023-11-16T06:00:00")
    # another class goes at once
    otp = intake(quiet).prepare(
        MessageRequest(to="79001234567", text="code", traffic_class="transactional")
    )
    assert otp.not_before is None

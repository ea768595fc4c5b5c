"""The ops page's pure pieces: rates from counter samples, session and retry rows, the
receipt latency median, the error log and the search box's parsing. No event loop."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace

import pytest

from smppgate.client.pool import SlotSnapshot, SlotState
from smppgate.numbers import RUSSIA, DialPlan
from smppgate.profiles import SMPP34, HostAddress
from smppgate.service.ops import (
    ErrorLog,
    RateSampler,
    SearchError,
    host_role,
    match_rates,
    median_receipt_latency,
    parse_query,
    retry_row,
    search_numbers,
    session_row,
    waits_for_retry,
)
from smppgate.session import BindMode, CloseReason
from smppgate.store import MessageState, StoredMessage
from smppgate.store.models import PartStatus, ReceiptState, StoredPart

NOW = 1_800_000_000.0
HOSTS = (HostAddress("10.0.0.1", 2775), HostAddress("10.0.0.2", 2775))
MESSAGE_ID = "01JH8ZB1Q2W3E4R5T6Y7V8J9P0"


# ----------------------------------------------------------------------------- rates


def test_rates_are_per_interval_differences() -> None:
    rates = RateSampler()
    for at, submits, receipts in [(0.0, 0, 0), (1.0, 10, 0), (2.0, 30, 5), (4.0, 50, 25)]:
        rates.add(at, submits, receipts)
    assert rates.series() == {
        "t": [1.0, 2.0, 4.0],
        "submits": [10.0, 20.0, 10.0],
        "receipts": [0.0, 5.0, 10.0],
    }


def test_a_counter_that_went_down_counts_as_zero_and_equal_times_are_skipped() -> None:
    rates = RateSampler()
    rates.add(0.0, 100, 100)
    rates.add(0.0, 200, 200)  # same instant: no interval
    rates.add(1.0, 5, 5)  # a new metrics object started from zero
    assert rates.series() == {"t": [1.0], "submits": [0.0], "receipts": [0.0]}


def test_the_ring_keeps_the_last_samples_only() -> None:
    rates = RateSampler(capacity=3)
    for i in range(10):
        rates.add(float(i), i * 2, i)
    assert rates.series()["t"] == [8.0, 9.0]


def test_recent_rates_average_over_the_last_seconds() -> None:
    rates = RateSampler()
    assert rates.recent_rates() == (0.0, 0.0)
    rates.add(0.0, 0, 0)
    assert rates.recent_rates() == (0.0, 0.0)
    for i in range(1, 11):
        rates.add(float(i), 100 * i if i <= 5 else 500 + 10 * (i - 5), i)
    # the last 5 s: 500 -> 550 submits, 5 -> 10 receipts
    assert rates.recent_rates(5.0) == (10.0, 1.0)
    # a window longer than the history uses all of it
    assert rates.recent_rates(60.0) == (55.0, 1.0)


# ----------------------------------------------------------------------------- sessions


def _slot(**changes: object) -> SlotSnapshot:
    base = SlotSnapshot(
        slot=0,
        mode=BindMode.TRANSCEIVER,
        state=SlotState.BOUND,
        host="10.0.0.1:2775",
        window_used=3,
        window_size=10,
        queued=0,
        paused_for=0.0,
        cooldown_left=0.0,
        reconnects=2,
        failures=1,
        last_error=None,
        last_close_reason=CloseReason.CONNECTION_LOST,
        last_received_ago=1.234,
    )
    return base._replace(**changes)


def _row(slot: SlotSnapshot, last_host: str | None = None) -> dict[str, object]:
    return session_row(slot, HOSTS, drop_cooldown=60.0, failure_cooldown=90.0, last_host=last_host)


def test_host_role_is_primary_for_the_first_host_only() -> None:
    assert host_role("10.0.0.1:2775", HOSTS) == "primary"
    assert host_role("10.0.0.2:2775", HOSTS) == "backup"
    assert host_role("10.9.9.9:2775", HOSTS) is None
    assert host_role(None, HOSTS) is None


def test_a_bound_session_row() -> None:
    row = _row(_slot())
    assert row["state"] == "bound"
    assert row["mode"] == "trx"
    assert row["host"] == "10.0.0.1:2775"
    assert row["host_current"] is True
    assert row["role"] == "primary"
    assert (row["window_used"], row["window_size"]) == (3, 10)
    assert row["last_pdu_ago"] == 1.2
    assert row["reconnects"] == 2
    assert row["cooldown_left"] == 0.0
    assert row["cooldown_total"] is None
    assert row["last_close_reason"] == "connection_lost"


def test_a_session_cooling_down_after_a_drop_shows_the_60_s_wait() -> None:
    slot = _slot(state=SlotState.WAITING, host=None, cooldown_left=41.26, last_received_ago=None)
    row = _row(slot, last_host="10.0.0.2:2775")
    assert row["state"] == "cooling_down"
    assert row["cooldown_reason"] == "drop"
    assert row["cooldown_left"] == 41.3
    assert row["cooldown_total"] == 60.0
    # the host it was last on stands in, marked as not current
    assert (row["host"], row["host_current"], row["role"]) == ("10.0.0.2:2775", False, "backup")
    assert row["last_pdu_ago"] is None


def test_a_session_cooling_down_after_a_failed_attempt_shows_the_90_s_wait() -> None:
    slot = _slot(state=SlotState.WAITING, host=None, cooldown_left=80.0, last_error="refused")
    row = _row(slot)
    assert (row["state"], row["cooldown_reason"], row["cooldown_total"]) == (
        "cooling_down",
        "failed attempt",
        90.0,
    )
    assert row["host"] is None


def test_jitter_never_makes_the_time_left_exceed_the_total() -> None:
    row = _row(_slot(state=SlotState.WAITING, host=None, cooldown_left=64.5))
    assert row["cooldown_left"] == 64.5
    assert row["cooldown_total"] == 64.5


@pytest.mark.parametrize(
    ("state", "left", "shown"),
    [
        (SlotState.WAITING, 0.0, "waiting"),
        (SlotState.CONNECTING, 0.0, "connecting"),
        (SlotState.DRAINING, 0.0, "draining"),
        (SlotState.STOPPED, 0.0, "stopped"),
    ],
)
def test_other_states_pass_through(state: SlotState, left: float, shown: str) -> None:
    row = _row(_slot(state=state, cooldown_left=left))
    assert row["state"] == shown
    assert row["cooldown_left"] == 0.0
    assert row["cooldown_reason"] is None


# ----------------------------------------------------------------------------- retries


def _message(**changes: object) -> StoredMessage:
    base = StoredMessage(
        id=MESSAGE_ID,
        account="promo",
        source="Shop",
        destination="79001234567",
        text="hi",
        encoding="gsm7",
        split_method="udh",
        validity_seconds=None,
        callback_url=None,
        client_reference=None,
        resend_unknown=False,
        traffic_class=None,
        priority=0,
        idempotency_key=None,
        idempotency_scope="",
        state=MessageState.QUEUED,
        created_at=NOW - 100,
        updated_at=NOW - 5,
        next_attempt_at=NOW + 12.34,
        attempts=0,
        qfull_retries=0,
        throttled_retries=0,
        last_status=None,
        last_status_name=None,
        part_count=1,
        leased_by=None,
        lease_until=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_throttled_message_waits_with_its_count() -> None:
    message = _message(attempts=3, throttled_retries=3, last_status=0x58,
                       last_status_name="ESME_RTHROTTLED")  # fmt: skip
    row = retry_row(message, SMPP34, NOW)
    assert row["reason"] == "throttled"
    assert row["detail"] == "throttled (3x)"
    assert row["in"] == 12.3
    assert row["next_attempt_at"] == NOW + 12.34


@pytest.mark.parametrize(("k", "pause"), [(1, "5"), (2, "15"), (3, "45")])
def test_a_queue_full_message_shows_its_5_15_45_s_pause(k: int, pause: str) -> None:
    message = _message(attempts=k, qfull_retries=k, last_status=0x14,
                       last_status_name="ESME_RMSGQFUL")  # fmt: skip
    row = retry_row(message, SMPP34, NOW)
    assert row["reason"] == "queue_full"
    assert row["detail"] == f"queue full {k} of 5, {pause} s"


def test_a_transient_failure_counts_retries_as_the_dispatcher_does() -> None:
    # first attempt + 1 queue-full retry + 1 throttled + 2 transient retries = 5 attempts
    message = _message(attempts=5, qfull_retries=1, throttled_retries=1, last_status=0x08,
                       last_status_name="ESME_RSYSERR")  # fmt: skip
    row = retry_row(message, SMPP34, NOW)
    assert row["reason"] == "transient"
    assert row["detail"] == "transient 2 of 4 (ESME_RSYSERR)"
    no_response = retry_row(_message(attempts=1), SMPP34, NOW)
    assert no_response["detail"] == "transient 0 of 4 (no response)"


def test_a_message_scheduled_for_later_is_not_a_retry_but_is_shown_as_scheduled() -> None:
    message = _message(next_attempt_at=NOW + 600)
    assert waits_for_retry(message, NOW)
    assert retry_row(message, SMPP34, NOW)["reason"] == "scheduled"


def test_which_messages_wait_for_a_retry() -> None:
    assert not waits_for_retry(_message(next_attempt_at=NOW), NOW)  # fresh, due now
    assert waits_for_retry(_message(attempts=1, next_attempt_at=NOW - 1), NOW)
    assert not waits_for_retry(_message(attempts=1, state=MessageState.SENDING), NOW)


def test_time_left_is_never_negative() -> None:
    row = retry_row(_message(attempts=1, next_attempt_at=NOW - 3), SMPP34, NOW)
    assert row["in"] == 0.0


# ----------------------------------------------------------------------------- receipts


def _part(seq: int, submitted_at: float | None, receipt_at: float | None) -> StoredPart:
    return StoredPart(
        seq=seq, short_message=b"x", esm_class=0, data_coding=0, sar_ref=None, sar_total=None,
        sar_seq=None, message_payload=None,
        status=PartStatus.ACCEPTED if submitted_at else PartStatus.PLANNED,
        attempts=1, smsc_message_id="1" if submitted_at else None, sent_at=submitted_at,
        submitted_at=submitted_at,
        receipt_state=ReceiptState.DELIVERED if receipt_at else None, receipt_at=receipt_at,
        error_code=None, last_status=None, last_status_name=None,
    )  # fmt: skip


def test_median_receipt_latency_over_parts_with_both_times() -> None:
    messages = [
        _message(parts=(_part(1, NOW, NOW + 1.0), _part(2, NOW, NOW + 3.0))),
        _message(parts=(_part(1, NOW, NOW + 2.0), _part(2, NOW, None), _part(3, None, None))),
        _message(parts=(_part(1, NOW, NOW - 0.5),)),  # a clock step back counts as zero
    ]
    assert median_receipt_latency(messages) == (1.5, 4)
    assert median_receipt_latency([]) == (None, 0)
    assert median_receipt_latency([_message(parts=(_part(1, NOW, None),))]) == (None, 0)


def test_match_rates_count_receipts_applied_late_as_matched() -> None:
    assert match_rates(0, 0, 0) == (None, None)
    # 10 received, 4 came before their submit_sm_resp was stored, 1 still has no message
    assert match_rates(10, 4, 1) == (0.9, 0.6)
    # receipts kept from before this process started never make the rate negative
    assert match_rates(2, 2, 50) == (0.0, 0.0)


# ----------------------------------------------------------------------------- errors


def _record(level: int, message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("smppgate.client", level, __file__, 1, message, args, None)


def test_the_error_log_keeps_the_last_warnings_newest_first() -> None:
    log = ErrorLog(capacity=2)
    log.handle(_record(logging.INFO, "bound"))  # below the level: not kept
    log.handle(_record(logging.WARNING, "slot %d: %s", 0, "refused"))
    log.handle(_record(logging.ERROR, "second"))
    log.handle(_record(logging.ERROR, "third"))
    entries = log.entries()
    assert [e["message"] for e in entries] == ["third", "second"]
    assert entries[0]["level"] == "ERROR"
    assert entries[0]["logger"] == "smppgate.client"


def test_the_error_log_names_the_exception_and_survives_a_bad_format() -> None:
    log = ErrorLog()
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError:
        record = logging.LogRecord(
            "smppgate", logging.ERROR, __file__, 1, "lost", None, sys.exc_info()
        )
    log.handle(record)
    log.handle(_record(logging.WARNING, "%d items", "not a number"))
    newest, oldest = log.entries()
    assert oldest["message"] == "lost: ConnectionResetError: peer went away"
    assert newest["message"] == "%d items"


# ----------------------------------------------------------------------------- search


def test_a_message_id_is_found_in_any_case() -> None:
    assert parse_query(f"  {MESSAGE_ID.lower()} ") == ("id", MESSAGE_ID)


@pytest.mark.parametrize(
    "query", ["79001234567", "+79001234567", "+7 900 123-45-67", " 7900 1234567 "]
)
def test_a_number_is_searched_as_stored_digits(query: str) -> None:
    assert parse_query(query) == ("destination", "79001234567")


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ("8 900 123-45-67", {"89001234567", "79001234567"}),
        ("8 (900) 123 45 67", {"89001234567", "79001234567"}),
        ("+7 900 123 45 67", {"79001234567"}),
        ("900 123 45 67", {"9001234567", "79001234567"}),
        ("1234", {"1234"}),  # a short code no plan reads: its digits as typed
    ],
)
def test_a_number_is_read_by_the_dial_plans(query: str, numbers: set[str]) -> None:
    assert search_numbers(query, [RUSSIA]) == numbers


def test_each_plan_reads_the_number_its_way() -> None:
    belarus = DialPlan(
        country_code="375",
        trunk_prefix="80",
        international_prefixes=("810",),
        national_lengths=(9,),
        national_first_digits="",
    )
    assert search_numbers("8 029 123-45-67", [RUSSIA, belarus]) == {
        "80291234567",
        "375291234567",
    }


@pytest.mark.parametrize("query", ["", "hello", "12", "7900abc", "'; DROP TABLE", "+" * 5])
def test_anything_else_is_refused(query: str) -> None:
    with pytest.raises(SearchError):
        parse_query(query)

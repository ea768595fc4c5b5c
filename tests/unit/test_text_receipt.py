"""Delivery receipts: every record of dlr-receipts.jsonl, id matching, the formatter."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from smppgate.text import (
    DeliveryState,
    Receipt,
    canonical_message_id,
    format_receipt,
    message_id_keys,
    message_ids_match,
    parse_receipt,
    parse_receipt_date,
)

DATA = Path(__file__).resolve().parents[1] / "data"
RECORDS: list[dict[str, Any]] = [
    json.loads(line)
    for line in (DATA / "dlr-receipts.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]
FIELDS = ("id", "sub", "dlvrd", "submit_date", "done_date", "stat", "err", "text")
TLV_RECEIPTED_MESSAGE_ID = "0x001E"
TLV_MESSAGE_STATE = "0x0427"


def _parse(record: dict[str, Any]) -> Receipt:
    tlvs = record["tlvs"] or {}
    return parse_receipt(
        record["text"], tlvs.get(TLV_RECEIPTED_MESSAGE_ID), tlvs.get(TLV_MESSAGE_STATE)
    )


def test_fixture_file_is_complete() -> None:
    assert len(RECORDS) == 48
    assert sum(1 for r in RECORDS if r.get("lenient")) == 1


@pytest.mark.parametrize("record", RECORDS, ids=[f"r{i:02d}" for i in range(len(RECORDS))])
def test_receipt_record(record: dict[str, Any]) -> None:
    receipt = _parse(record)
    assert {name: getattr(receipt, name) for name in FIELDS} == record["expect"]
    assert receipt.raw == record["text"]
    assert receipt.error is None
    tlvs = record["tlvs"] or {}
    if TLV_MESSAGE_STATE in tlvs:
        assert receipt.state == DeliveryState(tlvs[TLV_MESSAGE_STATE])
    else:
        assert receipt.state is DeliveryState.from_stat_word(record["expect"]["stat"])
    if record["expect"]["stat"] is not None:
        assert receipt.state is not None
        assert receipt.state.stat_word == record["expect"]["stat"].upper()
    tlv_id = tlvs.get(TLV_RECEIPTED_MESSAGE_ID)
    text_id = record["expect"]["id"]
    if tlv_id is not None:
        assert receipt.message_id == tlv_id
        if text_id is not None:
            # The fixture's TLV id and text id always name the same message.
            assert message_ids_match(tlv_id, text_id)
            assert canonical_message_id(tlv_id) in message_id_keys(text_id) or (
                canonical_message_id(text_id) in message_id_keys(tlv_id)
            )
    elif text_id is not None:
        assert receipt.message_id == text_id
    for raw, parsed in (
        (receipt.submit_date, receipt.submitted_at),
        (receipt.done_date, receipt.done_at),
    ):
        if raw is not None:
            assert parsed is not None, raw


def test_lenient_record_takes_fields_after_empty_text() -> None:
    (record,) = [r for r in RECORDS if r.get("lenient")]
    receipt = _parse(record)
    assert (receipt.stat, receipt.text, receipt.state) == ("DELIVRD", "", DeliveryState.DELIVERED)


def test_text_is_rest_of_string_when_labels_already_seen() -> None:
    receipt = parse_receipt("id:1 stat:DELIVRD text:a stat:X err:5")
    assert (receipt.stat, receipt.err, receipt.text) == ("DELIVRD", None, "a stat:X err:5")


def test_label_inside_a_word_is_not_a_label() -> None:
    receipt = parse_receipt("msgid:99 id:7 stat:DELIVRD")
    assert receipt.id == "7"


def test_repeated_label_keeps_first() -> None:
    assert parse_receipt("id:1 id:2 stat:ACCEPTD").id == "1"


def test_bytes_are_read_as_latin1() -> None:
    receipt = parse_receipt(b"id:1 stat:DELIVRD text:caf\xe9")
    assert receipt.text == "café"


@pytest.mark.parametrize(
    ("text", "tlv_id", "tlv_state", "error"),
    [
        ("", None, None, "empty receipt"),
        ("hello there", None, None, "no receipt fields found"),
        ("stat:DELIVRD", None, None, "no message id"),
        ("id:5 stat:GONE", None, None, "unrecognised stat word 'GONE'"),
        ("id:5", None, None, "no stat and no message_state"),
        ("id:5", None, 9, "unrecognised message_state 9"),
        ("sub:001", None, None, "no message id; no stat and no message_state"),
    ],
)
def test_unusable_receipts_keep_raw_and_say_why(
    text: str, tlv_id: str | None, tlv_state: int | None, error: str
) -> None:
    receipt = parse_receipt(text, tlv_id, tlv_state)
    assert receipt.raw == text
    assert receipt.error == error


def test_tlv_only_receipt() -> None:
    receipt = parse_receipt("", "0000ABCD", 2)
    assert receipt.error is None
    assert receipt.message_id == "0000ABCD"
    assert receipt.state is DeliveryState.DELIVERED
    assert "abcd" in receipt.match_keys
    assert str(0xABCD) in receipt.match_keys


def test_message_state_tlv_wins_over_stat_word() -> None:
    assert parse_receipt("id:1 stat:ENROUTE", None, 5).state is DeliveryState.UNDELIVERABLE


def test_unknown_message_state_falls_back_to_stat_word() -> None:
    receipt = parse_receipt("id:1 stat:DELIVRD", None, 0)
    assert receipt.state is DeliveryState.DELIVERED
    assert receipt.error is None


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("DELIVRD", DeliveryState.DELIVERED),
        ("expired", DeliveryState.EXPIRED),
        ("Deleted", DeliveryState.DELETED),
        ("UNDELIV", DeliveryState.UNDELIVERABLE),
        ("ACCEPTD", DeliveryState.ACCEPTED),
        ("UNKNOWN", DeliveryState.UNKNOWN),
        ("REJECTD", DeliveryState.REJECTED),
        ("ENROUTE", DeliveryState.ENROUTE),
        ("DELIVERED", DeliveryState.DELIVERED),
        ("UNDELIVERABLE", DeliveryState.UNDELIVERABLE),
        ("nope", None),
    ],
)
def test_stat_words(word: str, state: DeliveryState | None) -> None:
    assert DeliveryState.from_stat_word(word) is state


def test_message_state_values_follow_spec_a9() -> None:
    assert [s.value for s in DeliveryState] == list(range(1, 9))
    assert [DeliveryState.from_message_state(v) for v in (0, 9, 255)] == [None, None, None]
    assert not DeliveryState.ENROUTE.is_final
    assert all(s.is_final for s in DeliveryState if s is not DeliveryState.ENROUTE)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("2302101454", datetime(2023, 2, 10, 14, 54)),
        ("9912312359", datetime(1999, 12, 31, 23, 59)),
        ("3701010000", datetime(2037, 1, 1, 0, 0)),
        ("211125034959", datetime(2021, 11, 25, 3, 49, 59)),
        ("201906190720", datetime(2019, 6, 19, 7, 20)),  # Jasmin YYYYMMDDhhmm
        ("20110314181534", datetime(2011, 3, 14, 18, 15, 34)),
        ("180711070003912+", datetime(2018, 7, 11, 7, 0, 3)),
        ("2302101499", None),
        ("23021014", None),
        ("abcdefghij", None),
        ("", None),
    ],
)
def test_receipt_dates(raw: str, parsed: datetime | None) -> None:
    assert parse_receipt_date(raw) == parsed


class TestMessageIds:
    @pytest.mark.parametrize(
        ("submitted", "receipted"),
        [
            ("38601fa", "59113978"),
            ("59113978", "38601FA"),
            ("038601fa", "38601FA"),
            ("0059113978", "59113978"),
            ("71A7", "0000029095"),
            ("1d305b4c", "0489708364"),
            (" abc-DEF ", "abc-def"),
            ("2E179B310EDE971B2760C72B7F026E1B", "2e179b310ede971b2760c72b7f026e1b"),
        ],
    )
    def test_same_message(self, submitted: str, receipted: str) -> None:
        assert message_ids_match(submitted, receipted)
        assert message_ids_match(receipted, submitted)

    @pytest.mark.parametrize(
        ("submitted", "receipted"),
        [("12345", "12346"), ("abc-def", "abc-deg"), ("", ""), ("7", "")],
    )
    def test_different_messages(self, submitted: str, receipted: str) -> None:
        assert not message_ids_match(submitted, receipted)

    def test_keys(self) -> None:
        assert message_id_keys("0059113978") == frozenset({"59113978", "38601fa", str(0x59113978)})
        assert message_id_keys("38601FA") == frozenset({"38601fa", "59113978"})
        assert message_id_keys("1010d937-8f43") == frozenset({"1010d937-8f43"})
        assert message_id_keys("  ") == frozenset()
        assert message_id_keys("000") == frozenset({"0"})

    def test_canonical(self) -> None:
        assert canonical_message_id(" 00ABC ") == "abc"
        assert canonical_message_id("00-1") == "00-1"


class TestFormat:
    def test_spec_example(self) -> None:
        text = format_receipt(
            "1234567890",
            DeliveryState.DELIVERED,
            datetime(2025, 1, 1, 12, 0),
            datetime(2025, 1, 1, 12, 1),
        )
        (record,) = [r for r in RECORDS if r["text"].startswith("id:1234567890 ")]
        assert text == record["text"]

    def test_round_trip(self) -> None:
        text = format_receipt(
            "abc",
            DeliveryState.UNDELIVERABLE,
            datetime(2024, 2, 29, 23, 59),
            datetime(2024, 3, 1, 0, 5),
            err=21,
            text="a message longer than twenty characters",
            sub=2,
        )
        receipt = parse_receipt(text)
        assert receipt.error is None
        assert (receipt.id, receipt.sub, receipt.dlvrd, receipt.err) == ("abc", "002", "000", "021")
        assert receipt.state is DeliveryState.UNDELIVERABLE
        assert receipt.text == "a message longer tha"
        assert receipt.submitted_at == datetime(2024, 2, 29, 23, 59)

    def test_string_err_kept(self) -> None:
        text = format_receipt(
            "1", DeliveryState.REJECTED, datetime(2025, 1, 1), datetime(2025, 1, 1), err="21b"
        )
        assert " err:21b " in text

"""Intake validation and planning: no event loop, no store access (prepare only)."""

from __future__ import annotations

from typing import cast

import pytest

from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.intake import (
    Intake,
    MessageRequest,
    PreviewRequest,
    UssdFields,
    UssdRequest,
    ValidationError,
    check_destination,
    check_sender,
    ussd_service_op,
)
from smppgate.store import Store
from smppgate.text import Encoding, ItsSessionInfo, SplitMethod, UssdServiceOp


def config(**account: object) -> GatewayConfig:
    base: dict[str, object] = {
        "name": "promo",
        "system_id": "login",
        "password": "pw",
        "hosts": ["127.0.0.1:2775"],
        "default_sender": "Shop",
    }
    base.update(account)
    other = {"name": "tx", "system_id": "tx", "password": "pw", "hosts": ["127.0.0.1:2776"]}
    return parse_config({"accounts": [base, other]}, environ={})


@pytest.fixture
def intake() -> Intake:
    # prepare() and preview() never touch the store
    return Intake(config(), cast(Store, object()), clock=lambda: 1_700_000_000.0)


def field_of(intake: Intake, request: MessageRequest) -> str:
    with pytest.raises(ValidationError) as info:
        intake.prepare(request)
    return info.value.field


def test_plain_message_uses_account_defaults(intake: Intake) -> None:
    message = intake.prepare(MessageRequest(to="+79001234567", text="hello"))
    assert message.account == "promo"
    assert message.destination == "79001234567"
    assert message.source == "Shop"
    assert message.encoding == "gsm7"
    assert message.split_method == "udh"
    assert len(message.parts) == 1
    part = message.parts[0]
    assert part.short_message == b"hello"
    assert part.esm_class == 0
    assert part.sar_ref is None
    assert part.message_payload is None


def test_udh_split_parts_carry_the_header(intake: Intake) -> None:
    message = intake.prepare(MessageRequest(to="79001234567", text="x" * 200))
    assert [p.seq for p in message.parts] == [1, 2]
    assert all(p.esm_class == 0x40 for p in message.parts)
    assert all(p.short_message[:3] == b"\x05\x00\x03" for p in message.parts)
    # one reference for both parts
    assert message.parts[0].short_message[3] == message.parts[1].short_message[3]


def test_sar_split_fills_sar_fields(intake: Intake) -> None:
    message = intake.prepare(
        MessageRequest(to="79001234567", text="я" * 100, split=SplitMethod.SAR)
    )
    assert message.encoding == "ucs2"
    assert [(p.sar_total, p.sar_seq) for p in message.parts] == [(2, 1), (2, 2)]
    assert message.parts[0].sar_ref == message.parts[1].sar_ref
    assert all(p.data_coding == 8 for p in message.parts)


def test_payload_split_is_one_part_with_payload(intake: Intake) -> None:
    message = intake.prepare(
        MessageRequest(to="79001234567", text="y" * 400, split=SplitMethod.PAYLOAD)
    )
    assert len(message.parts) == 1
    assert message.parts[0].short_message == b""
    assert message.parts[0].message_payload == b"y" * 400


def test_consecutive_multipart_messages_to_one_destination_get_distinct_references(
    intake: Intake,
) -> None:
    refs = {
        intake.prepare(MessageRequest(to="79001234567", text="z" * 300)).parts[0].short_message[3]
        for _ in range(50)
    }
    assert len(refs) == 50


def test_two_accounts_never_share_a_reference_in_flight_to_one_destination(
    intake: Intake,
) -> None:
    """A handset reassembles by sender and reference, whichever account sent a part: a
    reference still in flight to a person from one account is not handed to another account
    for the same person, even after the rotating cursor came round to it."""

    def reference(account: str, to: str) -> int:
        request = MessageRequest(to=to, text="z" * 300, sender="Shop", account=account)
        return intake.prepare(request).parts[0].short_message[3]

    first = reference("promo", "79001234567")  # in flight: never released here
    for i in range(255):  # other people: the cursor comes round to `first` again
        reference("promo", f"7900200{i:04d}")
    assert reference("tx", "79001234567") != first


def test_a_udh_and_a_sar_message_to_one_person_never_share_a_reference(intake: Intake) -> None:
    """One allocation space per destination across both methods: a handset reassembling by
    (sender, reference) would otherwise mix a UDH-split and a SAR-split message both holding
    reference 0, and a front-door application's SAR set gets its reference from here too."""
    udh = intake.prepare(MessageRequest(to="79001234567", text="z" * 300))
    sar = intake.prepare(MessageRequest(to="79001234567", text="z" * 300, split=SplitMethod.SAR))
    front_door = intake.concatenation_reference(SplitMethod.SAR, "79001234567")
    udh_ref = udh.parts[0].short_message[3]
    assert len({udh_ref, sar.parts[0].sar_ref, front_door}) == 3
    # a UDH reference stays within its 8 bits even when SAR moved the cursor past them
    for _ in range(300):
        intake.concatenation_reference(SplitMethod.SAR, "79009999999")
    assert intake.concatenation_reference(SplitMethod.UDH, "79001234567") < 256


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (MessageRequest(to="8900", text="hi"), "to"),
        (MessageRequest(to="+7900abc4567", text="hi"), "to"),
        (MessageRequest(to="1234567890123456", text="hi"), "to"),
        (MessageRequest(to="79001234567", text=""), "text"),
        (MessageRequest(to="79001234567", text="x" * 1531), "text"),
        (MessageRequest(to="79001234567", text="x" * 1600), "text"),
        (MessageRequest(to="79001234567", text="hi", account="nope"), "account"),
        (MessageRequest(to="79001234567", text="hi", validity=59), "validity"),
        (MessageRequest(to="79001234567", text="hi", validity=7 * 86400 + 1), "validity"),
        (MessageRequest(to="79001234567", text="hi", sender="TwelveLetters"), "from"),
        (MessageRequest(to="79001234567", text="hi", sender="1234567890123456"), "from"),
        (MessageRequest(to="79001234567", text="hi", sender="Магазин"), "from"),
        (MessageRequest(to="79001234567", text="hi", callback_url="ftp://x/y"), "callback_url"),
        (MessageRequest(to="79001234567", text="hi", callback_url="http://"), "callback_url"),
        (MessageRequest(to="79001234567", text="hi", encoding=Encoding.BINARY), "encoding"),
        (MessageRequest(to="79001234567", text="hi", reference="r" * 129), "reference"),
        (MessageRequest(to="79001234567", text="hi", account="tx"), "from"),
    ],
)
def test_invalid_fields_are_named(intake: Intake, request_: MessageRequest, field: str) -> None:
    assert field_of(intake, request_) == field


def test_unencodable_character_names_it_and_its_position(intake: Intake) -> None:
    with pytest.raises(ValidationError) as info:
        intake.prepare(MessageRequest(to="79001234567", text="abc€я", encoding=Encoding.GSM7))
    assert info.value.field == "text"
    assert "'я'" in info.value.message
    assert "position 4" in info.value.message


def test_too_many_parts_says_the_limit() -> None:
    small = Intake(config(max_parts=2), cast(Store, object()))
    with pytest.raises(ValidationError) as info:
        small.prepare(MessageRequest(to="79001234567", text="x" * 307))
    assert info.value.field == "text"
    assert "3 parts" in info.value.message
    assert "at most 2" in info.value.message


def test_validity_bounds_are_inclusive(intake: Intake) -> None:
    assert intake.prepare(MessageRequest(to="79001234567", text="a", validity=60)).validity_seconds
    assert intake.prepare(
        MessageRequest(to="79001234567", text="a", validity=7 * 86400)
    ).validity_seconds == (7 * 86400)


@pytest.mark.parametrize(
    ("sender", "stored"),
    [("+79001234567", "79001234567"), ("123456789012345", "123456789012345"),
     ("Shop-24 ok", "Shop-24 ok"), ("ABCDEFGHIJK", "ABCDEFGHIJK")],
)  # fmt: skip
def test_valid_senders(sender: str, stored: str) -> None:
    assert check_sender(sender) == stored


def test_destination_keeps_digits_only() -> None:
    assert check_destination(" +79001234567 ") == "79001234567"
    assert check_destination("1234567") == "1234567"


def test_preview_reports_forcing_characters(intake: Intake) -> None:
    result = intake.preview(PreviewRequest(text="Привет hello"))
    assert result.encoding is Encoding.UCS2
    assert result.parts == 1
    assert result.units_left == 70 - 12
    assert set(result.forcing_characters) == set("Привет")


def test_preview_with_explicit_encoding_refuses_unencodable(intake: Intake) -> None:
    with pytest.raises(ValidationError) as info:
        intake.preview(PreviewRequest(text="hi ☃", encoding=Encoding.LATIN1))
    assert info.value.field == "text"
    assert "position 3" in info.value.message


def test_ussd_keeps_op_and_session_in_their_columns(intake: Intake) -> None:
    session = ItsSessionInfo(10, 1, end_of_session=True)
    message = intake.prepare_ussd(
        UssdRequest(
            to="79001234567",
            text="Balance: 10",
            service_op=int(UssdServiceOp.PSSR_RESPONSE),
            session=session,
        )
    )
    assert len(message.parts) == 1
    assert message.ussd_service_op == 17
    assert message.its_session_info == session.to_bytes()
    assert message.traffic_class is None


def test_ussd_fields_of_messages_stored_by_version_1() -> None:
    session = ItsSessionInfo(10, 1, end_of_session=True)
    legacy = UssdFields.from_legacy("ussd;op=17;its=" + session.to_bytes().hex())
    assert legacy == UssdFields(17, session)
    assert legacy is not None
    assert legacy.service_type == "USSD"
    assert UssdFields.from_legacy("ussd;op=2") == UssdFields(2)
    assert UssdFields.from_legacy(None) is None
    assert UssdFields.from_legacy("promo") is None


def test_ussd_text_must_fit_one_part(intake: Intake) -> None:
    with pytest.raises(ValidationError) as info:
        intake.prepare_ussd(UssdRequest(to="79001234567", text="x" * 161, service_op=2))
    assert info.value.field == "text"
    assert "160" in info.value.message


def test_ussd_op_names() -> None:
    assert ussd_service_op("pssr_response") == 17
    assert ussd_service_op("3") == 3
    with pytest.raises(ValidationError) as info:
        ussd_service_op("hello")
    assert info.value.field == "op"


def test_batch_error_names_the_item() -> None:
    error = ValidationError("to", "bad").within("messages[3]")
    assert error.field == "messages[3].to"

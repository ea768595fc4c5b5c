"""Numbers as people type them (smppgate.numbers): a table of real-world inputs, the dial plan's
configuration, the SMPP readings, senders by TON, and the tables checked against
libphonenumber (the field's well-kept library, used here only as the reference)."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from smppgate.numbers import (
    COUNTRY_CODES,
    RUSSIA,
    DialPlan,
    NumberError,
    NumberProblem,
    SenderError,
    SenderProblem,
    check_sender,
    country_code_of,
    international,
    national,
    normalize,
)
from smppgate.pdu import Ton
from smppgate.profiles import DEVINO_PROMO, SMPP34, AddressPolicy

# ------------------------------------------------------------------ real-world inputs

#: fullwidth digits and plus (U+FF10.., U+FF0B), as an East Asian keyboard types them
FULLWIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789+"}
#: Arabic-Indic digits (U+0660..)
ARABIC = {ord(c): 0x0660 + int(c) for c in "0123456789"}

ACCEPTED = [
    # Russia, the ways people write it
    ("8 900 123-45-67", "79001234567"),
    ("8 (900) 123-45-67", "79001234567"),
    ("8(900)1234567", "79001234567"),
    ("8-900-123-45-67", "79001234567"),
    ("8.900.123.45.67", "79001234567"),
    ("89001234567", "79001234567"),
    ("+7 (900) 123 45 67", "79001234567"),
    ("+7 900 123-45-67", "79001234567"),
    ("+79001234567", "79001234567"),
    ("79001234567", "79001234567"),
    ("7 900 123 45 67", "79001234567"),
    ("900 123 45 67", "79001234567"),
    ("9001234567", "79001234567"),
    ("007 900 123 45 67", "79001234567"),
    ("0079001234567", "79001234567"),
    ("8107 900 123 45 67", "79001234567"),
    ("  +7 900 123 45 67  ", "79001234567"),
    ("8 (812) 123-45-67", "78121234567"),  # St Petersburg, a fixed line
    ("812 123 45 67", "78121234567"),
    ("8 800 555-35-35", "78005553535"),  # toll free
    ("+7 (495) 123-45-67", "74951234567"),
    ("8 701 123 45 67", "77011234567"),  # Kazakhstan shares +7 and the trunk 8
    # foreign numbers
    ("+44 20 7946 0958", "442079460958"),
    ("+44 (0)20 7946 0958", "442079460958"),
    ("+44 (0) 20 7946 0958", "442079460958"),
    ("00 44 20 7946 0958", "442079460958"),
    ("810 44 20 7946 0958", "442079460958"),
    ("8 10 44 20 7946 0958", "442079460958"),
    ("442079460958", "442079460958"),
    ("+1 (202) 555-0123", "12025550123"),
    ("+1.202.555.0123", "12025550123"),
    ("+375 29 123-45-67", "375291234567"),
    ("+84 912 345 678", "84912345678"),
    ("+683 4002", "6834002"),  # Niue: 7 digits, E.164's shortest in use
    ("1234567", "1234567"),
    ("+123456789012345", "123456789012345"),  # 15: E.164's longest
    # Unicode as phones and word processors write it
    ("+7 900 123 45 67".translate(FULLWIDTH), "79001234567"),
    ("+7 900 123\u201345\u201367", "79001234567"),  # en dashes
    ("+7\u00a0900\u00a0123\u00a045\u00a067", "79001234567"),  # no-break spaces
    ("+7 900 123\u221245\u221267", "79001234567"),  # minus signs
    ("\u202a+7 900 123-45-67\u202c", "79001234567"),  # direction marks from a contact list
    ("+7 900 123 45 67".translate(ARABIC), "79001234567"),
    ("8 900 123 45 67\u200b", "79001234567"),  # a zero-width space
]

REFUSED = [
    ("", NumberProblem.EMPTY),
    ("   ", NumberProblem.EMPTY),
    ("()", NumberProblem.EMPTY),
    ("+", NumberProblem.EMPTY),
    ("- -", NumberProblem.EMPTY),
    ("8 900 abc 45 67", NumberProblem.LETTERS),
    ("8 9OO 123 45 67", NumberProblem.LETTERS),  # letter O for zero
    ("+7 900 123 45 67 доб. 5", NumberProblem.LETTERS),  # an extension
    ("tel:+79001234567", NumberProblem.LETTERS),
    ("Devino", NumberProblem.LETTERS),
    ("*100#", NumberProblem.BAD_CHARACTER),  # a USSD code is no destination
    ("+7 900 123 45 67, +7 900 123 45 68", NumberProblem.BAD_CHARACTER),
    ("79001234567;", NumberProblem.BAD_CHARACTER),
    ("7 900 +123 45 67", NumberProblem.MISPLACED_PLUS),
    ("++79001234567", NumberProblem.MISPLACED_PLUS),
    ("12", NumberProblem.TOO_SHORT),
    ("123456", NumberProblem.TOO_SHORT),
    ("+7 900 123", NumberProblem.TOO_SHORT),
    ("00 44", NumberProblem.TOO_SHORT),
    ("+1234567890123456", NumberProblem.TOO_LONG),  # 16 digits
    ("1234567890123456", NumberProblem.TOO_LONG),
    ("+7 900 123 45 67 8", NumberProblem.TOO_LONG),  # +7 takes 10 digits after the 7
    ("+7 900 123 45 6", NumberProblem.TOO_SHORT),
    ("9" * 65, NumberProblem.TOO_LONG),  # never read past 64 characters
    (" " * 100_000, NumberProblem.TOO_LONG),
    ("+8 900 123 45 67", NumberProblem.UNKNOWN_COUNTRY_CODE),  # trunk 8 with a +
    ("+0 900 123 45 67", NumberProblem.UNKNOWN_COUNTRY_CODE),
    ("8 900 123 45 678", NumberProblem.UNKNOWN_COUNTRY_CODE),  # the wrong trunk reading
    ("+7 100 123 45 67", NumberProblem.WRONG_NATIONAL_NUMBER),  # no +7 number begins with 1
    ("0 900 123 45 67", NumberProblem.UNKNOWN_COUNTRY_CODE),  # a European trunk 0
]


@pytest.mark.parametrize(("typed", "sent"), ACCEPTED)
def test_numbers_as_people_type_them(typed: str, sent: str) -> None:
    assert normalize(typed) == sent
    # what is sent is a fixed point of the international reading, and of the plan's own
    assert international(sent) == sent
    assert normalize("+" + sent) == sent


@pytest.mark.parametrize(("typed", "problem"), REFUSED)
def test_what_is_no_number_is_refused_with_the_reason(typed: str, problem: NumberProblem) -> None:
    with pytest.raises(NumberError) as info:
        normalize(typed)
    assert info.value.problem is problem
    assert len(info.value.message) < 400
    if typed.strip() and len(typed) <= 64:
        assert repr(typed) in info.value.message  # the value, quoted, so a list can be fixed


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("8 900 abc 45 67", "'a' at position 7"),
        ("  7 900 +123", "position 9"),  # positions count from the value's start
        ("+8 900 123 45 67", "written without + (8 900 123 45 67) or as +7 900 123 45 67"),
        ("8 900 123 45 678", "trunk prefix 8 and a national number of +7 (10 digits"),
        ("+7 900 123 45 67 8", "10 digits follow +7"),
        ("+7 100 123 45 67", "begins with 3, 4, 7, 8, 9"),
        ("12", "7 to 15 digits"),
        ("", "must not be empty"),
        ("00 44", "after the international prefix 00"),
    ],
)
def test_reasons_say_what_to_fix(typed: str, words: str) -> None:
    with pytest.raises(NumberError, match=None) as info:
        normalize(typed)
    assert words in info.value.message


def test_home_wins_where_digits_read_both_ways() -> None:
    # 8 491 ... is Ryazan; the Vietnamese mobile +84 912 345 678 needs its +
    assert normalize("84912345678") == "74912345678"
    assert normalize("+84912345678") == "84912345678"
    assert international("84912345678") == "84912345678"


# ------------------------------------------------------------------ dial plans


def test_a_plan_of_another_country() -> None:
    # Belarus dials 8 0 29 ...: its trunk prefix is "80"
    belarus = DialPlan(
        country_code="375", trunk_prefix="80", national_lengths=(9,), national_first_digits="12345"
    )
    assert normalize("8 029 123-45-67", belarus) == "375291234567"
    assert normalize("+375 29 123 45 67", belarus) == "375291234567"
    assert normalize("29 123 45 67", belarus) == "375291234567"
    assert normalize("8 10 7 900 123 45 67", belarus) == "79001234567"
    germany = DialPlan(
        country_code="49",
        trunk_prefix="0",
        international_prefixes=("00",),
        national_lengths=(10, 11),
        national_first_digits="",
    )
    assert normalize("0151 2345 6789", germany) == "4915123456789"
    assert normalize("0049 151 2345 6789", germany) == "4915123456789"
    assert normalize("+7 900 123 45 67", germany) == "79001234567"
    # no trunk prefix at all (Italy keeps its 0 in the national number)
    italy = DialPlan(
        country_code="39",
        trunk_prefix="",
        international_prefixes=("00",),
        national_lengths=(9, 10),
        national_first_digits="03",
    )
    assert normalize("06 1234 5678", italy) == "390612345678"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"country_code": "999"}, "no E.164 country code"),
        ({"trunk_prefix": "8a"}, "digits only"),
        ({"international_prefixes": ("",)}, "empty prefix"),
        ({"international_prefixes": ("+00",)}, "digits only"),
        ({"national_lengths": (15,)}, "7..15 digits"),
        ({"national_lengths": ()}, "7..15 digits"),
        ({"national_first_digits": "3-9"}, "digits only"),
    ],
)
def test_a_plan_that_cannot_be(changes: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        DialPlan(**changes)  # type: ignore[arg-type]


def test_international_prefixes_are_tried_longest_first() -> None:
    plan = DialPlan(international_prefixes=("8", "810"))
    assert plan.international_prefixes == ("810", "8")
    assert normalize("810 44 20 7946 0958", plan) == "442079460958"


def test_national_reading_is_smpp_ton_2() -> None:
    assert national("9001234567") == "79001234567"
    assert national("89001234567") == "79001234567"
    assert national("900 123-45-67") == "79001234567"
    for bad in ("79001234567", "+79001234567", "12345", "1001234567"):
        with pytest.raises(NumberError) as info:
            national(bad)
        assert info.value.problem is NumberProblem.WRONG_NATIONAL_NUMBER


def test_international_reading_never_reads_nationally() -> None:
    assert international("+7 900 123-45-67") == "79001234567"
    with pytest.raises(NumberError):
        international("89001234567")  # no country code 89x
    assert international("71001234567") == "71001234567"  # no plan: no national check
    with pytest.raises(NumberError):
        international("71001234567", RUSSIA)


# ------------------------------------------------------------------ against libphonenumber


def test_country_codes_are_libphonenumbers() -> None:
    assert {str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE} == COUNTRY_CODES
    codes = sorted(COUNTRY_CODES)
    # a prefix code: none begins another, so the first match is the only one
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]
    assert country_code_of("79001234567") == "7"
    assert country_code_of("375291234567") == "375"
    assert country_code_of("89001234567") is None


_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE)


def _examples() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append((region, number))
    return found


def test_every_example_number_of_libphonenumber_is_read_as_it_reads_it() -> None:
    """Each region's example mobile, fixed and toll-free number: written in E.164 and in
    libphonenumber's international format (spaces, dashes, brackets), it is the number
    libphonenumber says; Russia's and Kazakhstan's in their national format too (8 ...)."""
    examples = _examples()
    assert len(examples) > 500
    for region, number in examples:
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        written = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        assert normalize(e164) == e164[1:], (region, e164)
        assert normalize(written) == e164[1:], (region, written)
        assert international(e164[1:]) == e164[1:]
        if region in ("RU", "KZ"):
            typed = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
            assert normalize(typed) == e164[1:], (region, typed)


def test_the_hot_path_is_the_fast_one() -> None:
    """Documented in the report: ~2 us for digits, ~8 us with separators, against ~25 us for
    libphonenumber's parse + is_possible + format; here only that both agree on a sample."""
    for typed in ("89001234567", "+7 (900) 123-45-67", "8 800 555 35 35"):
        ours = normalize(typed)
        theirs = phonenumbers.format_number(phonenumbers.parse(typed, "RU"), PhoneNumberFormat.E164)
        assert "+" + ours == theirs


# ------------------------------------------------------------------ senders


@pytest.mark.parametrize(
    ("sender", "ton", "sent"),
    [
        ("Shop", Ton.ALPHANUMERIC, "Shop"),
        ("Shop-24 ok", Ton.ALPHANUMERIC, "Shop-24 ok"),
        ("ABCDEFGHIJK", Ton.ALPHANUMERIC, "ABCDEFGHIJK"),
        ("M&M's @shop", Ton.ALPHANUMERIC, "M&M's @shop"),
        ("+79001234567", Ton.ALPHANUMERIC, "79001234567"),  # 11 digits fit TON 5
        ("123456789012345", Ton.INTERNATIONAL, "123456789012345"),
        ("+79001234567", Ton.INTERNATIONAL, "79001234567"),
        ("900", Ton.NETWORK_SPECIFIC, "900"),
        ("Shop", Ton.UNKNOWN, "Shop"),
    ],
)
def test_senders_that_go_out(sender: str, ton: Ton, sent: str) -> None:
    assert check_sender(sender, ton) == sent


@pytest.mark.parametrize(
    ("sender", "ton", "problem", "words"),
    [
        ("", Ton.ALPHANUMERIC, SenderProblem.EMPTY, "must not be empty"),
        ("   ", Ton.ALPHANUMERIC, SenderProblem.EMPTY, "must not be empty"),
        ("ABCDEFGHIJKL", Ton.ALPHANUMERIC, SenderProblem.TOO_LONG, "at most 11 characters"),
        ("Магазин", Ton.ALPHANUMERIC, SenderProblem.BAD_CHARACTER, "Latin letters"),
        ("Shop[1]", Ton.ALPHANUMERIC, SenderProblem.BAD_CHARACTER, "'[' at position 5"),
        ("`shop`", Ton.ALPHANUMERIC, SenderProblem.BAD_CHARACTER, "position 1"),
        ("Shop\t", Ton.ALPHANUMERIC, SenderProblem.BAD_CHARACTER, "position 5"),
        ("+375291234567", Ton.ALPHANUMERIC, SenderProblem.TOO_LONG, "alphanumeric address"),
        ("1234567890123456", Ton.INTERNATIONAL, SenderProblem.TOO_LONG, "at most 15 digits"),
        ("Shop", Ton.INTERNATIONAL, SenderProblem.NOT_NUMERIC, "use digits"),
        ("Shop", Ton.NETWORK_SPECIFIC, SenderProblem.NOT_NUMERIC, "TON 3"),
    ],
)
def test_senders_refused_say_what_to_fix(
    sender: str, ton: Ton, problem: SenderProblem, words: str
) -> None:
    with pytest.raises(SenderError) as info:
        check_sender(sender, ton)
    assert info.value.problem is problem
    assert words in info.value.message


def test_the_profile_decides_the_senders_limits() -> None:
    # Devino: every sender goes as TON 5, so a 12-digit number does not fit
    with pytest.raises(SenderError, match="alphanumeric address"):
        DEVINO_PROMO.addresses.check_sender("375291234567")
    assert SMPP34.addresses.check_sender("+375291234567") == "375291234567"
    assert SMPP34.addresses.check_sender("5500") == "5500"  # a short code, TON 3
    # a contract that sends every sender as a number takes no names
    numeric = AddressPolicy().with_source(Ton.INTERNATIONAL, 1)
    with pytest.raises(SenderError, match="use digits"):
        numeric.check_sender("Shop")
    assert numeric.check_sender("375291234567") == "375291234567"

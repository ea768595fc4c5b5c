"""Invariants of smppgate.numbers on generated input: what is accepted is E.164 digits, reading
it again gives it back, and however a number is written it is the same number."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from smppgate.numbers import (
    COUNTRY_CODES,
    E164_DIGITS,
    RUSSIA,
    NumberError,
    SenderError,
    check_sender,
    country_code_of,
    international,
    normalize,
)
from smppgate.pdu import Ton

LOW, HIGH = E164_DIGITS

# anything at all, weighted towards what numbers are made of
typed = st.text(
    alphabet=st.one_of(
        st.sampled_from("0123456789+-() ./\u2013\u00a0\uff0b\uff17\u0667"),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=30,
)
# a national number of the default plan: 10 digits beginning with 3, 4, 7, 8 or 9
russian = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(RUSSIA.national_first_digits),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
separators = st.sampled_from(["", " ", "-", ".", "\u2013", "\u00a0", " - "])


def _write(digits: str, separator: str, groups: list[int]) -> str:
    """``digits`` written in groups of the given sizes with ``separator`` between them."""
    parts, at = [], 0
    for size in groups:
        if at >= len(digits):
            break
        parts.append(digits[at : at + size])
        at += size
    parts.append(digits[at:])
    return separator.join(p for p in parts if p)


def _reading(read: Callable[[str], str], value: str) -> str | None:
    """What ``read`` makes of ``value``, None when it refuses it with a reason (any other
    exception is a bug and fails the test)."""
    try:
        return read(value)
    except (NumberError, SenderError) as exc:
        if not exc.message:
            raise AssertionError(f"refused without a reason: {value!r}") from exc
        return None


@given(typed)
def test_accepted_is_e164_digits_and_a_fixed_point(value: str) -> None:
    sent = _reading(normalize, value)
    if sent is None:
        return
    assert sent.isascii()
    assert sent.isdigit()
    assert LOW <= len(sent) <= HIGH
    assert country_code_of(sent) in COUNTRY_CODES
    # idempotence: the number sent, read again as an international number, or with its +, or
    # (for the plan's own country, or digits that read no other way) as it is
    assert international(sent) == sent
    assert normalize("+" + sent) == sent
    if sent.startswith(RUSSIA.country_code):
        assert normalize(sent) == sent


@given(typed)
def test_international_is_idempotent_everywhere(value: str) -> None:
    sent = _reading(international, value)
    if sent is None:
        return
    assert international(sent) == sent
    assert LOW <= len(sent) <= HIGH


@given(russian, separators, st.lists(st.integers(1, 4), max_size=5), st.data())
def test_one_number_however_it_is_written(
    number: str, separator: str, groups: list[int], data: st.DataObject
) -> None:
    expected = "7" + number
    body = _write(number, separator, groups)
    prefix = data.draw(st.sampled_from(["8", "+7", "7", "", "00 7", "810 7", "+7 (", "8 ("]))
    written = f"{prefix}{separator if prefix and not prefix.endswith('(') else ''}{body}"
    assert normalize(written) == expected
    assert normalize(expected) == expected
    assert normalize(normalize(written)) == expected


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_digits_only_never_crash_and_stay_in_range(digits: str) -> None:
    sent = _reading(normalize, digits)
    if sent is None:
        return
    assert LOW <= len(sent) <= HIGH


@given(st.text(max_size=20), st.sampled_from(list(Ton)))
def test_a_sender_accepted_fits_its_address(sender: str, ton: Ton) -> None:
    sent = _reading(lambda s: check_sender(s, ton), sender)
    if sent is None:
        return
    assert sent
    assert sent.isascii()
    assert sent.isprintable()
    assert len(sent) <= (11 if ton == Ton.ALPHANUMERIC or not sent.isdigit() else 15)
    assert check_sender(sent, ton) == sent

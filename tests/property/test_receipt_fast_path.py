"""The receipt parser's fast path (the standard layout read in one match) and the id keys
computed without regexes give what the general reading gives, for any input."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from smppgate.text import canonical_message_id, message_id_keys, parse_receipt
from smppgate.text.receipt import _general_receipt, _standard_receipt

_SEP = st.sampled_from([" ", "  ", "\t", ""])
_VALUE = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF", max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
)
_WORDS = ["DELIVRD", "delivrd", "UNDELIV", "EXPIRED", "REJECTD", "ENROUTE", "ACCEPTD",
          "UNKNOWN", "DELETED", "DELIVERED", "Undeliverable", "BOGUS", ""]  # fmt: skip
_STAT = st.one_of(st.sampled_from(_WORDS), _VALUE)
_DATE = st.one_of(
    st.text(alphabet="0123456789", min_size=10, max_size=14), st.sampled_from(["", "2613"])
)
_FREE = st.one_of(
    st.none(),
    st.text(max_size=25),
    st.sampled_from(["", "id:1 stat:DELIVRD", " sub:1", "hello text:again"]),
)
_TLV_ID = st.one_of(st.none(), st.sampled_from(["", "  "]), _VALUE)
_STATE = st.one_of(st.none(), st.integers(-1, 10))


@st.composite
def standard_texts(draw: st.DrawFn) -> str:
    """The Appendix B layout, with now and then a label's case or a space changed."""
    id_ = draw(_VALUE)
    text = (
        f"id:{id_} sub:{draw(_VALUE)} dlvrd:{draw(_VALUE)} submit date:{draw(_DATE)} "
        f"done date:{draw(_DATE)} stat:{draw(_STAT)} err:{draw(_VALUE)}"
    )
    free = draw(_FREE)
    if free is not None:
        text += f"{draw(_SEP)}text:{free}"
    if draw(st.booleans()):
        text = text.replace("done date", draw(st.sampled_from(["DONE DATE", "done_date"])))
    return text


texts = st.one_of(standard_texts(), st.text(max_size=60))


@settings(max_examples=500)
@given(raw=texts, tlv_id=_TLV_ID, state=_STATE)
def test_the_fast_path_reads_what_the_general_path_reads(
    raw: str, tlv_id: str | None, state: int | None
) -> None:
    fast = _standard_receipt(raw, tlv_id, state)
    general = _general_receipt(raw, tlv_id, state)
    if fast is not None:
        assert fast == general
        assert general.error is None
    assert parse_receipt(raw, tlv_id, state) == general


def test_the_standard_receipt_takes_the_fast_path() -> None:
    raw = (
        "id:1a2b sub:001 dlvrd:001 submit date:2612080001 done date:2612080002 stat:DELIVRD "
        "err:000 text:hello"
    )
    fast = _standard_receipt(raw, "1a2b", 2)
    assert fast is not None
    assert fast == _general_receipt(raw, "1a2b", 2)


_HEX = re.compile(r"[0-9a-f]+")
_DECIMAL = re.compile(r"[0-9]+")


def _reference_keys(message_id: str) -> frozenset[str]:
    """message_id_keys as it was written with regexes."""
    value = message_id.strip().lower()
    if value and _HEX.fullmatch(value):
        value = value.lstrip("0") or "0"
    if not value:
        return frozenset()
    keys = {value}
    if len(value) <= 64 and _HEX.fullmatch(value):
        keys.add(str(int(value, 16)))
        if _DECIMAL.fullmatch(value):
            keys.add(format(int(value), "x"))
    return frozenset(keys)


ids = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF \t", max_size=70),
    st.text(max_size=20),
    st.sampled_from(["", "0", "000", "00ff", "10", "\u0663", "\uff21\uff22", "\u0130"]),
)


@settings(max_examples=500)
@given(message_id=ids)
def test_message_id_keys_without_regexes(message_id: str) -> None:
    assert message_id_keys(message_id) == _reference_keys(message_id)
    value = canonical_message_id(message_id)
    assert not value or value in _reference_keys(message_id)


@given(tlv_id=st.one_of(st.none(), ids), text_id=st.one_of(st.none(), ids))
def test_match_keys_are_the_union_of_both_ids(tlv_id: str | None, text_id: str | None) -> None:
    receipt = parse_receipt(f"id:{text_id} stat:DELIVRD", tlv_id, None)
    receipt = receipt._replace(id=text_id)
    expected: frozenset[str] = frozenset()
    for value in (tlv_id, text_id):
        if value is not None:
            expected |= _reference_keys(value)
    assert receipt.match_keys == expected

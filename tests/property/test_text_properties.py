"""Invariants of the text layer, checked on generated texts (ARCHITECTURE principle 10)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from smppgate.text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    AssembledMessage,
    AssemblyStatus,
    DefaultAlphabet,
    Encoding,
    Reassembler,
    SplitMethod,
    SplitPlan,
    decode,
    decode_gsm7,
    encode,
    encode_gsm7,
    pack_septets,
    plan_split,
    preview,
    split_udh,
    unpack_septets,
)

GSM_CHARS = GSM7_BASIC.replace("\x1b", "") + "".join(GSM7_EXTENSION)
# Extension characters and emoji are over-weighted: they are where splitters go wrong.
gsm_texts = st.text(alphabet=st.sampled_from(GSM_CHARS + "€{}[]" * 8), max_size=900)
unicode_texts = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from("😀🎉ЖЯ€{a"),
    ),
    max_size=400,
)
latin1_texts = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=700)
any_texts = st.one_of(gsm_texts, unicode_texts)
methods = st.sampled_from(list(SplitMethod))

LIMITS = {
    Encoding.GSM7: (160, 153),
    Encoding.UCS2: (70, 67),
    Encoding.LATIN1: (140, 134),
    Encoding.BINARY: (140, 134),
}


def _units(text: str, encoding: Encoding) -> list[int]:
    """Independent reference: the weight of each character in its counting unit."""
    if encoding is Encoding.GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    if encoding is Encoding.UCS2:
        return [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return [1] * len(text)


def _reference_part_count(text: str, encoding: Encoding) -> int:
    """Character-by-character greedy count, written without looking at the octets."""
    weights = _units(text, encoding)
    single, per_part = LIMITS[encoding]
    if sum(weights) <= single:
        return 1
    parts, used = 1, 0
    for weight in weights:
        if used + weight > per_part:
            parts, used = parts + 1, 0
        used += weight
    return parts


def _payloads(plan: SplitPlan) -> list[bytes]:
    out = []
    for part in plan.parts:
        if plan.method is SplitMethod.PAYLOAD:
            assert part.message_payload is not None
            out.append(part.message_payload)
        elif part.esm_class & 0x40:
            elements, payload = split_udh(part.short_message)
            assert len(part.short_message) - len(payload) == 6
            assert elements[0].iei == 0
            out.append(payload)
        else:
            out.append(part.short_message)
    return out


@settings(max_examples=300)
@given(text=any_texts, method=methods, reference=st.integers(0, 255))
def test_parts_rejoin_to_the_text(text: str, method: SplitMethod, reference: int) -> None:
    plan = plan_split(text, method=method, reference=reference, max_parts=255)
    joined = "".join(decode(p, plan.data_coding) for p in _payloads(plan))
    assert joined == text


@settings(max_examples=200)
@given(text=latin1_texts, encoding=st.sampled_from([Encoding.LATIN1, Encoding.BINARY]))
def test_octet_encodings_rejoin(text: str, encoding: Encoding) -> None:
    plan = plan_split(text, encoding, reference=1, max_parts=255)
    assert "".join(decode(p, plan.data_coding) for p in _payloads(plan)) == text
    assert len(plan.parts) == _reference_part_count(text, encoding)


@settings(max_examples=300)
@given(text=any_texts, method=st.sampled_from([SplitMethod.UDH, SplitMethod.SAR]))
def test_every_part_fits_and_count_is_minimal(text: str, method: SplitMethod) -> None:
    plan = plan_split(text, method=method, reference=7, max_parts=255)
    single, per_part = LIMITS[plan.encoding]
    width = 2 if plan.encoding is Encoding.UCS2 else 1
    udh = 6 if method is SplitMethod.UDH and len(plan.parts) > 1 else 0
    limit = single if len(plan.parts) == 1 else per_part
    for part in plan.parts:
        assert len(part.short_message) - udh == part.units * width
        assert part.units <= limit
        assert len(part.short_message) <= udh + limit * width
    assert len(plan.parts) == _reference_part_count(text, plan.encoding)
    assert plan.billed_segments == len(plan.parts)
    assert preview(text).parts == len(plan.parts)


@settings(max_examples=300)
@given(text=any_texts)
def test_no_escape_or_surrogate_pair_is_cut(text: str) -> None:
    plan = plan_split(text, method=SplitMethod.SAR, reference=1, max_parts=255)
    for part in plan.parts:
        data = part.short_message
        if plan.encoding is Encoding.GSM7:
            # Every ESC in a part is followed by its code inside the same part.
            assert not data.endswith(b"\x1b")
        else:
            assert len(data) % 2 == 0
            if data:
                assert not 0xD8 <= data[-2] <= 0xDB
                assert not 0xDC <= data[0] <= 0xDF


@given(text=any_texts)
def test_udh_is_exactly_six_octets(text: str) -> None:
    plan = plan_split(text, reference=200, max_parts=255)
    total = len(plan.parts)
    for seqnum, part in enumerate(plan.parts, 1):
        if total == 1:
            assert part.esm_class == 0
            assert part.short_message == encode(text, plan.encoding)
        else:
            assert part.esm_class == 0x40
            assert part.short_message[:6] == bytes((5, 0, 3, 200, total, seqnum))


@given(text=unicode_texts)
def test_payload_billing_matches_udh_part_count(text: str) -> None:
    payload = plan_split(text, method=SplitMethod.PAYLOAD, reference=0, max_parts=255)
    udh = plan_split(text, method=SplitMethod.UDH, reference=0, max_parts=255)
    assert payload.billed_segments == len(udh.parts)
    assert payload.billed_segments >= max(1, math.ceil(payload.units / LIMITS[udh.encoding][1]))


@given(text=gsm_texts)
def test_latin1_default_alphabet_rejoins(text: str) -> None:
    narrow = "".join(ch for ch in text if ord(ch) < 0x100)
    plan = plan_split(narrow, reference=3, max_parts=255, default_alphabet=DefaultAlphabet.LATIN1)
    assert plan.encoding is Encoding.GSM7
    joined = "".join(decode(p, 0, DefaultAlphabet.LATIN1) for p in _payloads(plan))
    assert joined == narrow
    assert len(plan.parts) == _reference_part_count(narrow, Encoding.GSM7)


@given(text=gsm_texts, fill=st.integers(0, 6))
def test_packing_round_trips(text: str, fill: int) -> None:
    septets = encode_gsm7(text)
    assert unpack_septets(pack_septets(septets, fill), len(septets), fill) == septets
    assert decode_gsm7(septets) == text


@given(data=st.binary(max_size=300), data_coding=st.sampled_from([0, 1, 3, 4, 8, 0xF0, 0xF4]))
def test_decoding_never_raises(data: bytes, data_coding: int) -> None:
    assert isinstance(decode(data, data_coding), str)


@settings(max_examples=200)
@given(
    text=any_texts,
    method=st.sampled_from([SplitMethod.UDH, SplitMethod.SAR]),
    reference=st.integers(0, 255),
    data=st.data(),
)
def test_reassembly_of_shuffled_parts_with_duplicates(
    text: str, method: SplitMethod, reference: int, data: st.DataObject
) -> None:
    plan = plan_split(text, method=method, reference=reference, max_parts=255)
    feeds = list(plan.parts) + data.draw(st.lists(st.sampled_from(plan.parts), max_size=4))
    feeds = data.draw(st.permutations(feeds))
    reassembler = Reassembler(timeout=60.0, max_sets=4)
    out: list[AssembledMessage] = []
    for now, part in enumerate(feeds):
        out += reassembler.feed_short_message(
            source="79001234567",
            destination="Devino",
            short_message=part.short_message,
            esm_class=part.esm_class,
            data_coding=plan.data_coding,
            now=float(now),
            sar=None
            if part.sar is None
            else (part.sar.msg_ref_num, part.sar.total_segments, part.sar.segment_seqnum),
        )
    out += reassembler.expire(1e9)
    if len(plan.parts) == 1:
        # A single part has nothing to tie duplicates together: each arrives as a message.
        assert {m.text() for m in out} == {text}
    else:
        assert len(out) == 1
        assert out[0].status is AssemblyStatus.COMPLETE
        assert out[0].text() == text

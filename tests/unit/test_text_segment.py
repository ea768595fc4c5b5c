"""Split planning against every record of split-vectors.jsonl and the D-14..D-17 examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smppgate.text import (
    DefaultAlphabet,
    Encoding,
    Sar,
    SplitMethod,
    TooManyPartsError,
    UnencodableTextError,
    Unit,
    encode,
    plan_split,
    preview,
)

DATA = Path(__file__).resolve().parents[1] / "data"
VECTORS: list[dict[str, Any]] = [
    json.loads(line)
    for line in (DATA / "split-vectors.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]
FIXTURE_REFERENCE = 0x42


def test_fixture_file_is_complete() -> None:
    assert len(VECTORS) == 84


@pytest.mark.parametrize("vector", VECTORS, ids=[f"{v['name']}-{v['method']}" for v in VECTORS])
def test_split_vector(vector: dict[str, Any]) -> None:
    plan = plan_split(
        vector["text"],
        Encoding.AUTO,
        SplitMethod(vector["method"]),
        reference=FIXTURE_REFERENCE,
    )
    assert plan.encoding.value == vector["encoding"]
    assert plan.data_coding == vector["data_coding"]
    assert [p.short_message.hex() for p in plan.parts] == vector["parts"]
    assert {p.esm_class for p in plan.parts} == {vector["esm_class"]}
    units = vector.get("length_septets", vector.get("length_utf16_units"))
    assert plan.units == units
    if vector["method"] == "payload":
        assert len(plan.parts) == 1
        assert plan.parts[0].message_payload is not None
        assert plan.parts[0].message_payload.hex() == vector["message_payload"]
        assert plan.parts[0].sar is None
    else:
        per_part = vector.get("part_septets", vector.get("part_utf16_units"))
        assert [p.units for p in plan.parts] == per_part
        assert all(p.message_payload is None for p in plan.parts)
        assert plan.billed_segments == len(vector["parts"])
    if vector["method"] == "sar":
        expected = [
            Sar(s["sar_msg_ref_num"], s["sar_total_segments"], s["sar_segment_seqnum"])
            for s in vector["sar"]
        ]
        assert [p.sar for p in plan.parts if p.sar is not None] == expected
        if not expected:
            assert all(p.sar is None for p in plan.parts)
    if vector["method"] == "udh":
        assert all(p.sar is None for p in plan.parts)


@pytest.mark.parametrize(
    "vector",
    [v for v in VECTORS if v["method"] == "udh"],
    ids=[v["name"] for v in VECTORS if v["method"] == "udh"],
)
def test_preview_agrees_with_vector(vector: dict[str, Any]) -> None:
    result = preview(vector["text"])
    assert result.parts == len(vector["parts"])
    assert result.encoding.value == vector["encoding"]
    per_part = vector.get("part_septets", vector.get("part_utf16_units"))
    room = (160 if result.encoding is Encoding.GSM7 else 70) if len(per_part) == 1 else None
    if room is None:
        room = 153 if result.encoding is Encoding.GSM7 else 67
    assert result.units_left == room - per_part[-1]


class TestD14:
    """Spec D-14: client-side segmentation examples, byte for byte."""

    def test_gsm7_escape_not_split(self) -> None:
        text = "A" * 152 + "€" + "B" * 10
        plan = plan_split(text, method=SplitMethod.UDH, reference=0x7F)
        assert plan.data_coding == 0
        assert [p.esm_class for p in plan.parts] == [0x40, 0x40]
        first, second = (p.short_message for p in plan.parts)
        assert first == bytes.fromhex("0500037f0201") + b"\x41" * 152
        assert len(first) == 158
        assert second == bytes.fromhex("0500037f02021b65") + b"\x42" * 10
        assert len(second) == 18

    def test_ucs2_surrogate_pair_not_split(self) -> None:
        text = "Я" * 66 + "😀" + "Я" * 5
        plan = plan_split(text, reference=0xA7)
        assert plan.data_coding == 8
        first, second = (p.short_message for p in plan.parts)
        assert first == bytes.fromhex("050003a70201") + bytes.fromhex("042f") * 66
        assert len(first) == 138
        assert second == bytes.fromhex("050003a70202d83dde00") + bytes.fromhex("042f") * 5
        assert len(second) == 20

    def test_sar_same_text(self) -> None:
        text = "Я" * 66 + "😀" + "Я" * 5
        plan = plan_split(text, method=SplitMethod.SAR, reference=0x01A7)
        assert [p.esm_class for p in plan.parts] == [0, 0]
        assert [p.sar for p in plan.parts] == [Sar(0x01A7, 2, 1), Sar(0x01A7, 2, 2)]
        assert plan.parts[0].short_message == bytes.fromhex("042f") * 66
        assert plan.parts[1].short_message == bytes.fromhex("d83dde00") + bytes.fromhex("042f") * 5

    @pytest.mark.parametrize("text", ["a" * 160, "Я" * 70, "😀" * 35])
    @pytest.mark.parametrize("method", [SplitMethod.UDH, SplitMethod.SAR])
    def test_single_part_has_no_udh_or_sar(self, text: str, method: SplitMethod) -> None:
        plan = plan_split(text, method=method, reference=1)
        assert len(plan.parts) == 1
        assert plan.parts[0].esm_class == 0
        assert plan.parts[0].sar is None
        assert plan.parts[0].short_message == encode(text, plan.encoding)
        assert plan.parts[0].units == len(text) * (2 if text.startswith("😀") else 1)


class TestD15Payload:
    def test_cyrillic_200_chars(self) -> None:
        plan = plan_split("Ж" * 200, method=SplitMethod.PAYLOAD, reference=0)
        (part,) = plan.parts
        assert part.short_message == b""
        assert part.esm_class == 0
        assert part.sar is None
        assert part.message_payload is not None
        assert len(part.message_payload) == 400
        assert plan.billed_segments == 3

    def test_single_segment_billing(self) -> None:
        assert plan_split("hi", method=SplitMethod.PAYLOAD, reference=0).billed_segments == 1

    def test_payload_billing_respects_escapes(self) -> None:
        # 306 septets: ceil(306 / 153) = 2, but the euro cannot sit across the boundary.
        plan = plan_split("a" * 152 + "€" + "b" * 152, method=SplitMethod.PAYLOAD, reference=0)
        assert plan.units == 306
        assert plan.billed_segments == 3

    def test_payload_max_parts_applies_to_billing(self) -> None:
        with pytest.raises(TooManyPartsError):
            plan_split("a" * 2000, method=SplitMethod.PAYLOAD, reference=0)


class TestD16:
    def test_udh_is_six_octets_for_every_part(self) -> None:
        plan = plan_split("x" * 1000, reference=9)
        for seqnum, part in enumerate(plan.parts, 1):
            assert part.short_message[:6] == bytes((5, 0, 3, 9, len(plan.parts), seqnum))


class TestD17:
    """Spec D-17: 306 GSM -> 2, 307 -> 3; 134 Cyrillic -> 2, 135 -> 3."""

    @pytest.mark.parametrize(
        ("text", "parts", "sizes"),
        [
            ("g" * 306, 2, [159, 159]),
            ("g" * 307, 3, [159, 159, 7]),
            ("ж" * 134, 2, [140, 140]),
            ("ж" * 135, 3, [140, 140, 8]),
        ],
    )
    def test_capacity(self, text: str, parts: int, sizes: list[int]) -> None:
        plan = plan_split(text, reference=1)
        assert len(plan.parts) == parts
        assert [len(p.short_message) for p in plan.parts] == sizes


@pytest.mark.parametrize(
    ("text", "encoding", "parts", "last_units"),
    [
        ("é" * 140, Encoding.LATIN1, 1, 140),
        ("é" * 141, Encoding.LATIN1, 2, 7),
        (b"\x00" * 268, Encoding.BINARY, 2, 134),
        (b"\x00" * 269, Encoding.AUTO, 3, 1),
    ],
)
def test_octet_encodings(
    text: str | bytes, encoding: Encoding, parts: int, last_units: int
) -> None:
    plan = plan_split(text, encoding, reference=3, max_parts=5)
    assert len(plan.parts) == parts
    assert plan.parts[-1].units == last_units
    assert plan.data_coding == (3 if isinstance(text, str) else 4)


def test_too_many_parts_names_the_count() -> None:
    with pytest.raises(TooManyPartsError) as info:
        plan_split("a" * (153 * 3 + 1), reference=0, max_parts=3)
    assert (info.value.parts, info.value.max_parts) == (4, 3)


def test_max_parts_configurable_upwards() -> None:
    plan = plan_split("a" * (153 * 11), reference=0, max_parts=11)
    assert len(plan.parts) == 11


@pytest.mark.parametrize(
    ("method", "reference"),
    [(SplitMethod.UDH, 256), (SplitMethod.UDH, -1), (SplitMethod.SAR, 65536)],
)
def test_reference_range(method: SplitMethod, reference: int) -> None:
    with pytest.raises(ValueError, match="reference"):
        plan_split("a", method=method, reference=reference)


@pytest.mark.parametrize("max_parts", [0, 256])
def test_max_parts_range(max_parts: int) -> None:
    with pytest.raises(ValueError, match="max_parts"):
        plan_split("a", reference=0, max_parts=max_parts)


def test_sar_reference_is_16_bit() -> None:
    plan = plan_split("a" * 200, method=SplitMethod.SAR, reference=0xBEEF)
    assert {p.sar.msg_ref_num for p in plan.parts if p.sar} == {0xBEEF}


def test_explicit_encoding_that_cannot_carry_the_text() -> None:
    with pytest.raises(UnencodableTextError) as info:
        plan_split("ok Привет", Encoding.GSM7, reference=0)
    assert (info.value.character, info.value.index) == ("П", 3)


class TestLatin1DefaultAlphabet:
    """data_coding 0 sent as Latin-1 octets: counted in septets, cut on characters."""

    def test_parts_are_latin1_octets_cut_in_septets(self) -> None:
        text = "è" * 150 + "{}" + "x" * 10
        plan = plan_split(text, reference=1, default_alphabet=DefaultAlphabet.LATIN1)
        assert plan.encoding is Encoding.GSM7
        assert plan.data_coding == 0
        first, second = plan.parts
        # 150 + 2 septets for '{' = 152; '}' would need 2 more: it moves on.
        assert first.units == 152
        assert first.short_message[6:] == ("è" * 150 + "{").encode("latin-1")
        assert second.short_message[6:] == ("}" + "x" * 10).encode("latin-1")

    def test_ascii_wire_payload(self) -> None:
        plan = plan_split(
            "a[b]", method=SplitMethod.PAYLOAD, reference=0, default_alphabet=DefaultAlphabet.ASCII
        )
        assert plan.parts[0].message_payload == b"a[b]"


class TestPreview:
    def test_forcing_characters(self) -> None:
        result = preview("Price `5` ok, Привет")
        assert result.encoding is Encoding.UCS2
        assert result.unit is Unit.UTF16_UNIT
        assert result.forcing_characters == ("`", *"Привет")

    def test_gsm_room(self) -> None:
        result = preview("a" * 10 + "€")
        assert (result.parts, result.units, result.units_left) == (1, 12, 148)
        assert result.forcing_characters == ()
        assert result.unit is Unit.SEPTET

    def test_empty(self) -> None:
        result = preview("")
        assert (result.parts, result.units_left, result.data_coding) == (1, 160, 0)

    def test_multi_part_room(self) -> None:
        assert preview("a" * 161).units_left == 153 - 8

    def test_explicit_encoding_lists_nothing(self) -> None:
        assert preview("Привет", Encoding.UCS2).forcing_characters == ()

    def test_preview_is_not_limited_by_max_parts(self) -> None:
        assert preview("a" * 153 * 20).parts == 20

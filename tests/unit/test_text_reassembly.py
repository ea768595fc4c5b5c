"""MO reassembly, the UDH parser and the reference allocator."""

from __future__ import annotations

import pytest

from smppgate.text import (
    AssembledMessage,
    AssemblyStatus,
    Concatenation,
    InformationElement,
    Reassembler,
    ReferenceAllocator,
    ReferencesExhaustedError,
    SplitMethod,
    UdhError,
    concatenation_udh,
    find_concatenation,
    plan_split,
    split_udh,
)


def _feed(
    r: Reassembler, seqnum: int, payload: bytes, now: float, **kw: object
) -> tuple[AssembledMessage, ...]:
    args: dict[str, object] = {
        "source": "79001234567",
        "destination": "Devino",
        "reference": 7,
        "total": 3,
        "data_coding": 0,
    }
    args.update(kw)
    return r.feed(seqnum=seqnum, payload=payload, now=now, **args)  # type: ignore[arg-type]


class TestUdh:
    def test_concatenation_header(self) -> None:
        assert concatenation_udh(0xA7, 2, 1).hex() == "050003a70201"

    @pytest.mark.parametrize(
        ("ref", "total", "seq"), [(256, 2, 1), (1, 2, 3), (1, 2, 0), (1, 256, 1)]
    )
    def test_concatenation_header_ranges(self, ref: int, total: int, seq: int) -> None:
        with pytest.raises(ValueError, match=r"must be|need"):
            concatenation_udh(ref, total, seq)

    def test_split_8bit(self) -> None:
        elements, payload = split_udh(bytes.fromhex("050003a70201") + b"hi")
        assert elements == (InformationElement(0, bytes.fromhex("a70201")),)
        assert payload == b"hi"
        assert find_concatenation(elements) == Concatenation(0xA7, 2, 1, 8)

    def test_split_16bit_with_port_element(self) -> None:
        udh = bytes.fromhex("0c05040b8423f0080401a70302")
        elements, payload = split_udh(udh + b"\x00\x41")
        assert [e.iei for e in elements] == [5, 8]
        assert payload == b"\x00\x41"
        assert find_concatenation(elements) == Concatenation(0x01A7, 3, 2, 16)

    def test_no_concatenation(self) -> None:
        elements, _ = split_udh(bytes.fromhex("0405020b84"))
        assert find_concatenation(elements) is None

    @pytest.mark.parametrize("data", ["", "06000301", "050003a7", "0300050102", "0100"])
    def test_malformed(self, data: str) -> None:
        with pytest.raises(UdhError):
            split_udh(bytes.fromhex(data))


class TestReassembler:
    def test_out_of_order_with_duplicates(self) -> None:
        r = Reassembler(timeout=60)
        assert _feed(r, 3, b"C", 0.0) == ()
        assert _feed(r, 1, b"A", 1.0) == ()
        assert _feed(r, 1, b"A", 2.0) == ()
        (message,) = _feed(r, 2, b"B", 3.0)
        assert message.status is AssemblyStatus.COMPLETE
        assert message.payload == b"ABC"
        assert message.text() == "ABC"
        assert message.missing == ()
        assert len(r) == 0

    def test_duplicate_after_completion_is_ignored(self) -> None:
        r = Reassembler(timeout=60)
        for seqnum, part in ((1, b"A"), (2, b"B")):
            _feed(r, seqnum, part, 0.0, total=2)
        assert _feed(r, 2, b"B", 10.0, total=2) == ()
        assert len(r) == 0
        assert r.expire(1000.0) == ()

    def test_reused_reference_with_new_content_starts_a_new_set(self) -> None:
        r = Reassembler(timeout=60)
        for seqnum, part in ((1, b"A"), (2, b"B")):
            _feed(r, seqnum, part, 0.0, total=2)
        assert _feed(r, 1, b"X", 5.0, total=2) == ()
        (message,) = _feed(r, 2, b"Y", 6.0, total=2)
        assert message.payload == b"XY"

    def test_timeout_hands_over_partial(self) -> None:
        r = Reassembler(timeout=30)
        _feed(r, 1, b"A", 0.0)
        _feed(r, 3, b"C", 5.0)
        assert r.next_deadline() == 30.0
        assert r.expire(29.9) == ()
        (message,) = r.expire(30.0)
        assert message.status is AssemblyStatus.TIMED_OUT
        assert message.missing == (2,)
        assert message.segments == (b"A", None, b"C")
        assert message.payload == b"AC"
        assert not message.complete
        assert r.next_deadline() is None

    def test_eviction_hands_over_oldest(self) -> None:
        r = Reassembler(timeout=60, max_sets=2)
        _feed(r, 1, b"a", 0.0, reference=1)
        _feed(r, 1, b"b", 1.0, reference=2)
        (evicted,) = _feed(r, 1, b"c", 2.0, reference=3)
        assert evicted.status is AssemblyStatus.EVICTED
        assert evicted.reference == 1
        assert evicted.missing == (2, 3)
        assert len(r) == 2

    def test_keys_separate_sources_and_accounts(self) -> None:
        r = Reassembler()
        _feed(r, 1, b"A", 0.0, total=2, source="1")
        _feed(r, 1, b"A", 0.0, total=2, source="2")
        _feed(r, 1, b"A", 0.0, total=2, account="other")
        assert len(r) == 3

    @pytest.mark.parametrize(("total", "seqnum"), [(2, 0), (2, 3), (0, 1)])
    def test_impossible_seqnum_is_handed_over_alone(self, total: int, seqnum: int) -> None:
        r = Reassembler()
        (message,) = _feed(r, seqnum, b"x", 0.0, total=total)
        assert message.status is AssemblyStatus.MALFORMED
        assert message.payload == b"x"
        assert len(r) == 0

    def test_single_part_passes_through(self) -> None:
        (message,) = _feed(Reassembler(), 1, b"hi", 0.0, total=1)
        assert message.complete

    @pytest.mark.parametrize(("timeout", "max_sets"), [(0, 1), (1, 0)])
    def test_bad_settings(self, timeout: float, max_sets: int) -> None:
        with pytest.raises(ValueError, match="must be"):
            Reassembler(timeout, max_sets)


class TestFeedShortMessage:
    def test_udh_8bit_ucs2_across_surrogate(self) -> None:
        r = Reassembler()
        # A careless sender cut the emoji between two parts: octets are joined before decoding.
        first = bytes.fromhex("050003010201") + "Я".encode("utf-16-be") + b"\xd8\x3d"
        second = bytes.fromhex("050003010202") + b"\xde\x00"
        assert (
            r.feed_short_message(
                source="a",
                destination="b",
                short_message=first,
                esm_class=0x40,
                data_coding=8,
                now=0,
            )
            == ()
        )
        (message,) = r.feed_short_message(
            source="a", destination="b", short_message=second, esm_class=0x40, data_coding=8, now=1
        )
        assert message.text() == "Я😀"

    def test_udh_16bit(self) -> None:
        r = Reassembler()
        parts = [bytes.fromhex("060804beef0201") + b"he", bytes.fromhex("060804beef0202") + b"y"]
        results = [
            r.feed_short_message(
                source="a", destination="b", short_message=p, esm_class=0x40, data_coding=0, now=0
            )
            for p in parts
        ]
        assert results[0] == ()
        assert results[1][0].reference == 0xBEEF
        assert results[1][0].text() == "hey"

    def test_sar(self) -> None:
        r = Reassembler()
        out = [
            r.feed_short_message(
                source="a",
                destination="b",
                short_message=text,
                esm_class=0,
                data_coding=0,
                now=0,
                sar=(0x1234, 2, seq),
            )
            for seq, text in ((2, b"lo"), (1, b"hel"))
        ]
        assert out[1][0].text() == "hello"

    def test_plain_message(self) -> None:
        (message,) = Reassembler().feed_short_message(
            source="a", destination="b", short_message=b"hi", esm_class=0, data_coding=0, now=0
        )
        assert message.text() == "hi"

    def test_udh_without_concatenation(self) -> None:
        (message,) = Reassembler().feed_short_message(
            source="a",
            destination="b",
            short_message=bytes.fromhex("0605040b8423f0") + b"wap",
            esm_class=0x40,
            data_coding=4,
            now=0,
        )
        assert message.payload == b"wap"

    def test_malformed_udh_keeps_everything(self) -> None:
        (message,) = Reassembler().feed_short_message(
            source="a",
            destination="b",
            short_message=b"\x09ab",
            esm_class=0x40,
            data_coding=0,
            now=0,
        )
        assert message.status is AssemblyStatus.MALFORMED
        assert message.payload == b"\x09ab"

    def test_plan_round_trip_udh(self) -> None:
        text = "Привет! " * 30
        plan = plan_split(text, reference=200, max_parts=20)
        r = Reassembler()
        results = [
            m
            for part in reversed(plan.parts)
            for m in r.feed_short_message(
                source="a",
                destination="b",
                short_message=part.short_message,
                esm_class=part.esm_class,
                data_coding=plan.data_coding,
                now=0,
            )
        ]
        (message,) = results
        assert message.text() == text

    def test_plan_round_trip_sar(self) -> None:
        text = "{hello} " * 40
        plan = plan_split(text, method=SplitMethod.SAR, reference=0xFFFF)
        r = Reassembler()
        results = []
        for part in plan.parts:
            assert part.sar is not None
            results += r.feed_short_message(
                source="a",
                destination="b",
                short_message=part.short_message,
                esm_class=part.esm_class,
                data_coding=plan.data_coding,
                now=0,
                sar=tuple(part.sar),  # type: ignore[arg-type]
            )
        assert [m.text() for m in results] == [text]


class TestReferenceAllocator:
    def test_unique_while_in_flight(self) -> None:
        allocator = ReferenceAllocator(bits=8)
        refs = [allocator.allocate("7900") for _ in range(256)]
        assert sorted(refs) == list(range(256))
        with pytest.raises(ReferencesExhaustedError) as info:
            allocator.allocate("7900")
        assert info.value.modulus == 256
        # Other destinations are independent.
        assert 0 <= allocator.allocate("7901") < 256

    def test_release_makes_it_available(self) -> None:
        allocator = ReferenceAllocator(bits=8)
        refs = [allocator.allocate("d") for _ in range(256)]
        allocator.release("d", refs[10])
        assert allocator.allocate("d") == refs[10]
        assert len(allocator.in_flight("d")) == 256

    def test_consecutive_messages_differ_and_release_is_idempotent(self) -> None:
        allocator = ReferenceAllocator(bits=16)
        first = allocator.allocate("d")
        allocator.release("d", first)
        allocator.release("d", first)
        allocator.release("never", 3)
        second = allocator.allocate("d")
        assert second != first
        assert allocator.in_flight("d") == frozenset({second})
        assert allocator.modulus == 65536

    def test_wraps_around(self) -> None:
        allocator = ReferenceAllocator(bits=8)
        for _ in range(300):
            ref = allocator.allocate("d")
            assert 0 <= ref < 256
            allocator.release("d", ref)

    def test_bits(self) -> None:
        with pytest.raises(ValueError, match="8 or 16"):
            ReferenceAllocator(bits=12)

    def test_one_space_for_both_widths(self) -> None:
        # 8-bit (UDH) and 16-bit (SAR) references to one destination from one in-flight set
        allocator = ReferenceAllocator(bits=16)
        wide = [allocator.allocate("d") for _ in range(200)]  # 0..199
        narrow = [allocator.allocate("d", bits=8) for _ in range(56)]
        assert sorted(narrow) == list(range(200, 256))
        assert not set(wide) & set(narrow)
        with pytest.raises(ReferencesExhaustedError) as info:
            allocator.allocate("d", bits=8)
        assert info.value.modulus == 256
        assert allocator.allocate("d") >= 256  # the wide range still has room
        allocator.release("d", wide[7])
        assert allocator.allocate("d", bits=8) == 7
        with pytest.raises(ValueError, match="16-bit"):
            ReferenceAllocator(bits=8).allocate("d", bits=16)

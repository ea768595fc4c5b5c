"""The emulator's fast submit path answers exactly as the general path (full decode, every
check) for any submit_sm, valid or mutated: two emulators, one with the fast path and one
without, get the same bytes over 127.0.0.1 and must answer them byte for byte the same and
count them the same."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smppgate.emulator import Emulator
from smppgate.emulator._fast import ReceiptFields, receipt_fields
from smppgate.pdu import EnquireLink, PduError, SubmitSm, decode, encode
from tests.esme_helpers import bound, config, submit_frame

_ASCII = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789 +", max_size=30)
_DIGITS = st.text(alphabet="0123456789", min_size=0, max_size=30)
_SAR = bytes.fromhex("020c00020007020e00010202 0f000101".replace(" ", ""))
_PAYLOAD = bytes.fromhex("0424000568656c6c6f")


@st.composite
def submits(draw: st.DrawFn) -> bytes:
    """A submit_sm the fast path would take, with lengths drawn across the codec's limits,
    then (often) one field changed to anything and (sometimes) one octet overwritten."""
    fields: dict[str, Any] = {
        "service_type": draw(st.text(alphabet="ABCDEFGHIJ", max_size=10)).encode(),
        "source": (5, 1, draw(_ASCII).encode()),
        "dest": (1, 1, draw(_DIGITS).encode()),
        "schedule": draw(st.sampled_from([b"", b"000000000100000R", b"12345"])),
        "short_message": draw(st.binary(max_size=170)),
    }
    changed = draw(st.sampled_from([None, *_CHANGES]))
    if changed is not None:
        fields[changed] = draw(_CHANGES[changed])
    frame = submit_frame(1, **fields)
    mutation = draw(st.none() | st.tuples(st.integers(16, len(frame) - 1), st.integers(0, 255)))
    if mutation is not None:
        index, value = mutation
        frame = frame[:index] + bytes((value,)) + frame[index + 1 :]
    return frame


_CHANGES: dict[str, st.SearchStrategy[Any]] = {
    "source": st.tuples(
        st.sampled_from([0, 1, 3, 5]), st.sampled_from([0, 1]), _ASCII.map(str.encode)
    ),
    "dest": st.tuples(
        st.sampled_from([0, 1]), st.sampled_from([1, 9]), st.one_of(_DIGITS, _ASCII).map(str.encode)
    ),
    "esm_class": st.sampled_from([0x40, 0x03, 0x43]),
    "validity": st.sampled_from([b"000000000100000R", b"000000000000030R", b"1"]),
    "registered": st.sampled_from([0, 2, 0x11]),
    "data_coding": st.sampled_from([3, 8, 0xF0]),
    "tlvs": st.sampled_from([_SAR, _PAYLOAD, b"\x02\x0c\x00"]),
}


async def _answers(frames: list[bytes], *, fast_path: bool) -> tuple[list[bytes], dict[str, int]]:
    async with Emulator(config(fast_path=fast_path, dlr_enabled=False)) as emu:
        client = await bound(emu.address)
        try:
            for seq, frame in enumerate(frames, 2):
                await client.send_raw(frame[:12] + seq.to_bytes(4, "big") + frame[16:])
            # every request gets one answer (the mutations keep the header whole)
            answers = [await client.read_frame() for _ in frames]
        finally:
            await client.close()
        # SMPP is asynchronous: the long way answers an enquire_link met in the same chunk
        # before the submits beside it; what must match is each request's answer
        answers.sort(key=lambda frame: frame[12:16])
        return answers, emu.counters.snapshot()


def _same_answers(frames: list[bytes]) -> None:
    fast = asyncio.run(_answers(frames, fast_path=True))
    slow = asyncio.run(_answers(frames, fast_path=False))
    assert fast == slow


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(submits(), min_size=1, max_size=6))
# the fields the fast path once accepted and the general path refuses (each with source 5/1)
@example([submit_frame(1, source=(5, 1, b"S" * 30))])
@example([submit_frame(1, dest=(1, 1, b"7" * 30))])
@example([submit_frame(1, service_type=b"ABCDEFGHIJ")])
@example([submit_frame(1, schedule=b"12345")])
@example([submit_frame(1), encode(EnquireLink(), 1)])
def test_fast_path_answers_as_the_general_path(frames: list[bytes]) -> None:
    _same_answers(frames)


@settings(max_examples=300, deadline=None)
@given(submits())
@example(submit_frame(1, short_message=b""))
@example(submit_frame(1, service_type=b"ABCDEFGHIJ", schedule=b"000000000100000R"))
def test_receipt_fields_read_from_the_frame_are_the_decoded_ones(frame: bytes) -> None:
    # a receipt is built from a submit_sm's frame without decoding it: what it reads there
    # is what the decoder reads, or it declines (an empty short_message: message_payload)
    try:
        pdu = decode(frame)
    except PduError:
        return  # never accepted: never in the message book
    fields = receipt_fields(frame)
    if fields is None:
        assert not isinstance(pdu, SubmitSm) or not pdu.short_message
        return
    assert isinstance(pdu, SubmitSm)
    assert fields == ReceiptFields(
        pdu.source_addr_ton,
        pdu.source_addr_npi,
        pdu.source_addr,
        pdu.esm_class,
        pdu.registered_delivery,
        pdu.data_coding,
        pdu.short_message,
    )

"""Property tests of the codec: round trips for every PDU type, and garbage never escapes as
anything but the codec's own error."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smppgate.pdu import (
    BODIES,
    CommandStatus,
    DeliverSmResp,
    DestAddress,
    FrameReader,
    Pdu,
    PduError,
    SubmitSmResp,
    Tlv,
    UnsuccessSme,
    decode,
    encode,
)
from smppgate.pdu.codec import Field, Kind, _encode_generic
from tests.pdu_fixtures import load


def _cstr(max_length: int) -> st.SearchStrategy[str]:
    alphabet = st.characters(min_codepoint=1, max_codepoint=0xFF)
    return st.text(alphabet, max_size=max_length - 1)


def _time() -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""), st.text(st.sampled_from("0123456789+-R"), min_size=16, max_size=16)
    )


_byte = st.integers(0, 255)
_dest = st.one_of(
    st.builds(DestAddress, _byte, _byte, _cstr(21), st.none()),
    _cstr(21).map(lambda name: DestAddress(dl_name=name)),
)
_unsuccess = st.builds(UnsuccessSme, _byte, _byte, _cstr(21), st.integers(0, 0xFFFFFFFF))
# vendor-range tags only: standard tags have fixed lengths checked by the codec
_tlv = st.builds(Tlv, st.integers(0x1400, 0x3FFF), st.binary(max_size=40))


def _field(field: Field) -> st.SearchStrategy[object]:
    if field.kind is Kind.CSTR:
        return _cstr(field.max_length)
    if field.kind is Kind.TIME:
        return _time()
    if field.kind is Kind.INT1:
        return _byte
    if field.kind is Kind.SHORT_MESSAGE:
        return st.binary(max_size=254)
    if field.kind is Kind.DESTS:
        return st.lists(_dest, max_size=5).map(tuple)
    return st.lists(_unsuccess, max_size=5).map(tuple)


_STATUSES = st.sampled_from(list(CommandStatus)) | st.integers(0x400, 0x4FF).map(CommandStatus)


@st.composite
def pdus(draw: st.DrawFn) -> Pdu:
    cid = draw(st.sampled_from(sorted(BODIES)))
    body = BODIES[cid]
    values = [draw(_field(f)) for f in body.fields]
    if body.tlvs:
        values.append(tuple(draw(st.lists(_tlv, max_size=3))))
    is_resp = bool(cid & 0x80000000)
    status = draw(_STATUSES) if is_resp else CommandStatus.ESME_ROK
    if status and body.omit_body_on_error:
        return body.cls(command_status=status, sequence_number=draw(st.integers(0, 0x7FFFFFFF)))
    values += [status, draw(st.integers(0, 0x7FFFFFFF)), cid]
    return tuple.__new__(body.cls, values)  # type: ignore[no-any-return]


@given(pdus())
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_decode_of_encode_is_identity(pdu: Pdu) -> None:
    assert decode(encode(pdu)) == pdu


@given(st.lists(pdus(), min_size=1, max_size=6), st.data())
def test_frame_reader_any_chunking(pdus_: list[Pdu], data: st.DataObject) -> None:
    stream = b"".join(encode(p) for p in pdus_)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = FrameReader()
    frames: list[bytes] = []
    last = 0
    for cut in [*cuts, len(stream)]:
        reader.feed(stream[last:cut])
        frames.extend(reader.read_frames())
        last = cut
    assert [decode(f) for f in frames] == pdus_
    assert reader.buffered == 0


def test_frame_reader_one_byte_at_a_time() -> None:
    vectors = [bytes.fromhex(v["hex"]) for v in load("pdu-vectors.jsonl")]
    reader = FrameReader()
    frames: list[bytes] = []
    for byte in b"".join(vectors):
        reader.feed(bytes((byte,)))
        frames.extend(reader.read_frames())
    assert frames == vectors


def test_frame_reader_rejects_bad_length_before_buffering() -> None:
    reader = FrameReader(max_command_length=1024)
    reader.feed(bytes.fromhex("ffffffff000000040000000000000001"))
    with pytest.raises(PduError) as info:
        reader.read_frames()
    assert info.value.command_status is CommandStatus.ESME_RINVCMDLEN
    assert info.value.sequence_number == 1
    with pytest.raises(PduError):  # the stream cannot be delimited any more
        reader.read_frames()
    short = FrameReader()
    short.feed(bytes.fromhex("0000000c000000150000000000000001"))
    with pytest.raises(PduError):
        short.read_frames()


def _only_codec_errors(data: bytes) -> None:
    with contextlib.suppress(PduError):
        decode(data)


_SEEDS = [bytes.fromhex(v["hex"]) for v in load("pdu-vectors.jsonl")]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.integers(0, 2))
        pos = draw(st.integers(0, len(data)))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] = draw(_byte)
        elif op == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[pos : pos + draw(st.integers(1, 8))]
    if draw(st.booleans()) and len(data) >= 4:
        data[0:4] = len(data).to_bytes(4, "big")  # keep the frame delimitable
    return bytes(data)


@given(st.one_of(st.binary(max_size=300), mutated()))
@settings(max_examples=2000)
def test_garbage_raises_only_codec_errors(data: bytes) -> None:
    _only_codec_errors(data)


@pytest.mark.slow
def test_garbage_fuzz_100k() -> None:
    rng = random.Random(20261125)
    for _ in range(100_000):
        data = bytearray(rng.choice(_SEEDS))
        for _ in range(rng.randint(1, 6)):
            pos = rng.randint(0, len(data))
            op = rng.randint(0, 2)
            if op == 0 and data:
                data[min(pos, len(data) - 1)] = rng.randint(0, 255)
            elif op == 1:
                data[pos:pos] = rng.randbytes(rng.randint(1, 8))
            else:
                del data[pos : pos + rng.randint(1, 8)]
        if rng.random() < 0.7 and len(data) >= 4:
            data[0:4] = len(data).to_bytes(4, "big")
        _only_codec_errors(bytes(data))
        reader = FrameReader()
        reader.feed(bytes(data))
        try:
            for frame in reader.read_frames():
                _only_codec_errors(frame)
        except PduError:
            pass


_ID_RESPS = st.builds(
    lambda cls, message_id, status, tlvs: cls(message_id, tlvs, status),
    st.sampled_from([SubmitSmResp, DeliverSmResp]),
    st.one_of(st.text(max_size=70), st.text(alphabet="0123456789abcdef", max_size=66)),
    st.sampled_from([CommandStatus.ESME_ROK, CommandStatus.ESME_RTHROTTLED]),
    st.sampled_from([(), (Tlv(0x1403, b"x"),)]),
)


@given(_ID_RESPS, st.integers(-1, 0x1_0000_0000))
def test_the_id_response_fast_encoder_is_the_generic_one(pdu: Pdu, seq: int) -> None:
    """submit_sm_resp / deliver_sm_resp take a one-pack path: the same bytes, or the same
    error, as the encoder that reads the operation's table."""
    fast: bytes | str
    generic: bytes | str
    try:
        fast = encode(pdu, seq)
    except PduError as exc:
        fast = repr(exc)
    try:
        generic = _encode_generic(pdu, seq)
    except PduError as exc:
        generic = repr(exc)
    assert fast == generic

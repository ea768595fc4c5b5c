"""Byte-exact golden tests: 110 PDUs produced by independent SMPP libraries (shared/data)."""

from __future__ import annotations

from typing import Any

import pytest

from smppgate.pdu import (
    CommandId,
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    GenericNack,
    PduError,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
    decode,
    encode,
    tlv_value,
)
from tests.pdu_fixtures import load, pdu_from_fields

VECTORS = load("pdu-vectors.jsonl")
MALFORMED = load("pdu-malformed.jsonl")


def test_every_pdu_type_is_covered() -> None:
    assert len(VECTORS) == 110
    assert {v["command"] for v in VECTORS} == {c.name.lower() for c in CommandId}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_decode_matches_fields(vector: dict[str, Any]) -> None:
    pdu = decode(bytes.fromhex(vector["hex"]))
    assert pdu == pdu_from_fields(vector["fields"])
    assert pdu.command_id == int(vector["fields"]["command_id"], 16)
    assert type(pdu).__name__.lower().replace("_", "") == vector["command"].replace("_", "")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_encode_from_fields_gives_same_bytes(vector: dict[str, Any]) -> None:
    assert encode(pdu_from_fields(vector["fields"])).hex() == vector["hex"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_typed_tlv_values(vector: dict[str, Any]) -> None:
    pdu = decode(bytes.fromhex(vector["hex"]))
    tlvs = getattr(pdu, "tlvs", ())
    for tlv, (tag, expected) in zip(tlvs, vector["fields"]["tlvs"].items(), strict=True):
        assert tlv.tag == int(tag, 16)
        value = tlv_value(tlv)
        if isinstance(value, bytes):
            assert value.hex() == (expected["value"] or "")
        else:
            assert value == expected["value"]


@pytest.mark.parametrize("case", MALFORMED, ids=[c["name"] for c in MALFORMED])
def test_malformed_gets_its_status(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["hex"])
    expected = CommandStatus[case["expect_status"]]
    if expected is CommandStatus.ESME_ROK:
        decode(data)  # lenient variants real peers send must be accepted
        return
    with pytest.raises(PduError) as info:
        decode(data)
    assert info.value.command_status is expected, str(info.value)
    if len(data) >= 16 and int.from_bytes(data[:4], "big") >= 16:
        # the header was readable: the error says which PDU, so the peer can be answered
        assert info.value.sequence_number == int.from_bytes(data[12:16], "big")


def test_error_responses_omit_body_where_the_spec_says() -> None:
    throttled = SubmitSmResp(
        message_id="ignored", command_status=CommandStatus.ESME_RTHROTTLED, sequence_number=10
    )
    assert encode(throttled).hex() == "0000001080000004000000580000000a"
    # deliver_sm_resp keeps its NUL message_id: always 17 octets (platform rule D-10)
    assert len(encode(DeliverSmResp(sequence_number=0x2A))) == 17


def test_spec_examples_from_part_c() -> None:
    assert encode(DeliverSmResp(sequence_number=0x2A)).hex() == "0000001180000005000000000000002a00"
    nack = decode(bytes.fromhex("00000010800000000000000300000009"))
    assert nack == GenericNack(command_status=CommandStatus.ESME_RINVCMDID, sequence_number=9)


def test_sequence_number_override_and_unknown_status_round_trip() -> None:
    pdu = SubmitSm(destination_addr="79001234567", short_message=b"hi")
    wire = encode(pdu, 0x7FFFFFFF)
    assert decode(wire).sequence_number == 0x7FFFFFFF
    vendor = SubmitSmResp(command_status=CommandStatus(0x401), sequence_number=3)
    assert decode(encode(vendor)).command_status == 0x401
    assert decode(encode(vendor)).command_status.name == "UNKNOWN_0x00000401"


def test_unknown_tlv_survives_byte_exact() -> None:
    pdu = DeliverSm(
        short_message=b"x",
        tlvs=(Tlv(0x1400, b"\x01\x02\x03"), Tlv(TlvTag.MESSAGE_STATE, b"\x02")),
    )
    assert decode(encode(pdu)) == pdu
    assert decode(encode(pdu)) != SubmitSm(short_message=b"x", tlvs=pdu.tlvs)

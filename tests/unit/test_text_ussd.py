"""USSD TLV values (spec A12, D-24)."""

from __future__ import annotations

import pytest

from smppgate.text import ItsSessionInfo, UssdServiceOp


@pytest.mark.parametrize(
    ("value", "member"),
    [
        (0, UssdServiceOp.PSSD_INDICATION),
        (1, UssdServiceOp.PSSR_INDICATION),
        (2, UssdServiceOp.USSR_REQUEST),
        (3, UssdServiceOp.USSN_REQUEST),
        (16, UssdServiceOp.PSSD_RESPONSE),
        (17, UssdServiceOp.PSSR_RESPONSE),
        (18, UssdServiceOp.USSR_CONFIRM),
        (19, UssdServiceOp.USSN_CONFIRM),
    ],
)
def test_known_ops(value: int, member: UssdServiceOp) -> None:
    assert UssdServiceOp.lookup(value) is member
    assert member == value


@pytest.mark.parametrize("value", [4, 15, 20, 31, 32, 255])
def test_unknown_ops_are_kept_as_int(value: int) -> None:
    result = UssdServiceOp.lookup(value)
    assert result == value
    assert not isinstance(result, UssdServiceOp)


@pytest.mark.parametrize("value", [-1, 256])
def test_op_out_of_octet(value: int) -> None:
    with pytest.raises(ValueError, match="one octet"):
        UssdServiceOp.lookup(value)


@pytest.mark.parametrize(
    ("raw", "info"),
    [
        ("0000", ItsSessionInfo(0, 0, False)),
        ("0501", ItsSessionInfo(5, 0, True)),
        ("0a07", ItsSessionInfo(10, 3, True)),
        ("fffe", ItsSessionInfo(255, 127, False)),
        ("ffff", ItsSessionInfo(255, 127, True)),
    ],
)
def test_its_session_info_both_ways(raw: str, info: ItsSessionInfo) -> None:
    assert ItsSessionInfo.from_bytes(bytes.fromhex(raw)) == info
    assert info.to_bytes().hex() == raw


@pytest.mark.parametrize("raw", ["", "01", "010203"])
def test_its_session_info_length(raw: str) -> None:
    with pytest.raises(ValueError, match="2 octets"):
        ItsSessionInfo.from_bytes(bytes.fromhex(raw))


@pytest.mark.parametrize(("session", "sequence"), [(256, 0), (-1, 0), (0, 128), (0, -1)])
def test_its_session_info_ranges(session: int, sequence: int) -> None:
    with pytest.raises(ValueError, match=r"session_number|sequence_number"):
        ItsSessionInfo(session, sequence)

"""USSD values carried in TLVs: ussd_service_op (0x0501) and its_session_info (0x1383).

Devino documents no USSD scheme (spec D-24, Part D item 9), so these are plain values passed
through to the application, with unknown operation codes kept rather than rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = ["ItsSessionInfo", "UssdServiceOp"]


class UssdServiceOp(IntEnum):
    """ussd_service_op values of SMPP 3.4 §5.3.2.44; others are reserved or vendor specific."""

    PSSD_INDICATION = 0
    PSSR_INDICATION = 1
    USSR_REQUEST = 2
    USSN_REQUEST = 3
    PSSD_RESPONSE = 16
    PSSR_RESPONSE = 17
    USSR_CONFIRM = 18
    USSN_CONFIRM = 19

    @classmethod
    def lookup(cls, value: int) -> UssdServiceOp | int:
        """The member for ``value``, or the int itself for reserved / vendor values (0..255)."""
        if not 0 <= value <= 0xFF:
            raise ValueError(f"ussd_service_op is one octet, not {value}")
        try:
            return cls(value)
        except ValueError:
            return value


@dataclass(frozen=True, slots=True)
class ItsSessionInfo:
    """its_session_info: octet 1 session number; octet 2 bits 7..1 sequence, bit 0 end."""

    session_number: int
    sequence_number: int
    end_of_session: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.session_number <= 0xFF:
            raise ValueError(f"session_number is one octet, not {self.session_number}")
        if not 0 <= self.sequence_number <= 0x7F:
            raise ValueError(f"sequence_number is 7 bits, not {self.sequence_number}")

    def to_bytes(self) -> bytes:
        return bytes((self.session_number, (self.sequence_number << 1) | self.end_of_session))

    @classmethod
    def from_bytes(cls, data: bytes) -> ItsSessionInfo:
        """Read the 2-octet TLV value; raises ValueError for any other length."""
        if len(data) != 2:
            raise ValueError(f"its_session_info is 2 octets, not {len(data)}")
        return cls(data[0], data[1] >> 1, bool(data[1] & 0x01))

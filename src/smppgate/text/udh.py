"""User data header (3GPP TS 23.040 §9.2.3.24): the concatenation header we send and a parser.

We only ever send the 6-octet form ``05 00 03 RR TT NN`` (Devino D-16); the parser also reads
the 16-bit reference form (IEI 0x08) and keeps any other element as it came.
"""

from __future__ import annotations

from typing import NamedTuple

from smppgate.text.errors import UdhError

__all__ = [
    "ESM_CLASS_UDHI",
    "IEI_CONCAT_8BIT",
    "IEI_CONCAT_16BIT",
    "Concatenation",
    "InformationElement",
    "concatenation_udh",
    "find_concatenation",
    "split_udh",
]

ESM_CLASS_UDHI = 0x40
IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08


class InformationElement(NamedTuple):
    """One element of a UDH: identifier and data, length implied by ``data``."""

    iei: int
    data: bytes


class Concatenation(NamedTuple):
    """Where one part sits in a concatenated message."""

    reference: int
    total: int
    seqnum: int
    reference_bits: int


def concatenation_udh(reference: int, total: int, seqnum: int) -> bytes:
    """The 6-octet concatenation UDH with an 8-bit reference."""
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"8-bit UDH reference must be 0..255, not {reference}")
    if not 1 <= seqnum <= total <= 0xFF:
        raise ValueError(f"need 1 <= seqnum <= total <= 255, got {seqnum}/{total}")
    return bytes((0x05, IEI_CONCAT_8BIT, 0x03, reference, total, seqnum))


def split_udh(short_message: bytes) -> tuple[tuple[InformationElement, ...], bytes]:
    """Split a short_message whose esm_class has UDHI into (elements, payload).

    Raises :class:`UdhError` when the header length or an element length overruns.
    """
    if not short_message:
        raise UdhError("UDHI set but short_message is empty")
    header_end = 1 + short_message[0]
    if header_end > len(short_message):
        raise UdhError(f"UDHL {short_message[0]} exceeds the {len(short_message)}-octet message")
    elements: list[InformationElement] = []
    position = 1
    while position < header_end:
        if position + 2 > header_end:
            raise UdhError(f"information element header cut at octet {position}")
        iei, length = short_message[position], short_message[position + 1]
        data_end = position + 2 + length
        if data_end > header_end:
            raise UdhError(f"element 0x{iei:02X} of {length} octets overruns the header")
        elements.append(InformationElement(iei, short_message[position + 2 : data_end]))
        position = data_end
    return tuple(elements), short_message[header_end:]


def find_concatenation(elements: tuple[InformationElement, ...]) -> Concatenation | None:
    """The concatenation element (8- or 16-bit reference), if any well-formed one is present."""
    for element in elements:
        data = element.data
        if element.iei == IEI_CONCAT_8BIT and len(data) == 3:
            return Concatenation(data[0], data[1], data[2], 8)
        if element.iei == IEI_CONCAT_16BIT and len(data) == 4:
            return Concatenation(int.from_bytes(data[:2], "big"), data[2], data[3], 16)
    return None

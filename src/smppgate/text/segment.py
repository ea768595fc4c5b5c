"""Splitting a text into submit_sm parts: a pure plan, computed before anything is sent.

Invariants (property-tested): the parts' texts joined give the original text; every part fits
its limit (153 septets / 67 UTF-16 units / 134 octets when split, 160 / 70 / 140 when not);
no part ends inside a GSM escape pair or a UTF-16 surrogate pair (that part carries one unit
less); the number of parts is the minimum; a single part carries no UDH and no SAR values.
The concatenation reference is an argument: the caller allocates it (see
:class:`~smppgate.text.reference.ReferenceAllocator`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from smppgate.text.coding import (
    DefaultAlphabet,
    Encoding,
    encode,
    gsm7_outsiders,
    gsm7_violation,
    resolve_encoding,
)
from smppgate.text.errors import TooManyPartsError, UnencodableTextError
from smppgate.text.gsm7 import ESC, encode_gsm7_unchecked
from smppgate.text.udh import ESM_CLASS_UDHI, concatenation_udh

__all__ = [
    "DEFAULT_MAX_PARTS",
    "Capacity",
    "Part",
    "Preview",
    "Sar",
    "SplitMethod",
    "SplitPlan",
    "Unit",
    "capacity",
    "plan_split",
    "preview",
]

DEFAULT_MAX_PARTS = 10
# total and seqnum are single octets in both the UDH and the SAR TLVs.
_PART_LIMIT = 255


class SplitMethod(StrEnum):
    """How the parts of a long message are tied together (Devino point 7, D-14, D-15)."""

    UDH = "udh"
    SAR = "sar"
    PAYLOAD = "payload"


class Unit(StrEnum):
    """What a length is counted in."""

    SEPTET = "septet"
    UTF16_UNIT = "utf16_unit"
    OCTET = "octet"


class Capacity(NamedTuple):
    """Units a message holds when sent whole, and per part when split."""

    single: int
    per_part: int
    unit: Unit


_CAPACITY = {
    Encoding.GSM7: Capacity(160, 153, Unit.SEPTET),
    Encoding.UCS2: Capacity(70, 67, Unit.UTF16_UNIT),
    Encoding.LATIN1: Capacity(140, 134, Unit.OCTET),
    Encoding.BINARY: Capacity(140, 134, Unit.OCTET),
}


_GSM7_SINGLE = _CAPACITY[Encoding.GSM7].single
_GSM7_DATA_CODING = Encoding.GSM7.data_coding


def capacity(encoding: Encoding) -> Capacity:
    """The limits for a concrete encoding (6-octet UDH or SAR when split)."""
    try:
        return _CAPACITY[encoding]
    except KeyError:
        raise ValueError("AUTO has no capacity; resolve it first") from None


class Sar(NamedTuple):
    """Values of the three SAR TLVs for one part (sar_msg_ref_num is 16-bit)."""

    msg_ref_num: int
    total_segments: int
    segment_seqnum: int


@dataclass(frozen=True, slots=True)
class Part:
    """One submit_sm's worth of a message.

    ``short_message`` includes the UDH for the udh method; ``esm_class`` holds the bits to OR
    into the PDU's esm_class (0x40 UDHI or 0); ``sar`` is set for multi-part sar plans;
    ``message_payload`` is set (and ``short_message`` empty) for the payload method.
    ``units`` is the length of the text this part carries.
    """

    short_message: bytes
    esm_class: int
    sar: Sar | None
    message_payload: bytes | None
    units: int


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """How one text goes out: the chosen encoding and the parts, in order.

    ``billed_segments`` is the number of SMS the SMSC will charge: the part count, or for the
    payload method the number of segments the SMSC makes when it splits the payload itself.
    """

    encoding: Encoding
    data_coding: int
    method: SplitMethod
    parts: tuple[Part, ...]
    units: int
    billed_segments: int


@dataclass(frozen=True, slots=True)
class Preview:
    """What sending a text would cost, for the HTTP API's preview.

    ``forcing_characters`` are the characters that made ``AUTO`` choose UCS2 (empty when GSM
    was chosen or an encoding was requested explicitly).
    """

    encoding: Encoding
    data_coding: int
    parts: int
    units: int
    units_left: int
    unit: Unit
    forcing_characters: tuple[str, ...]


class _Encoded(NamedTuple):
    """A text in *unit space* (one octet per septet/octet, two per UTF-16 unit) and on the wire."""

    encoding: Encoding
    units_bytes: bytes
    width: int
    # None when the wire octets are the unit-space octets themselves.
    text_for_wire: str | None


def _encode_units(
    text: str | bytes,
    requested: Encoding,
    default_alphabet: DefaultAlphabet,
) -> _Encoded:
    """Resolve ``requested`` and encode, scanning the text once on the common AUTO path."""
    if isinstance(text, str):
        if requested is Encoding.AUTO or requested is Encoding.GSM7:
            index = gsm7_violation(text, default_alphabet)
            if index < 0:
                if default_alphabet is DefaultAlphabet.GSM7:
                    return _Encoded(Encoding.GSM7, encode_gsm7_unchecked(text), 1, None)
                # The SMSC reads Latin-1/ASCII octets but sends septets on the air: cut in
                # septet space, then slice the text and encode each slice for the wire.
                return _Encoded(Encoding.GSM7, encode_gsm7_unchecked(text), 1, text)
            if requested is Encoding.GSM7:
                wire = (
                    "gsm7"
                    if default_alphabet is DefaultAlphabet.GSM7
                    else f"gsm7 ({default_alphabet.value} wire)"
                )
                raise UnencodableTextError(text[index], index, wire)
            requested = Encoding.UCS2
    else:
        requested = resolve_encoding(text, requested, default_alphabet)
    width = 2 if requested is Encoding.UCS2 else 1
    return _Encoded(requested, encode(text, requested, default_alphabet), width, None)


def _bounds(encoded: _Encoded) -> list[tuple[int, int]]:
    """Greedy part boundaries in unit-space octets.

    Greedy filling is minimal for an ordered sequence: no split can cover a longer prefix
    with the same number of parts. Stepping back one unit at an escape or high surrogate is
    the only deviation, and it is forced.
    """
    data = encoded.units_bytes
    size = len(data)
    limits = _CAPACITY[encoded.encoding]
    width = encoded.width
    if size <= limits.single * width:
        return [(0, size)]
    step = limits.per_part * width
    bounds: list[tuple[int, int]] = []
    start = 0
    gsm = encoded.encoding is Encoding.GSM7
    ucs2 = encoded.encoding is Encoding.UCS2
    while size - start > step:
        cut = start + step
        # 0x1B never appears as the second octet of an escape pair, so a 1B before the cut
        # is always the start of a pair that would be torn.
        if (gsm and data[cut - 1] == ESC) or (ucs2 and 0xD8 <= data[cut - 2] <= 0xDB):
            cut -= width
        bounds.append((start, cut))
        start = cut
    bounds.append((start, size))
    return bounds


def _wire(encoded: _Encoded, start: int, end: int, default_alphabet: DefaultAlphabet) -> bytes:
    if encoded.text_for_wire is None:
        return encoded.units_bytes[start:end]
    data = encoded.units_bytes
    first = start - data.count(ESC, 0, start)
    last = end - data.count(ESC, 0, end)
    codec = "ascii" if default_alphabet is DefaultAlphabet.ASCII else "latin-1"
    return encoded.text_for_wire[first:last].encode(codec)


def plan_split(
    text: str | bytes,
    encoding: Encoding = Encoding.AUTO,
    method: SplitMethod = SplitMethod.UDH,
    *,
    reference: int,
    max_parts: int = DEFAULT_MAX_PARTS,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7,
) -> SplitPlan:
    """Plan the submit_sm parts for ``text``.

    ``reference`` ties the parts together: 8-bit (0..255) for udh, 16-bit for sar, unused for
    payload and for single-part messages. ``max_parts`` (1..255) bounds the part count, and for
    the payload method the billed segments. Raises :class:`UnencodableTextError`,
    :class:`TooManyPartsError`, and ValueError for an out-of-range
    ``reference`` or ``max_parts``. At most 255 billed segments keep a payload far below the
    TLV's 65535-octet limit.
    """
    if not 1 <= max_parts <= _PART_LIMIT:
        raise ValueError(f"max_parts must be 1..{_PART_LIMIT}, not {max_parts}")
    if method is SplitMethod.UDH and not 0 <= reference <= 0xFF:
        raise ValueError(f"UDH reference must be 0..255, not {reference}")
    if method is SplitMethod.SAR and not 0 <= reference <= 0xFFFF:
        raise ValueError(f"SAR reference must be 0..65535, not {reference}")
    if (
        method is not SplitMethod.PAYLOAD
        and default_alphabet is DefaultAlphabet.GSM7
        and (encoding is Encoding.AUTO or encoding is Encoding.GSM7)
        and isinstance(text, str)
        and len(text) <= _GSM7_SINGLE
        and gsm7_violation(text, default_alphabet) < 0
    ):
        # the common case, one GSM part (most single POSTs): the plan the general path below
        # makes, without its intermediate records (property-tested equal)
        septets = encode_gsm7_unchecked(text)
        units = len(septets)
        if units <= _GSM7_SINGLE:
            part = Part(septets, 0, None, None, units)
            return SplitPlan(Encoding.GSM7, _GSM7_DATA_CODING, method, (part,), units, 1)
    return _plan_general(text, encoding, method, reference, max_parts, default_alphabet)


def _plan_general(
    text: str | bytes,
    encoding: Encoding,
    method: SplitMethod,
    reference: int,
    max_parts: int,
    default_alphabet: DefaultAlphabet,
) -> SplitPlan:
    """`plan_split` for any text, its arguments checked."""
    encoded = _encode_units(text, encoding, default_alphabet)
    resolved = encoded.encoding
    bounds = _bounds(encoded)
    total = len(bounds)
    if total > max_parts:
        raise TooManyPartsError(total, max_parts)
    width = encoded.width
    units = len(encoded.units_bytes) // width

    if method is SplitMethod.PAYLOAD:
        payload = _wire(encoded, 0, len(encoded.units_bytes), default_alphabet)
        parts: tuple[Part, ...] = (Part(b"", 0, None, payload, units),)
    elif total == 1:
        parts = (Part(_wire(encoded, 0, bounds[0][1], default_alphabet), 0, None, None, units),)
    elif method is SplitMethod.UDH:
        parts = tuple(
            Part(
                concatenation_udh(reference, total, seqnum)
                + _wire(encoded, s, e, default_alphabet),
                ESM_CLASS_UDHI,
                None,
                None,
                (e - s) // width,
            )
            for seqnum, (s, e) in enumerate(bounds, 1)
        )
    else:
        parts = tuple(
            Part(
                _wire(encoded, s, e, default_alphabet),
                0,
                Sar(reference, total, seqnum),
                None,
                (e - s) // width,
            )
            for seqnum, (s, e) in enumerate(bounds, 1)
        )
    return SplitPlan(resolved, resolved.data_coding, method, parts, units, total)


def preview(
    text: str | bytes,
    encoding: Encoding = Encoding.AUTO,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7,
) -> Preview:
    """Encoding, part count and room left, without building parts; never limited by max_parts.

    The part count is also the billing estimate for the payload method.
    """
    encoded = _encode_units(text, encoding, default_alphabet)
    resolved = encoded.encoding
    bounds = _bounds(encoded)
    limits = _CAPACITY[resolved]
    width = encoded.width
    last_start, last_end = bounds[-1]
    room = limits.single if len(bounds) == 1 else limits.per_part
    forcing: tuple[str, ...] = ()
    if encoding is Encoding.AUTO and resolved is Encoding.UCS2 and isinstance(text, str):
        forcing = gsm7_outsiders(text, default_alphabet)
    return Preview(
        encoding=resolved,
        data_coding=resolved.data_coding,
        parts=len(bounds),
        units=len(encoded.units_bytes) // width,
        units_left=room - (last_end - last_start) // width,
        unit=limits.unit,
        forcing_characters=forcing,
    )

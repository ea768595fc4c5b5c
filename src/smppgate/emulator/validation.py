"""The platform's checks of a submitted message, as pure functions (no clock, no I/O).

Each check returns ``Finding`` values: the rule it enforces (a Part C id such as ``D-04``, or
None for plain SMPP 3.4 validity), the status to answer with, and whether that answer is given
only in strict mode (otherwise the finding is a logged violation and the message is accepted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from smppgate.pdu import CommandStatus, Tlv, TlvTag
from smppgate.smsc.times import TimeFormatError, validity_seconds
from smppgate.text import InformationElement, UdhError, split_udh

ESM_UDHI = 0x40
CONCAT_UDH_PREFIX = b"\x05\x00\x03"
GSM_SINGLE, GSM_PART = 160, 153
OCTETS_SINGLE, OCTETS_PART = 140, 134
_SAR_TAGS = (TlvTag.SAR_MSG_REF_NUM, TlvTag.SAR_TOTAL_SEGMENTS, TlvTag.SAR_SEGMENT_SEQNUM)


class Finding(NamedTuple):
    rule: str | None  # "D-04", or None for a plain protocol error
    status: CommandStatus  # what to answer with (when it is answered)
    detail: str
    strict_only: bool = False  # True: violation logged, answered only in strict mode


class AddressRules(NamedTuple):
    source_ton: tuple[int, ...]
    source_npi: tuple[int, ...]
    dest_ton: tuple[int, ...]
    dest_npi: tuple[int, ...]


class Content(NamedTuple):
    """Where a submit's text is and how it is split."""

    text: bytes  # the user data without UDH (the payload for message_payload)
    udh: bytes  # the UDH, empty when there is none
    reference: int | None  # concatenation reference (UDH or SAR), None for a single part
    total: int
    seqnum: int
    payload: bool  # sent as message_payload


def is_digits(address: str) -> bool:
    return address.isascii() and address.isdigit()


def check_source(rules: AddressRules, ton: int, npi: int) -> list[Finding]:
    """D-04 for the sender: TON/NPI as the platform asks (strict: 0x48 / 0x49)."""
    findings: list[Finding] = []
    if ton not in rules.source_ton:
        findings.append(
            Finding(
                "D-04",
                CommandStatus.ESME_RINVSRCTON,
                f"source_addr_ton {ton} (expected {_either(rules.source_ton)})",
                True,
            )
        )
    if npi not in rules.source_npi:
        findings.append(
            Finding(
                "D-04",
                CommandStatus.ESME_RINVSRCNPI,
                f"source_addr_npi {npi} (expected {_either(rules.source_npi)})",
                True,
            )
        )
    return findings


def check_destination(rules: AddressRules, ton: int, npi: int, destination: str) -> list[Finding]:
    """D-04 for the destination: TON/NPI (strict: 0x50 / 0x51); digits only, else
    ESME_RINVDSTADR whatever the mode."""
    findings: list[Finding] = []
    if ton not in rules.dest_ton:
        findings.append(
            Finding(
                "D-04",
                CommandStatus.ESME_RINVDSTTON,
                f"dest_addr_ton {ton} (expected {_either(rules.dest_ton)})",
                True,
            )
        )
    if npi not in rules.dest_npi:
        findings.append(
            Finding(
                "D-04",
                CommandStatus.ESME_RINVDSTNPI,
                f"dest_addr_npi {npi} (expected {_either(rules.dest_npi)})",
                True,
            )
        )
    if not is_digits(destination):
        findings.append(
            Finding(None, CommandStatus.ESME_RINVDSTADR, f"destination {destination!r} not digits")
        )
    return findings


def check_addresses(
    rules: AddressRules,
    source_ton: int,
    source_npi: int,
    dest_ton: int,
    dest_npi: int,
    destination: str,
) -> list[Finding]:
    """D-04 for both addresses of a submit_sm / data_sm."""
    return check_source(rules, source_ton, source_npi) + check_destination(
        rules, dest_ton, dest_npi, destination
    )


def _either(values: Iterable[int]) -> str:
    return " or ".join(str(v) for v in values)


def _tlv_map(tlvs: Iterable[Tlv]) -> dict[int, bytes]:
    return {tlv.tag: tlv.value for tlv in tlvs}


class _Position(NamedTuple):
    """Where a part sits in a concatenated message (UDH element or SAR TLVs)."""

    reference: int
    total: int
    seqnum: int


def check_content(
    esm_class: int, data_coding: int, short_message: bytes, tlvs: Iterable[Tlv]
) -> tuple[Content, list[Finding]]:
    """D-14 (UDH or SAR, never both, well formed), D-15 (message_payload alone), D-16 (6-octet
    UDH) and D-17 (per-part capacity). Returns the content as understood and the findings."""
    findings: list[Finding] = []
    by_tag = _tlv_map(tlvs)
    payload = by_tag.get(TlvTag.MESSAGE_PAYLOAD)
    sar_values = [by_tag.get(tag) for tag in _SAR_TAGS]
    has_sar = any(v is not None for v in sar_values)
    udhi = bool(esm_class & ESM_UDHI)
    if payload is not None:
        findings.extend(_check_payload_alone(short_message, mixed=udhi or has_sar))
        return Content(payload, b"", None, 1, 1, True), findings

    text, udh = short_message, b""
    position: _Position | None = None
    if udhi:
        if has_sar:
            findings.append(_d14("UDHI and SAR TLVs in one PDU"))
        try:
            elements, text = split_udh(short_message)
        except UdhError as exc:
            findings.append(_d14(str(exc)))
            return Content(short_message, b"", None, 1, 1, False), findings
        udh = short_message[: len(short_message) - len(text)]
        position = _udh_position(udh, elements, findings)
    elif short_message[:3] == CONCAT_UDH_PREFIX and len(short_message) >= 6 and not has_sar:
        findings.append(_d14("short_message starts with a concatenation UDH but UDHI is not set"))
    if has_sar and not udhi:
        position = _sar_position(sar_values, findings)
    if position is not None and not 1 <= position.seqnum <= position.total:
        findings.append(_d14(f"part {position.seqnum} of {position.total} is out of range"))
    findings.extend(check_capacity(data_coding, text, concatenated=position is not None))
    reference, total, seqnum = position if position is not None else (None, 1, 1)
    return Content(text, udh, reference, total, seqnum, False), findings


def _d14(detail: str) -> Finding:
    """A D-14 finding (how a message is tied together): ESME_RINVESMCLASS."""
    return Finding("D-14", CommandStatus.ESME_RINVESMCLASS, detail, True)


def _check_payload_alone(short_message: bytes, *, mixed: bool) -> list[Finding]:
    """D-15: message_payload carries the whole message, with nothing else beside it."""
    findings: list[Finding] = []
    if short_message:
        findings.append(
            Finding(
                None,
                CommandStatus.ESME_RINVMSGLEN,
                "message_payload together with a non-empty short_message",
            )
        )
    if mixed:
        findings.append(_d14("message_payload combined with a UDH or SAR TLVs"))
    return findings


def _udh_position(
    udh: bytes, elements: Sequence[InformationElement], findings: list[Finding]
) -> _Position | None:
    """The part's position from its UDH's concatenation element (8- or 16-bit reference);
    D-16 (a 6-octet UDH) and D-14 findings go to ``findings``."""
    if len(udh) != 6:
        findings.append(
            Finding(
                "D-16",
                CommandStatus.ESME_RSUBMITFAIL,
                f"UDH of {len(udh)} octets ({udh.hex()}), the platform wants 6",
                True,
            )
        )
    concat = [e for e in elements if e.iei in (0x00, 0x08)]
    if not concat:
        findings.append(_d14("UDHI set but the UDH has no concatenation element"))
        return None
    data = concat[0].data
    if concat[0].iei == 0x00 and len(data) == 3:
        return _Position(data[0], data[1], data[2])
    if concat[0].iei == 0x08 and len(data) == 4:
        return _Position(int.from_bytes(data[:2], "big"), data[2], data[3])
    findings.append(_d14(f"concatenation element with IEDL {len(data)}"))
    return None


def _sar_position(sar_values: list[bytes | None], findings: list[Finding]) -> _Position | None:
    """The part's position from its SAR TLVs; an incomplete triplet is a D-14 finding."""
    if any(v is None for v in sar_values):
        findings.append(_d14("incomplete SAR triplet (ref_num, total_segments, segment_seqnum)"))
        return None
    ref_b, total_b, seq_b = (v or b"" for v in sar_values)
    return _Position(
        int.from_bytes(ref_b, "big"), total_b[0] if total_b else 0, seq_b[0] if seq_b else 0
    )


def check_capacity(data_coding: int, text: bytes, *, concatenated: bool) -> list[Finding]:
    """D-17: a part holds at most 153 unpacked GSM septets or 134 octets; a single message 160
    septets or 140 octets. Over the limit: ESME_RINVMSGLEN, whatever the mode."""
    gsm = data_coding == 0 or 0xF0 <= data_coding <= 0xF3
    limit = (
        (GSM_PART if gsm else OCTETS_PART)
        if concatenated
        else (GSM_SINGLE if gsm else OCTETS_SINGLE)
    )
    if len(text) <= limit:
        return []
    unit = "septets" if gsm else "octets"
    what = "part" if concatenated else "message"
    return [
        Finding(
            "D-17" if concatenated else None,
            CommandStatus.ESME_RINVMSGLEN,
            f"{what} of {len(text)} {unit} (at most {limit})",
        )
    ]


# ------------------------------------------------------------------ validity_period (D-22)


def check_validity(value: str, wall_now: datetime, minimum: float) -> list[Finding]:
    """D-22: a malformed value gets ESME_RINVEXPIRY; one under ``minimum`` seconds is a
    violation (answered ESME_RINVEXPIRY unless the emulator accepts and expires it)."""
    try:
        seconds = validity_seconds(value, wall_now)
    except TimeFormatError as exc:
        return [Finding(None, CommandStatus.ESME_RINVEXPIRY, str(exc))]
    if seconds is not None and seconds < minimum:
        return [
            Finding(
                "D-22",
                CommandStatus.ESME_RINVEXPIRY,
                f"validity_period {value!r} is {seconds:.0f} s (at least {minimum:.0f} s)",
            )
        ]
    return []

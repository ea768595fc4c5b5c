"""The MO / USSD deliver_sm PDUs the emulator sends, plain or concatenated, and the segments
the platform bills. (Receipts are built by ``smsc.receipts``, shared with the front door.)"""

from __future__ import annotations

from smppgate.pdu import DeliverSm, EsmClass, Npi, Tlv, TlvTag, Ton, make_tlv
from smppgate.profiles import AddressPolicy, SenderKind
from smppgate.smsc.receipts import message_text
from smppgate.text import (
    DefaultAlphabet,
    Encoding,
    SplitMethod,
    TextError,
    plan_split,
    preview,
)

#: how an MO's destination (the account's number) is typed: SMPP 3.4's usual conventions, so
#: a short code such as 5500 goes as 3/0, not as an international number
_MO_DESTINATION = AddressPolicy()


def billed_segments(
    payload: bytes, data_coding: int, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7
) -> int:
    """Segments the platform would bill for a message_payload (D-15): the parts it would make."""
    if not payload:
        return 1
    if data_coding == 8:
        text: str | bytes = message_text(payload, 8)
        encoding = Encoding.UCS2
    elif data_coding == 0:
        text = message_text(payload, 0, default_alphabet=default_alphabet)
        encoding = Encoding.GSM7
    else:
        text, encoding = payload, Encoding.BINARY
    try:
        return preview(text, encoding, default_alphabet).parts
    except TextError:
        return max(1, -(-len(payload) // 134))


def mo_pdus(
    *,
    source: str,
    destination: str,
    text: str,
    concatenated: bool = False,
    reference: int = 0,
    ussd_service_op: int | None = None,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7,
) -> list[DeliverSm]:
    """MO (or USSD) deliver_sm PDUs for ``text``: one when it fits or ``concatenated`` is
    False and it fits, else one per part with the 6-octet UDH (esm_class 0x40).

    ``concatenated`` forces the UDH form even for a short text split in two, so tests can
    exercise reassembly with any text of two characters or more. The destination's TON/NPI
    follow its kind: a short code 3/0, an international number 1/1, a name 5/0."""
    plan = plan_split(
        text,
        Encoding.AUTO,
        SplitMethod.UDH,
        reference=reference & 0xFF,
        max_parts=255,
        default_alphabet=default_alphabet,
    )
    parts: list[tuple[bytes, int]] = [(p.short_message, p.esm_class) for p in plan.parts]
    if concatenated and len(parts) == 1 and len(text) >= 2:
        half = len(text) // 2
        first, second = (
            plan_split(piece, plan.encoding, reference=0, default_alphabet=default_alphabet)
            .parts[0]
            .short_message
            for piece in (text[:half], text[half:])
        )
        ref = reference & 0xFF
        parts = [
            (bytes((5, 0, 3, ref, 2, 1)) + first, EsmClass.UDHI),
            (bytes((5, 0, 3, ref, 2, 2)) + second, EsmClass.UDHI),
        ]
    tlvs: tuple[Tlv, ...] = ()
    service_type = ""
    if ussd_service_op is not None:
        tlvs = (make_tlv(TlvTag.USSD_SERVICE_OP, ussd_service_op),)
        service_type = "USSD"
    dest_ton, dest_npi = _MO_DESTINATION.source(destination)
    if _MO_DESTINATION.kind(destination) is SenderKind.INTERNATIONAL:
        destination = destination.removeprefix("+")
    return [
        DeliverSm(
            service_type=service_type,
            source_addr_ton=Ton.INTERNATIONAL,
            source_addr_npi=Npi.ISDN,
            source_addr=source,
            dest_addr_ton=dest_ton,
            dest_addr_npi=dest_npi,
            destination_addr=destination,
            esm_class=esm_class,
            data_coding=plan.data_coding,
            short_message=short_message,
            tlvs=tlvs,
        )
        for short_message, esm_class in parts
    ]

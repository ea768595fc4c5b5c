"""Delivery receipts as a server sends them: a deliver_sm with the Appendix B text and the
receipted_message_id, message_state and network_error_code TLVs. One builder for the emulator
(the platform's receipts) and the front door (the gateway's receipts to applications)."""

from __future__ import annotations

from datetime import datetime

from smppgate.pdu import DeliverSm, EsmClass, Npi, TlvTag, Ton, make_tlv
from smppgate.text import (
    DefaultAlphabet,
    DeliveryState,
    UnsupportedDataCodingError,
    decode,
    format_receipt,
)


def message_text(
    short_message: bytes,
    data_coding: int,
    udh_length: int = 0,
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7,
) -> str:
    """The text of a submitted message, as well as it can be read (for the receipt's text:);
    data_coding 0 is read with the account's ``default_alphabet``."""
    try:
        return decode(short_message[udh_length:], data_coding, default_alphabet)
    except UnsupportedDataCodingError:
        return ""


def receipt_pdu(
    *,
    receipt_id: str,
    state: DeliveryState,
    error: int,
    submitted: datetime,
    done: datetime,
    text: str,
    source_ton: int,
    source_npi: int,
    source: str,
    destination: str,
) -> DeliverSm:
    """A delivery receipt for one message (part): from the handset (the message's
    destination) to the sender, esm_class 0x04."""
    body = format_receipt(receipt_id, state, submitted, done, err=error, text=text)
    return DeliverSm(
        source_addr_ton=Ton.INTERNATIONAL,
        source_addr_npi=Npi.ISDN,
        source_addr=destination,
        dest_addr_ton=source_ton,
        dest_addr_npi=source_npi,
        destination_addr=source,
        esm_class=EsmClass.SMSC_DELIVERY_RECEIPT,
        short_message=body.encode("ascii", "replace"),
        tlvs=(
            make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, receipt_id),
            make_tlv(TlvTag.MESSAGE_STATE, int(state)),
            make_tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03" + error.to_bytes(2, "big")),
        ),
    )

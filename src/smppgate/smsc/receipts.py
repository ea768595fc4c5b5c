"""Delivery receipts as a server sends them: a deliver_sm with the Appendix B text and the
receipted_message_id, message_state and network_error_code TLVs. One builder for the emulator
(the platform's receipts) and the front door (the gateway's receipts to applications).

A receipt goes out for every message, so its building is on a hot path: the text is put
together in one format (the same text as ``smppgate.text.format_receipt``, which a test holds
it to), the dates are written from their fields instead of ``strftime`` and a server that
knows its dates as POSIX times reads them from a per-minute cache (``ReceiptDates``), the two
TLVs that depend only on the state and the error are built once per pair.
"""

from __future__ import annotations

from datetime import UTC, datetime

from smppgate.pdu import DeliverSm, EsmClass, Npi, Tlv, TlvTag, Ton, make_tlv
from smppgate.text import (
    DefaultAlphabet,
    DeliveryState,
    UnsupportedDataCodingError,
    decode,
)

_DELIVERED = DeliveryState.DELIVERED
_RECEIPTED_MESSAGE_ID = int(TlvTag.RECEIPTED_MESSAGE_ID)
_RECEIPTED_MESSAGE_ID_MAX = 65  # octets with the NUL (the TLV's limit; make_tlv checks it)
_INTERNATIONAL, _ISDN = Ton.INTERNATIONAL, Npi.ISDN
_SMSC_DELIVERY_RECEIPT = EsmClass.SMSC_DELIVERY_RECEIPT
# (state, error) -> the message_state and network_error_code TLVs; the pairs in use are few
# (the outcome mix, the front door's final states), bounded anyway
_STATE_TLVS: dict[tuple[DeliveryState, int], tuple[Tlv, Tlv]] = {}
_STATE_TLVS_LIMIT = 1024
_new_deliver_sm = tuple.__new__  # a NamedTuple's own __new__ is Python: twice the cost


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


def receipt_date(at: datetime) -> str:
    """A receipt's date, ``YYMMDDhhmm`` (``format_receipt``'s ``%y%m%d%H%M``)."""
    return f"{at.year % 100:02d}{at.month:02d}{at.day:02d}{at.hour:02d}{at.minute:02d}"


class ReceiptDates:
    """``receipt_date`` of POSIX times (UTC), from a per-minute cache: a busy server writes
    thousands of receipts a minute, all with the same few dates."""

    __slots__ = ("_minutes",)

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}

    def text(self, timestamp: float) -> str:
        """``receipt_date(datetime.fromtimestamp(timestamp, UTC))``."""
        minute, second = divmod(timestamp, 60.0)
        # away from a minute's edges only: fromtimestamp rounds to the microsecond
        if 1e-3 <= second <= 59.999:
            cached = self._minutes.get(int(minute))
            if cached is not None:
                return cached
            text = receipt_date(datetime.fromtimestamp(timestamp, UTC))
            if len(self._minutes) >= 64:
                self._minutes.clear()
            self._minutes[int(minute)] = text
            return text
        return receipt_date(datetime.fromtimestamp(timestamp, UTC))


def receipt_text(
    receipt_id: str, state: DeliveryState, error: int, submitted: str, done: str, text: str
) -> str:
    """The Appendix B text (``format_receipt`` with sub 1, dlvrd by the state), dates given
    as ``receipt_date`` strings."""
    return (
        f"id:{receipt_id} sub:001 dlvrd:{'001' if state is _DELIVERED else '000'} "
        f"submit date:{submitted} done date:{done} "
        f"stat:{state.stat_word} err:{error:03d} text:{text[:20]}"
    )


def _state_tlvs(state: DeliveryState, error: int) -> tuple[Tlv, Tlv]:
    tlvs = _STATE_TLVS.get((state, error))
    if tlvs is None:
        state_tlv = make_tlv(TlvTag.MESSAGE_STATE, int(state))
        error_tlv = make_tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03" + error.to_bytes(2, "big"))
        # plain int tags: the encoder looks each tag up, and an IntEnum hashes in Python
        tlvs = (Tlv(int(state_tlv.tag), state_tlv.value), Tlv(int(error_tlv.tag), error_tlv.value))
        if len(_STATE_TLVS) < _STATE_TLVS_LIMIT:
            _STATE_TLVS[(state, error)] = tlvs
    return tlvs


def receipt_deliver_sm(
    *,
    receipt_id: str,
    state: DeliveryState,
    error: int,
    submitted: str,
    done: str,
    text: str,
    source_ton: int,
    source_npi: int,
    source: str,
    destination: str,
) -> DeliverSm:
    """``receipt_pdu`` with the dates already written (``receipt_date``, ``ReceiptDates``)."""
    body = receipt_text(receipt_id, state, error, submitted, done, text)
    raw_id = receipt_id.encode("latin-1") + b"\x00"
    id_tlv = (
        Tlv(_RECEIPTED_MESSAGE_ID, raw_id)
        if len(raw_id) <= _RECEIPTED_MESSAGE_ID_MAX
        else make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, receipt_id)  # raises what it raises
    )
    state_tlv, error_tlv = _state_tlvs(state, error)
    return _new_deliver_sm(
        DeliverSm,
        (
            "",  # service_type
            _INTERNATIONAL,
            _ISDN,
            destination,  # from the handset
            source_ton,
            source_npi,
            source,  # to the sender
            _SMSC_DELIVERY_RECEIPT,
            0,  # protocol_id
            0,  # priority_flag
            "",  # schedule_delivery_time
            "",  # validity_period
            0,  # registered_delivery
            0,  # replace_if_present_flag
            0,  # data_coding
            0,  # sm_default_msg_id
            body.encode("ascii", "replace"),
            (id_tlv, state_tlv, error_tlv),
            *_DELIVER_SM_TAIL,
        ),
    )


_DELIVER_SM_TAIL = tuple(DeliverSm()[-3:])  # command_status, sequence_number, command_id


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
    return receipt_deliver_sm(
        receipt_id=receipt_id,
        state=state,
        error=error,
        submitted=receipt_date(submitted),
        done=receipt_date(done),
        text=text,
        source_ton=source_ton,
        source_npi=source_npi,
        source=source,
        destination=destination,
    )

"""What the SMSC sends the gateway — receipts, MO messages, USSD, unreadable PDUs — becomes
store records. Pure mapping functions; the runtime feeds them and records the results.

Nothing is dropped: a receipt that names no message we know is stored as unmatched, an
unreadable deliver_sm is kept raw as an unmatched receipt with the reason, an incomplete MO
set is stored with what arrived. The parts of a multi-part MO are stored one by one
(`part_record`) and reassembled from the store (`inbound_for_set`).
"""

from __future__ import annotations

from smppgate.client.incoming import DeliveryReport, MoMessage, MoPart, UnreadablePdu
from smppgate.store import MoSet, NewMoPart
from smppgate.store.models import NewInbound, NewReceipt, ReceiptState
from smppgate.text import (
    AssembledMessage,
    AssemblyStatus,
    DeliveryState,
    ItsSessionInfo,
    UnsupportedDataCodingError,
)

_STATES: dict[DeliveryState, ReceiptState] = {
    DeliveryState.DELIVERED: ReceiptState.DELIVERED,
    DeliveryState.EXPIRED: ReceiptState.EXPIRED,
    DeliveryState.DELETED: ReceiptState.DELETED,
    DeliveryState.UNDELIVERABLE: ReceiptState.UNDELIVERABLE,
    DeliveryState.ACCEPTED: ReceiptState.ACCEPTED,
    DeliveryState.UNKNOWN: ReceiptState.UNKNOWN,
    DeliveryState.REJECTED: ReceiptState.REJECTED,
    DeliveryState.ENROUTE: ReceiptState.ENROUTE,
}


def receipt_record(report: DeliveryReport, now: float) -> NewReceipt:
    """The store's record of a delivery receipt, with every key its id may be matched by."""
    receipt = report.receipt
    state = (
        _STATES.get(report.state, ReceiptState.UNKNOWN) if report.state else ReceiptState.UNKNOWN
    )
    return NewReceipt(
        keys=frozenset(receipt.match_keys),
        # a NUL (PostgreSQL TEXT refuses it) is kept visibly as the four characters \x00
        raw=receipt.raw.replace("\x00", "\\x00"),
        state=state,
        received_at=now,
        error_code=receipt.err,
        account=report.account,
    )


def unreadable_record(event: UnreadablePdu, now: float) -> NewReceipt:
    """An unreadable deliver_sm, kept raw (hex) among the unmatched receipts with its reason."""
    return NewReceipt(
        keys=frozenset(),
        raw=f"unreadable PDU ({event.detail}): {event.raw.hex()}",
        state=ReceiptState.UNKNOWN,
        received_at=now,
        error_code=None,
        account=event.account,
    )


def inbound_record(mo: MoMessage, now: float) -> NewInbound:
    info = f"parts={mo.parts} status={mo.status.value} session={mo.session}"
    if mo.text is not None and "\x00" not in mo.text:
        text = mo.text
    else:
        # binary data, or a text holding NUL (UCS2 U+0000), which PostgreSQL TEXT refuses:
        # the octets as hex, said so, so nothing is lost
        text = mo.payload.hex()
        info += " text=hex"
    if mo.its_session_info is not None:
        info += f" its_session={mo.its_session_info.to_bytes().hex()}"
    return NewInbound(
        account=mo.account,
        source=mo.source,
        destination=mo.destination,
        text=text,
        data_coding=mo.data_coding,
        received_at=now,
        ussd_service_op=int(mo.ussd_service_op) if mo.ussd_service_op is not None else None,
        parts_info=info,
    )


def part_record(part: MoPart, now: float) -> NewMoPart:
    """The store's record of one part of a multi-part MO (kept until its set completes)."""
    info = part.its_session_info
    return NewMoPart(
        account=part.account,
        source=part.source,
        destination=part.destination,
        reference=part.reference,
        total=part.total,
        seq=part.seqnum,
        payload=part.payload,
        data_coding=part.data_coding,
        service_type=part.service_type,
        ussd_service_op=None if part.ussd_service_op is None else int(part.ussd_service_op),
        its_session_info=None if info is None else info.to_bytes(),
        session=part.session,
        received_at=now,
    )


def inbound_for_set(mo_set: MoSet, now: float) -> NewInbound:
    """The inbound record of a set reassembled from its stored parts (complete, or partial
    after the reassembly timeout or when the account's sets in progress reached their cap):
    what the in-memory reassembly would have handed over (``status=evicted`` for the cap)."""
    assembled = AssembledMessage(
        mo_set.account,
        mo_set.source,
        mo_set.destination,
        mo_set.reference,
        mo_set.total,
        mo_set.data_coding,
        mo_set.segments,
        AssemblyStatus.COMPLETE
        if mo_set.complete
        else AssemblyStatus.EVICTED
        if mo_set.evicted
        else AssemblyStatus.TIMED_OUT,
    )
    try:
        text: str | None = assembled.text()
    except UnsupportedDataCodingError:
        text = None
    info: ItsSessionInfo | None = None
    if mo_set.its_session_info is not None:
        try:
            info = ItsSessionInfo.from_bytes(mo_set.its_session_info)
        except ValueError:
            info = None
    mo = MoMessage(
        mo_set.account,
        mo_set.source,
        mo_set.destination,
        text,
        assembled.payload,
        mo_set.data_coding,
        assembled.status,
        mo_set.total,
        mo_set.service_type,
        mo_set.ussd_service_op,
        info,
        mo_set.session,
    )
    return inbound_record(mo, now)


def record_for(
    event: DeliveryReport | MoMessage | UnreadablePdu, now: float
) -> NewReceipt | NewInbound:
    if isinstance(event, DeliveryReport):
        return receipt_record(event, now)
    if isinstance(event, MoMessage):
        return inbound_record(event, now)
    return unreadable_record(event, now)

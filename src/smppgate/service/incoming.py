"""What the SMSC sends the gateway — receipts, MO messages, USSD, unreadable PDUs — becomes
store records. Pure mapping functions; the runtime feeds them and records the results.

Nothing is dropped: a receipt that names no message we know is stored as unmatched, an
unreadable deliver_sm is kept raw as an unmatched receipt with the reason, an incomplete MO
set is stored with what arrived.
"""

from __future__ import annotations

from smppgate.client.incoming import DeliveryReport, IncomingEvent, MoMessage, UnreadablePdu
from smppgate.store.models import NewInbound, NewReceipt, ReceiptState
from smppgate.text import ReceiptState as TextReceiptState

_STATES: dict[TextReceiptState, ReceiptState] = {
    TextReceiptState.DELIVERED: ReceiptState.DELIVERED,
    TextReceiptState.EXPIRED: ReceiptState.EXPIRED,
    TextReceiptState.DELETED: ReceiptState.DELETED,
    TextReceiptState.UNDELIVERABLE: ReceiptState.UNDELIVERABLE,
    TextReceiptState.ACCEPTED: ReceiptState.ACCEPTED,
    TextReceiptState.UNKNOWN: ReceiptState.UNKNOWN,
    TextReceiptState.REJECTED: ReceiptState.REJECTED,
    TextReceiptState.ENROUTE: ReceiptState.ENROUTE,
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


def record_for(event: IncomingEvent, now: float) -> NewReceipt | NewInbound:
    if isinstance(event, DeliveryReport):
        return receipt_record(event, now)
    if isinstance(event, MoMessage):
        return inbound_record(event, now)
    return unreadable_record(event, now)

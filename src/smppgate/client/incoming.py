"""What the SMSC sends us, for the application: delivery receipts, MO messages (reassembled,
spec D-25), USSD (spec D-24) and PDUs that could not be read. Pure: by default the session has
already answered every deliver_sm / data_sm with status 0 (D-10) before any of this runs; an
application that answers only once it has stored them gets each event with its ``Answer``
(:class:`HeldEvent`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from smppgate.pdu import ESM_CLASS_TYPE_MASK, DataSm, DeliverSm, Tlv, TlvTag, tlv_value
from smppgate.text import (
    AssembledMessage,
    AssemblyStatus,
    DeliveryState,
    ItsSessionInfo,
    Reassembler,
    Receipt,
    UnsupportedDataCodingError,
    UssdServiceOp,
    concatenation_of,
    parse_receipt,
)


class DeliveryReport(NamedTuple):
    """A delivery receipt (esm_class receipt types, spec D-14/D-15)."""

    account: str
    message_id: str | None
    """The id the receipt names (receipted_message_id TLV first, else ``id:``)."""
    state: DeliveryState | None
    receipt: Receipt
    source: str
    destination: str
    session: str


class MoMessage(NamedTuple):
    """A mobile-originated message, its parts joined (``status`` says if it is complete)."""

    account: str
    source: str
    destination: str
    text: str | None
    """Decoded text; None for binary data codings (``payload`` has the octets)."""
    payload: bytes
    data_coding: int
    status: AssemblyStatus
    parts: int
    service_type: str
    ussd_service_op: UssdServiceOp | int | None
    its_session_info: ItsSessionInfo | None
    session: str

    @property
    def is_ussd(self) -> bool:
        return self.ussd_service_op is not None


class MoPart(NamedTuple):
    """One part of a multi-part MO, handed over as it comes (``IncomingDecoder`` with
    ``hand_over_parts``) instead of being kept in memory until its set completes: the
    application stores it, answers it, and reassembles the set from what it stored — so a
    crash between the parts loses none of those it answered."""

    account: str
    source: str
    destination: str
    reference: int
    total: int
    seqnum: int
    payload: bytes
    """The part's octets without the UDH."""
    data_coding: int
    service_type: str
    ussd_service_op: UssdServiceOp | int | None
    its_session_info: ItsSessionInfo | None
    session: str


class UnreadablePdu(NamedTuple):
    """A deliver_sm / data_sm the codec could not decode (it was still answered 0)."""

    account: str
    raw: bytes
    detail: str
    session: str


IncomingEvent = DeliveryReport | MoMessage | MoPart | UnreadablePdu


class Answer:
    """The deferred deliver_sm_resp (status 0, D-10) of one PDU, sent when every event made
    of that PDU has been handled (``send`` called once per event). Sending after the session
    closed does nothing: the SMSC delivers the PDU again."""

    __slots__ = ("_acknowledge", "_left", "_seq")

    def __init__(self, acknowledge: Callable[[int], object], seq: int, events: int = 1) -> None:
        self._acknowledge = acknowledge
        self._seq = seq
        self._left = events

    def send(self) -> None:
        self._left -= 1
        if self._left == 0:
            self._acknowledge(self._seq)


class _NoAnswer(Answer):
    """For events no PDU waits on (a partial MO handed over when its reassembly timed out:
    its parts were answered as they came)."""

    def __init__(self) -> None:
        super().__init__(lambda _: None, 0, 0)

    def send(self) -> None:
        pass


NO_ANSWER: Answer = _NoAnswer()


class HeldEvent(NamedTuple):
    """An incoming event whose deliver_sm is not answered yet: call ``answer.send()`` once
    the event is safe (stored); until then the SMSC keeps it (and sends it again if the
    session ends first)."""

    event: IncomingEvent
    answer: Answer


_RECEIPT_TYPES = frozenset({0x04, 0x08, 0x10, 0x20})


def _tlv(tlvs: tuple[Tlv, ...], tag: int) -> Tlv | None:
    for t in tlvs:
        if t.tag == tag:
            return t
    return None


class _UssdInfo(NamedTuple):
    op: UssdServiceOp | int | None
    session: ItsSessionInfo | None


def _ussd(tlvs: tuple[Tlv, ...]) -> _UssdInfo:
    op_tlv = _tlv(tlvs, TlvTag.USSD_SERVICE_OP)
    op: UssdServiceOp | int | None = None
    if op_tlv is not None and len(op_tlv.value) == 1:
        op = UssdServiceOp.lookup(op_tlv.value[0])
    info_tlv = _tlv(tlvs, TlvTag.ITS_SESSION_INFO)
    info: ItsSessionInfo | None = None
    if info_tlv is not None:
        try:
            info = ItsSessionInfo.from_bytes(info_tlv.value)
        except ValueError:
            info = None
    return _UssdInfo(op, info)


class IncomingDecoder:
    """Turns deliver_sm / data_sm into application events, reassembling multi-part MO."""

    def __init__(
        self, account: str, reassembly_timeout: float = 120.0, *, hand_over_parts: bool = False
    ) -> None:
        self.account = account
        #: the parts of a multi-part MO come out one by one (`MoPart`), never kept here
        self.hand_over_parts = hand_over_parts
        self.reassembler = Reassembler(timeout=reassembly_timeout)
        # USSD / service details of the first part of each set in progress
        self._first: dict[tuple[str, str, int, int], tuple[str, _UssdInfo]] = {}

    def feed(self, pdu: DeliverSm | DataSm, now: float, session: str = "") -> list[IncomingEvent]:
        tlvs = pdu.tlvs
        payload_tlv = _tlv(tlvs, TlvTag.MESSAGE_PAYLOAD)
        if isinstance(pdu, DeliverSm):
            short_message = pdu.short_message if payload_tlv is None else payload_tlv.value
        else:
            short_message = b"" if payload_tlv is None else payload_tlv.value
        if pdu.esm_class & ESM_CLASS_TYPE_MASK in _RECEIPT_TYPES:
            rid = _tlv(tlvs, TlvTag.RECEIPTED_MESSAGE_ID)
            state = _tlv(tlvs, TlvTag.MESSAGE_STATE)
            rid_value = tlv_value(rid) if rid is not None else None
            state_value = tlv_value(state) if state is not None else None
            receipt = parse_receipt(
                short_message,
                rid_value if isinstance(rid_value, str) else None,
                state_value if isinstance(state_value, int) else None,
            )
            return [
                DeliveryReport(
                    self.account,
                    receipt.message_id,
                    receipt.state,
                    receipt,
                    pdu.source_addr,
                    pdu.destination_addr,
                    session,
                )
            ]
        sar: tuple[int, int, int] | None = None
        ref = _tlv(tlvs, TlvTag.SAR_MSG_REF_NUM)
        total = _tlv(tlvs, TlvTag.SAR_TOTAL_SEGMENTS)
        seq = _tlv(tlvs, TlvTag.SAR_SEGMENT_SEQNUM)
        if ref is not None and total is not None and seq is not None:
            r, t, s = tlv_value(ref), tlv_value(total), tlv_value(seq)
            if isinstance(r, int) and isinstance(t, int) and isinstance(s, int):
                sar = (r, t, s)
        ussd = _ussd(tlvs)
        if self.hand_over_parts:
            part = concatenation_of(short_message, pdu.esm_class, sar)
            if part is not None and 1 <= part.seqnum <= part.total and part.total > 1:
                return [
                    MoPart(
                        self.account,
                        pdu.source_addr,
                        pdu.destination_addr,
                        part.reference,
                        part.total,
                        part.seqnum,
                        part.payload,
                        pdu.data_coding,
                        pdu.service_type,
                        ussd.op,
                        ussd.session,
                        session,
                    )
                ]
        assembled = self.reassembler.feed_short_message(
            source=pdu.source_addr,
            destination=pdu.destination_addr,
            short_message=short_message,
            esm_class=pdu.esm_class,
            data_coding=pdu.data_coding,
            now=now,
            sar=sar,
            account=self.account,
        )
        if not assembled and sar is not None:
            key = (pdu.source_addr, pdu.destination_addr, sar[0], sar[1])
            self._first.setdefault(key, (pdu.service_type, ussd))
        events: list[IncomingEvent] = [
            self._mo(m, pdu.service_type, ussd, session) for m in assembled
        ]
        events.extend(self.expire(now, session))
        return events

    def expire(self, now: float, session: str = "") -> list[IncomingEvent]:
        """Hand over multi-part MO sets that timed out (partial)."""
        return [
            self._mo(m, "", _UssdInfo(None, None), session) for m in self.reassembler.expire(now)
        ]

    def next_deadline(self) -> float | None:
        return self.reassembler.next_deadline()

    def _mo(
        self, message: AssembledMessage, service_type: str, ussd: _UssdInfo, session: str
    ) -> MoMessage:
        if message.reference is not None:
            first = self._first.pop(
                (message.source, message.destination, message.reference, message.total), None
            )
            if first is not None:
                service_type, ussd = first
        try:
            text: str | None = message.text()
        except UnsupportedDataCodingError:
            text = None
        return MoMessage(
            self.account,
            message.source,
            message.destination,
            text,
            message.payload,
            message.data_coding,
            message.status,
            message.total,
            service_type,
            ussd.op,
            ussd.session,
            session,
        )

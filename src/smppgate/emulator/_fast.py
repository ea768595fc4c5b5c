"""The emulator's fast path: a plain submit_sm answered straight from its bytes (the
benchmark path), fenced here so that ``server.py`` reads as one path.

``scan_plain_submit`` takes a frame only when nothing but what it checks could make the
general path (full decode in the session, ``Emulator._on_submit``) answer differently; the
property test ``tests/property/test_emulator_fast_path.py`` holds the two paths to the same
answers and counters for any submit_sm, valid or mutated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from smppgate.emulator.ledger import SubmitRecord
from smppgate.emulator.validation import (
    CONCAT_UDH_PREFIX,
    OCTETS_SINGLE,
    AddressRules,
)
from smppgate.pdu import BODIES, CommandId, CommandStatus, EsmClass, RegisteredDelivery
from smppgate.session import State

if TYPE_CHECKING:
    from smppgate.emulator.server import Emulator
    from smppgate.smsc import ServerConnection

# The field limits of the codec (the general path's decode), read once: the scan below refuses
# to answer anything the decode would refuse, so both paths keep one set of field rules.
_SM_FIELDS = {field.name: field for field in BODIES[CommandId.SUBMIT_SM].fields}
_SERVICE_TYPE_MAX = _SM_FIELDS["service_type"].max_length  # octets with the NUL
_SOURCE_MAX = _SM_FIELDS["source_addr"].max_length
_DESTINATION_MAX = _SM_FIELDS["destination_addr"].max_length
_TIME_LENGTH = _SM_FIELDS["schedule_delivery_time"].max_length - 1  # a time is 16 or empty
# plain ints: an IntFlag operand would cost a flag construction per submit
_UDHI = int(EsmClass.UDHI)
_RECEIPT_WANTED = int(RegisteredDelivery.RECEIPT_ALWAYS | RegisteredDelivery.RECEIPT_ON_FAILURE)
_RESP_OK = int(CommandId.SUBMIT_SM_RESP).to_bytes(4, "big") + int(CommandStatus.ESME_ROK).to_bytes(
    4, "big"
)
_BOUND_TX, _BOUND_TRX = State.BOUND_TX, State.BOUND_TRX
_OK = CommandStatus.ESME_ROK  # module constants: an enum member lookup costs on a hot path


class PlainSubmit(NamedTuple):
    """What the fast path needs of a plain submit_sm."""

    destination: str
    registered_delivery: int


# tuple.__new__ straight: half the cost of calling the class (its generated __new__ is Python)
_plain_submit = _new_tuple = tuple.__new__


def scan_plain_submit(frame: bytes, rules: AddressRules) -> PlainSubmit | None:
    """The destination and registered_delivery when the submit_sm ``frame`` needs no check
    beyond what this scan does: every field within the codec's limits, addressing as the
    platform asks, digits-only destination, no UDH, no TLVs, no validity_period, a single part
    within capacity. None sends the frame the long way (full decode and every check); None is
    also the answer for anything malformed or over-long, which the long way refuses."""
    try:
        p = frame.index(0, 16)  # end of service_type
        if p - 16 >= _SERVICE_TYPE_MAX:
            return None
        if frame[p + 1] not in rules.source_ton or frame[p + 2] not in rules.source_npi:
            return None
        q = frame.index(0, p + 3)  # end of source_addr
        if q - (p + 3) >= _SOURCE_MAX:
            return None
        if frame[q + 1] not in rules.dest_ton or frame[q + 2] not in rules.dest_npi:
            return None
        r = frame.index(0, q + 3)  # end of destination_addr
        destination = frame[q + 3 : r]
        if (
            len(destination) >= _DESTINATION_MAX
            or not destination.isdigit()
            or frame[r + 1] & _UDHI
        ):
            return None
        s = frame.index(0, r + 4)  # end of schedule_delivery_time
        if s != r + 4 and s - (r + 4) != _TIME_LENGTH:
            return None
        if frame[s + 1]:  # validity_period present
            return None
        sm_length = frame[s + 6]
        if (
            s + 7 + sm_length != len(frame)  # TLVs follow, or a malformed length
            or sm_length > OCTETS_SINGLE
            or frame[s + 7 : s + 10] == CONCAT_UDH_PREFIX
            or len(frame) > 0xFFFF
        ):
            return None
        return _plain_submit(PlainSubmit, (destination.decode("ascii"), frame[s + 2]))
    except (ValueError, IndexError):
        return None


class FastSubmit:
    """The ``SmscServer`` fast-request hook for submit_sm (``answer``): same effects as the
    long way, written out flat (counters, id, message book, record, receipt schedule). The
    emulator's parts that never change are held here: a submit costs no lookups for them."""

    __slots__ = (
        "_book",
        "_connection",
        "_counters",
        "_decimal",
        "_emulator",
        "_faults",
        "_log",
        "_now",
        "_numbers",
        "_receipts",
        "_rules",
    )

    def __init__(self, emulator: Emulator, clock: Callable[[], float]) -> None:
        # imported here: server.py imports this module
        from smppgate.emulator.server import SmscConnection

        self._emulator = emulator
        self._connection = SmscConnection
        self._counters = emulator.counters
        self._faults = emulator.faults
        self._numbers = emulator.ids.numbers
        self._decimal = emulator.ids.decimal
        self._now = clock
        self._rules = emulator.address_rules
        self._receipts = emulator.config.dlr_enabled
        self._book = emulator.book
        self._log = emulator.records if emulator.config.record_limit > 0 else None

    def answer(self, connection: ServerConnection, frame: bytes) -> bytes | None:
        """The submit_sm_resp for ``frame``; None when it needs the full treatment (faults in
        force, retry checks armed, anything unusual)."""
        emulator = self._emulator
        if (
            not isinstance(connection, self._connection)
            or ((state := connection.session.state) is not _BOUND_TRX and state is not _BOUND_TX)
            or emulator.watching
            or connection.throttled_at is not None
            or self._faults.active
        ):
            return None
        plain = scan_plain_submit(frame, self._rules)
        if plain is None:
            return None
        now = self._now()
        counters = self._counters
        counters.submits += 1
        counters.billed_segments += 1
        connection.requests += 1
        number = next(self._numbers)  # MessageIds.next, inlined
        message_id = str(number) if self._decimal else format(number, "x")
        system_id = connection.system_id
        assert system_id is not None  # bound
        record = _new_tuple(
            SubmitRecord,
            (
                now,
                system_id,
                connection.id,
                connection.traffic_class,
                message_id,
                _OK,
                frame,
                number,
            ),
        )
        self._book[message_id] = record  # as Emulator.accepted, inlined
        if self._log is not None:
            self._log.append(record)
        if plain.registered_delivery & _RECEIPT_WANTED and self._receipts:
            emulator.schedule(now, message_id, plain.destination, None)
        body = message_id.encode() + b"\x00"
        return (16 + len(body)).to_bytes(4, "big") + _RESP_OK + frame[12:16] + body


class ReceiptFields(NamedTuple):
    """What a receipt needs of a submit_sm, read from its frame."""

    source_ton: int
    source_npi: int
    source: str
    esm_class: int
    registered_delivery: int
    data_coding: int
    short_message: bytes


_SUBMIT_SM_ID = int(CommandId.SUBMIT_SM).to_bytes(4, "big")


def receipt_fields(frame: bytes) -> ReceiptFields | None:
    """The fields of the submit_sm ``frame`` (an accepted one: it decodes) a receipt is built
    from, as the decoder reads them, without decoding the rest (and the TLVs); None when the
    text is not in short_message (message_payload) or the frame is not a plain submit_sm:
    then the receipt is built from the decoded PDU."""
    if frame[4:8] != _SUBMIT_SM_ID:
        return None
    try:
        p = frame.index(0, 16)  # end of service_type
        q = frame.index(0, p + 3)  # end of source_addr
        r = frame.index(0, q + 3)  # end of destination_addr
        s = frame.index(0, r + 4)  # end of schedule_delivery_time
        t = frame.index(0, s + 1)  # end of validity_period
        sm_length = frame[t + 5]
        short_message = frame[t + 6 : t + 6 + sm_length]
        if not sm_length or len(short_message) != sm_length:
            return None
        return _new_tuple(
            ReceiptFields,
            (
                frame[p + 1],
                frame[p + 2],
                frame[p + 3 : q].decode("latin-1"),
                frame[r + 1],
                frame[t + 1],
                frame[t + 3],
                short_message,
            ),
        )
    except (ValueError, IndexError):
        return None

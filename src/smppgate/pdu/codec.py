"""Encode and decode SMPP 3.4 PDUs, and delimit them in a byte stream.

Every operation's body is described once, as a field table (``BODIES``); a generic encoder and
decoder interpret the tables. submit_sm and deliver_sm — the hot path of a gateway — also have
hand-unrolled versions; the golden vectors and the property tests hold both to the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple

from smppgate.pdu.constants import HEADER_LENGTH, RESPONSE_BIT, CommandId, DestFlag
from smppgate.pdu.errors import (
    InvalidCommandLengthError,
    InvalidFieldError,
    InvalidMessageLengthError,
    InvalidTlvError,
    PduError,
    UnknownCommandIdError,
)
from smppgate.pdu.operations import (
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    UnsuccessSme,
)
from smppgate.pdu.status import STATUS_BY_VALUE, CommandStatus, command_status
from smppgate.pdu.tlv import TLV_SPECS, Tlv, check_tlv

DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024
MAX_SHORT_MESSAGE = 254
MAX_SEQUENCE_NUMBER = 0x7FFFFFFF

_HEADER = struct.Struct(">IIII")
_TLV_HEADER = struct.Struct(">HH")
_INT4 = struct.Struct(">I")

_S = CommandStatus


class Kind(Enum):
    CSTR = "cstr"  # C-Octet String, max octets including the NUL
    TIME = "time"  # fixed 1-or-17 C-Octet String
    INT1 = "int1"
    INT4 = "int4"
    SHORT_MESSAGE = "short_message"  # sm_length + octets
    DESTS = "dests"  # number_of_dests + dest_address list (submit_multi)
    UNSUCCESS = "unsuccess"  # no_unsuccess + unsuccess_sme list (submit_multi_resp)


class Field(NamedTuple):
    name: str
    kind: Kind
    max_length: int = 0
    # the status a peer gets when this field is too long or malformed
    status: CommandStatus = _S.ESME_RINVCMDLEN


def _c(name: str, max_length: int, status: CommandStatus = _S.ESME_RINVPARLEN) -> Field:
    return Field(name, Kind.CSTR, max_length, status)


def _i(name: str) -> Field:
    return Field(name, Kind.INT1)


_SERVICE_TYPE = _c("service_type", 6, _S.ESME_RINVSERTYP)
_MESSAGE_ID = _c("message_id", 65, _S.ESME_RINVMSGID)
_SOURCE = (_i("source_addr_ton"), _i("source_addr_npi"), _c("source_addr", 21, _S.ESME_RINVSRCADR))
_DEST = (_i("dest_addr_ton"), _i("dest_addr_npi"), _c("destination_addr", 21, _S.ESME_RINVDSTADR))
_SCHEDULE = Field("schedule_delivery_time", Kind.TIME, 17, _S.ESME_RINVSCHED)
_VALIDITY = Field("validity_period", Kind.TIME, 17, _S.ESME_RINVEXPIRY)
_SHORT_MESSAGE = Field("short_message", Kind.SHORT_MESSAGE, MAX_SHORT_MESSAGE, _S.ESME_RINVMSGLEN)
_SM_TAIL = (
    _i("esm_class"),
    _i("protocol_id"),
    _i("priority_flag"),
    _SCHEDULE,
    _VALIDITY,
    _i("registered_delivery"),
    _i("replace_if_present_flag"),
    _i("data_coding"),
    _i("sm_default_msg_id"),
    _SHORT_MESSAGE,
)
_BIND = (
    _c("system_id", 16, _S.ESME_RINVSYSID),
    _c("password", 9, _S.ESME_RINVPASWD),
    _c("system_type", 13, _S.ESME_RINVSYSTYP),
    _i("interface_version"),
    _i("addr_ton"),
    _i("addr_npi"),
    _c("address_range", 41),
)
_BIND_RESP = (_c("system_id", 16, _S.ESME_RINVSYSID),)
_SM = (_SERVICE_TYPE, *_SOURCE, *_DEST, *_SM_TAIL)


class Body(NamedTuple):
    """How one operation's body is laid out on the wire."""

    cls: type[Pdu]
    fields: tuple[Field, ...]
    tlvs: bool
    # bind_*_resp and submit_sm_resp carry no body when command_status != 0 (§4.1.2, §4.4.2)
    omit_body_on_error: bool = False


_CID = CommandId
BODIES: dict[int, Body] = {
    _CID.BIND_TRANSMITTER: Body(BindTransmitter, _BIND, False),
    _CID.BIND_RECEIVER: Body(BindReceiver, _BIND, False),
    _CID.BIND_TRANSCEIVER: Body(BindTransceiver, _BIND, False),
    _CID.BIND_TRANSMITTER_RESP: Body(BindTransmitterResp, _BIND_RESP, True, True),
    _CID.BIND_RECEIVER_RESP: Body(BindReceiverResp, _BIND_RESP, True, True),
    _CID.BIND_TRANSCEIVER_RESP: Body(BindTransceiverResp, _BIND_RESP, True, True),
    _CID.OUTBIND: Body(
        Outbind,
        (_c("system_id", 16, _S.ESME_RINVSYSID), _c("password", 9, _S.ESME_RINVPASWD)),
        False,
    ),
    _CID.UNBIND: Body(Unbind, (), False),
    _CID.UNBIND_RESP: Body(UnbindResp, (), False),
    _CID.ENQUIRE_LINK: Body(EnquireLink, (), False),
    _CID.ENQUIRE_LINK_RESP: Body(EnquireLinkResp, (), False),
    _CID.GENERIC_NACK: Body(GenericNack, (), False),
    _CID.SUBMIT_SM: Body(SubmitSm, _SM, True),
    _CID.SUBMIT_SM_RESP: Body(SubmitSmResp, (_MESSAGE_ID,), True, True),
    _CID.DELIVER_SM: Body(DeliverSm, _SM, True),
    _CID.DELIVER_SM_RESP: Body(DeliverSmResp, (_MESSAGE_ID,), True),
    _CID.SUBMIT_MULTI: Body(
        SubmitMulti,
        (_SERVICE_TYPE, *_SOURCE, Field("dest_addresses", Kind.DESTS, 254), *_SM_TAIL),
        True,
    ),
    _CID.SUBMIT_MULTI_RESP: Body(
        SubmitMultiResp, (_MESSAGE_ID, Field("unsuccess_sme", Kind.UNSUCCESS, 254)), True
    ),
    _CID.DATA_SM: Body(
        DataSm,
        (
            _SERVICE_TYPE,
            _i("source_addr_ton"),
            _i("source_addr_npi"),
            _c("source_addr", 65, _S.ESME_RINVSRCADR),
            _i("dest_addr_ton"),
            _i("dest_addr_npi"),
            _c("destination_addr", 65, _S.ESME_RINVDSTADR),
            _i("esm_class"),
            _i("registered_delivery"),
            _i("data_coding"),
        ),
        True,
    ),
    _CID.DATA_SM_RESP: Body(DataSmResp, (_MESSAGE_ID,), True),
    _CID.QUERY_SM: Body(QuerySm, (_MESSAGE_ID, *_SOURCE), True),
    _CID.QUERY_SM_RESP: Body(
        QuerySmResp,
        (_MESSAGE_ID, Field("final_date", Kind.TIME, 17), _i("message_state"), _i("error_code")),
        True,
    ),
    _CID.CANCEL_SM: Body(CancelSm, (_SERVICE_TYPE, _MESSAGE_ID, *_SOURCE, *_DEST), True),
    _CID.CANCEL_SM_RESP: Body(CancelSmResp, (), False),
    _CID.REPLACE_SM: Body(
        ReplaceSm,
        (
            _MESSAGE_ID,
            *_SOURCE,
            _SCHEDULE,
            _VALIDITY,
            _i("registered_delivery"),
            _i("sm_default_msg_id"),
            _SHORT_MESSAGE,
        ),
        True,
    ),
    _CID.REPLACE_SM_RESP: Body(ReplaceSmResp, (), False),
    _CID.ALERT_NOTIFICATION: Body(
        AlertNotification,
        (
            _i("source_addr_ton"),
            _i("source_addr_npi"),
            _c("source_addr", 65, _S.ESME_RINVSRCADR),
            _i("esme_addr_ton"),
            _i("esme_addr_npi"),
            _c("esme_addr", 65, _S.ESME_RINVDSTADR),
        ),
        True,
    ),
}

for _cid, _body in BODIES.items():
    _names = _body.cls._fields
    _expected = (
        tuple(f.name for f in _body.fields)
        + (("tlvs",) if _body.tlvs else ())
        + ("command_status", "sequence_number", "command_id")
    )
    # the tables and the classes must describe the same fields in the same order
    assert _names == _expected, (_body.cls.__name__, _names, _expected)
    assert _body.cls._field_defaults["command_id"] == _cid


def is_response(command_id: int) -> bool:
    return bool(command_id & RESPONSE_BIT)


# --------------------------------------------------------------------------- decoding


def parse_header(frame: bytes) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of a whole frame."""
    if len(frame) < HEADER_LENGTH:
        raise InvalidCommandLengthError(f"a PDU needs a 16-octet header, got {len(frame)} octets")
    length, cid, status, seq = _HEADER.unpack_from(frame)
    return int(length), int(cid), int(status), int(seq)


def decode(frame: bytes) -> Pdu:
    """Decode one whole PDU (header included) into its operation's value.

    Raises a ``PduError`` subclass, carrying the status to answer with and, when the header
    was readable, the command_id and sequence_number.
    """
    if len(frame) < HEADER_LENGTH:
        raise InvalidCommandLengthError(f"a PDU needs a 16-octet header, got {len(frame)} octets")
    length, cid, status, seq = _HEADER.unpack_from(frame)
    try:
        if length != len(frame):
            raise InvalidCommandLengthError(
                f"command_length {length} but the frame holds {len(frame)} octets"
            )
        fast = _FAST_DECODERS.get(cid)
        if fast is not None:
            return fast(frame, status, seq)
        body = BODIES.get(cid)
        if body is None:
            raise UnknownCommandIdError(f"unknown command_id 0x{cid:08X}")
        return _decode_generic(body, frame, status, seq)
    except PduError as exc:
        raise exc.with_header(cid, seq) from None
    except (IndexError, ValueError, struct.error) as exc:  # defensive: never leak these
        raise InvalidFieldError(f"malformed body: {exc}").with_header(cid, seq) from exc


def _cstr(frame: bytes, pos: int, end: int, field: Field) -> tuple[str, int]:
    nul = frame.find(0, pos, end)
    if nul < 0:
        raise InvalidFieldError(f"{field.name} is not NUL-terminated before the end of the PDU")
    if nul - pos >= field.max_length:
        raise InvalidFieldError(
            f"{field.name} is {nul - pos + 1} octets, the limit is {field.max_length}",
            field.status,
        )
    return frame[pos:nul].decode("latin-1"), nul + 1


def _time(frame: bytes, pos: int, end: int, field: Field) -> tuple[str, int]:
    nul = frame.find(0, pos, end)
    if nul < 0:
        raise InvalidFieldError(f"{field.name} is not NUL-terminated before the end of the PDU")
    if nul != pos and nul - pos != 16:
        raise InvalidFieldError(
            f"{field.name} must be empty or 16 characters, got {nul - pos}", field.status
        )
    return frame[pos:nul].decode("latin-1"), nul + 1


def _need(pos: int, count: int, end: int, name: str) -> None:
    if pos + count > end:
        raise InvalidFieldError(f"the PDU ends inside {name}")


def _decode_fields(
    fields: tuple[Field, ...], frame: bytes, pos: int, end: int
) -> tuple[list[Any], int]:
    values: list[Any] = []
    append = values.append
    for field in fields:
        kind = field.kind
        if kind is Kind.CSTR:
            value, pos = _cstr(frame, pos, end, field)
            append(value)
        elif kind is Kind.INT1:
            _need(pos, 1, end, field.name)
            append(frame[pos])
            pos += 1
        elif kind is Kind.TIME:
            value, pos = _time(frame, pos, end, field)
            append(value)
        elif kind is Kind.SHORT_MESSAGE:
            _need(pos, 1, end, "sm_length")
            sm_length = frame[pos]
            if sm_length > MAX_SHORT_MESSAGE:
                raise InvalidMessageLengthError(f"sm_length {sm_length} > {MAX_SHORT_MESSAGE}")
            pos += 1
            if pos + sm_length > end:
                raise InvalidMessageLengthError(
                    f"sm_length {sm_length} but only {end - pos} octets remain"
                )
            append(frame[pos : pos + sm_length])
            pos += sm_length
        elif kind is Kind.DESTS:
            dests, pos = _decode_dests(frame, pos, end)
            append(dests)
        elif kind is Kind.UNSUCCESS:
            unsuccess, pos = _decode_unsuccess(frame, pos, end)
            append(unsuccess)
        else:  # Kind.INT4 (no 3.4 body uses it outside lists; kept for completeness)
            _need(pos, 4, end, field.name)
            append(_INT4.unpack_from(frame, pos)[0])
            pos += 4
    return values, pos


_DEST_ADDR_FIELDS = _DEST
_DL_NAME = _c("dl_name", 21, _S.ESME_RINVDLNAME)


def _decode_dests(frame: bytes, pos: int, end: int) -> tuple[tuple[DestAddress, ...], int]:
    _need(pos, 1, end, "number_of_dests")
    count = frame[pos]
    pos += 1
    dests: list[DestAddress] = []
    for _ in range(count):
        _need(pos, 1, end, "dest_flag")
        flag = frame[pos]
        pos += 1
        if flag == DestFlag.SME_ADDRESS:
            (ton, npi, addr), pos = _decode_fields(_DEST_ADDR_FIELDS, frame, pos, end)
            dests.append(DestAddress(ton, npi, addr))
        elif flag == DestFlag.DISTRIBUTION_LIST:
            name, pos = _cstr(frame, pos, end, _DL_NAME)
            dests.append(DestAddress(dl_name=name))
        else:
            raise InvalidFieldError(f"dest_flag {flag} is neither 1 nor 2", _S.ESME_RINVDESTFLAG)
    return tuple(dests), pos


def _decode_unsuccess(frame: bytes, pos: int, end: int) -> tuple[tuple[UnsuccessSme, ...], int]:
    _need(pos, 1, end, "no_unsuccess")
    count = frame[pos]
    pos += 1
    items: list[UnsuccessSme] = []
    for _ in range(count):
        (ton, npi, addr), pos = _decode_fields(_DEST_ADDR_FIELDS, frame, pos, end)
        _need(pos, 4, end, "error_status_code")
        items.append(UnsuccessSme(ton, npi, addr, _INT4.unpack_from(frame, pos)[0]))
        pos += 4
    return tuple(items), pos


def _decode_tlvs(frame: bytes, pos: int, end: int) -> tuple[Tlv, ...]:
    tlvs: list[Tlv] = []
    specs = TLV_SPECS
    while pos < end:
        if end - pos < 4:
            raise InvalidTlvError(f"{end - pos} stray octet(s) where a TLV header should be")
        tag, length = _TLV_HEADER.unpack_from(frame, pos)
        pos += 4
        if pos + length > end:
            raise InvalidTlvError(
                f"TLV 0x{tag:04X} claims {length} octets but only {end - pos} remain"
            )
        value = frame[pos : pos + length]
        pos += length
        if tag in specs:
            check_tlv(tag, value)
        tlvs.append(Tlv(tag, value))
    return tuple(tlvs)


def _decode_generic(body: Body, frame: bytes, status: int, seq: int) -> Pdu:
    end = len(frame)
    cls = body.cls
    header = (command_status(status), seq, cls._field_defaults["command_id"])
    if end == HEADER_LENGTH and body.fields and is_response(header[2]):
        # responses without a body: required on some errors, sent by lenient peers otherwise
        return cls(command_status=header[0], sequence_number=seq)
    values, pos = _decode_fields(body.fields, frame, HEADER_LENGTH, end)
    if body.tlvs:
        values.append(_decode_tlvs(frame, pos, end) if pos < end else ())
    elif pos != end:
        raise InvalidCommandLengthError(f"{end - pos} octet(s) after the last field")
    values.extend(header)
    return tuple.__new__(cls, values)


def _decode_sm(cls: type[SubmitSm] | type[DeliverSm]) -> Callable[[bytes, int, int], Pdu]:
    cid = cls._field_defaults["command_id"]
    new = tuple.__new__
    status_of = command_status

    def decode_sm(frame: bytes, status: int, seq: int) -> Pdu:
        end = len(frame)
        find = frame.find
        # service_type, source_addr, destination_addr: C-strings with their limits
        n1 = find(0, 16, end)
        if n1 < 0 or n1 > 21:  # service_type: at most 5 characters + NUL
            return _decode_generic(BODIES[cid], frame, status, seq)
        n2 = find(0, n1 + 3, end)
        if n2 < 0 or n2 - n1 - 3 > 20:
            return _decode_generic(BODIES[cid], frame, status, seq)
        n3 = find(0, n2 + 3, end)
        if n3 < 0 or n3 - n2 - 3 > 20:
            return _decode_generic(BODIES[cid], frame, status, seq)
        p = n3 + 4
        if p >= end:
            return _decode_generic(BODIES[cid], frame, status, seq)
        # schedule_delivery_time and validity_period: lone NUL is the common case
        if frame[p] == 0:
            sched = ""
            p += 1
        else:
            return _decode_generic(BODIES[cid], frame, status, seq)
        if p < end and frame[p] == 0:
            valid = ""
            p += 1
        else:
            return _decode_generic(BODIES[cid], frame, status, seq)
        if p + 5 > end:
            return _decode_generic(BODIES[cid], frame, status, seq)
        sm_end = p + 5 + frame[p + 4]
        if frame[p + 4] > MAX_SHORT_MESSAGE or sm_end > end:
            return _decode_generic(BODIES[cid], frame, status, seq)
        tlvs = _decode_tlvs(frame, sm_end, end) if sm_end < end else ()
        return new(
            cls,
            (
                frame[16:n1].decode("latin-1"),
                frame[n1 + 1],
                frame[n1 + 2],
                frame[n1 + 3 : n2].decode("latin-1"),
                frame[n2 + 1],
                frame[n2 + 2],
                frame[n2 + 3 : n3].decode("latin-1"),
                frame[n3 + 1],
                frame[n3 + 2],
                frame[n3 + 3],
                sched,
                valid,
                frame[p],
                frame[p + 1],
                frame[p + 2],
                frame[p + 3],
                frame[p + 5 : sm_end],
                tlvs,
                status_of(status),
                seq,
                cid,
            ),
        )

    return decode_sm


def _decode_id_resp(
    cls: type[SubmitSmResp] | type[DeliverSmResp],
) -> Callable[[bytes, int, int], Pdu]:
    """submit_sm_resp / deliver_sm_resp: a lone message_id, the client's hottest decode."""
    cid = cls._field_defaults["command_id"]
    body = BODIES[cid]
    new = tuple.__new__
    limit = _MESSAGE_ID.max_length + HEADER_LENGTH  # NUL position bound

    statuses = STATUS_BY_VALUE

    def decode_id_resp(frame: bytes, status: int, seq: int, _start: int = HEADER_LENGTH) -> Pdu:
        end = len(frame)
        nul = frame.find(0, _start)
        if nul == end - 1 and nul < limit:
            message_id = frame[_start:nul].decode("latin-1")
            known = statuses.get(status)
            code = known if known is not None else command_status(status)
            return new(cls, (message_id, (), code, seq, cid))
        return _decode_generic(body, frame, status, seq)  # no body, TLVs, or an error

    return decode_id_resp


_FAST_DECODERS: dict[int, Callable[[bytes, int, int], Pdu]] = {
    CommandId.SUBMIT_SM: _decode_sm(SubmitSm),
    CommandId.DELIVER_SM: _decode_sm(DeliverSm),
    CommandId.SUBMIT_SM_RESP: _decode_id_resp(SubmitSmResp),
    CommandId.DELIVER_SM_RESP: _decode_id_resp(DeliverSmResp),
}


def frame_decoder(command_id: int) -> Callable[[bytes, int, int], Pdu] | None:
    """The specialised decoder of ``command_id`` (submit_sm, deliver_sm and their responses),
    or None. It takes ``(frame, command_status, sequence_number)`` for a frame whose header the
    caller has read and whose length ``FrameReader`` has checked; like ``decode`` it raises a
    ``PduError`` for a malformed body. Hot loops use it to skip ``decode``'s dispatch."""
    return _FAST_DECODERS.get(command_id)


# --------------------------------------------------------------------------- encoding


def _encode_cstr(value: str, field: Field) -> bytes:
    try:
        raw = value.encode("latin-1")
    except (UnicodeEncodeError, AttributeError) as exc:
        raise InvalidFieldError(f"{field.name} must be a Latin-1 string", field.status) from exc
    if len(raw) >= field.max_length or 0 in raw:
        raise InvalidFieldError(
            f"{field.name} {value!r} is too long: at most {field.max_length - 1} characters",
            field.status,
        )
    return raw + b"\x00"


def _encode_int1(value: int, name: str) -> bytes:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise InvalidFieldError(
            f"{name} must be an integer 0..255, got {value!r}", _S.ESME_RINVPARLEN
        )
    return bytes((value,))


def _encode_fields(fields: tuple[Field, ...], values: tuple[Any, ...]) -> list[bytes]:  # noqa: C901 - the encoder's loop, one branch per field kind
    out: list[bytes] = []
    append = out.append
    for field, value in zip(fields, values, strict=False):
        kind = field.kind
        if kind is Kind.CSTR:
            append(_encode_cstr(value, field))
        elif kind is Kind.INT1:
            append(_encode_int1(value, field.name))
        elif kind is Kind.TIME:
            if len(value) not in (0, 16):
                raise InvalidFieldError(
                    f"{field.name} must be empty or 16 characters (YYMMDDhhmmsstnnp): {value!r}",
                    field.status,
                )
            append(_encode_cstr(value, field))
        elif kind is Kind.SHORT_MESSAGE:
            if not isinstance(value, bytes | bytearray) or len(value) > MAX_SHORT_MESSAGE:
                raise InvalidMessageLengthError(
                    f"short_message must be bytes of at most {MAX_SHORT_MESSAGE} octets"
                )
            append(bytes((len(value),)))
            append(bytes(value))
        elif kind is Kind.DESTS:
            if len(value) > field.max_length:
                raise InvalidFieldError("too many destinations", _S.ESME_RINVNUMDESTS)
            append(bytes((len(value),)))
            for dest in value:
                if dest.dl_name is not None:
                    append(bytes((DestFlag.DISTRIBUTION_LIST,)))
                    append(_encode_cstr(dest.dl_name, _DL_NAME))
                else:
                    append(bytes((DestFlag.SME_ADDRESS,)))
                    out.extend(_encode_fields(_DEST_ADDR_FIELDS, dest[:3]))
        elif kind is Kind.UNSUCCESS:
            if len(value) > field.max_length:
                raise InvalidFieldError("too many unsuccess_sme entries")
            append(bytes((len(value),)))
            for item in value:
                out.extend(_encode_fields(_DEST_ADDR_FIELDS, item[:3]))
                append(_INT4.pack(item.error_status_code))
        else:
            append(_INT4.pack(value))
    return out


def _encode_tlvs(tlvs: tuple[Tlv, ...]) -> bytes:
    parts: list[bytes] = []
    for tag, value in tlvs:
        if not isinstance(value, bytes | bytearray):
            raise InvalidTlvError(
                f"TLV 0x{tag:X}: the value must be bytes, not {type(value).__name__}"
            )
        if not 0 <= tag <= 0xFFFF or len(value) > 0xFFFF:
            raise InvalidTlvError(f"TLV 0x{tag:X} does not fit a 2-octet tag and length")
        if tag in TLV_SPECS:
            check_tlv(tag, value)
        parts.append(_TLV_HEADER.pack(tag, len(value)))
        parts.append(value)
    return b"".join(parts)


def encode(pdu: Pdu, sequence_number: int | None = None) -> bytes:
    """The wire bytes of a PDU; ``sequence_number`` overrides the one in the value.

    Every field limit is checked here, so nothing invalid reaches the wire: a violation raises
    a ``PduError`` naming the field.
    """
    fast = _FAST_ENCODERS.get(type(pdu))
    if fast is not None:
        return fast(pdu, pdu[-2] if sequence_number is None else sequence_number)
    return _encode_generic(pdu, pdu.sequence_number if sequence_number is None else sequence_number)


def _encode_generic(pdu: Pdu, seq: int) -> bytes:
    cid = pdu.command_id
    if not 0 <= seq <= 0xFFFFFFFF:
        raise InvalidFieldError(f"sequence_number {seq} does not fit 4 octets")
    body = BODIES.get(cid)
    if body is None or type(pdu) is not body.cls:
        raise UnknownCommandIdError(f"{type(pdu).__name__} cannot be sent as 0x{cid:08X}")
    status = int(pdu.command_status)
    if status and body.omit_body_on_error:
        payload = b""
    else:
        parts = _encode_fields(body.fields, tuple(pdu))
        if body.tlvs:
            parts.append(_encode_tlvs(pdu.tlvs))  # type: ignore[union-attr]
        payload = b"".join(parts)
    return _HEADER.pack(HEADER_LENGTH + len(payload), cid, status, seq) + payload


_SM_FORMAT = b"%s\x00%c%c%s\x00%c%c%c%s%s%c%c%c%c%c%s%s"
_NUL = b"\x00"


def _encode_sm(cls: type[SubmitSm] | type[DeliverSm]) -> Callable[[Pdu, int], bytes]:
    cid = int(cls._field_defaults["command_id"])
    # header + empty service_type + source TON/NPI in one pack
    pack = struct.Struct(">IIIIxBB").pack

    def encode_sm(pdu: Any, seq: int) -> bytes:
        (
            service_type, s_ton, s_npi, source, d_ton, d_npi, dest,
            esm, pid, prio, sched, valid, regd, repl, dc, dflt, sm, tlvs, status, _, _,
        ) = pdu  # fmt: skip
        try:
            src = source.encode("ascii")
            dst = dest.encode("ascii")
            n = len(sm)
            # one check for the common case; anything unusual takes the generic path, which
            # raises the precise error for the field at fault
            if (
                len(src) > 20
                or len(dst) > 20
                or n > MAX_SHORT_MESSAGE
                or service_type
                or (sched and len(sched) != 16)
                or (valid and len(valid) != 16)
                or 0 in src
                or 0 in dst
            ):
                return _encode_generic(pdu, seq)
            body = _SM_FORMAT % (
                src, d_ton, d_npi, dst, esm, pid, prio,
                sched.encode("ascii") + _NUL if sched else _NUL,
                valid.encode("ascii") + _NUL if valid else _NUL,
                regd, repl, dc, dflt, n, sm,
                _encode_tlvs(tlvs) if tlvs else b"",
            )  # fmt: skip
            return pack(19 + len(body), cid, status, seq, s_ton, s_npi) + body
        except (UnicodeEncodeError, OverflowError, TypeError, AttributeError, struct.error):
            return _encode_generic(pdu, seq)

    return encode_sm


def _encode_id_resp(cls: type[SubmitSmResp] | type[DeliverSmResp]) -> Callable[[Any, int], bytes]:
    """The encoder of submit_sm_resp / deliver_sm_resp (one per message, one per receipt):
    status 0, no TLVs, a plain id — one pack; anything else through the generic encoder."""
    cid = int(cls().command_id)

    def encode_id_resp(pdu: Any, seq: int) -> bytes:
        message_id, tlvs, status = pdu[0], pdu[1], pdu[2]
        if status or tlvs or type(message_id) is not str or not 0 <= seq <= 0xFFFFFFFF:
            return _encode_generic(pdu, seq)
        if not message_id:
            return _HEADER.pack(HEADER_LENGTH + 1, cid, 0, seq) + b"\x00"
        if len(message_id) >= 65 or not message_id.isascii() or "\x00" in message_id:
            return _encode_generic(pdu, seq)  # (the limits, and the errors that name them)
        raw = message_id.encode("ascii")
        return _HEADER.pack(HEADER_LENGTH + len(raw) + 1, cid, 0, seq) + raw + b"\x00"

    return encode_id_resp


_FAST_ENCODERS: dict[type, Callable[[Any, int], bytes]] = {
    SubmitSm: _encode_sm(SubmitSm),
    DeliverSm: _encode_sm(DeliverSm),
    SubmitSmResp: _encode_id_resp(SubmitSmResp),
    DeliverSmResp: _encode_id_resp(DeliverSmResp),
}


def pdu_encoder(pdu_type: type) -> Callable[[Any, int], bytes]:
    """``encode`` specialised for one PDU class: ``(pdu, sequence_number) -> bytes``, with the
    same checks and errors. Hot loops look it up once per class instead of per PDU."""
    return _FAST_ENCODERS.get(pdu_type, encode)


# --------------------------------------------------------------------------- framing


_LENGTH = struct.Struct(">I")


class FrameReader:
    """Delimits PDUs in a byte stream fed in any chunking.

    A command_length below 16 or above ``max_command_length`` is an error before anything is
    buffered for it: the stream cannot be delimited any more, and the reader stays failed.

    Chunks that end on a frame boundary (the usual case for a busy connection) are sliced
    straight into frames, one copy per frame; only the tail of an incomplete frame is kept in
    a buffer, and that buffer is copied out once, when the frame it waits for is complete (a
    peer trickling a large PDU byte by byte costs linear time, not quadratic).
    """

    __slots__ = ("_chunk", "_error", "_partial", "max_command_length")

    def __init__(self, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        self.max_command_length = max_command_length
        self._chunk: bytes | None = None  # fed whole, not yet read: no copy made
        self._partial = bytearray()  # bytes of an incomplete frame (and any fed after them)
        self._error: PduError | None = None

    def feed(self, data: bytes) -> None:
        if self._chunk is None and not self._partial:
            self._chunk = data if type(data) is bytes else bytes(data)
            return
        if self._chunk is not None:
            self._partial += self._chunk
            self._chunk = None
        self._partial += data

    @property
    def buffered(self) -> int:
        return len(self._partial) + (len(self._chunk) if self._chunk is not None else 0)

    def _fail(self, data: bytes | bytearray, pos: int, length: int) -> PduError:
        seq = None
        cid = None
        if len(data) - pos >= HEADER_LENGTH:
            _, cid, _, seq = _HEADER.unpack_from(data, pos)
        error = InvalidCommandLengthError(
            f"command_length {length} is outside {HEADER_LENGTH}..{self.max_command_length}",
            command_id=cid,
            sequence_number=seq,
        )
        self._error = error
        return error

    def read_frames(self) -> list[bytes]:
        """Every complete frame buffered so far, in order."""
        if self._error is not None:
            raise self._error
        limit = self.max_command_length
        data = self._chunk
        if data is None:
            partial = self._partial
            if len(partial) < 4:
                return []
            length = int.from_bytes(partial[:4], "big")
            if length < HEADER_LENGTH or length > limit:
                raise self._fail(partial, 0, length)
            if len(partial) < length:
                return []  # still waiting: nothing copied
            data = bytes(partial)
            partial.clear()
        else:
            self._chunk = None
        size = len(data)
        pos = 0
        frames: list[bytes] = []
        append = frames.append
        length_at = _LENGTH.unpack_from
        while size - pos >= 4:
            (length,) = length_at(data, pos)
            if length < HEADER_LENGTH or length > limit:
                raise self._fail(data, pos, length)
            if size - pos < length:
                break
            append(data[pos : pos + length])
            pos += length
        if pos < size:
            self._partial += memoryview(data)[pos:]
        return frames

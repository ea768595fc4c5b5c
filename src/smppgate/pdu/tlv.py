"""Optional parameters (TLVs, §3.2.4, §5.3): tags by name, value types, typed access.

A TLV travels as ``Tlv(tag, value)`` with the raw value bytes, so unknown and vendor tags
survive decode and encode byte for byte; the table below gives the type of every standard tag
for typed reading (``tlv_value``) and building (``make_tlv``).
"""

from __future__ import annotations

import struct
from enum import Enum, IntEnum
from typing import NamedTuple

from smppgate.pdu.errors import InvalidTlvError
from smppgate.pdu.status import CommandStatus


class TlvTag(IntEnum):
    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


class TlvType(Enum):
    INT1 = "int1"
    INT2 = "int2"
    INT4 = "int4"
    CSTRING = "cstring"  # C-Octet String: value includes the NUL
    OCTETS = "octets"
    EMPTY = "empty"  # presence is the value


class TlvSpec(NamedTuple):
    type: TlvType
    min_length: int
    max_length: int


_I1 = TlvSpec(TlvType.INT1, 1, 1)
_I2 = TlvSpec(TlvType.INT2, 2, 2)
_I4 = TlvSpec(TlvType.INT4, 4, 4)

TLV_SPECS: dict[int, TlvSpec] = {
    TlvTag.DEST_ADDR_SUBUNIT: _I1,
    TlvTag.DEST_NETWORK_TYPE: _I1,
    TlvTag.DEST_BEARER_TYPE: _I1,
    TlvTag.DEST_TELEMATICS_ID: _I2,
    TlvTag.SOURCE_ADDR_SUBUNIT: _I1,
    TlvTag.SOURCE_NETWORK_TYPE: _I1,
    TlvTag.SOURCE_BEARER_TYPE: _I1,
    TlvTag.SOURCE_TELEMATICS_ID: _I1,
    TlvTag.QOS_TIME_TO_LIVE: _I4,
    TlvTag.PAYLOAD_TYPE: _I1,
    TlvTag.ADDITIONAL_STATUS_INFO_TEXT: TlvSpec(TlvType.CSTRING, 1, 256),
    TlvTag.RECEIPTED_MESSAGE_ID: TlvSpec(TlvType.CSTRING, 1, 65),
    TlvTag.MS_MSG_WAIT_FACILITIES: _I1,
    TlvTag.PRIVACY_INDICATOR: _I1,
    TlvTag.SOURCE_SUBADDRESS: TlvSpec(TlvType.OCTETS, 2, 23),
    TlvTag.DEST_SUBADDRESS: TlvSpec(TlvType.OCTETS, 2, 23),
    TlvTag.USER_MESSAGE_REFERENCE: _I2,
    TlvTag.USER_RESPONSE_CODE: _I1,
    TlvTag.SOURCE_PORT: _I2,
    TlvTag.DESTINATION_PORT: _I2,
    TlvTag.SAR_MSG_REF_NUM: _I2,
    TlvTag.LANGUAGE_INDICATOR: _I1,
    TlvTag.SAR_TOTAL_SEGMENTS: _I1,
    TlvTag.SAR_SEGMENT_SEQNUM: _I1,
    TlvTag.SC_INTERFACE_VERSION: _I1,
    TlvTag.CALLBACK_NUM_PRES_IND: _I1,
    TlvTag.CALLBACK_NUM_ATAG: TlvSpec(TlvType.OCTETS, 0, 65),
    TlvTag.NUMBER_OF_MESSAGES: _I1,
    TlvTag.CALLBACK_NUM: TlvSpec(TlvType.OCTETS, 4, 19),
    TlvTag.DPF_RESULT: _I1,
    TlvTag.SET_DPF: _I1,
    TlvTag.MS_AVAILABILITY_STATUS: _I1,
    TlvTag.NETWORK_ERROR_CODE: TlvSpec(TlvType.OCTETS, 3, 3),
    TlvTag.MESSAGE_PAYLOAD: TlvSpec(TlvType.OCTETS, 0, 0xFFFF),
    TlvTag.DELIVERY_FAILURE_REASON: _I1,
    TlvTag.MORE_MESSAGES_TO_SEND: _I1,
    TlvTag.MESSAGE_STATE: _I1,
    # typed "Octet String" in the spec but always one octet holding a number
    TlvTag.USSD_SERVICE_OP: _I1,
    TlvTag.DISPLAY_TIME: _I1,
    TlvTag.SMS_SIGNAL: _I2,
    TlvTag.MS_VALIDITY: _I1,
    TlvTag.ALERT_ON_MESSAGE_DELIVERY: TlvSpec(TlvType.EMPTY, 0, 0),
    TlvTag.ITS_REPLY_TYPE: _I1,
    TlvTag.ITS_SESSION_INFO: TlvSpec(TlvType.OCTETS, 2, 2),
}

_INT = struct.Struct(">I")
_SHORT = struct.Struct(">H")


class Tlv(NamedTuple):
    """One optional parameter: its tag and raw value bytes."""

    tag: int
    value: bytes

    @property
    def name(self) -> str:
        try:
            return TlvTag(self.tag).name.lower()
        except ValueError:
            return f"tlv_0x{self.tag:04X}"


TlvValue = int | str | bytes | None


def check_tlv(tag: int, value: bytes) -> None:
    """Raise InvalidTlvError when a standard tag's value has the wrong length or form."""
    spec = TLV_SPECS.get(tag)
    if spec is None:
        return
    n = len(value)
    if not spec.min_length <= n <= spec.max_length:
        raise InvalidTlvError(
            f"TLV 0x{tag:04X} ({TlvTag(tag).name.lower()}) has length {n}, "
            f"expected {spec.min_length}..{spec.max_length}",
            CommandStatus.ESME_RINVPARLEN,
        )
    if spec.type is TlvType.CSTRING and value[-1] != 0:
        raise InvalidTlvError(
            f"TLV 0x{tag:04X} ({TlvTag(tag).name.lower()}) is not NUL-terminated",
            CommandStatus.ESME_RINVOPTPARAMVAL,
        )


def tlv_value(tlv: Tlv) -> TlvValue:
    """The typed value of a TLV: int, str (C-strings, without NUL), bytes, or None (EMPTY)."""
    spec = TLV_SPECS.get(tlv.tag)
    if spec is None:
        return tlv.value
    if spec.type is TlvType.INT1:
        return tlv.value[0]
    if spec.type is TlvType.INT2:
        return int(_SHORT.unpack(tlv.value)[0])
    if spec.type is TlvType.INT4:
        return int(_INT.unpack(tlv.value)[0])
    if spec.type is TlvType.CSTRING:
        return tlv.value.rstrip(b"\x00").decode("latin-1")
    if spec.type is TlvType.EMPTY:
        return None
    return tlv.value


def make_tlv(tag: int, value: TlvValue) -> Tlv:
    """Build a TLV from a typed value, checked against the tag's type and length."""
    spec = TLV_SPECS.get(tag)
    raw: bytes
    if spec is None or spec.type is TlvType.OCTETS:
        if not isinstance(value, bytes):
            raise InvalidTlvError(
                f"TLV 0x{tag:04X} takes bytes", CommandStatus.ESME_RINVOPTPARAMVAL
            )
        raw = value
    elif spec.type is TlvType.EMPTY:
        raw = b""
    elif spec.type is TlvType.CSTRING:
        if not isinstance(value, str):
            raise InvalidTlvError(
                f"TLV 0x{tag:04X} takes a string", CommandStatus.ESME_RINVOPTPARAMVAL
            )
        raw = value.encode("latin-1") + b"\x00"
    else:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidTlvError(
                f"TLV 0x{tag:04X} takes an integer", CommandStatus.ESME_RINVOPTPARAMVAL
            )
        size = {TlvType.INT1: 1, TlvType.INT2: 2, TlvType.INT4: 4}[spec.type]
        try:
            raw = value.to_bytes(size, "big")
        except OverflowError as exc:
            raise InvalidTlvError(
                f"TLV 0x{tag:04X} value {value} does not fit {size} octet(s)",
                CommandStatus.ESME_RINVOPTPARAMVAL,
            ) from exc
    check_tlv(tag, raw)
    return Tlv(tag, raw)

"""SMPP 3.4 closed vocabularies (spec §5.1-§5.2): command ids, addressing, message fields."""

from __future__ import annotations

from enum import IntEnum, IntFlag

SMPP_VERSION_34 = 0x34
HEADER_LENGTH = 16
RESPONSE_BIT = 0x80000000


class CommandId(IntEnum):
    """command_id values of SMPP 3.4 (Table 5-1); a response is its request | 0x80000000."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103

    @property
    def is_response(self) -> bool:
        return bool(self.value & RESPONSE_BIT)

    @property
    def response_id(self) -> CommandId:
        """The command_id of the response to this request."""
        return CommandId(self.value | RESPONSE_BIT)


class Ton(IntEnum):
    """Type of number (§5.2.5)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(IntEnum):
    """Numbering plan indicator (§5.2.6)."""

    UNKNOWN = 0
    ISDN = 1
    DATA = 3
    TELEX = 4
    LAND_MOBILE = 6
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14
    WAP_CLIENT_ID = 18


class DataCoding(IntEnum):
    """data_coding values the gateway uses by name (§5.2.19); others travel as plain ints."""

    SMSC_DEFAULT = 0x00
    IA5_ASCII = 0x01
    OCTET_UNSPECIFIED_2 = 0x02
    LATIN_1 = 0x03
    OCTET_UNSPECIFIED = 0x04
    JIS = 0x05
    CYRILLIC = 0x06
    LATIN_HEBREW = 0x07
    UCS2 = 0x08


class EsmClass(IntFlag):
    """esm_class bits (§5.2.12)."""

    DEFAULT = 0x00
    DATAGRAM_MODE = 0x01
    FORWARD_MODE = 0x02
    STORE_AND_FORWARD_MODE = 0x03
    SMSC_DELIVERY_RECEIPT = 0x04
    SME_DELIVERY_ACK = 0x08
    SME_MANUAL_ACK = 0x10
    CONVERSATION_ABORT = 0x18
    INTERMEDIATE_NOTIFICATION = 0x20
    UDHI = 0x40
    REPLY_PATH = 0x80


ESM_CLASS_TYPE_MASK = 0x3C


class RegisteredDelivery(IntFlag):
    """registered_delivery bits (§5.2.17)."""

    NONE = 0x00
    RECEIPT_ALWAYS = 0x01
    RECEIPT_ON_FAILURE = 0x02
    SME_DELIVERY_ACK = 0x04
    SME_MANUAL_ACK = 0x08
    INTERMEDIATE_NOTIFICATION = 0x10


class SmppMessageState(IntEnum):
    """message_state (§5.2.28); 0 and 9 are SMPP 5.0 values tolerated on input."""

    SCHEDULED = 0
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9

    @property
    def is_final(self) -> bool:
        return self not in (SmppMessageState.SCHEDULED, SmppMessageState.ENROUTE)


class DestFlag(IntEnum):
    """dest_flag of a submit_multi destination (§4.5.1)."""

    SME_ADDRESS = 1
    DISTRIBUTION_LIST = 2

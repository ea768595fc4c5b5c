"""One immutable value per SMPP 3.4 operation (§4), fields in wire order.

PDUs are NamedTuples: immutable, slotted, and built from decoded fields with a single C call,
which keeps the codec's hot path cheap (a frozen dataclass costs ~2 us per 20-field PDU just
to construct). Lengths (command_length, sm_length, TLV lengths, counts) are computed by the
encoder, never stored. The last three fields of every PDU are the header: command_status,
sequence_number and command_id; command_id is a field so that two operations with the same
body (submit_sm and deliver_sm) never compare equal. Field limits are enforced by the encoder
(nothing reaches the wire unchecked) and by the decoder (nothing invalid is built from input).
"""

from __future__ import annotations

from typing import NamedTuple

from smppgate.pdu.constants import SMPP_VERSION_34, CommandId
from smppgate.pdu.status import CommandStatus
from smppgate.pdu.tlv import Tlv


class DestAddress(NamedTuple):
    """One destination of submit_multi: an SME address, or a distribution list when dl_name."""

    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    dl_name: str | None = None


class UnsuccessSme(NamedTuple):
    """One failed destination in submit_multi_resp."""

    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    error_status_code: int = 0


class BindTransmitter(NamedTuple):
    """bind_transmitter (§4.1.1)."""

    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = SMPP_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.BIND_TRANSMITTER


class BindReceiver(NamedTuple):
    """bind_receiver (§4.1.3)."""

    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = SMPP_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.BIND_RECEIVER


class BindTransceiver(NamedTuple):
    """bind_transceiver (§4.1.5)."""

    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = SMPP_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.BIND_TRANSCEIVER


class BindTransmitterResp(NamedTuple):
    """bind_transmitter_resp: the SMSC's system_id, TLV sc_interface_version; no body on error."""

    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.BIND_TRANSMITTER_RESP


class BindReceiverResp(NamedTuple):
    """bind_receiver_resp: the SMSC's system_id, TLV sc_interface_version; no body on error."""

    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.BIND_RECEIVER_RESP


class BindTransceiverResp(NamedTuple):
    """bind_transceiver_resp: the SMSC's system_id, TLV sc_interface_version; no body on error."""

    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.BIND_TRANSCEIVER_RESP


class Outbind(NamedTuple):
    """outbind (§4.1.7): the SMSC asks the ESME to bind as receiver."""

    system_id: str = ""
    password: str = ""
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.OUTBIND


class Unbind(NamedTuple):
    """unbind (§4.2.1)."""

    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.UNBIND


class UnbindResp(NamedTuple):
    """unbind_resp (§4.2.2)."""

    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.UNBIND_RESP


class EnquireLink(NamedTuple):
    """enquire_link (§4.11.1)."""

    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.ENQUIRE_LINK


class EnquireLinkResp(NamedTuple):
    """enquire_link_resp (§4.11.2)."""

    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.ENQUIRE_LINK_RESP


class GenericNack(NamedTuple):
    """generic_nack (§4.3): the reason is command_status; seq 0 when unreadable."""

    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.GENERIC_NACK


class CancelSmResp(NamedTuple):
    """cancel_sm_resp (§4.9.2)."""

    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.CANCEL_SM_RESP


class ReplaceSmResp(NamedTuple):
    """replace_sm_resp (§4.10.2)."""

    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.REPLACE_SM_RESP


class SubmitSm(NamedTuple):
    """submit_sm (§4.4.1); short_message and TLV message_payload are exclusive."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.SUBMIT_SM


class SubmitSmResp(NamedTuple):
    """submit_sm_resp (§4.4.2); the body is omitted on error."""

    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.SUBMIT_SM_RESP


class DeliverSm(NamedTuple):
    """deliver_sm (§4.6.1): MO messages and delivery receipts."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.DELIVER_SM


class DeliverSmResp(NamedTuple):
    """deliver_sm_resp (§4.6.2): message_id is always a lone NUL."""

    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.DELIVER_SM_RESP


class SubmitMulti(NamedTuple):
    """submit_multi (§4.5.1)."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addresses: tuple[DestAddress, ...] = ()
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.SUBMIT_MULTI


class SubmitMultiResp(NamedTuple):
    """submit_multi_resp (§4.5.2)."""

    message_id: str = ""
    unsuccess_sme: tuple[UnsuccessSme, ...] = ()
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.SUBMIT_MULTI_RESP


class DataSm(NamedTuple):
    """data_sm (§4.7.1): the payload travels in TLV message_payload."""

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.DATA_SM


class DataSmResp(NamedTuple):
    """data_sm_resp (§4.7.2)."""

    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.DATA_SM_RESP


class QuerySm(NamedTuple):
    """query_sm (§4.8.1)."""

    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.QUERY_SM


class QuerySmResp(NamedTuple):
    """query_sm_resp (§4.8.2); final_date is empty while the state is not final."""

    message_id: str = ""
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.QUERY_SM_RESP


class CancelSm(NamedTuple):
    """cancel_sm (§4.9.1)."""

    service_type: str = ""
    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.CANCEL_SM


class ReplaceSm(NamedTuple):
    """replace_sm (§4.10.1)."""

    message_id: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.REPLACE_SM


class AlertNotification(NamedTuple):
    """alert_notification (§4.12.1); it has no response."""

    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""
    tlvs: tuple[Tlv, ...] = ()
    command_status: CommandStatus = CommandStatus.ESME_ROK
    sequence_number: int = 0
    command_id: CommandId = CommandId.ALERT_NOTIFICATION


Pdu = (
    BindTransmitter
    | BindReceiver
    | BindTransceiver
    | BindTransmitterResp
    | BindReceiverResp
    | BindTransceiverResp
    | Outbind
    | Unbind
    | UnbindResp
    | EnquireLink
    | EnquireLinkResp
    | GenericNack
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
    | SubmitMulti
    | SubmitMultiResp
    | DataSm
    | DataSmResp
    | QuerySm
    | QuerySmResp
    | CancelSm
    | CancelSmResp
    | ReplaceSm
    | ReplaceSmResp
    | AlertNotification
)
"""Any SMPP 3.4 PDU."""

PDU_TYPES: tuple[type[Pdu], ...] = (
    BindTransmitter,
    BindReceiver,
    BindTransceiver,
    BindTransmitterResp,
    BindReceiverResp,
    BindTransceiverResp,
    Outbind,
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    SubmitMulti,
    SubmitMultiResp,
    DataSm,
    DataSmResp,
    QuerySm,
    QuerySmResp,
    CancelSm,
    CancelSmResp,
    ReplaceSm,
    ReplaceSmResp,
    AlertNotification,
)

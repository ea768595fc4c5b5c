"""From a message (sender, destination, text, options) to the submit_sm parts: pure.

Addressing follows the profile (spec D-04): on Devino every sender goes TON 5 / NPI 1 (the
page's mandatory values), under ``smpp34`` by its kind (name 5/0, international 1/1, short code
3/0); destinations 1 / 1 with a leading ``+`` stripped. Splitting is the text layer's plan
(UDH with a 6-octet header, SAR TLVs, or message_payload); the reference is an argument.
validity_period is checked against the profile's minimum and written in relative form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from smppgate.client.errors import AddressError
from smppgate.client.validity import relative_validity
from smppgate.numbers import NumberError, SenderError, international
from smppgate.pdu import SubmitSm, Tlv, TlvTag, make_tlv
from smppgate.profiles import AddressPolicy, ProviderProfile
from smppgate.text import (
    DEFAULT_MAX_PARTS,
    DefaultAlphabet,
    Encoding,
    ItsSessionInfo,
    Sar,
    SplitMethod,
    SplitPlan,
    plan_split,
    preview,
)

_MAX_ADDRESS = 20  # source_addr / destination_addr are C-Octet Strings of max 21


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to send; the client turns it into one or more submit_sm."""

    sender: str
    destination: str
    text: str | bytes
    encoding: Encoding = Encoding.AUTO
    split: SplitMethod = SplitMethod.UDH
    registered_delivery: int = 1
    validity: float | None = None
    """Seconds; None = the SMSC's default. Below the profile's minimum -> ValidityError."""
    service_type: str = ""
    ussd_service_op: int | None = None
    """USSD (spec D-24): the ussd_service_op TLV, e.g. UssdServiceOp.PSSR_RESPONSE."""
    its_session_info: ItsSessionInfo | None = None
    max_parts: int = DEFAULT_MAX_PARTS
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7
    extra_tlvs: tuple[Tlv, ...] = ()


class MessagePlan(NamedTuple):
    """The submit_sm parts of one message, in order, and how they were made."""

    parts: tuple[SubmitSm, ...]
    plan: SplitPlan
    reference: int | None
    """The concatenation reference (None for single parts and the payload method)."""


def normalize_destination(destination: str) -> str:
    """International digits without ``+``, spaces or dashes (spec D-04)."""
    value = destination.strip().replace(" ", "").replace("-", "")
    if value.startswith("+"):
        value = value[1:]
    if not value:
        raise AddressError("destination is empty")
    if len(value) > _MAX_ADDRESS or not value.isascii():
        raise AddressError(f"destination {destination!r} is not a valid address")
    return value


def source_address(sender: str, policy: AddressPolicy) -> tuple[int, int, str]:
    """(ton, npi, address) for a sender: numeric ones lose a leading ``+``."""
    if not sender:
        raise AddressError("sender is empty")
    ton, npi = policy.source(sender)
    address = sender[1:] if sender.startswith("+") and sender[1:].isdigit() else sender
    if len(address) > _MAX_ADDRESS or not address.isascii():
        raise AddressError(f"sender {sender!r} does not fit source_addr (ASCII, at most 20)")
    return ton, npi, address


def needs_reference(message: OutboundMessage) -> bool:
    """Whether the message will be split into parts tied by a reference (UDH or SAR)."""
    if message.split is SplitMethod.PAYLOAD:
        return False
    return preview(message.text, message.encoding, message.default_alphabet).parts > 1


class SubmitTemplate(NamedTuple):
    """What every submit_sm of one message shares: the addresses as the profile writes them,
    the validity, receipts, service type and the message's own TLVs. ``part`` makes one part's
    submit_sm; the client (``build_submits``) and the gateway (``build_part_submits``, from
    stored parts) both build through it, so a submit is built one way. (A named tuple: one
    is built per message sent, and a tuple is built several times faster than a frozen
    dataclass.)"""

    source_ton: int
    source_npi: int
    source: str
    dest_ton: int
    dest_npi: int
    destination: str
    validity_period: str
    registered_delivery: int
    service_type: str
    tlvs: tuple[Tlv, ...]

    def part(
        self,
        *,
        esm_class: int,
        data_coding: int,
        short_message: bytes,
        sar: Sar | None = None,
        message_payload: bytes | None = None,
    ) -> SubmitSm:
        """One part's submit_sm: the template's fields, then the part's SAR TLVs (tied parts)
        or its message_payload (the payload method) after the message's TLVs."""
        tlvs = self.tlvs
        if sar is not None or message_payload is not None:
            own = list(tlvs)
            if sar is not None:
                own.append(make_tlv(TlvTag.SAR_MSG_REF_NUM, sar.msg_ref_num))
                own.append(make_tlv(TlvTag.SAR_TOTAL_SEGMENTS, sar.total_segments))
                own.append(make_tlv(TlvTag.SAR_SEGMENT_SEQNUM, sar.segment_seqnum))
            if message_payload is not None:
                own.append(Tlv(TlvTag.MESSAGE_PAYLOAD, message_payload))
            tlvs = tuple(own)
        return SubmitSm(
            service_type=self.service_type,
            source_addr_ton=self.source_ton,
            source_addr_npi=self.source_npi,
            source_addr=self.source,
            dest_addr_ton=self.dest_ton,
            dest_addr_npi=self.dest_npi,
            destination_addr=self.destination,
            esm_class=esm_class,
            validity_period=self.validity_period,
            registered_delivery=self.registered_delivery,
            data_coding=data_coding,
            short_message=short_message,
            tlvs=tlvs,
        )


def submit_template(
    profile: ProviderProfile,
    sender: str,
    destination: str,
    *,
    validity: float | None = None,
    registered_delivery: int = 1,
    service_type: str = "",
    ussd_service_op: int | None = None,
    its_session_info: ItsSessionInfo | None = None,
    extra_tlvs: tuple[Tlv, ...] = (),
) -> SubmitTemplate:
    """The shared fields of one message's submit_sm under ``profile`` (raises ValidityError
    and AddressError, in that order): addressing by the profile (D-04), validity in relative
    form checked against the profile's minimum, ussd_service_op and its_session_info (D-24)."""
    validity_period = "" if validity is None else relative_validity(validity, profile.min_validity)
    ton, npi, source = source_address(sender, profile.addresses)
    tlvs: list[Tlv] = []
    if ussd_service_op is not None:
        tlvs.append(make_tlv(TlvTag.USSD_SERVICE_OP, int(ussd_service_op)))
    if its_session_info is not None:
        tlvs.append(Tlv(TlvTag.ITS_SESSION_INFO, its_session_info.to_bytes()))
    tlvs.extend(extra_tlvs)
    return SubmitTemplate(
        source_ton=ton,
        source_npi=npi,
        source=source,
        dest_ton=profile.addresses.dest_ton,
        dest_npi=profile.addresses.dest_npi,
        destination=normalize_destination(destination),
        validity_period=validity_period,
        registered_delivery=registered_delivery,
        service_type=service_type,
        tlvs=tuple(tlvs),
    )


def build_submits(
    message: OutboundMessage, profile: ProviderProfile, reference: int = 0
) -> MessagePlan:
    """The submit_sm parts for ``message`` under ``profile`` (raises ValidityError,
    AddressError and the text layer's errors before anything is sent)."""
    template = submit_template(
        profile,
        message.sender,
        message.destination,
        validity=message.validity,
        registered_delivery=message.registered_delivery,
        service_type=message.service_type,
        ussd_service_op=message.ussd_service_op,
        its_session_info=message.its_session_info,
        extra_tlvs=message.extra_tlvs,
    )
    plan = plan_split(
        message.text,
        message.encoding,
        message.split,
        reference=reference,
        max_parts=message.max_parts,
        default_alphabet=message.default_alphabet,
    )
    parts = tuple(
        template.part(
            esm_class=part.esm_class,
            data_coding=plan.data_coding,
            short_message=part.short_message,
            sar=part.sar,
            message_payload=part.message_payload,
        )
        for part in plan.parts
    )
    multi = len(plan.parts) > 1 and message.split is not SplitMethod.PAYLOAD
    return MessagePlan(parts, plan, reference if multi else None)


def international_number(destination: str) -> str:
    """A destination in international format: digits only, a leading ``+`` dropped, 7..15 of
    them beginning with a country code (`smppgate.numbers.international`).
    ``normalize_destination`` above is looser on purpose (a library user may address short
    codes); ``smppgate send`` uses this one, the gateway reads numbers as people type them
    (`smppgate.numbers.normalize`)."""
    try:
        return international(destination)
    except NumberError as exc:
        raise AddressError(exc.message) from None


def gateway_sender(sender: str) -> str:
    """A sender under the usual SMPP conventions (`AddressPolicy`): numeric (up to 15 digits,
    a leading ``+`` dropped) or alphanumeric (up to 11 characters a handset shows); the
    gateway checks senders by the account's profile instead."""
    try:
        return AddressPolicy().check_sender(sender)
    except SenderError as exc:
        raise AddressError(exc.message) from None

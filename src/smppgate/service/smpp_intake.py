"""What the SMPP front door accepts: a submit_sm or data_sm from an application, checked field
by field and turned into the `NewMessage` the store commits (one part, sent as the
application wrote it: its data_coding and octets are kept, never re-encoded), or, for a part
of a message the application split itself (a concatenation UDH of 6 or 7 octets, or the SAR
TLVs), the `NewHeldPart` the store holds until its set is complete (``smpp_parts``). Pure: the
time is an argument, nothing is stored here.

A refusal is a `SubmitRefused` carrying the command_status the application gets (SMPP 3.4
§5.1.3) and a detail for the log.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import UTC, datetime

from smppgate.numbers import DialPlan, NumberError, international, national, normalize
from smppgate.pdu import CommandStatus, DataSm, EsmClass, Npi, SubmitSm, TlvTag, Ton
from smppgate.profiles import AddressPolicy
from smppgate.service.config import AccountConfig, SmppUserConfig
from smppgate.service.intake import MAX_VALIDITY, ValidationError, check_sender
from smppgate.smsc.times import TimeFormatError, validity_seconds
from smppgate.store import NewHeldPart, NewMessage, PlannedPart, SmppOrigin
from smppgate.text import (
    DefaultAlphabet,
    Encoding,
    UdhError,
    UnsupportedDataCodingError,
    capacity,
    decode,
    find_concatenation,
    split_udh,
)

#: data_coding values passed on: SMSC default alphabet, IA5/ASCII, Latin-1, 8-bit binary, UCS2
DATA_CODINGS = {0: "gsm7", 1: "ascii", 3: "latin1", 4: "binary", 8: "ucs2"}
_PAYLOAD_PART = 134  # octets per part the SMSC makes of a message_payload
_SAR_TAGS = frozenset(
    {TlvTag.SAR_MSG_REF_NUM, TlvTag.SAR_TOTAL_SEGMENTS, TlvTag.SAR_SEGMENT_SEQNUM}
)
_SAR_ORDER = (TlvTag.SAR_MSG_REF_NUM, TlvTag.SAR_TOTAL_SEGMENTS, TlvTag.SAR_SEGMENT_SEQNUM)
_UDHI = int(EsmClass.UDHI)
_MAX_PRIORITY_FLAG = 3


class SubmitRefused(Exception):  # noqa: N818 - an answer, not a crash
    """The request is refused with ``status``; ``detail`` says why (logged, never sent)."""

    def __init__(self, status: CommandStatus, detail: str) -> None:
        super().__init__(f"{status.name}: {detail}")
        self.status = status
        self.detail = detail


def smpp_submit(
    request: SubmitSm | DataSm, user: SmppUserConfig, account: AccountConfig, now: float
) -> NewMessage | NewHeldPart:
    """What to commit for ``request`` from ``user`` at epoch ``now``: a message, or a part of
    one the application split itself; raises `SubmitRefused`."""
    destination = _destination(request, account)
    source = _source(request.source_addr, account)
    if request.service_type not in ("", "CMT"):
        raise SubmitRefused(
            CommandStatus.ESME_RINVSERTYP, f"service_type {request.service_type!r} (USSD and "
            "others are not taken from applications yet)"
        )  # fmt: skip
    data_coding = request.data_coding
    encoding = DATA_CODINGS.get(data_coding)
    if encoding is None:
        raise SubmitRefused(
            CommandStatus.ESME_RSUBMITFAIL,
            f"data_coding {data_coding} (taken: {', '.join(map(str, DATA_CODINGS))})",
        )
    validity = _validity(request, account, now)
    not_before = _schedule(request, now)
    priority = request.priority_flag if isinstance(request, SubmitSm) else 0
    if priority > _MAX_PRIORITY_FLAG:
        raise SubmitRefused(CommandStatus.ESME_RINVPRTFLG, f"priority_flag {priority} (0..3)")
    part = _part(request, account)
    if part is not None:
        method, reference, total, seq, octets = part
        return NewHeldPart(
            system_id=user.system_id,
            set_key=f"{method}:{reference}:{total}:{source}:{destination}",
            seq=seq,
            total=total,
            method="sar" if method == "sar" else "udh",
            account=account.name,
            source=source,
            destination=destination,
            data_coding=data_coding,
            octets=octets,
            validity_seconds=validity,
            priority=priority,
            not_before=not_before,
            registered_delivery=request.registered_delivery,
        )
    short_message, payload = _content(request, account)
    return NewMessage(
        account=account.name,
        source=source,
        destination=destination,
        text=smpp_text(payload if payload is not None else short_message, data_coding, account),
        parts=(
            PlannedPart(
                seq=1,
                short_message=short_message,
                data_coding=data_coding,
                message_payload=payload,
            ),
        ),
        encoding=encoding,
        split_method="payload" if payload is not None else "udh",
        validity_seconds=validity,
        priority=priority,
        not_before=not_before,
        origin=SmppOrigin(user.system_id, request.registered_delivery),
    )


def _part(
    request: SubmitSm | DataSm, account: AccountConfig
) -> tuple[str, int, int, int, bytes] | None:
    """(method, reference, total, seq, text octets) of a part the application split itself
    (method ``udh8``, ``udh16`` or ``sar``: the key of its set tells them apart); None for a
    whole message."""
    sar = {t.tag: t.value for t in request.tlvs if t.tag in _SAR_TAGS}
    udhi = bool(request.esm_class & _UDHI)
    if not udhi and not sar:
        return None
    short_message = request.short_message if isinstance(request, SubmitSm) else b""
    if any(t.tag == TlvTag.MESSAGE_PAYLOAD for t in request.tlvs):
        raise SubmitRefused(
            CommandStatus.ESME_RINVESMCLASS,
            "a part (UDH or SAR) in message_payload: split parts go in short_message",
        )
    if udhi and sar:
        raise SubmitRefused(CommandStatus.ESME_RINVESMCLASS, "both a UDH and the SAR TLVs")
    if udhi:
        method, reference, total, seq, octets = _udh_part(short_message)
        status = CommandStatus.ESME_RINVESMCLASS
    else:
        method, reference, total, seq, octets = _sar_part(sar, short_message)
        status = CommandStatus.ESME_RINVOPTPARAMVAL
    if not 1 <= seq <= total or total > account.max_parts:
        raise SubmitRefused(
            status,
            f"part {seq} of {total} (1 <= part <= total <= {account.max_parts}, the account's "
            "max_parts)",
        )
    if not octets:
        raise SubmitRefused(CommandStatus.ESME_RINVMSGLEN, f"part {seq} of {total} is empty")
    limit = _octets_limit(request.data_coding, True)
    if len(octets) > limit:
        raise SubmitRefused(
            CommandStatus.ESME_RINVMSGLEN,
            f"part {seq} of {total} carries {len(octets)} octets of text (at most {limit} "
            f"with data_coding {request.data_coding}: the platform's part)",
        )
    return method, reference, total, seq, octets


def _udh_part(short_message: bytes) -> tuple[str, int, int, int, bytes]:
    """(method, reference, total, seq, text octets) of a part split with a concatenation UDH."""
    try:
        elements, octets = split_udh(short_message)
    except UdhError as exc:
        raise SubmitRefused(CommandStatus.ESME_RINVESMCLASS, f"UDH: {exc}") from None
    concatenation = find_concatenation(elements)
    if concatenation is None or len(elements) != 1:
        raise SubmitRefused(
            CommandStatus.ESME_RINVESMCLASS,
            "a UDH must hold only the concatenation element (IEI 0x00 or 0x08): the "
            "platform takes nothing else",
        )
    reference, total, seq, _ = concatenation
    return f"udh{concatenation.reference_bits}", reference, total, seq, octets


def _sar_part(sar: dict[int, bytes], short_message: bytes) -> tuple[str, int, int, int, bytes]:
    """(method, reference, total, seq, text octets) of a part split with the SAR TLVs."""
    if len(sar) != len(_SAR_TAGS):
        raise SubmitRefused(
            CommandStatus.ESME_RMISSINGOPTPARAM, "SAR: all three sar_* TLVs are needed"
        )
    if [len(sar[tag]) for tag in _SAR_ORDER] != [2, 1, 1]:
        raise SubmitRefused(CommandStatus.ESME_RINVOPTPARAMVAL, "SAR: TLV lengths 2, 1, 1")
    reference, total, seq = (int.from_bytes(sar[tag], "big") for tag in _SAR_ORDER)
    return "sar", reference, total, seq, short_message


@functools.cache
def _octets_limit(data_coding: int, split: bool) -> int:
    """Octets of text one SMS (or one part, ``split``) holds: GSM septets come one per octet
    (unpacked), UCS2 units two."""
    encoding = {0: Encoding.GSM7, 8: Encoding.UCS2}.get(data_coding, Encoding.LATIN1)
    limits = capacity(encoding)
    units = limits.per_part if split else limits.single
    return units * 2 if encoding is Encoding.UCS2 else units


#: how destination_addr is read, by dest_addr_ton: an international number as it is (digits,
#: a ``+`` dropped), a national one by the account's dial plan, and one of unknown type as
#: people type numbers (``8 900 123-45-67``); the other types (network specific, subscriber
#: number, alphanumeric, abbreviated) name no number the platform can reach
_READINGS: dict[int, Callable[[str, DialPlan], str]] = {
    Ton.INTERNATIONAL: lambda value, _plan: international(value),
    Ton.NATIONAL: national,
    Ton.UNKNOWN: normalize,
}
#: numbering plans a destination may name: unknown and ISDN (E.164)
_NPIS = frozenset({Npi.UNKNOWN, Npi.ISDN})


def _destination(request: SubmitSm | DataSm, account: AccountConfig) -> str:
    reading = _READINGS.get(request.dest_addr_ton)
    if reading is None or request.dest_addr_npi not in _NPIS:
        raise SubmitRefused(
            CommandStatus.ESME_RINVDSTADR,
            f"dest_addr_ton {request.dest_addr_ton} / dest_addr_npi {request.dest_addr_npi}: "
            "taken are TON 1 (international), 2 (national) or 0 (unknown), NPI 1 or 0",
        )
    try:
        return reading(request.destination_addr, account.numbers)
    except NumberError as exc:
        raise SubmitRefused(CommandStatus.ESME_RINVDSTADR, exc.message) from None


def _source(value: str, account: AccountConfig) -> str:
    if not value:
        if account.default_sender is None:
            raise SubmitRefused(
                CommandStatus.ESME_RINVSRCADR,
                f"source_addr empty and account {account.name!r} has no default_sender",
            )
        value = account.default_sender
    return _checked_sender(value, account.profile.addresses)


#: an application sends from a handful of senders: each is checked once, not per submit (a
#: refused one is not kept, it is checked again)
@functools.lru_cache(maxsize=1024)
def _checked_sender(value: str, addresses: AddressPolicy) -> str:
    try:
        return check_sender(value, "source_addr", addresses)
    except ValidationError as exc:
        raise SubmitRefused(CommandStatus.ESME_RINVSRCADR, exc.message) from None


def _content(request: SubmitSm | DataSm, account: AccountConfig) -> tuple[bytes, bytes | None]:
    """(short_message, message_payload or None)."""
    payload = next((t.value for t in request.tlvs if t.tag == TlvTag.MESSAGE_PAYLOAD), None)
    short_message = request.short_message if isinstance(request, SubmitSm) else b""
    if payload is not None:
        if short_message:
            raise SubmitRefused(
                CommandStatus.ESME_RINVMSGLEN, "message_payload with a non-empty short_message"
            )
        limit = account.max_parts * _PAYLOAD_PART
        if not payload or len(payload) > limit:
            raise SubmitRefused(
                CommandStatus.ESME_RINVMSGLEN,
                f"message_payload of {len(payload)} octets (1..{limit} on account "
                f"{account.name!r}: max_parts {account.max_parts})",
            )
        return b"", payload
    if not short_message:
        raise SubmitRefused(CommandStatus.ESME_RINVMSGLEN, "empty message")
    limit = _octets_limit(request.data_coding, False)
    if len(short_message) > limit:
        raise SubmitRefused(
            CommandStatus.ESME_RINVMSGLEN,
            f"short_message of {len(short_message)} octets (at most {limit} with data_coding "
            f"{request.data_coding}; longer texts go in message_payload or split)",
        )
    return short_message, None


def _validity(request: SubmitSm | DataSm, account: AccountConfig, now: float) -> int | None:
    value = request.validity_period if isinstance(request, SubmitSm) else ""
    if not value:
        return None
    try:
        seconds = validity_seconds(value, datetime.fromtimestamp(now, UTC))
    except TimeFormatError as exc:
        raise SubmitRefused(CommandStatus.ESME_RINVEXPIRY, str(exc)) from None
    if seconds is None:
        return None
    minimum = account.profile.min_validity
    if seconds < minimum or seconds > MAX_VALIDITY:
        raise SubmitRefused(
            CommandStatus.ESME_RINVEXPIRY,
            f"validity_period {value!r} is {seconds:.0f} s "
            f"({minimum:.0f}..{MAX_VALIDITY} s on account {account.name!r})",
        )
    return math.ceil(seconds)


def _schedule(request: SubmitSm | DataSm, now: float) -> float | None:
    value = request.schedule_delivery_time if isinstance(request, SubmitSm) else ""
    if not value:
        return None
    try:
        seconds = validity_seconds(value, datetime.fromtimestamp(now, UTC))
    except TimeFormatError as exc:
        raise SubmitRefused(CommandStatus.ESME_RINVSCHED, str(exc)) from None
    if seconds is None or seconds <= 0:
        return None
    if seconds > MAX_VALIDITY:
        raise SubmitRefused(
            CommandStatus.ESME_RINVSCHED, f"schedule_delivery_time {value!r} is over 7 days away"
        )
    return now + seconds


def smpp_text(octets: bytes, data_coding: int, account: AccountConfig | None) -> str:
    """The text as the API and the ops page show it (the octets are sent as they came)."""
    alphabet = (
        account.default_alphabet
        if data_coding == 0 and account is not None
        else DefaultAlphabet.GSM7
    )
    try:
        return decode(octets, data_coding, alphabet)
    except UnsupportedDataCodingError:
        return octets.hex()

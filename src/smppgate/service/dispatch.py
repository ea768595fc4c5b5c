"""From a claimed message to submit_sm PDUs, and from the SMSC's answers to store outcomes.

Pure functions: the dispatcher's loop (runtime.py) claims, calls ``build_part_submits``,
sends through the client's pool, and records ``outcomes_for``. The platform's error rules
(invalid destination: never resent; throttling: requeue, the connection pauses 1 s; queue
full: back of the queue after 5/15/45 s, at most 5 times) come from the account's profile
through the client's ``decide``; nothing here spells a rule out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from smppgate.client.message import normalize_destination, source_address
from smppgate.client.results import Outcome as ResultOutcome
from smppgate.client.results import SubmitResult
from smppgate.client.retry import Action, Attempts, Decision, decide
from smppgate.client.validity import relative_validity
from smppgate.pdu import (
    CommandStatus,
    RegisteredDelivery,
    RetryClass,
    SubmitSm,
    Tlv,
    TlvTag,
    make_tlv,
)
from smppgate.profiles import ProviderProfile
from smppgate.service.intake import UssdFields
from smppgate.store.models import (
    MarkUnknown,
    Outcome,
    PartAccepted,
    PartFailed,
    PartStatus,
    Requeue,
    RequeueReason,
    StoredMessage,
    StoredPart,
    SubmitContext,
)
from smppgate.text import message_id_keys

_NO_CONTEXT = SubmitContext()


class PartSubmit(NamedTuple):
    """One part still to send: its sequence in the message and its submit_sm."""

    seq: int
    pdu: SubmitSm


def build_part_submits(
    message: StoredMessage,
    profile: ProviderProfile,
    *,
    want_receipts: bool = True,
    extra_tlvs: tuple[Tlv, ...] = (),
) -> list[PartSubmit]:
    """The submit_sm of every part still ``planned`` (accepted parts are never resent)."""
    ton, npi, source = source_address(message.source, profile.addresses)
    destination = normalize_destination(message.destination)
    validity = (
        ""
        if message.validity_seconds is None
        else relative_validity(message.validity_seconds, profile.min_validity)
    )
    registered = RegisteredDelivery.RECEIPT_ALWAYS if want_receipts else RegisteredDelivery.NONE
    submits: list[PartSubmit] = []
    for part in message.parts:
        if part.status is not PartStatus.PLANNED:
            continue
        submits.append(PartSubmit(part.seq, _part_pdu(part, message, profile, ton, npi, source,
                                                      destination, validity, int(registered),
                                                      extra_tlvs)))  # fmt: skip
    return submits


def _part_pdu(
    part: StoredPart,
    message: StoredMessage,
    profile: ProviderProfile,
    ton: int,
    npi: int,
    source: str,
    destination: str,
    validity: str,
    registered: int,
    extra_tlvs: tuple[Tlv, ...],
) -> SubmitSm:
    tlvs = list(extra_tlvs)
    ussd = UssdFields.of(message)
    if ussd is not None:
        tlvs.append(make_tlv(TlvTag.USSD_SERVICE_OP, ussd.service_op))
        if ussd.session is not None:
            tlvs.append(Tlv(TlvTag.ITS_SESSION_INFO, ussd.session.to_bytes()))
    if part.sar_ref is not None and part.sar_total is not None and part.sar_seq is not None:
        tlvs.append(make_tlv(TlvTag.SAR_MSG_REF_NUM, part.sar_ref))
        tlvs.append(make_tlv(TlvTag.SAR_TOTAL_SEGMENTS, part.sar_total))
        tlvs.append(make_tlv(TlvTag.SAR_SEGMENT_SEQNUM, part.sar_seq))
    if part.message_payload is not None:
        tlvs.append(Tlv(TlvTag.MESSAGE_PAYLOAD, part.message_payload))
    return SubmitSm(
        service_type=ussd.service_type if ussd is not None else "",
        source_addr_ton=ton,
        source_addr_npi=npi,
        source_addr=source,
        dest_addr_ton=profile.addresses.dest_ton,
        dest_addr_npi=profile.addresses.dest_npi,
        destination_addr=destination,
        esm_class=part.esm_class,
        validity_period=validity,
        registered_delivery=registered,
        data_coding=part.data_coding,
        short_message=part.short_message,
        tlvs=tuple(tlvs),
    )


def attempts_of(message: StoredMessage) -> Attempts:
    """What the message met so far, as the retry rules count it (throttling not counted)."""
    transient = max(0, message.attempts - message.qfull_retries - message.throttled_retries - 1)
    return Attempts(queue_full=message.qfull_retries, transient=transient)


_REASONS = {
    RetryClass.THROTTLED: RequeueReason.THROTTLED,
    RetryClass.QUEUE_FULL: RequeueReason.QUEUE_FULL,
}


def outcomes_for(
    message: StoredMessage,
    results: Sequence[tuple[int, SubmitResult]],
    profile: ProviderProfile,
    now: float,
    context: SubmitContext = _NO_CONTEXT,
) -> list[Outcome]:
    """The store outcomes for the parts sent in this round, by the platform's rules.

    Precedence within one message: a permanent failure ends it; else a part without a
    response makes it unknown; else a part to resend requeues the whole message (its accepted
    parts stay accepted and are not sent again).
    """
    outcomes: list[Outcome] = []
    failed: PartFailed | None = None
    unknown_seqs: list[int] = []
    requeue: tuple[int, SubmitResult, Decision] | None = None
    attempts = attempts_of(message)
    for seq, result in results:
        if result.outcome is ResultOutcome.ACCEPTED:
            smsc_id = result.message_id or ""
            outcomes.append(
                PartAccepted(message.id, seq, smsc_id, message_id_keys(smsc_id), now, context)
            )
            continue
        decision = decide(result, attempts, profile.retry)
        if decision.action is Action.FAIL and failed is None:
            status = result.status
            failed = PartFailed(
                message.id,
                seq,
                int(status) if status is not None else None,
                status.name if status is not None else decision.reason,
                now,
                rejected=status == CommandStatus.ESME_RINVDSTADR,
                context=context,
            )
        elif decision.action is Action.UNKNOWN:
            unknown_seqs.append(seq)
        elif decision.action is Action.RESEND:
            wait = max(decision.delay, decision.pause_connection)
            if requeue is None or wait > max(requeue[2].delay, requeue[2].pause_connection):
                requeue = (seq, result, decision)
    if failed is not None:
        outcomes.append(failed)
    elif unknown_seqs:
        outcomes.append(MarkUnknown(message.id, tuple(unknown_seqs), now, context=context))
    elif requeue is not None:
        seq, result, decision = requeue
        status = result.status
        reason = _REASONS.get(decision.retry, RequeueReason.TRANSIENT)
        if result.outcome is ResultOutcome.NOT_RECEIVED:
            reason = RequeueReason.NOT_RECEIVED
        elif status is None:
            reason = RequeueReason.SESSION_LOST
        outcomes.append(
            Requeue(
                message.id,
                now + max(decision.delay, decision.pause_connection),
                reason,
                now,
                seq=seq,
                command_status=int(status) if status is not None else None,
                status_name=status.name if status is not None else result.reason,
                context=context,
            )
        )
    return outcomes

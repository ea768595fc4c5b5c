"""From a claimed message to submit_sm PDUs, and from the SMSC's answers to store outcomes.

Pure functions: the dispatcher's loop (runtime.py) claims, calls ``build_part_submits``,
sends through the client's pool, and records ``outcomes_for``. The platform's error rules
(invalid destination: never resent; throttling: requeue, the connection pauses 1 s; queue
full: back of the queue after 5/15/45 s, at most 5 times) come from the account's profile
through the client's ``decide_message``; nothing here spells a rule out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from smppgate.client.message import submit_template
from smppgate.client.results import SubmitOutcome, SubmitResult
from smppgate.client.retry import Attempts, MessageAction, decide_message
from smppgate.pdu import (
    CommandStatus,
    RegisteredDelivery,
    RetryClass,
    SubmitSm,
    Tlv,
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
from smppgate.text import Sar, message_id_keys

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
    ussd = UssdFields.of(message)
    registered = RegisteredDelivery.RECEIPT_ALWAYS if want_receipts else RegisteredDelivery.NONE
    template = submit_template(
        profile,
        message.source,
        message.destination,
        validity=message.validity_seconds,
        registered_delivery=int(registered),
        service_type=ussd.service_type if ussd is not None else "",
        ussd_service_op=ussd.service_op if ussd is not None else None,
        its_session_info=ussd.session if ussd is not None else None,
        extra_tlvs=extra_tlvs,
    )
    return [
        PartSubmit(
            part.seq,
            template.part(
                esm_class=part.esm_class,
                data_coding=part.data_coding,
                short_message=part.short_message,
                sar=_sar(part),
                message_payload=part.message_payload,
            ),
        )
        for part in message.parts
        if part.status is PartStatus.PLANNED
    ]


def _sar(part: StoredPart) -> Sar | None:
    if part.sar_ref is None or part.sar_total is None or part.sar_seq is None:
        return None
    return Sar(part.sar_ref, part.sar_total, part.sar_seq)


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
    """The store outcomes for the parts sent in this round, by the platform's rules: every
    accepted part is recorded, and the message's fate is ``decide_message``'s (a part that
    fails ends it; else a part without a response makes it unknown; else a part to resend
    requeues the whole message, its accepted parts staying accepted, never sent again)."""
    outcomes: list[Outcome] = []
    every_part_accepted = True
    for seq, result in results:
        if result.outcome is SubmitOutcome.ACCEPTED:
            smsc_id = result.message_id or ""
            outcomes.append(
                PartAccepted(message.id, seq, smsc_id, message_id_keys(smsc_id), now, context)
            )
        else:
            every_part_accepted = False
    if every_part_accepted:
        # the round nearly every message has: decide_message's verdict is DONE, nothing
        # more to record (the hot path skips building a decision per part to learn that)
        return outcomes
    attempts = attempts_of(message)
    verdict = decide_message(
        [result for _, result in results], [attempts] * len(results), profile.retry
    )
    if verdict.action is MessageAction.FAIL and verdict.deciding is not None:
        seq, result = results[verdict.deciding]
        status = result.status
        outcomes.append(
            PartFailed(
                message.id,
                seq,
                int(status) if status is not None else None,
                status.name if status is not None else verdict.parts[verdict.deciding].reason,
                now,
                rejected=status == CommandStatus.ESME_RINVDSTADR,
                context=context,
            )
        )
    elif verdict.action is MessageAction.UNKNOWN:
        unknown = tuple(results[i][0] for i in verdict.unknown)
        outcomes.append(MarkUnknown(message.id, unknown, now, context=context))
    elif verdict.action is MessageAction.RESEND and verdict.deciding is not None:
        seq, result = results[verdict.deciding]
        status = result.status
        reason = _REASONS.get(verdict.parts[verdict.deciding].retry, RequeueReason.TRANSIENT)
        if result.outcome is SubmitOutcome.NOT_RECEIVED:
            reason = RequeueReason.NOT_RECEIVED
        elif status is None:
            reason = RequeueReason.SESSION_LOST
        outcomes.append(
            Requeue(
                message.id,
                now + verdict.wait,
                reason,
                now,
                seq=seq,
                command_status=int(status) if status is not None else None,
                status_name=status.name if status is not None else result.reason,
                context=context,
            )
        )
    return outcomes

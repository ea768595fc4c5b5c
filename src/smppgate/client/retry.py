"""What to do with a submit's result (platform points 12-14, spec D-19..D-21): pure.

The classification comes from the profile's :class:`~smppgate.profiles.RetryRules` (the
status table plus provider overrides); this module turns it into a decision for one message
part given how many times it already met each kind of error:

=================  ==========================================================================
ESME_RINVDSTADR    PERMANENT: fails, never resent (through any session, host or account)
ESME_RTHROTTLED    THROTTLED: resend (front of the queue, not counted as an attempt); the
                   connection that got it sends nothing for ``throttle_pause`` (1 s)
ESME_RMSGQFUL      QUEUE_FULL: back of the queue, resend after 5 / 15 / 45 ... s; after
                   ``queue_full_max_retries`` (3..5, default 5) it fails
other statuses     the table's class: PERMANENT fails; TRANSIENT resends with the profile's
                   transient delays; REBIND resends after the session is replaced
no response        UNKNOWN: never resent silently (the SMSC may have it); the caller decides
=================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import NamedTuple

from smppgate.client.results import SubmitOutcome, SubmitResult
from smppgate.pdu import RetryClass
from smppgate.profiles import RetryRules


class Action(Enum):
    DONE = "done"  # accepted
    RESEND = "resend"  # put back in the queue (see delay / back_of_queue)
    FAIL = "fail"  # final failure, never resend
    UNKNOWN = "unknown"  # outcome unknown: do not resend unless the caller accepts duplicates


class Attempts(NamedTuple):
    """Errors a part has met so far, per kind (throttling is not counted, D-20)."""

    queue_full: int = 0
    transient: int = 0
    rebind: int = 0


class Decision(NamedTuple):
    action: Action
    retry: RetryClass
    delay: float = 0.0
    """Seconds before the part may be sent again (QUEUE_FULL, TRANSIENT)."""
    back_of_queue: bool = False
    pause_connection: float = 0.0
    """Seconds the connection that got the error sends nothing (THROTTLED)."""
    attempts: Attempts = Attempts()
    reason: str = ""


def decide(result: SubmitResult, attempts: Attempts, rules: RetryRules) -> Decision:  # noqa: C901 - one branch per retry class: the module docstring's table
    """The decision for one result of one part."""
    if result.outcome is SubmitOutcome.ACCEPTED:
        return Decision(Action.DONE, RetryClass.OK, attempts=attempts)
    if result.outcome is SubmitOutcome.UNKNOWN:
        return Decision(
            Action.UNKNOWN, RetryClass.TRANSIENT, attempts=attempts, reason=result.reason
        )
    if result.status is None:
        # never written to a connection: sending it again cannot duplicate anything
        return Decision(
            Action.RESEND, RetryClass.TRANSIENT, attempts=attempts, reason=result.reason
        )
    status = result.status
    retry = rules.classify(status)
    name = status.name
    if retry is RetryClass.OK:
        return Decision(Action.DONE, retry, attempts=attempts)
    if retry is RetryClass.PERMANENT:
        return Decision(Action.FAIL, retry, attempts=attempts, reason=f"{name}: permanent")
    if retry is RetryClass.THROTTLED:
        return Decision(
            Action.RESEND,
            retry,
            delay=0.0,
            pause_connection=rules.throttle_pause,
            attempts=attempts,
            reason=f"{name}: throttled, connection paused {rules.throttle_pause:g} s",
        )
    if retry is RetryClass.QUEUE_FULL:
        k = attempts.queue_full + 1
        delay = rules.queue_full_delay(k)
        counted = attempts._replace(queue_full=k)
        if delay is None:
            return Decision(
                Action.FAIL,
                retry,
                attempts=counted,
                reason=f"{name}: still full after {rules.queue_full_max_retries} retries",
            )
        return Decision(
            Action.RESEND, retry, delay=delay, back_of_queue=True, attempts=counted, reason=name
        )
    if retry is RetryClass.REBIND:
        k = attempts.rebind + 1
        counted = attempts._replace(rebind=k)
        delay = rules.transient_delay(k)
        if delay is None:
            return Decision(Action.FAIL, retry, attempts=counted, reason=f"{name}: gave up")
        return Decision(Action.RESEND, retry, delay=delay, attempts=counted, reason=name)
    k = attempts.transient + 1
    counted = attempts._replace(transient=k)
    delay = rules.transient_delay(k)
    if delay is None:
        return Decision(
            Action.FAIL,
            retry,
            attempts=counted,
            reason=f"{name}: gave up after {rules.transient_max_retries} retries",
        )
    return Decision(
        Action.RESEND, retry, delay=delay, back_of_queue=True, attempts=counted, reason=name
    )


class MessageAction(Enum):
    """What becomes of a whole message after a round of its parts' results."""

    DONE = "done"  # every part of the round accepted
    FAIL = "fail"  # a part failed for good: the message fails, its unsent parts are not sent
    UNKNOWN = "unknown"  # a part has no response: the SMSC may have it
    RESEND = "resend"  # parts to send again, after ``MessageDecision.wait``


class MessageDecision(NamedTuple):
    """The message-level decision over one round of part results (``decide_message``)."""

    action: MessageAction
    parts: tuple[Decision, ...]
    """Each part's own decision, in the order of the results."""
    deciding: int | None
    """The index of the part that decides: the first to fail (FAIL), the resend with the
    longest wait (RESEND); None for DONE and UNKNOWN."""
    unknown: tuple[int, ...]
    """The indexes of the parts without a response."""

    @property
    def wait(self) -> float:
        """Seconds before the message goes again (RESEND): the deciding part's delay or the
        pause of the connection that refused it, whichever is longer."""
        if self.action is not MessageAction.RESEND or self.deciding is None:
            return 0.0
        return _wait(self.parts[self.deciding])


def _wait(decision: Decision) -> float:
    return max(decision.delay, decision.pause_connection)


def decide_message(
    results: Sequence[SubmitResult], attempts: Sequence[Attempts], rules: RetryRules
) -> MessageDecision:
    """The decision for one message over a round of its parts' results (``attempts[i]`` is
    what part ``i`` met before): each part's ``decide``, then the message's by precedence — a
    part that fails ends the message (D-19); else a part without a response makes it unknown
    (never resent silently); else a part to resend sends it again, after the longest wait
    among them; else it is done. The gateway (``service.dispatch.outcomes_for``) and
    ``send_message`` both decide through this."""
    parts = tuple(decide(r, a, rules) for r, a in zip(results, attempts, strict=True))
    failed: int | None = None
    unknown: list[int] = []
    resend: int | None = None
    for i, decision in enumerate(parts):
        if decision.action is Action.FAIL:
            if failed is None:
                failed = i
        elif decision.action is Action.UNKNOWN:
            unknown.append(i)
        elif decision.action is Action.RESEND and (
            resend is None or _wait(decision) > _wait(parts[resend])
        ):
            resend = i
    if failed is not None:
        return MessageDecision(MessageAction.FAIL, parts, failed, tuple(unknown))
    if unknown:
        return MessageDecision(MessageAction.UNKNOWN, parts, None, tuple(unknown))
    if resend is not None:
        return MessageDecision(MessageAction.RESEND, parts, resend, ())
    return MessageDecision(MessageAction.DONE, parts, None, ())

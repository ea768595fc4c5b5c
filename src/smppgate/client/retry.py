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

from enum import Enum
from typing import NamedTuple

from smppgate.client.results import Outcome, SubmitResult
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


def decide(result: SubmitResult, attempts: Attempts, rules: RetryRules) -> Decision:
    """The decision for one result of one part."""
    if result.outcome is Outcome.ACCEPTED:
        return Decision(Action.DONE, RetryClass.OK, attempts=attempts)
    if result.outcome is Outcome.UNKNOWN:
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

"""Per-request outcomes as values: accepted, failed (with its retry class and pause), unknown."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from smppgate.client.errors import OutcomeUnknown, SubmitError
from smppgate.pdu import CommandStatus, RetryClass, SmppMessageState


class SubmitOutcome(Enum):
    ACCEPTED = "accepted"
    """The SMSC took the part; ``message_id`` is its handle."""
    FAILED = "failed"
    """The SMSC refused it (``status``, ``retry``), or it was never sent (``status`` None)."""
    UNKNOWN = "unknown"
    """No response (timeout, connection lost with it in flight): the SMSC may have it."""
    NOT_RECEIVED = "not_received"
    """Written, but the SMSC's TCP never acknowledged its bytes (a dark link), and they were
    discarded with the connection: the SMSC cannot have it; safe to send again."""


class SubmitResult(NamedTuple):
    """The result of one submit_sm. ``pause`` is how long the connection that got a throttle
    error will send nothing (the caller's requeue should wait at least that long)."""

    outcome: SubmitOutcome
    message_id: str | None = None
    status: CommandStatus | None = CommandStatus.ESME_ROK
    retry: RetryClass = RetryClass.OK
    pause: float = 0.0
    reason: str = ""
    session: str = ""

    @property
    def accepted(self) -> bool:
        return self.outcome is SubmitOutcome.ACCEPTED

    def raise_for_outcome(self) -> str:
        """The message_id when accepted; else SubmitError / OutcomeUnknown."""
        if self.outcome is SubmitOutcome.ACCEPTED:
            return self.message_id or ""
        if self.outcome is SubmitOutcome.UNKNOWN:
            raise OutcomeUnknown(self.reason)
        status = self.status if self.status is not None else CommandStatus.ESME_RUNKNOWNERR
        raise SubmitError(status, self.retry, self.pause)


def accepted(message_id: str, session: str = "") -> SubmitResult:
    return SubmitResult(
        SubmitOutcome.ACCEPTED, message_id, CommandStatus.ESME_ROK, RetryClass.OK, 0.0, "", session
    )


def unknown(reason: str, session: str = "") -> SubmitResult:
    return SubmitResult(
        SubmitOutcome.UNKNOWN, None, None, RetryClass.TRANSIENT, 0.0, reason, session
    )


def not_received(reason: str, session: str = "") -> SubmitResult:
    return SubmitResult(
        SubmitOutcome.NOT_RECEIVED, None, None, RetryClass.TRANSIENT, 0.0, reason, session
    )


def not_sent(reason: str) -> SubmitResult:
    """Never written to any connection: safe to send again."""
    return SubmitResult(SubmitOutcome.FAILED, None, None, RetryClass.TRANSIENT, 0.0, reason, "")


class QueryResult(NamedTuple):
    """query_sm_resp, typed. ``final_date`` is empty while the state is not final."""

    message_id: str
    state: SmppMessageState | int
    final_date: str
    error_code: int

    @property
    def is_final(self) -> bool:
        return isinstance(self.state, SmppMessageState) and self.state.is_final

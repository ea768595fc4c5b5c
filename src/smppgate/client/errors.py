"""What the client raises. Typed attributes, never meaning hidden in ``args``.

Per-message outcomes (accepted / failed / unknown) are values (:class:`SubmitResult`), not
exceptions: a batch of a thousand submits does not raise on the first refusal. The
exceptions below are for the caller's mistakes (configuration, validity), for sessions that
cannot be had (bind refused, host unreachable) and for the convenience helpers that turn a
result into an exception (:meth:`SubmitResult.raise_for_outcome`).
"""

from __future__ import annotations

from smppgate.pdu import CommandStatus, RetryClass


class ClientError(Exception):
    """Base of every client error."""


class ClientConfigError(ClientError, ValueError):
    """The account or pool configuration is invalid; the message says which setting and why."""


class ValidityError(ClientError, ValueError):
    """A validity_period shorter than the platform allows (or not expressible) was asked for."""

    def __init__(self, seconds: float, minimum: float, detail: str = "") -> None:
        self.seconds = seconds
        self.minimum = minimum
        super().__init__(
            detail
            or f"validity_period {seconds:g} s is below the platform minimum of {minimum:g} s"
        )


class AddressError(ClientError, ValueError):
    """A sender or destination that cannot be put in a submit_sm."""


class ConnectError(ClientError):
    """The TCP (or TLS) connection to the SMSC could not be opened, or was lost during bind."""

    def __init__(self, host: str, detail: str) -> None:
        self.host = host
        super().__init__(f"cannot connect to {host}: {detail}")


class BindError(ClientError):
    """The SMSC refused the bind (or did not answer it in time: ``status`` is None)."""

    def __init__(self, status: CommandStatus | None, host: str = "", detail: str = "") -> None:
        self.status = status
        self.host = host
        what = status.name if status is not None else "no bind response"
        where = f" by {host}" if host else ""
        super().__init__(detail or f"bind refused{where}: {what}")


class NotBoundError(ClientError):
    """No bound session can take the request (pool closing, or no session of a fitting mode)."""


class SubmitError(ClientError):
    """A submit_sm was refused; ``retry_class`` says what may be done about it."""

    def __init__(self, status: CommandStatus, retry_class: RetryClass, pause: float = 0.0) -> None:
        self.status = status
        self.retry_class = retry_class
        self.pause = pause
        super().__init__(f"submit_sm refused: {status.name} ({retry_class.value})")


class OutcomeUnknown(ClientError):  # noqa: N818 - reads as what happened, like TimeoutError
    """No response came for a request (timeout or connection lost): the SMSC may have it.

    Resending may duplicate the message; that is the caller's decision, never the client's.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"outcome unknown: {reason}")


class CancelError(ClientError):
    """cancel_sm was refused by the SMSC (ESME_RCANCELFAIL: it can no longer be cancelled)."""

    def __init__(self, status: CommandStatus) -> None:
        self.status = status
        super().__init__(f"cancel_sm refused: {status.name}")


class QueryError(ClientError):
    """query_sm was refused by the SMSC."""

    def __init__(self, status: CommandStatus) -> None:
        self.status = status
        super().__init__(f"query_sm refused: {status.name}")

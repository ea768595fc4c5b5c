"""Session errors: local ones (we tried something the protocol forbids) are raised; remote
ones (the peer did) travel inside events, because a peer's mistake is data, not a crash."""

from __future__ import annotations

from smppgate.pdu import PduError


class SessionError(Exception):
    """Base of every session error."""


class LocalProtocolError(SessionError):
    """We asked the session for something SMPP 3.4 does not allow in its current state."""


class WindowFullError(LocalProtocolError):
    """Every slot of the outstanding-request window is taken; wait for a response."""


class RemoteProtocolError(SessionError):
    """The peer sent something SMPP 3.4 does not allow; carried by ``ProtocolViolation``."""

    def __init__(self, message: str, cause: PduError | None = None) -> None:
        super().__init__(message)
        self.cause = cause

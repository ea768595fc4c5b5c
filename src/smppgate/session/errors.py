"""Session errors: local ones (we tried something the protocol forbids) are raised; remote
ones (the peer did) are never raised: they travel as ``ProtocolViolation`` events, because a
peer's mistake is data, not a crash."""

from __future__ import annotations


class SessionError(Exception):
    """Base of every session error."""


class LocalProtocolError(SessionError):
    """We asked the session for something SMPP 3.4 does not allow in its current state."""


class WindowFullError(LocalProtocolError):
    """Every slot of the outstanding-request window is taken; wait for a response."""

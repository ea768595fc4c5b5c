"""The sans-IO SMPP session: states and the operation table, sequence numbers, the window of
outstanding requests, timers as deadlines, and the ESME and SMSC roles."""

from smppgate.session._fast import SendResult
from smppgate.session.config import SessionConfig
from smppgate.session.errors import (
    LocalProtocolError,
    SessionError,
    WindowFullError,
)
from smppgate.session.events import (
    BindFailed,
    BindRequested,
    Bound,
    CloseReason,
    CloseRequested,
    Event,
    ProtocolViolation,
    RequestAbandoned,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    UnexpectedResponse,
)
from smppgate.session.policy import SessionPolicy
from smppgate.session.session import Session
from smppgate.session.states import REQUEST_RULES, BindMode, Role, State, may_send

__all__ = [
    "REQUEST_RULES",
    "BindFailed",
    "BindMode",
    "BindRequested",
    "Bound",
    "CloseReason",
    "CloseRequested",
    "Event",
    "LocalProtocolError",
    "ProtocolViolation",
    "RequestAbandoned",
    "RequestReceived",
    "RequestTimedOut",
    "ResponseReceived",
    "Role",
    "SendResult",
    "Session",
    "SessionConfig",
    "SessionError",
    "SessionPolicy",
    "State",
    "UnexpectedResponse",
    "WindowFullError",
    "may_send",
]

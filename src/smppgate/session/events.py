"""What the session tells its driver. Events are immutable values; the driver matches on
their class. ``context`` is whatever the driver attached to the request it sent."""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from smppgate.pdu import CommandStatus, Pdu, PduError
from smppgate.session.states import BindMode


class CloseReason(Enum):
    """Why a session is over; the driver closes the transport and applies its cooldown."""

    PEER_UNBOUND = "peer_unbound"  # the peer sent unbind (we answered it)
    LOCAL_UNBIND = "local_unbind"  # we sent unbind and it was answered
    UNBIND_TIMEOUT = "unbind_timeout"  # our unbind was not answered in time
    ENQUIRE_LINK_TIMEOUT = "enquire_link_timeout"
    BIND_REJECTED = "bind_rejected"
    BIND_TIMEOUT = "bind_timeout"
    UNFRAMEABLE = "unframeable"  # the byte stream cannot be delimited any more
    POLICY = "policy"  # the application decided to end the session
    CONNECTION_LOST = "connection_lost"
    #: what we wrote stays unacknowledged by the peer's TCP (a dark link): dropped, and what
    #: was never acknowledged is discarded, never sent later
    LINK_STALLED = "link_stalled"


class RequestReceived(NamedTuple):
    """The peer sent a request. In the ESME role deliver_sm and data_sm are already answered
    (status 0, platform rule D-10) when this event is returned, ``answered`` says so — unless
    the session defers those answers (``Session.acknowledge``)."""

    pdu: Pdu
    answered: bool = False


class ResponseReceived(NamedTuple):
    """A response (or a generic_nack) to a request we sent."""

    request: Pdu
    response: Pdu
    context: object
    sent_at: float


class RequestTimedOut(NamedTuple):
    """No response came within the response timeout: the outcome is unknown — unless the
    peer's TCP never acknowledged the stream up to ``end`` (``Session.bytes_out`` when the
    request was written): then the peer cannot have it."""

    request: Pdu
    sequence_number: int
    context: object
    end: int = 0


class RequestAbandoned(NamedTuple):
    """The connection ended while this request waited for a response: outcome unknown (the
    same rule on ``end`` as for RequestTimedOut)."""

    request: Pdu
    sequence_number: int
    context: object
    end: int = 0


class BindRequested(NamedTuple):
    """SMSC role: an ESME asks to bind; answer with ``accept_bind`` or ``reject_bind``."""

    pdu: Pdu
    mode: BindMode


class Bound(NamedTuple):
    mode: BindMode
    system_id: str
    sc_interface_version: int | None


class BindFailed(NamedTuple):
    status: CommandStatus


class UnexpectedResponse(NamedTuple):
    """A response matching no outstanding request (late after a timeout, or a peer's bug)."""

    pdu: Pdu


class ProtocolViolation(NamedTuple):
    """The peer sent something malformed or not allowed; ``answered_with`` is the status the
    session replied with, or None when it sent nothing (the ESME never sends generic_nack)."""

    error: PduError | None
    detail: str
    raw: bytes
    answered_with: CommandStatus | None


class CloseRequested(NamedTuple):
    """The session is over: flush ``data_to_send()``, then close the transport."""

    reason: CloseReason


Event = (
    RequestReceived
    | ResponseReceived
    | RequestTimedOut
    | RequestAbandoned
    | BindRequested
    | Bound
    | BindFailed
    | UnexpectedResponse
    | ProtocolViolation
    | CloseRequested
)

"""The asyncio ESME client: sessions, the pool of one account, failover, the platform's rules.

Typical use::

    account = SmppAccount("login", "secret", profile=DEVINO_PROMO)
    async with SessionPool(account) as pool:
        await pool.wait_ready()
        plan = pool.prepare(OutboundMessage("Devino", "+79001234567", "Привет"))
        results = await pool.submit(plan.parts)        # accepted / failed / unknown per part
        pool.release(plan)
        async for event in pool.incoming():            # DeliveryReport, MoMessage, ...
            ...

Decisions are pure and live in their own modules (:mod:`.cooldown`, :mod:`.failover`,
:mod:`.routing`, :mod:`.retry`, :mod:`.validity`, :mod:`.message`); the async parts
(:mod:`.connection`, :mod:`.pool`) carry them out.
"""

import warnings

from smppgate.client.config import SmppAccount, TlsConfig, parse_mode
from smppgate.client.connection import Batch, ClientSession, ClientSessionState, SessionSnapshot
from smppgate.client.cooldown import AttemptEnd, CooldownPolicy
from smppgate.client.errors import (
    AddressError,
    BindError,
    CancelError,
    ClientConfigError,
    ClientError,
    ConnectError,
    NotBoundError,
    OutcomeUnknown,
    QueryError,
    SubmitError,
    ValidityError,
)
from smppgate.client.failover import next_host, should_return_to_primary, slot_to_return
from smppgate.client.incoming import (
    Answer,
    DeliveryReport,
    HeldEvent,
    IncomingDecoder,
    IncomingEvent,
    MoMessage,
    MoPart,
    UnreadablePdu,
)
from smppgate.client.message import (
    MessagePlan,
    OutboundMessage,
    SubmitTemplate,
    build_submits,
    gateway_sender,
    international_number,
    normalize_destination,
    source_address,
    submit_template,
)
from smppgate.client.pool import PoolSnapshot, SessionPool, SlotSnapshot, SlotState
from smppgate.client.ratelimit import TokenBucket
from smppgate.client.results import QueryResult, SubmitOutcome, SubmitResult
from smppgate.client.retry import (
    Action,
    Attempts,
    Decision,
    MessageAction,
    MessageDecision,
    decide,
    decide_message,
)
from smppgate.client.routing import Candidate, select_session
from smppgate.client.sender import MessageResult, send_message
from smppgate.client.validity import check_validity, relative_validity
from smppgate.profiles import UnsupportedOperationError
from smppgate.transport import TcpOptions

__all__ = [
    "Action",
    "AddressError",
    "Answer",
    "AttemptEnd",
    "Attempts",
    "Batch",
    "BindError",
    "CancelError",
    "Candidate",
    "ClientConfigError",
    "ClientError",
    "ClientSession",
    "ClientSessionState",
    "ConnectError",
    "CooldownPolicy",
    "Decision",
    "DeliveryReport",
    "HeldEvent",
    "IncomingDecoder",
    "IncomingEvent",
    "MessageAction",
    "MessageDecision",
    "MessagePlan",
    "MessageResult",
    "MoMessage",
    "MoPart",
    "NotBoundError",
    "OutboundMessage",
    "OutcomeUnknown",
    "PoolSnapshot",
    "QueryError",
    "QueryResult",
    "SessionPool",
    "SessionSnapshot",
    "SlotSnapshot",
    "SlotState",
    "SmppAccount",
    "SubmitError",
    "SubmitOutcome",
    "SubmitResult",
    "SubmitTemplate",
    "TcpOptions",
    "TlsConfig",
    "TokenBucket",
    "UnreadablePdu",
    "UnsupportedOperationError",
    "ValidityError",
    "build_submits",
    "check_validity",
    "decide",
    "decide_message",
    "gateway_sender",
    "international_number",
    "next_host",
    "normalize_destination",
    "parse_mode",
    "relative_validity",
    "select_session",
    "send_message",
    "should_return_to_primary",
    "slot_to_return",
    "source_address",
    "submit_template",
]

# The names before issue 18's renames (one name per idea): importable for a while, with a
# DeprecationWarning, because docs/client.md showed them.
_DEPRECATED = {
    "AccountConfig": "SmppAccount",
    "ConfigError": "ClientConfigError",
    "Outcome": "SubmitOutcome",
}


def __getattr__(name: str) -> object:
    new = _DEPRECATED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"smppgate.client.{name} is deprecated; use smppgate.client.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    return globals()[new]

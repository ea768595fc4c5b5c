"""The platform emulator: an SMPP 3.4 server on the same session core as the client (SMSC
role) that behaves like the Devino platform, checks the platform's rules from the SMSC side
(violation log), and misbehaves on demand (fault policies chosen by name).

    async with Emulator(EmulatorConfig(accounts=(Account("login", "secret"),))) as emu:
        host, port = emu.address
"""

from smppgate.emulator.config import (
    DEMO_ACCOUNT,
    Account,
    EmulatorConfig,
    FaultSpec,
    IdFormat,
    ListenerConfig,
    ReceiptIdFormat,
    ShortValidity,
    TrafficClass,
)
from smppgate.emulator.errors import (
    EmulatorConfigError,
    EmulatorError,
    NoReceiverError,
    UnknownFaultError,
)
from smppgate.emulator.faults import POLICIES, FaultKind, FaultRule, Faults, Policy, make_policy
from smppgate.emulator.ledger import (
    Counters,
    MessageStatus,
    SessionEvent,
    SubmitRecord,
    Violation,
)
from smppgate.emulator.outcomes import OutcomeMix
from smppgate.emulator.server import Emulator, SessionInfo, SmscConnection

__all__ = [
    "DEMO_ACCOUNT",
    "POLICIES",
    "Account",
    "Counters",
    "Emulator",
    "EmulatorConfig",
    "EmulatorConfigError",
    "EmulatorError",
    "FaultKind",
    "FaultRule",
    "FaultSpec",
    "Faults",
    "IdFormat",
    "ListenerConfig",
    "MessageStatus",
    "NoReceiverError",
    "OutcomeMix",
    "Policy",
    "ReceiptIdFormat",
    "SessionEvent",
    "SessionInfo",
    "ShortValidity",
    "SmscConnection",
    "SubmitRecord",
    "TrafficClass",
    "UnknownFaultError",
    "Violation",
    "make_policy",
]

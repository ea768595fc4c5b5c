"""Session states and the table of which PDU may travel in which state (SMPP 3.4 §2.3,
Table 2-1). The table is data: the session looks pairs up, it does not branch on them."""

from __future__ import annotations

from enum import Enum

from smppgate.pdu import CommandId


class Role(Enum):
    ESME = "esme"  # the client: binds, submits, receives deliver_sm
    SMSC = "smsc"  # the server: accepts binds, answers submits, sends deliver_sm


class State(Enum):
    OPEN = "open"  # connected, not bound yet
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBOUND = "unbound"  # unbind sent or received; waiting for the close (SMPP 5.0 naming)
    CLOSED = "closed"

    @property
    def is_bound(self) -> bool:
        # identity tests, not a set lookup: Enum.__hash__ is Python code, and this is asked
        # on the hot path
        return self is _BOUND_TX or self is _BOUND_TRX or self is _BOUND_RX


class BindMode(Enum):
    TRANSMITTER = "tx"
    RECEIVER = "rx"
    TRANSCEIVER = "trx"

    @property
    def command_id(self) -> CommandId:
        return _BIND_COMMAND[self]

    @property
    def bound_state(self) -> State:
        return _BOUND_STATE[self]

    @property
    def can_submit(self) -> bool:
        return self is not BindMode.RECEIVER

    @property
    def can_receive(self) -> bool:
        return self is not BindMode.TRANSMITTER

    @classmethod
    def for_bind(cls, command_id: int) -> BindMode | None:
        return _MODE_OF_BIND.get(command_id)


_BOUND = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})
_BOUND_TX, _BOUND_RX, _BOUND_TRX = State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX
_BIND_COMMAND = {
    BindMode.TRANSMITTER: CommandId.BIND_TRANSMITTER,
    BindMode.RECEIVER: CommandId.BIND_RECEIVER,
    BindMode.TRANSCEIVER: CommandId.BIND_TRANSCEIVER,
}
_MODE_OF_BIND: dict[int, BindMode] = {cid: mode for mode, cid in _BIND_COMMAND.items()}
_BOUND_STATE = {
    BindMode.TRANSMITTER: State.BOUND_TX,
    BindMode.RECEIVER: State.BOUND_RX,
    BindMode.TRANSCEIVER: State.BOUND_TRX,
}

_E = frozenset({Role.ESME})
_S = frozenset({Role.SMSC})
_BOTH = _E | _S
_TX = frozenset({State.BOUND_TX, State.BOUND_TRX})
_RX = frozenset({State.BOUND_RX, State.BOUND_TRX})
_OPEN = frozenset({State.OPEN})

# request command_id -> (states in which it may be sent, roles that may send it).
# Responses are legal whenever they answer a request that is still waiting for one.
REQUEST_RULES: dict[int, tuple[frozenset[State], frozenset[Role]]] = {
    CommandId.BIND_TRANSMITTER: (_OPEN, _E),
    CommandId.BIND_RECEIVER: (_OPEN, _E),
    CommandId.BIND_TRANSCEIVER: (_OPEN, _E),
    CommandId.OUTBIND: (_OPEN, _S),
    CommandId.UNBIND: (_BOUND, _BOTH),
    CommandId.SUBMIT_SM: (_TX, _E),
    CommandId.SUBMIT_MULTI: (_TX, _E),
    CommandId.DATA_SM: (_BOUND, _BOTH),
    CommandId.DELIVER_SM: (_RX, _S),
    CommandId.QUERY_SM: (_TX, _E),
    CommandId.CANCEL_SM: (_TX, _E),
    # Table 2-1 lists BOUND_TX only; SMSCs accept it on transceivers too (spec Part B 12)
    CommandId.REPLACE_SM: (_TX, _E),
    CommandId.ENQUIRE_LINK: (_BOUND, _BOTH),
    CommandId.ALERT_NOTIFICATION: (_RX, _S),
}

# requests that expect no response (§2.5.2)
NO_RESPONSE = frozenset({CommandId.OUTBIND, CommandId.ALERT_NOTIFICATION})


def may_send(role: Role, state: State, command_id: int) -> bool:
    """Whether ``role`` may send request ``command_id`` in ``state``."""
    rule = REQUEST_RULES.get(command_id)
    return rule is not None and state in rule[0] and role in rule[1]

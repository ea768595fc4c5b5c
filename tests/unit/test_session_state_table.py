"""Every (role, state, request) pair, against a table written out from SMPP 3.4 §2.3 (Table 2-1)
rather than derived from the code: a change to `session/states.py` is a change to one row
here (h2's `test_state_machines.py` is the model).

Each pair is checked twice: in the table the session looks up (`may_send`), and on a real
session driven into that state, which must send the request or refuse it with
`LocalProtocolError` without changing anything.
"""

from __future__ import annotations

import itertools

import pytest

from smppgate.pdu import (
    AlertNotification,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CancelSm,
    CommandId,
    DataSm,
    DeliverSm,
    EnquireLink,
    Outbind,
    QuerySm,
    ReplaceSm,
    SubmitMulti,
    SubmitSm,
    Unbind,
)
from smppgate.session import (
    REQUEST_RULES,
    BindMode,
    BindRequested,
    LocalProtocolError,
    Role,
    Session,
    State,
    may_send,
)

# Who may send each request, in which states: "E" the ESME, "S" the SMSC; states by short name.
# SMPP 3.4 Table 2-1, with one documented widening: replace_sm on transceivers (spec Part B 12).
ALLOWED: dict[CommandId, str] = {
    CommandId.BIND_TRANSMITTER: "E:open",
    CommandId.BIND_RECEIVER: "E:open",
    CommandId.BIND_TRANSCEIVER: "E:open",
    CommandId.OUTBIND: "S:open",
    CommandId.UNBIND: "E:tx,rx,trx S:tx,rx,trx",
    CommandId.SUBMIT_SM: "E:tx,trx",
    CommandId.SUBMIT_MULTI: "E:tx,trx",
    CommandId.DATA_SM: "E:tx,rx,trx S:tx,rx,trx",
    CommandId.DELIVER_SM: "S:rx,trx",
    CommandId.QUERY_SM: "E:tx,trx",
    CommandId.CANCEL_SM: "E:tx,trx",
    CommandId.REPLACE_SM: "E:tx,trx",
    CommandId.ENQUIRE_LINK: "E:tx,rx,trx S:tx,rx,trx",
    CommandId.ALERT_NOTIFICATION: "S:rx,trx",
}

STATES = {
    "open": State.OPEN,
    "tx": State.BOUND_TX,
    "rx": State.BOUND_RX,
    "trx": State.BOUND_TRX,
    "unbound": State.UNBOUND,
    "closed": State.CLOSED,
}
ROLES = {"E": Role.ESME, "S": Role.SMSC}

REQUESTS = {
    CommandId.BIND_TRANSMITTER: BindTransmitter(system_id="login", password="secret"),
    CommandId.BIND_RECEIVER: BindReceiver(system_id="login", password="secret"),
    CommandId.BIND_TRANSCEIVER: BindTransceiver(system_id="login", password="secret"),
    CommandId.OUTBIND: Outbind(system_id="DEVINO"),
    CommandId.UNBIND: Unbind(),
    CommandId.SUBMIT_SM: SubmitSm(destination_addr="79001234567", short_message=b"hi"),
    CommandId.SUBMIT_MULTI: SubmitMulti(short_message=b"hi"),
    CommandId.DATA_SM: DataSm(destination_addr="79001234567"),
    CommandId.DELIVER_SM: DeliverSm(destination_addr="79001234567", short_message=b"hi"),
    CommandId.QUERY_SM: QuerySm(message_id="1"),
    CommandId.CANCEL_SM: CancelSm(message_id="1"),
    CommandId.REPLACE_SM: ReplaceSm(message_id="1"),
    CommandId.ENQUIRE_LINK: EnquireLink(),
    CommandId.ALERT_NOTIFICATION: AlertNotification(),
}


def allowed(command: CommandId) -> set[tuple[Role, State]]:
    pairs = set()
    for part in ALLOWED[command].split():
        role, states = part.split(":")
        pairs |= {(ROLES[role], STATES[s]) for s in states.split(",")}
    return pairs


CASES = [
    pytest.param(role, state, command, id=f"{role.value}-{state.value}-{command.name.lower()}")
    for role, state, command in itertools.product(Role, State, ALLOWED)
]


def test_the_table_names_every_request_the_session_knows() -> None:
    assert set(ALLOWED) == set(REQUEST_RULES) == set(REQUESTS)


@pytest.mark.parametrize(("role", "state", "command"), CASES)
def test_may_send(role: Role, state: State, command: CommandId) -> None:
    assert may_send(role, state, command) == ((role, state) in allowed(command))


def session_in(role: Role, state: State) -> Session:
    """A session of ``role`` driven into ``state`` through the protocol, not by assignment."""
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    mine = esme if role is Role.ESME else smsc
    if state is State.OPEN:
        return mine
    mode = {
        State.BOUND_TX: BindMode.TRANSMITTER,
        State.BOUND_RX: BindMode.RECEIVER,
    }.get(state, BindMode.TRANSCEIVER)
    esme.bind(mode, "login", "secret", 0.0)
    (request,) = smsc.receive_data(esme.data_to_send(), 0.0)
    assert isinstance(request, BindRequested)
    smsc.accept_bind(request.pdu, "DEVINO", 0.0)
    esme.receive_data(smsc.data_to_send(), 0.0)
    if state is State.UNBOUND:
        mine.unbind(0.0)
    elif state is State.CLOSED:
        mine.connection_lost(0.0)
    mine.data_to_send()
    assert mine.state is state
    return mine


@pytest.mark.parametrize(("role", "state", "command"), CASES)
def test_a_session_sends_exactly_what_the_table_allows(
    role: Role, state: State, command: CommandId
) -> None:
    session = session_in(role, state)
    if (role, state) in allowed(command):
        session.send_request(REQUESTS[command], 1.0)
        assert session.data_to_send()[4:8] == int(command).to_bytes(4, "big")
    else:
        with pytest.raises(LocalProtocolError):
            session.send_request(REQUESTS[command], 1.0)
        assert session.data_to_send() == b""
        assert session.state is state

"""The session's fast paths (``session/_fast.py``: bulk ``send_from``, bulk response matching
in ``receive_data``) behave exactly as the general path for any input: two sessions of the
same role, one with the fast paths and one without, get the same queues, the same incoming
bytes (cut anywhere) and the same clock, and must give the same results, events and bytes and
keep the same window after every step. The ESME's hot loop is submit_sm out and
submit_sm_resp in, the SMSC's deliver_sm out and deliver_sm_resp in; around them go what
takes the general path (binds, enquire_link, unbind, unencodable requests, sequence numbers to
skip or wrap, generic_nack, unreadable, stray and mismatched responses, incoming requests)."""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from smppgate.pdu import (
    MAX_SEQUENCE_NUMBER,
    BindTransceiver,
    BindTransceiverResp,
    CommandId,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    encode,
)
from smppgate.session import BindRequested, ProtocolViolation, Role, Session, SessionConfig
from smppgate.session.states import BindMode

TIMEOUT = 5.0
RESPONSE_BIT = 0x80000000


class GeneralSession(Session):
    """The general path only: the definition the fast paths must match."""

    _fast_path = False


def _request(role: Role, kind: str, n: int) -> Any:
    if kind == "plain":
        if role is Role.ESME:
            return SubmitSm(destination_addr=f"7900{n:07d}", short_message=b"x" * (n % 50))
        return DeliverSm(destination_addr=f"7900{n:07d}", short_message=b"y" * (n % 40))
    if kind == "query":
        return QuerySm(message_id=f"m{n}", source_addr="1")
    if kind == "enquire_link":
        return EnquireLink()
    if kind == "unbind":
        return Unbind()
    if kind == "bind":
        return BindTransceiver(system_id="again", password="x")
    # cannot be encoded (a destination_addr of 30 digits)
    if role is Role.ESME:
        return SubmitSm(destination_addr="7" * 30)
    return DeliverSm(destination_addr="7" * 30)


KINDS = ("plain",) * 6 + ("query", "enquire_link", "unbind", "bind", "bad")
ANSWERS = ("ok", "ok", "ok", "refused", "nack", "unreadable", "stray", "mismatched")


def _answer(kind: str, request: Any, seq: int) -> bytes:
    if kind == "stray" or request is None:  # answers no request
        return encode(SubmitSmResp(message_id="x"), seq + 10_000)
    cid = request.command_id
    if kind == "nack":
        return encode(GenericNack(command_status=0x58), seq)
    if kind == "unreadable":
        return struct.pack(">IIII", 19, cid | RESPONSE_BIT, 0x58, seq) + b"abc"
    if kind == "mismatched":  # a response of another command under this number
        other = DeliverSmResp() if cid == CommandId.SUBMIT_SM else SubmitSmResp(message_id="m")
        return encode(other, seq)
    status = 0 if kind == "ok" else 0x14
    if cid == CommandId.SUBMIT_SM:
        return encode(
            SubmitSmResp(message_id="" if status else f"id{seq}", command_status=status), seq
        )
    if cid == CommandId.DELIVER_SM:
        return encode(DeliverSmResp(command_status=status), seq)
    if cid == CommandId.QUERY_SM:
        return encode(QuerySmResp(message_id="x", message_state=2), seq)
    if cid == CommandId.ENQUIRE_LINK:
        return encode(EnquireLinkResp(), seq)
    if cid == CommandId.UNBIND:
        return encode(UnbindResp(), seq)
    return encode(GenericNack(command_status=0x03), seq)


def _incoming(role: Role, kind: str, n: int) -> bytes:
    """A request from the peer, beside the responses."""
    if kind == "enquire_link":
        return encode(EnquireLink(), 50_000 + n)
    if kind == "request" and role is Role.ESME:
        return encode(DeliverSm(source_addr="7900", short_message=b"hi"), 50_000 + n)
    if kind == "request":
        return encode(SubmitSm(destination_addr="7900", short_message=b"hi"), 50_000 + n)
    return struct.pack(">IIII", 16, 0x00000777, 0, 50_000 + n)  # an unknown command


def _comparable(events: list[Any]) -> list[Any]:
    """Events with their exceptions as (class, text): an exception equals only itself."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, ProtocolViolation) and event.error is not None:
            event = event._replace(error=(type(event.error), str(event.error)))
        out.append(event)
    return out


class SameAsGeneralPath(RuleBasedStateMachine):
    @initialize(
        role=st.sampled_from([Role.ESME, Role.SMSC]),
        window=st.integers(1, 8),
        # near the top of the sequence numbers: the wrap takes the general path
        first_seq=st.sampled_from([1, 2, MAX_SEQUENCE_NUMBER - 3]),
    )
    def bind(self, role: Role, window: int, first_seq: int) -> None:
        config = SessionConfig(window=window, response_timeout=TIMEOUT, enquire_link_idle=1e9)
        self.role = role
        self.sessions = (Session(role, config), GeneralSession(role, config))
        for session in self.sessions:
            session.start(0.0)
            if role is Role.ESME:
                seq = session.bind(BindMode.TRANSCEIVER, "login", "secret", 0.0)
                session.receive_data(encode(BindTransceiverResp(system_id="x"), seq), 0.0)
            else:
                (request,) = session.receive_data(
                    encode(BindTransceiver(system_id="login", password="secret"), 1), 0.0
                )
                assert isinstance(request, BindRequested)
                session.accept_bind(request.pdu, "smsc", 0.0)
            session.data_to_send()
            session._next_seq = first_seq
        self.now = 0.0
        self.counter = 0

    def _same(self, fast: Any, general: Any) -> None:
        assert fast == general
        assert self.sessions[0].data_to_send() == self.sessions[1].data_to_send()

    @rule(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=12))
    def send_from(self, kinds: list[str]) -> None:
        items = []
        for kind in kinds:
            self.counter += 1
            items.append((_request(self.role, kind, self.counter), self.counter))
        queues = deque(items), deque(items)
        fast, general = (
            s.send_from(q, self.now) for s, q in zip(self.sessions, queues, strict=True)
        )
        self._same(
            (fast.sent, [(c, type(e), str(e)) for c, e in fast.failed], list(queues[0])),
            (general.sent, [(c, type(e), str(e)) for c, e in general.failed], list(queues[1])),
        )

    @rule(data=st.data(), cut=st.integers(1, 200))
    def receive(self, data: st.DataObject, cut: int) -> None:
        pending = self.sessions[0]._pending
        frames = []
        for seq in data.draw(st.lists(st.sampled_from(sorted(pending) or [1]), max_size=12)):
            waiting = pending.get(seq)
            kind = data.draw(st.sampled_from(ANSWERS))
            frames.append(_answer(kind, waiting.request if waiting else None, seq))
        for n in range(data.draw(st.integers(0, 2))):
            where = data.draw(st.integers(0, len(frames)))
            kind = data.draw(st.sampled_from(("enquire_link", "request", "unknown")))
            frames.insert(where, _incoming(self.role, kind, n))
        stream = b"".join(frames)
        for start in range(0, len(stream), cut):
            chunk = stream[start : start + cut]
            fast, general = (s.receive_data(chunk, self.now) for s in self.sessions)
            self._same(_comparable(fast), _comparable(general))

    @rule(dt=st.sampled_from((0.5, 1.0, TIMEOUT)))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        fast, general = (s.tick(self.now) for s in self.sessions)
        self._same(_comparable(fast), _comparable(general))

    @invariant()
    def same_state(self) -> None:
        if not hasattr(self, "sessions"):
            return
        fast, general = self.sessions
        assert fast._pending == general._pending
        assert fast.window_used == general.window_used
        assert fast.state is general.state
        assert fast.bytes_out == general.bytes_out
        assert fast.last_sent == general.last_sent
        assert fast._next_seq == general._next_seq
        assert fast.next_deadline() == general.next_deadline()


SameAsGeneralPath.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_fast_path_is_the_general_path = SameAsGeneralPath.TestCase


def test_a_general_path_request_alone_leaves_the_deadline_floor_to_its_own_timeout() -> None:
    """Found by the machine above: a plain request timed out, then two enquire_links (their
    own, longer timeout) went out through send_from with no plain request among them; the
    fast path lowered the deadline floor to ``now + response_timeout`` all the same, so
    next_deadline said 10 where the general path says 35."""
    config = SessionConfig(window=1, response_timeout=TIMEOUT, enquire_link_idle=1e9)
    deadlines = []
    for session in (Session(Role.ESME, config), GeneralSession(Role.ESME, config)):
        session.start(0.0)
        seq = session.bind(BindMode.TRANSCEIVER, "login", "secret", 0.0)
        session.receive_data(encode(BindTransceiverResp(system_id="x"), seq), 0.0)
        session.send_from(deque([(_request(Role.ESME, "plain", 1), 1)]), 0.0)
        session.tick(TIMEOUT)  # the plain request times out
        for n in (2, 3):
            session.send_from(deque([(EnquireLink(), n)]), TIMEOUT)
            deadlines.append(session.next_deadline())
    assert deadlines[:2] == deadlines[2:]

"""A model of the ESME session's window, checked by hypothesis: random batches of requests
through ``send_from`` (some unencodable, some outside the window), random answers fed back in
random chunks (accepted, refused, generic_nack, unreadable, for requests that exist or not),
time passing. After every step the bookkeeping must hold: the window count equals the
counted requests pending, never above the window; sequence numbers are unique; the deadline
``next_deadline`` reports is never later than a pending request's; and every request sent is
either pending or was reported exactly once (answered, timed out), never lost or doubled."""

from __future__ import annotations

import struct
from collections import deque
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from smppgate.pdu import (
    BindTransceiverResp,
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
from smppgate.session import (
    BindMode,
    RequestAbandoned,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
    SessionConfig,
    UnexpectedResponse,
)

TIMEOUT = 5.0
KINDS = ("submit", "submit", "submit", "query", "enquire_link", "bad")


def _request(kind: str, n: int) -> Any:
    if kind == "submit":
        return SubmitSm(destination_addr=f"7900{n:07d}", short_message=b"x" * (n % 50))
    if kind == "query":
        return QuerySm(message_id=f"m{n}", source_addr="1")
    if kind == "enquire_link":
        return EnquireLink()
    return SubmitSm(destination_addr="7" * 30)  # too long: cannot be encoded


class WindowModel(RuleBasedStateMachine):
    @initialize(window=st.integers(1, 8))
    def bind(self, window: int) -> None:
        config = SessionConfig(window=window, response_timeout=TIMEOUT, enquire_link_idle=1e9)
        self.session = Session(Role.ESME, config)
        self.session.start(0.0)
        seq = self.session.bind(BindMode.TRANSCEIVER, "login", "secret", 0.0)
        self.session.data_to_send()
        self.session.receive_data(encode(BindTransceiverResp(system_id="x"), seq), 0.0)
        self.now = 0.0
        self.queue: deque[tuple[Any, Any]] = deque()
        self.counter = 0
        self.sent: set[int] = set()  # contexts written
        # contexts reported answered, timed out, or abandoned (the session closed: an
        # unanswered enquire_link ends in unbind)
        self.reported: list[int] = []

    def _events(self, events: list[Any]) -> None:
        for event in events:
            reports = ResponseReceived | RequestTimedOut | RequestAbandoned
            if isinstance(event, reports) and event.context is not None:
                self.reported.append(event.context)

    @rule(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=12))
    def enqueue(self, kinds: list[str]) -> None:
        for kind in kinds:
            self.counter += 1
            # the session keeps enquire_link answers to itself: nothing to report
            context = None if kind == "enquire_link" else self.counter
            self.queue.append((_request(kind, self.counter), context))

    @rule()
    def send_from(self) -> None:
        before = set(self.session._pending)
        taken = len(self.queue)
        result = self.session.send_from(self.queue, self.now)
        taken -= len(self.queue)
        assert result.sent + len(result.failed) == taken
        new = set(self.session._pending) - before
        assert len(new) <= result.sent  # enquire_link is pending too, and was sent
        for seq in new:
            context = self.session._pending[seq].context
            if context is not None:
                self.sent.add(context)
        self.session.data_to_send()

    @rule(
        data=st.data(),
        cut=st.integers(1, 64),
    )
    def answer(self, data: st.DataObject, cut: int) -> None:
        pending = sorted(self.session._pending)
        frames = []
        for seq in data.draw(st.lists(st.sampled_from(pending or [1]), max_size=10, unique=True)):
            request = self.session._pending.get(seq)
            kind = data.draw(st.sampled_from(("ok", "refused", "nack", "unreadable", "stray")))
            if kind == "stray" or request is None:
                frames.append(encode(SubmitSmResp(message_id="x"), seq + 10_000))
            elif kind == "nack":
                frames.append(encode(GenericNack(command_status=0x58), seq))
            elif kind == "unreadable":
                cid = request.request.command_id | 0x80000000
                frames.append(struct.pack(">IIII", 19, cid, 0x58, seq) + b"abc")
            elif isinstance(request.request, QuerySm):
                frames.append(encode(QuerySmResp(message_id="x", message_state=2), seq))
            else:
                status = 0 if kind == "ok" else 0x14
                response = SubmitSmResp(message_id="" if status else "id", command_status=status)
                if request.request.command_id == EnquireLink().command_id:
                    frames.append(encode(EnquireLinkResp(), seq))
                elif request.request.command_id == Unbind().command_id:
                    frames.append(encode(UnbindResp(), seq))
                else:
                    frames.append(encode(response, seq))
        stream = b"".join(frames)
        for start in range(0, len(stream), cut):
            events = self.session.receive_data(stream[start : start + cut], self.now)
            assert not any(isinstance(e, UnexpectedResponse) and e.pdu.sequence_number < 10_000
                           for e in events)  # fmt: skip
            self._events(events)
        self.session.data_to_send()

    @rule(dt=st.sampled_from((0.5, 1.0, TIMEOUT)))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        self._events(self.session.tick(self.now))
        self.session.data_to_send()

    @invariant()
    def window_is_counted_right(self) -> None:
        if not hasattr(self, "session"):
            return
        s = self.session
        counted = sum(1 for p in s._pending.values() if p.counted)
        assert s.window_used == counted
        assert 0 <= s.window_used <= s.config.window

    @invariant()
    def deadline_is_never_late(self) -> None:
        if not hasattr(self, "session") or not self.session._pending:
            return
        earliest = min(p.deadline for p in self.session._pending.values())
        deadline = self.session.next_deadline()
        assert deadline is not None
        assert deadline <= earliest

    @invariant()
    def every_request_is_pending_or_reported_once(self) -> None:
        if not hasattr(self, "session"):
            return
        pending = {p.context for p in self.session._pending.values() if p.context is not None}
        reported = self.reported
        assert len(reported) == len(set(reported))  # never twice
        assert pending.isdisjoint(reported)
        assert pending | set(reported) == self.sent  # never lost


WindowModel.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_window_model = WindowModel.TestCase

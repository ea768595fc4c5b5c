"""The sans-IO SMPP session: bytes and commands in, events and bytes out.

One ``Session`` owns one connection's protocol state: bind state, sequence numbers, the
window of requests waiting for responses, and the timers, which are deadlines compared with
the ``now`` the driver passes in. It never reads a clock and never touches a socket.

Two roles share the core; what each may send is the state table (``states``). How the
session answers what the peer sends, where providers differ, is the ``SessionPolicy`` the
profile hands over: whether every deliver_sm/data_sm is answered with status 0 before the
application sees it (Devino D-10) — or, with ``SessionConfig.defer_incoming_answers``, when
the application acknowledges it once stored (still 0) — and whether unknown, unreadable or
wrong-state requests get generic_nack / an error status (SMPP 3.4) or silence (Devino D-11).
The ESME sends enquire_link only after ``enquire_link_idle`` with nothing received (D-12) and
unbinds when that is not answered (D-13).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from smppgate.pdu import (
    BODIES,
    MAX_SEQUENCE_NUMBER,
    CommandId,
    CommandStatus,
    DataSmResp,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    FrameReader,
    GenericNack,
    Pdu,
    PduError,
    TlvTag,
    Unbind,
    UnbindResp,
    UnknownCommandIdError,
    command_status,
    decode,
    encode,
    make_tlv,
    tlv_value,
)
from smppgate.pdu.constants import RESPONSE_BIT
from smppgate.session import _fast
from smppgate.session._fast import Pending, SendResult
from smppgate.session.config import SessionConfig
from smppgate.session.errors import LocalProtocolError, WindowFullError
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
from smppgate.session.states import NO_RESPONSE, REQUEST_RULES, BindMode, Role, State, may_send

_ENQUIRE_LINK = CommandId.ENQUIRE_LINK
_UNBIND = CommandId.UNBIND
_DELIVER_SM = CommandId.DELIVER_SM
_DATA_SM = CommandId.DATA_SM
_GENERIC_NACK = CommandId.GENERIC_NACK
# requests that do not take a window slot: keep-alive and teardown must never wait
_OUTSIDE_WINDOW = frozenset({CommandId.ENQUIRE_LINK, CommandId.UNBIND})
# requests whose response the session handles itself (not only reports)
_SPECIAL_REQUESTS = frozenset(
    {
        CommandId.ENQUIRE_LINK,
        CommandId.UNBIND,
        CommandId.BIND_TRANSMITTER,
        CommandId.BIND_RECEIVER,
        CommandId.BIND_TRANSCEIVER,
    }
)


def _sendable(role: Role, state: State) -> frozenset[int]:
    return frozenset(cid for cid in REQUEST_RULES if may_send(role, state, cid))


class Session:
    """One SMPP connection's protocol state machine (sans-IO)."""

    #: the fast paths of ``_fast`` (bulk send, bulk response matching); False takes only the
    #: general path, which defines the behaviour (the property test compares the two)
    _fast_path = True

    def __init__(
        self,
        role: Role,
        config: SessionConfig | None = None,
        now: float = 0.0,
        policy: SessionPolicy | None = None,
    ) -> None:
        self.role = role
        self.config = config or SessionConfig()
        self.policy = policy or SessionPolicy.for_role(role)
        self._state = State.OPEN
        self._timeouts = {
            CommandId.ENQUIRE_LINK: self.config.enquire_link_timeout,
            CommandId.UNBIND: self.config.unbind_timeout,
            CommandId.BIND_TRANSMITTER: self.config.bind_timeout,
            CommandId.BIND_RECEIVER: self.config.bind_timeout,
            CommandId.BIND_TRANSCEIVER: self.config.bind_timeout,
        }
        self._may_send: frozenset[int] = frozenset()
        self._plain: frozenset[int] = frozenset()
        self._plan(State.OPEN)
        self.mode: BindMode | None = None
        self.peer_system_id: str | None = None
        self._reader = FrameReader(self.config.max_command_length)
        self._out: list[bytes] = []
        #: bytes written so far (the outgoing stream's length, from the first byte of the
        #: bind): a request's end offset against what the peer's TCP acknowledged says whether
        #: the peer can have it
        self.bytes_out = 0
        self._next_seq = 1
        self._pending: dict[int, Pending] = {}
        # a lower bound of the pending requests' deadlines, None when unknown (next_deadline
        # then computes it): answers only raise the true minimum, new requests lower the bound
        # when they are due earlier, a tick resets it; so next_deadline, asked after every
        # read, need not scan the whole window
        self._deadline_floor: float | None = None
        self._in_window = 0
        # requests received and not yet answered (seq -> command_id): the SMSC role's, and
        # the ESME's deliver_sm / data_sm when their answers are deferred
        self._awaiting_answer: dict[int, int] = {}
        self._enquire_seq: int | None = None
        self._unbind_deadline: float | None = None
        self._opened_at = now
        self.last_received = now
        self.last_sent = now
        self.paused_until = 0.0
        self._close_event_sent = False
        # set when an unanswered enquire_link started the unbind: the close reports that cause
        self._unbind_cause: CloseReason | None = None

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        self._state = state
        self._plan(state)

    def _plan(self, state: State) -> None:
        self._may_send = _sendable(self.role, state)
        # "plain" requests: allowed now, take a window slot, expect a response within the
        # response timeout, change no state (submit_sm, query_sm...): send_from's fast path
        self._plain = frozenset(
            cid
            for cid in self._may_send
            if cid not in _OUTSIDE_WINDOW and cid not in NO_RESPONSE and cid not in self._timeouts
        )

    def start(self, now: float) -> None:
        """The connection is up at ``now``: the bind and idle timers count from here."""
        self._opened_at = now
        self.last_received = now
        self.last_sent = now

    # ------------------------------------------------------------------ inspection

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def window_used(self) -> int:
        return self._in_window

    @property
    def window_free(self) -> int:
        return self.config.window - self._in_window

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def can_send(self, command_id: int) -> bool:
        return may_send(self.role, self.state, command_id)

    def data_to_send(self) -> bytes:
        """Drain the bytes the session wants written, in order."""
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    def next_deadline(self) -> float | None:
        """The earliest ``now`` at which ``tick`` has something to do."""
        candidates: list[float] = []
        if self._pending:
            floor = self._deadline_floor
            if floor is None:
                floor = self._deadline_floor = min(p.deadline for p in self._pending.values())
            candidates.append(floor)
        if self._unbind_deadline is not None:
            candidates.append(self._unbind_deadline)
        if self.state is State.OPEN:
            candidates.append(self._opened_at + self.config.bind_timeout)
        elif self.role is Role.ESME and self.state.is_bound and self._enquire_seq is None:
            candidates.append(self.last_received + self.config.enquire_link_idle)
        return min(candidates) if candidates else None

    # ------------------------------------------------------------------ sending

    def _allocate_seq(self) -> int:
        seq = self._next_seq
        pending = self._pending
        while seq in pending:
            seq = seq + 1 if seq < MAX_SEQUENCE_NUMBER else 1
        self._next_seq = seq + 1 if seq < MAX_SEQUENCE_NUMBER else 1
        return seq

    def send_request(self, pdu: Pdu, now: float, context: object = None) -> int:
        """Queue a request; returns its sequence number.

        Raises LocalProtocolError when the request is not allowed in this state and role, and
        WindowFullError when the window is full (enquire_link and unbind bypass the window).
        """
        cid = pdu.command_id
        if cid not in self._may_send:
            raise LocalProtocolError(
                f"{CommandId(cid).name.lower()} may not be sent by the {self.role.value} "
                f"in state {self.state.value}"
            )
        counted = cid not in _OUTSIDE_WINDOW
        if counted and self._in_window >= self.config.window:
            raise WindowFullError(f"all {self.config.window} window slots are taken")
        seq = self._allocate_seq()
        try:
            frame = encode(pdu, seq)
        except PduError:
            self._next_seq = seq  # nothing went out under it: the next request takes it
            raise
        self._out.append(frame)
        self.bytes_out += len(frame)
        self.last_sent = now
        if cid in NO_RESPONSE:
            return seq
        deadline = now + self._timeouts.get(cid, self.config.response_timeout)
        self._pending[seq] = Pending(pdu, context, now, deadline, counted, self.bytes_out)
        if self._deadline_floor is not None and deadline < self._deadline_floor:
            self._deadline_floor = deadline
        if counted:
            self._in_window += 1
        if cid == _UNBIND:
            self._enter_unbound(now)
        return seq

    def send_from(self, queue: deque[tuple[Pdu, Any]], now: float) -> SendResult:
        """Move ``(request, context)`` items from the front of ``queue`` into the window until
        the window is full or the queue is empty; what ``send_request`` does for one, for a
        whole batch at a time (the client's hot path).

        Nothing moves while the session is not bound (binding, unbinding, closed): the queue
        stays as it is, for this session later or another one. An item the bound session may
        never send (a bind, a submit on a receiver) or that cannot be encoded is taken off the
        queue and returned in ``SendResult.failed``; the others go on.
        """
        if not self._state.is_bound:
            return SendResult(0, [])
        if self._fast_path:
            return _fast.send_batch(self, queue, now)
        sent = 0
        failed: list[tuple[Any, PduError | LocalProtocolError]] = []
        while queue and self.window_free > 0:
            pdu, context = queue.popleft()
            try:
                self.send_request(pdu, now, context)
            except (PduError, LocalProtocolError) as exc:
                failed.append((context, exc))
            else:
                sent += 1
            if not self.state.is_bound:  # (an unbind went out)
                break  # what follows waits for another session
        return SendResult(sent, failed)

    def bind(
        self,
        mode: BindMode,
        system_id: str,
        password: str,
        now: float,
        *,
        system_type: str = "",
        interface_version: int = 0x34,
        addr_ton: int = 0,
        addr_npi: int = 0,
        address_range: str = "",
    ) -> int:
        """ESME: send the bind for ``mode``."""
        cls = BODIES[mode.command_id].cls
        pdu = cls(  # type: ignore[call-arg]
            system_id=system_id,
            password=password,
            system_type=system_type,
            interface_version=interface_version,
            addr_ton=addr_ton,
            addr_npi=addr_npi,
            address_range=address_range,
        )
        return self.send_request(pdu, now)

    def unbind(self, now: float) -> int | None:
        """Start an orderly end of the session; None when it is not bound (nothing to send)."""
        if not self.state.is_bound:
            return None
        return self.send_request(Unbind(), now)

    def send_response(self, request: Pdu, response: Pdu, now: float) -> None:
        """Answer a request the peer sent (``RequestReceived.pdu``)."""
        seq = request.sequence_number
        expected = self._awaiting_answer.pop(seq, None)
        if expected is None or (
            response.command_id != (expected | RESPONSE_BIT)
            and response.command_id != _GENERIC_NACK
        ):
            raise LocalProtocolError(
                f"no request with sequence number {seq} is waiting for a {type(response).__name__}"
            )
        self._write(response, seq, now)

    def acknowledge(self, seq: int, now: float) -> bool:
        """ESME with ``defer_incoming_answers``: answer the deliver_sm / data_sm ``seq`` (also
        an unreadable one) with status 0 (D-10), now that the application has it safe. False
        when none is waiting under that number (answered already) or the session is closed
        (the SMSC sends it again)."""
        if self.state is State.CLOSED:
            return False
        cid = self._awaiting_answer.get(seq)
        if cid != _DELIVER_SM and cid != _DATA_SM:
            return False
        del self._awaiting_answer[seq]
        self._write(DeliverSmResp() if cid == _DELIVER_SM else DataSmResp(), seq, now)
        return True

    def pause(self, until: float) -> None:
        """Record that the driver must not send new submits before ``until`` (throttling)."""
        self.paused_until = max(self.paused_until, until)

    def _write(self, pdu: Pdu, seq: int, now: float) -> None:
        frame = encode(pdu, seq)
        self._out.append(frame)
        self.bytes_out += len(frame)
        self.last_sent = now

    def _enter_unbound(self, now: float) -> None:
        self.state = State.UNBOUND
        self._unbind_deadline = now + self.config.unbind_timeout

    # ------------------------------------------------------------------ SMSC: binds

    def accept_bind(
        self, request: Pdu, system_id: str, now: float, *, sc_interface_version: int = 0x34
    ) -> None:
        """SMSC: answer a BindRequested with success; the session becomes bound."""
        mode = BindMode.for_bind(request.command_id)
        if mode is None or self.state is not State.OPEN:
            raise LocalProtocolError("accept_bind answers a bind received in state OPEN")
        resp_cls = BODIES[mode.command_id | RESPONSE_BIT].cls
        resp = resp_cls(  # type: ignore[call-arg]
            system_id=system_id,
            tlvs=(make_tlv(TlvTag.SC_INTERFACE_VERSION, sc_interface_version),),
        )
        self._awaiting_answer.pop(request.sequence_number, None)
        self._write(resp, request.sequence_number, now)
        self.state = mode.bound_state
        self.mode = mode
        self.peer_system_id = getattr(request, "system_id", None)

    def reject_bind(self, request: Pdu, status: CommandStatus, now: float) -> list[Event]:
        """SMSC: refuse a bind; the connection is to be closed after the answer is sent."""
        mode = BindMode.for_bind(request.command_id)
        if mode is None:
            raise LocalProtocolError("reject_bind answers a bind request")
        resp_cls = BODIES[mode.command_id | RESPONSE_BIT].cls
        self._awaiting_answer.pop(request.sequence_number, None)
        self._write(resp_cls(command_status=status), request.sequence_number, now)
        return self._close(CloseReason.BIND_REJECTED)

    # ------------------------------------------------------------------ receiving

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed bytes read from the connection; returns what happened, in order."""
        events: list[Event] = []
        if self.state is State.CLOSED:
            return events
        reader = self._reader
        reader.feed(data)
        try:
            frames = reader.read_frames()
        except PduError as exc:
            # the stream cannot be delimited: process nothing more, answer (by policy) and close
            nack = self.policy.answer_errors
            if nack:
                self._write(
                    GenericNack(command_status=exc.command_status),
                    exc.sequence_number or 0,
                    now,
                )
            events.append(
                ProtocolViolation(exc, str(exc), b"", exc.command_status if nack else None)
            )
            events.extend(self._close(CloseReason.UNFRAMEABLE))
            return events
        if not frames:
            return events
        self.last_received = now
        if self._fast_path:
            _fast.receive_frames(self, frames, now, events)
            return events
        for frame in frames:
            self._handle_frame(frame, now, events)
            if self._state is State.CLOSED:
                break  # closed while handling: the rest of the chunk belongs to no session
        return events

    def _handle_frame(self, frame: bytes, now: float, events: list[Event]) -> None:
        cid = int.from_bytes(frame[4:8], "big")
        if cid & RESPONSE_BIT:
            self._handle_response(frame, cid, now, events)
            return
        try:
            pdu = decode(frame)
        except PduError as exc:
            self._handle_bad_request(frame, cid, exc, now, events)
            return
        if self.policy.answer_deliveries and cid in (_DELIVER_SM, _DATA_SM):
            if self.config.defer_incoming_answers:
                # answered (still 0) by acknowledge() once the application has it safe
                self._awaiting_answer[pdu.sequence_number] = cid
                events.append(RequestReceived(pdu))
                return
            # (Devino D-10) the answer goes out before the application sees the PDU, always 0,
            # in whatever state the SMSC chose to send it
            resp = DeliverSmResp() if cid == _DELIVER_SM else DataSmResp()
            self._write(resp, pdu.sequence_number, now)
            events.append(RequestReceived(pdu, answered=True))
            return
        if not may_send(self._peer_role, self.state, cid):
            self._handle_wrong_state(pdu, now, events)
            return
        seq = pdu.sequence_number
        if cid == _ENQUIRE_LINK:
            self._write(EnquireLinkResp(), seq, now)
            return
        if cid == _UNBIND:
            self._write(UnbindResp(), seq, now)
            events.extend(self._close(CloseReason.PEER_UNBOUND, state=State.UNBOUND))
            return
        mode = BindMode.for_bind(cid)
        if mode is not None:  # SMSC role (ESMEs never receive binds: table above)
            self._awaiting_answer[seq] = cid
            events.append(BindRequested(pdu, mode))
            return
        if cid not in NO_RESPONSE:
            self._awaiting_answer[seq] = cid
        events.append(RequestReceived(pdu))

    @property
    def _peer_role(self) -> Role:
        return Role.SMSC if self.role is Role.ESME else Role.ESME

    def _handle_wrong_state(self, pdu: Pdu, now: float, events: list[Event]) -> None:
        cid = pdu.command_id
        seq = pdu.sequence_number
        detail = (
            f"{CommandId(cid).name.lower()} is not allowed from the {self._peer_role.value} "
            f"in state {self.state.value}"
        )
        answered: CommandStatus | None = None
        if self.policy.answer_errors:
            if BindMode.for_bind(cid) is not None and self.state.is_bound:
                answered = CommandStatus.ESME_RALYBND
            else:
                answered = CommandStatus.ESME_RINVBNDSTS
            if cid not in NO_RESPONSE:
                self._write(BODIES[cid | RESPONSE_BIT].cls(command_status=answered), seq, now)
        elif cid == _ENQUIRE_LINK:
            # whatever our state, a liveness question gets its answer
            self._write(EnquireLinkResp(), seq, now)
            return
        events.append(ProtocolViolation(None, detail, encode(pdu, seq), answered))

    def _handle_bad_request(
        self, frame: bytes, cid: int, exc: PduError, now: float, events: list[Event]
    ) -> None:
        seq = int.from_bytes(frame[12:16], "big")
        answered: CommandStatus | None = None
        policy = self.policy
        if policy.answer_deliveries and cid in (_DELIVER_SM, _DATA_SM):
            if self.config.defer_incoming_answers:
                # the raw bytes go to the application, which acknowledges them once kept
                self._awaiting_answer[seq] = cid
            else:
                # (Devino D-10) even a deliver_sm we cannot read is acknowledged with 0; the
                # raw bytes travel in the event so nothing is lost
                resp = DeliverSmResp() if cid == _DELIVER_SM else DataSmResp()
                self._write(resp, seq, now)
                answered = CommandStatus.ESME_ROK
        elif policy.answer_errors:
            status = exc.command_status
            if isinstance(exc, UnknownCommandIdError) or cid not in BODIES:
                self._write(GenericNack(command_status=status), seq, now)
            else:
                self._write(BODIES[cid | RESPONSE_BIT].cls(command_status=status), seq, now)
            answered = status
        elif cid == _ENQUIRE_LINK:
            self._write(EnquireLinkResp(), seq, now)
            answered = CommandStatus.ESME_ROK
        # anything else: no answer (Devino D-11 forbids generic_nack); reported below
        events.append(ProtocolViolation(exc, str(exc), frame, answered))

    def _handle_response(self, frame: bytes, cid: int, now: float, events: list[Event]) -> None:
        try:
            pdu = decode(frame)
        except PduError as exc:
            seq = int.from_bytes(frame[12:16], "big")
            answered: CommandStatus | None = None
            if self.policy.answer_errors and isinstance(exc, UnknownCommandIdError):
                answered = exc.command_status
                self._write(GenericNack(command_status=answered), seq, now)
            events.append(ProtocolViolation(exc, str(exc), frame, answered))
            pending = self._pending.get(seq)
            if pending is None or (
                pending.request.command_id | RESPONSE_BIT != cid and cid != _GENERIC_NACK
            ):
                return
            # the response is unreadable but its status is in the header: the request is
            # answered with that status (as by a generic_nack), so its sender learns the outcome
            status = command_status(int.from_bytes(frame[8:12], "big"))
            pdu = GenericNack(command_status=status, sequence_number=seq)
            cid = _GENERIC_NACK
        seq = pdu.sequence_number
        pending = self._pending.get(seq)
        rcid = pending.request.command_id if pending is not None else -1
        if pending is None or ((rcid | RESPONSE_BIT) != cid and cid != _GENERIC_NACK):
            events.append(UnexpectedResponse(pdu))
            return
        del self._pending[seq]
        if pending.counted:
            self._in_window -= 1
        if rcid in _SPECIAL_REQUESTS:
            if rcid == _ENQUIRE_LINK:
                if self._enquire_seq == seq:
                    self._enquire_seq = None
                return
            if rcid == _UNBIND:
                events.extend(self._close(CloseReason.LOCAL_UNBIND))
                return
            events.append(ResponseReceived(pending.request, pdu, pending.context, pending.sent_at))
            self._handle_bind_resp(pending.request, pdu, events)
            return
        events.append(ResponseReceived(pending.request, pdu, pending.context, pending.sent_at))

    def _complete(self, seq: int, response: Pdu) -> None:
        if self._pending.pop(seq).counted:
            self._in_window -= 1

    def _handle_bind_resp(self, request: Pdu, response: Pdu, events: list[Event]) -> None:
        mode = BindMode.for_bind(request.command_id)
        assert mode is not None
        status = response.command_status
        if status != CommandStatus.ESME_ROK:
            events.append(BindFailed(CommandStatus(status)))
            events.extend(self._close(CloseReason.BIND_REJECTED))
            return
        self.state = mode.bound_state
        self.mode = mode
        self.peer_system_id = getattr(response, "system_id", "")
        version: int | None = None
        for tlv in getattr(response, "tlvs", ()):
            if tlv.tag == TlvTag.SC_INTERFACE_VERSION:
                value = tlv_value(tlv)
                version = value if isinstance(value, int) else None
        events.append(Bound(mode, self.peer_system_id or "", version))

    # ------------------------------------------------------------------ time

    def tick(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``."""
        events: list[Event] = []
        if self.state is State.CLOSED:
            return events
        if self.state is State.OPEN and now >= self._opened_at + self.config.bind_timeout:
            if self.role is Role.ESME:
                for seq, pending in list(self._pending.items()):
                    self._complete(seq, pending.request)
            events.extend(self._close(CloseReason.BIND_TIMEOUT))
            return events
        if self._unbind_deadline is not None and now >= self._unbind_deadline:
            events.extend(self._close(CloseReason.UNBIND_TIMEOUT))
            return events
        if self._expire_requests(now, events):
            return events
        if (
            self.role is Role.ESME
            and self.state.is_bound
            and self._enquire_seq is None
            and now - self.last_received >= self.config.enquire_link_idle
        ):
            self._enquire_seq = self.send_request(EnquireLink(), now)
        return events

    def _expire_requests(self, now: float, events: list[Event]) -> bool:
        """Requests unanswered past their deadline: reported timed out, an enquire_link
        starts the unbind (D-13). True when that closed the session."""
        expired = [seq for seq, p in self._pending.items() if p.deadline <= now]
        self._deadline_floor = None  # recomputed exactly by next_deadline
        for seq in expired:
            pending = self._pending[seq]
            self._complete(seq, pending.request)
            cid = pending.request.command_id
            if cid == _ENQUIRE_LINK:
                self._enquire_seq = None
                # D-13: no answer to enquire_link -> unbind, then close
                if self.state.is_bound:
                    self.send_request(Unbind(), now)
                else:
                    events.extend(self._close(CloseReason.ENQUIRE_LINK_TIMEOUT))
                    return True
                self._unbind_cause = CloseReason.ENQUIRE_LINK_TIMEOUT
            elif cid != _UNBIND:
                events.append(RequestTimedOut(pending.request, seq, pending.context, pending.end))
        return False

    # ------------------------------------------------------------------ closing

    def connection_lost(self, now: float) -> list[Event]:
        """The transport is gone: every request still waiting is abandoned."""
        return self._close(CloseReason.CONNECTION_LOST)

    def close(self, reason: CloseReason = CloseReason.POLICY) -> list[Event]:
        """End the session now (the driver closes the transport)."""
        return self._close(reason)

    def _close(self, reason: CloseReason, state: State = State.CLOSED) -> list[Event]:
        events: list[Event] = []
        if state is State.CLOSED:
            for seq, pending in self._pending.items():
                if pending.request.command_id not in _OUTSIDE_WINDOW and (
                    BindMode.for_bind(pending.request.command_id) is None
                ):
                    events.append(
                        RequestAbandoned(pending.request, seq, pending.context, pending.end)
                    )
            self._pending.clear()
            self._deadline_floor = None
            self._in_window = 0
            self._unbind_deadline = None
        self.state = state
        if not self._close_event_sent:
            if self._unbind_cause is not None and reason in (
                CloseReason.LOCAL_UNBIND,
                CloseReason.UNBIND_TIMEOUT,
            ):
                reason = self._unbind_cause
            events.append(CloseRequested(reason))
            self._close_event_sent = True
        return events

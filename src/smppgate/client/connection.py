"""One client session = one TCP (or TLS) connection + one sans-IO ``Session`` in the ESME role.

A thin loop around the core (architecture principle 7): the transport feeds bytes to the
session and hands its events to :meth:`ClientSession._on_events`, which resolves the waiting
results in bulk, passes deliver_sm / data_sm (already answered 0 by the session, rule D-10;
or, with ``held_limit``, answered 0 by :meth:`ClientSession.acknowledge` once the application
stored them) to the pool, and refills the window from the local queue. Requests wait in that
queue when the window is full (backpressure) or while the connection is paused after a throttle
error (rule D-20); they are written straight into the session, many per loop iteration, one write.

Results are values (:class:`SubmitResult`): accepted with the message_id, failed with the
status and its retry class (from the profile), or unknown when no response came.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Any, NamedTuple

from smppgate.client.config import SmppAccount
from smppgate.client.errors import BindError, ConnectError, NotBoundError, OutcomeUnknown
from smppgate.client.results import SubmitOutcome, SubmitResult, not_received, not_sent, unknown
from smppgate.client.routing import Candidate
from smppgate.pdu import (
    CommandId,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    Pdu,
    RetryClass,
    SubmitSm,
    SubmitSmResp,
)
from smppgate.profiles import HostAddress
from smppgate.session import (
    BindFailed,
    BindMode,
    Bound,
    CloseReason,
    CloseRequested,
    Event,
    ProtocolViolation,
    RequestAbandoned,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
)
from smppgate.transport import SessionConnection, connect

log = logging.getLogger("smppgate.client")

_DELIVER_SM = CommandId.DELIVER_SM
_DATA_SM = CommandId.DATA_SM
_ROK = CommandStatus.ESME_ROK
_OK = RetryClass.OK
_ACCEPTED = SubmitOutcome.ACCEPTED
_NOT_RECEIVED = SubmitOutcome.NOT_RECEIVED
_new_tuple: Any = tuple.__new__


class ClientSessionState(Enum):
    NEW = "new"
    CONNECTING = "connecting"
    BOUND = "bound"
    DRAINING = "draining"  # takes no new work; unbinds once nothing is in flight
    CLOSED = "closed"


class Batch:
    """Results of a group of submits, resolved in bulk: one future for the whole group."""

    __slots__ = ("future", "remaining", "results")

    def __init__(self, size: int, future: asyncio.Future[list[SubmitResult]]) -> None:
        self.results: list[Any] = [None] * size
        self.remaining = size
        self.future = future
        if size == 0:
            future.set_result([])

    def done(self, index: int, result: SubmitResult) -> None:
        if self.results[index] is None:
            self.results[index] = result
            self.remaining -= 1
            if self.remaining == 0 and not self.future.done():
                self.future.set_result(self.results)


# a queued or in-flight request: (pdu, context), context = (Batch, index) or a Future
Context = tuple[Batch, int] | asyncio.Future[Pdu]
Item = tuple[Pdu, Context]


class SessionSnapshot(NamedTuple):
    name: str
    mode: BindMode
    state: ClientSessionState
    host: str | None
    window_used: int
    window_size: int
    queued: int
    paused_for: float
    close_reason: CloseReason | None
    #: seconds since the last PDU received (None before the session opened)
    last_received_ago: float | None = None


def _all_accepted(events: list[Event]) -> bool:
    """Whether every event is a response with status 0 (nothing that changes what to send)."""
    response = ResponseReceived
    return all(ev.__class__ is response and not ev.response.command_status for ev in events)


def _resolve(ctx: object, result: SubmitResult, exc: Exception | None = None) -> None:
    """Hand ``result`` to a request's context (a ``Context``; events carry it as object)."""
    if type(ctx) is tuple:
        ctx[0].done(ctx[1], result)
    elif isinstance(ctx, asyncio.Future) and not ctx.done():
        ctx.set_exception(exc or OutcomeUnknown(result.reason))


class ClientSession:
    """One bound SMPP session of an account (see the module docstring)."""

    def __init__(
        self,
        account: SmppAccount,
        mode: BindMode,
        *,
        name: str = "",
        on_incoming: Callable[[ClientSession, DeliverSm | DataSm | ProtocolViolation], None]
        | None = None,
        on_room: Callable[[ClientSession], None] | None = None,
        held_limit: int | None = None,
    ) -> None:
        self.account = account
        self.mode = mode
        self.name = name or f"{account.label}/{mode.value}"
        self.rules = account.profile.retry
        self.state = ClientSessionState.NEW
        self.host: HostAddress | None = None
        self.close_reason: CloseReason | None = None
        self.bound_system_id: str | None = None
        self._on_incoming = on_incoming
        self._on_room = on_room
        self._conn: SessionConnection | None = None
        self._session: Session | None = None
        self._queue: deque[Item] = deque()
        self._loop = asyncio.get_running_loop()
        self._bind_waiter: asyncio.Future[Event] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._resume: asyncio.TimerHandle | None = None
        self._filling = False
        self._closed: asyncio.Future[CloseReason] = self._loop.create_future()
        #: with a limit, deliver_sm / data_sm are answered by `acknowledge` (after the
        #: application stored them); at the limit of unanswered ones, reading stops until
        #: half of them are answered (backpressure on the SMSC instead of memory)
        self._held_limit = held_limit
        self.held = 0
        #: held ones the application could not take (``release``): never answered here
        self._released: set[int] = set()
        self._reading_paused = False
        #: written bytes unacknowledged by the SMSC's TCP for write_stall_after: no new work
        self.stalled = False
        self._acked_seen = -1
        self._acked_since = 0.0

    # ------------------------------------------------------------------ lifecycle

    async def open(self, host: HostAddress) -> None:
        """Connect and bind. Raises ConnectError (TCP/TLS, closed before bind_resp) or
        BindError (bind refused, or no bind_resp in time)."""
        if self.state is not ClientSessionState.NEW:
            raise RuntimeError("a ClientSession is opened once")
        self.state = ClientSessionState.CONNECTING
        self.host = host
        account = self.account
        ssl_context: ssl.SSLContext | None = None
        server_hostname: str | None = None
        if account.tls is not None:
            ssl_context = account.tls.context()
            server_hostname = account.tls.server_hostname or host.name or host.host
        config = account.session_config()
        if self._held_limit is not None:
            config = dataclasses.replace(config, defer_incoming_answers=True)
        session = Session(Role.ESME, config, policy=account.session_policy())
        waiter: asyncio.Future[Event] = self._loop.create_future()
        self._bind_waiter = waiter
        try:
            conn = await connect(
                host.host,
                host.port,
                session,
                self._on_events,
                ssl_context=ssl_context,
                server_hostname=server_hostname,
                connect_timeout=account.connect_timeout,
                name=self.name,
                tcp=account.tcp,
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            self._finish(CloseReason.CONNECTION_LOST)
            raise ConnectError(str(host), str(exc) or type(exc).__name__) from exc
        self._conn = conn
        self._session = session
        conn.closed.add_done_callback(self._on_closed)
        profile = account.profile
        conn.run(
            lambda s, now: s.bind(
                self.mode,
                account.system_id,
                account.password,
                now,
                system_type=profile.system_type,
                interface_version=profile.interface_version,
            )
        )
        try:
            await asyncio.wait((waiter, conn.closed), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            conn.abort(CloseReason.POLICY)
            raise
        result = waiter.result() if waiter.done() else None
        if isinstance(result, Bound):
            self.state = ClientSessionState.BOUND
            self.bound_system_id = result.system_id
            return
        conn.abort(CloseReason.POLICY)
        await conn.closed
        if isinstance(result, BindFailed):
            raise BindError(result.status, str(host))
        if self.close_reason is CloseReason.BIND_TIMEOUT:
            raise BindError(None, str(host), f"no bind response from {host} in time")
        raise ConnectError(str(host), "connection closed before the bind response")

    def _on_closed(self, fut: asyncio.Future[CloseReason]) -> None:
        self._finish(fut.result())

    def _finish(self, reason: CloseReason) -> None:
        self.state = ClientSessionState.CLOSED
        if self.close_reason is None:
            self.close_reason = reason
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        # queries waiting in the queue learn now; submits stay for take_unsent()
        for item in [i for i in self._queue if not isinstance(i[1], tuple)]:
            self._queue.remove(item)
            _resolve(item[1], not_sent("session closed"), NotBoundError("session closed"))
        if not self._closed.done():
            self._closed.set_result(self.close_reason)

    async def wait_closed(self) -> CloseReason:
        return await asyncio.shield(self._closed)

    @property
    def closed(self) -> bool:
        return self._closed.done()

    def take_unsent(self) -> list[Item]:
        """Requests that were queued here and never written (safe to send elsewhere)."""
        items = list(self._queue)
        self._queue.clear()
        return items

    def drain_and_close(self) -> None:
        """Take no new work; unbind as soon as nothing is in flight (return to primary)."""
        if self.state is ClientSessionState.BOUND:
            self.state = ClientSessionState.DRAINING
            self._maybe_unbind()

    async def aclose(self, grace: float | None = None) -> None:
        """Graceful and idempotent: stop taking work, wait (bounded) for the responses still
        due, unbind, wait for unbind_resp, close the connection."""
        conn = self._conn
        if conn is None or self._closed.done():
            if not self._closed.done():
                self._finish(CloseReason.POLICY)
            return
        if self.state in (ClientSessionState.BOUND, ClientSessionState.DRAINING):
            self.state = ClientSessionState.DRAINING
            session = conn.session
            if session.pending_count:
                self._drained = self._loop.create_future()
                wait = (
                    grace if grace is not None else self.account.session_config().response_timeout
                )
                try:
                    await asyncio.wait_for(asyncio.shield(self._drained), wait)
                except TimeoutError:
                    log.warning(
                        "%s: closing with %d requests unanswered", self.name, session.pending_count
                    )
            if not self._closed.done() and session.state.is_bound:
                conn.run(lambda s, now: s.unbind(now))
        elif not self._closed.done():
            conn.close(CloseReason.POLICY)
        try:
            await asyncio.wait_for(asyncio.shield(self._closed), self.account.unbind_timeout + 1.0)
        except TimeoutError:
            conn.abort(CloseReason.UNBIND_TIMEOUT)
            await asyncio.shield(self._closed)

    def abort(self) -> None:
        """Drop the connection now (in-flight requests become unknown)."""
        if self._conn is not None:
            self._conn.abort(CloseReason.POLICY)

    # ------------------------------------------------------------------ sending

    @property
    def bound(self) -> bool:
        return self.state is ClientSessionState.BOUND

    @property
    def queued(self) -> int:
        return len(self._queue)

    def candidate(self, now: float) -> Candidate:
        s = self._session
        if (
            s is None
            or self.state is not ClientSessionState.BOUND
            or not s.state.is_bound
            or self.stalled
        ):
            # (the protocol session leaves the bound state before the connection is gone)
            return Candidate(False, False, 0.0, 0, 0)
        return Candidate(
            True, self.mode.can_submit, s.paused_until, s.window_free, len(self._queue)
        )

    def enqueue(self, items: Iterable[Item]) -> None:
        """Queue requests in order; they go out as the window allows."""
        self._queue.extend(items)
        self._fill()

    def submit_nowait(self, pdus: Sequence[Pdu]) -> asyncio.Future[list[SubmitResult]]:
        """Queue ``pdus`` in order on this session; the future gets their results in order.
        Raises UnsupportedOperationError, before queuing any, for an operation the profile's
        platform lacks (data_sm, submit_multi on devino-online)."""
        if self.state is not ClientSessionState.BOUND:
            raise NotBoundError(f"{self.name} is not bound")
        profile = self.account.profile
        if profile.unsupported:
            for pdu in pdus:
                profile.require(pdu.command_id)
        batch = Batch(len(pdus), self._loop.create_future())
        self.enqueue([(pdu, (batch, i)) for i, pdu in enumerate(pdus)])
        return batch.future

    async def submit_many(self, pdus: Sequence[Pdu]) -> list[SubmitResult]:
        return await self.submit_nowait(pdus)

    async def submit(self, pdu: SubmitSm) -> SubmitResult:
        return (await self.submit_nowait((pdu,)))[0]

    def request_nowait(self, pdu: Pdu) -> asyncio.Future[Pdu]:
        """Queue any other request (query_sm...); the future gets the response PDU. Raises
        UnsupportedOperationError for an operation the profile's platform lacks."""
        if self.state is not ClientSessionState.BOUND:
            raise NotBoundError(f"{self.name} is not bound")
        self.account.profile.require(pdu.command_id)
        fut: asyncio.Future[Pdu] = self._loop.create_future()
        self.enqueue(((pdu, fut),))
        return fut

    def _fill(self) -> None:  # noqa: C901 - the hot path, kept in one loop
        """Move queued requests into the window (the hot path: no allocation but the seq)."""
        if self._filling:
            return
        conn = self._conn
        if conn is None or self.state is not ClientSessionState.BOUND or self.stalled:
            return
        self._filling = True
        try:
            session = conn.session
            queue = self._queue
            now = conn.now()
            if session.paused_until > now:
                self._arm_resume(session.paused_until)
                return
            on_room = self._on_room
            sent = 0
            while session.window_free > 0:
                if not queue:
                    if on_room is None:
                        break
                    on_room(self)  # the pool hands over waiting work, if any
                    if not queue:
                        break
                done = session.send_from(queue, now)
                sent += done.sent
                for ctx, exc in done.failed:
                    # a PDU that cannot be sent fails alone, permanently
                    self._fail_unsendable(ctx, exc)
                if not done.sent and not done.failed:
                    break  # the session is no longer bound: the queue waits for take_unsent
            if sent:
                conn.wrote()
        finally:
            self._filling = False

    def _fail_unsendable(self, ctx: Context, exc: Exception) -> None:
        status = getattr(exc, "command_status", CommandStatus.ESME_RUNKNOWNERR)
        result = SubmitResult(
            SubmitOutcome.FAILED, None, status, RetryClass.PERMANENT, 0.0, str(exc), self.name
        )
        _resolve(ctx, result, exc)

    def _arm_resume(self, at: float) -> None:
        if self._resume is None:
            self._resume = self._loop.call_at(at, self._resumed)

    def _resumed(self) -> None:
        self._resume = None
        self._fill()

    # ------------------------------------------------------------------ events

    def _on_events(self, connection: SessionConnection, events: list[Event]) -> None:
        if (self._queue or self._on_room is not None) and _all_accepted(events):
            # only accepted responses: the session has freed their window slots already, so
            # the window is refilled and written before their results are handed out; the
            # SMSC works on the next requests meanwhile (one write after the results leaves
            # both sides idle in turn). Not when anything else came: a throttle answer must
            # stop new submits first (rule D-20), a close must not be raced.
            self._fill()
            connection.flush()
        self._dispatch(connection, events)
        if self._queue or self._on_room is not None:
            self._fill()
        if self.state is ClientSessionState.DRAINING:
            self._maybe_unbind()

    def _dispatch(self, conn: SessionConnection, events: list[Event]) -> None:
        name = self.name
        for ev in events:
            if type(ev) is not ResponseReceived:
                self._on_event(conn, ev)
                continue
            # the hot path, one per message: a response, with Batch.done inlined
            ctx = ev.context
            resp = ev.response
            if type(ctx) is tuple:
                batch, index = ctx
                if resp.command_status == 0 and (
                    type(resp) is SubmitSmResp or type(resp) is DataSmResp
                ):
                    result = _new_tuple(
                        SubmitResult, (_ACCEPTED, resp.message_id, _ROK, _OK, 0.0, "", name)
                    )
                else:
                    result = self._refused(conn, resp)
                results = batch.results
                if results[index] is None:
                    results[index] = result
                    batch.remaining -= 1
                    if not batch.remaining and not batch.future.done():
                        batch.future.set_result(results)
            elif isinstance(ctx, asyncio.Future) and not ctx.done():
                ctx.set_result(resp)

    def _on_event(self, conn: SessionConnection, ev: Event) -> None:
        """Every event but a response: incoming requests, lost requests, violations, the
        bind's outcome, the close."""
        match ev:
            case RequestReceived(pdu=pdu, answered=answered):
                self._on_request(conn, pdu, answered=answered)
            case RequestTimedOut(context=ctx, end=end):
                # unacknowledged for a whole response timeout: the link is dead
                result = self._lost(conn, end, "no response in time", link_dead=True)
                if result.outcome is _NOT_RECEIVED and conn.is_open:
                    # it goes again elsewhere: this connection must never deliver it later
                    log.warning("%s: writes unacknowledged by the SMSC; dropping it", self.name)
                    conn.abort(CloseReason.LINK_STALLED)
                _resolve(ctx, result)
            case RequestAbandoned(context=ctx, end=end):
                reason = "connection closed with the request in flight"
                result = self._lost(conn, end, reason, link_dead=conn.link_dead)
                _resolve(ctx, result)
            case ProtocolViolation():
                self._on_violation(conn, ev)
            case Bound() | BindFailed():
                waiter = self._bind_waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(ev)
            case CloseRequested(reason=reason) if self.close_reason is None:
                self.close_reason = reason

    def _on_request(self, conn: SessionConnection, pdu: Pdu, *, answered: bool) -> None:
        """A deliver_sm / data_sm from the SMSC: held for acknowledge() when its answer is
        deferred, and handed to the application."""
        if isinstance(pdu, DeliverSm | DataSm):
            if not answered and self._held_limit is not None:
                self._held_one(conn, pdu.sequence_number)
            if self._on_incoming is not None:
                self._on_incoming(self, pdu)

    def _on_violation(self, conn: SessionConnection, ev: ProtocolViolation) -> None:
        """An unreadable deliver_sm/data_sm (answered 0, or held) goes to the application as
        its bytes, so nothing is lost; any other violation is only logged."""
        raw = ev.raw
        incoming = len(raw) >= 16 and int.from_bytes(raw[4:8], "big") in (_DELIVER_SM, _DATA_SM)
        if incoming and ev.answered_with is None and self._held_limit is not None:
            self._held_one(conn, int.from_bytes(raw[12:16], "big"))
        if incoming and self._on_incoming is not None:
            self._on_incoming(self, ev)
        else:
            log.warning("%s: protocol violation: %s", self.name, ev.detail)

    def unacknowledged(self) -> int | None:
        """Bytes written that the SMSC's TCP has not acknowledged (None: cannot be told)."""
        conn = self._conn
        acked = conn.peer_acknowledged() if conn is not None else None
        if conn is None or acked is None:
            return None
        return max(0, conn.session.bytes_out - acked)

    def check_link(self, now: float) -> None:
        """Periodic (the pool's housekeeping): a session whose written bytes stay
        unacknowledged by the SMSC's TCP for ``write_stall_after`` seconds takes no new submits
        (a dark link: they would only wait there) until the SMSC acknowledges again."""
        conn = self._conn
        limit = self.account.write_stall_after
        if conn is None or limit <= 0 or not conn.is_open:
            return
        acked = conn.peer_acknowledged()
        if acked is None:
            return  # TLS, or not Linux: nothing to go by
        if acked >= conn.session.bytes_out or acked != self._acked_seen:
            self._acked_seen = acked
            self._acked_since = now
            if self.stalled:
                log.info("%s: the SMSC acknowledges again; taking submits", self.name)
                self.stalled = False
                self._fill()
            return
        if not self.stalled and now - self._acked_since >= limit:
            log.warning(
                "%s: %d written bytes unacknowledged for %.0f s; no new submits here",
                self.name,
                conn.session.bytes_out - acked,
                now - self._acked_since,
            )
            self.stalled = True

    def _lost(
        self, conn: SessionConnection, end: int, reason: str, *, link_dead: bool
    ) -> SubmitResult:
        """No response to a request whose bytes end at ``end``: unknown if the SMSC's TCP
        acknowledged them (it may have it), not received if it did not and the link is dead
        (issue 20). When the SMSC itself closed or reset the connection it was there to read
        them — its ACK may only have been delayed — so that stays unknown."""
        acked = conn.peer_acknowledged()
        if link_dead and acked is not None and end > acked:
            return not_received(f"{reason}; the SMSC's TCP never acknowledged it", self.name)
        return unknown(reason, self.name)

    def _held_one(self, conn: SessionConnection, seq: int) -> None:
        """A deliver_sm / data_sm left unanswered for the application."""
        if self._on_incoming is None:
            conn.acknowledge(seq)  # nobody to hand it to: answered at once (D-10)
            return
        self.held += 1
        limit = self._held_limit
        if limit is not None and self.held >= limit and not self._reading_paused:
            self._reading_paused = True
            log.warning("%s: %d receipts/MO not stored yet: reading paused", self.name, self.held)
            conn.pause_reading()

    def acknowledge(self, seq: int) -> None:
        """Answer the held deliver_sm / data_sm ``seq`` (status 0, D-10): the application
        has it safe. Nothing happens when the session has closed (the SMSC sends it again)."""
        conn = self._conn
        if conn is None or seq in self._released or not conn.acknowledge(seq):
            return
        self._unheld(conn)

    def release(self, seq: int) -> None:
        """The application could not take the held deliver_sm / data_sm ``seq``: it is not
        answered (it is not safe anywhere, and D-10 allows no other answer than 0), no longer
        counted as held (a count that never goes down would stop reading for good), and the
        session ends in order so that the SMSC delivers it again on the next one."""
        conn = self._conn
        if conn is None or seq in self._released:
            return
        self._released.add(seq)
        self._unheld(conn)
        log.warning("%s: an incoming PDU was not taken; ending the session", self.name)
        self.drain_and_close()

    def _unheld(self, conn: SessionConnection) -> None:
        self.held -= 1
        if self._reading_paused and self.held <= (self._held_limit or 0) // 2:
            self._reading_paused = False
            conn.resume_reading()

    def _maybe_unbind(self) -> None:
        conn = self._conn
        if conn is None or conn.session.pending_count:
            return
        if self._drained is not None:
            if not self._drained.done():
                self._drained.set_result(None)
            return  # aclose() unbinds
        if conn.session.state.is_bound:
            conn.run(lambda s, now: s.unbind(now))

    def _refused(self, conn: SessionConnection, resp: Pdu) -> SubmitResult:
        status = CommandStatus(resp.command_status)
        if status is _ROK:
            # a generic_nack with status 0, or an unreadable response whose header said 0:
            # the SMSC may have taken the message, and no message_id came with it
            return unknown("the response could not be read", self.name)
        retry = self.rules.classify(status)
        pause = 0.0
        if retry is RetryClass.THROTTLED:
            # rule D-20: this connection sends nothing new for throttle_pause
            pause = self.rules.throttle_pause
            conn.session.pause(conn.now() + pause)
        elif retry is RetryClass.REBIND and status is not CommandStatus.ESME_RALYBND:
            # the session is in a bad state: drop it; the pool reconnects after the cooldown
            log.warning("%s: %s, dropping the session", self.name, status.name)
            self._loop.call_soon(conn.close, CloseReason.POLICY)
        return SubmitResult(
            SubmitOutcome.FAILED, None, status, retry, pause, status.name, self.name
        )

    # ------------------------------------------------------------------ metrics

    def snapshot(self) -> SessionSnapshot:
        s = self._session
        now = self._loop.time()
        return SessionSnapshot(
            self.name,
            self.mode,
            self.state,
            str(self.host) if self.host else None,
            s.window_used if s else 0,
            self.account.window,
            len(self._queue),
            max(0.0, s.paused_until - now) if s else 0.0,
            self.close_reason,
            max(0.0, now - s.last_received) if s else None,
        )

"""The sessions of one account: connect, bind, keep them bound, route submits, hand incoming
receipts and MO messages to the application.

``SessionPool`` is an async context manager that owns one runner task per session slot
(structured concurrency, principle 9) and a housekeeping task. Each runner loops: wait for
the slot's cooldown (60 s after a drop, 90 s after a failed attempt, jitter only lengthening:
:mod:`~smppgate.client.cooldown`), pick the host (:mod:`~smppgate.client.failover`), connect
and bind, serve until the session ends. Submits wait in the pool's backlog until a session
has room (:func:`~smppgate.client.routing.select_session`); the parts of one message are
pinned to one session, in order. Every decision is a pure function; this module carries
them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import NamedTuple

from smppgate.client.config import SmppAccount
from smppgate.client.connection import Batch, ClientSession, ClientSessionState, Item
from smppgate.client.cooldown import AttemptEnd, CooldownPolicy
from smppgate.client.coordination import Coordinator
from smppgate.client.errors import (
    CancelError,
    ClientConfigError,
    ClientError,
    NotBoundError,
    QueryError,
)
from smppgate.client.failover import next_host, slot_to_return
from smppgate.client.incoming import (
    NO_ANSWER,
    Answer,
    HeldEvent,
    IncomingDecoder,
    IncomingEvent,
    UnreadablePdu,
)
from smppgate.client.message import (
    MessagePlan,
    OutboundMessage,
    build_submits,
    needs_reference,
    normalize_destination,
    source_address,
)
from smppgate.client.ratelimit import TokenBucket
from smppgate.client.results import QueryResult, SubmitResult, not_sent
from smppgate.client.routing import Candidate, select_session
from smppgate.lifecycle import AsyncLifecycle
from smppgate.pdu import (
    CancelSm,
    CancelSmResp,
    CommandId,
    DataSm,
    DeliverSm,
    Pdu,
    QuerySm,
    QuerySmResp,
    SmppMessageState,
    SubmitSm,
)
from smppgate.session import BindMode, CloseReason, ProtocolViolation
from smppgate.text import ReferenceAllocator, SplitMethod

log = logging.getLogger("smppgate.client")


#: what `_submit_allowance` answers without a rate cap: more than any backlog holds
_UNCAPPED = 1 << 30


class SlotState(Enum):
    WAITING = "waiting"  # cooling down before the next attempt
    CONNECTING = "connecting"
    BOUND = "bound"
    DRAINING = "draining"  # back to the primary, or end_slot: finishing what is in flight
    STOPPED = "stopped"


@dataclass(slots=True)
class _Slot:
    index: int
    mode: BindMode
    state: SlotState = SlotState.WAITING
    session: ClientSession | None = None
    host_index: int | None = None
    last_end: AttemptEnd = AttemptEnd.NONE
    next_attempt_at: float = 0.0
    bound_since: float | None = None
    binds: int = 0
    failures: int = 0
    last_error: ClientError | None = None
    last_close_reason: CloseReason | None = None
    returning: bool = False
    end_requested: bool = False  # end_slot while connecting: end the session once bound


class SlotSnapshot(NamedTuple):
    slot: int
    mode: BindMode
    state: SlotState
    host: str | None
    window_used: int
    window_size: int
    queued: int
    paused_for: float
    cooldown_left: float
    reconnects: int
    failures: int
    last_error: str | None
    last_close_reason: CloseReason | None
    #: seconds since the slot's session last received a PDU (None when it has none)
    last_received_ago: float | None = None


class PoolSnapshot(NamedTuple):
    """The pool's state for metrics and the status command."""

    account: str
    slots: tuple[SlotSnapshot, ...]
    backlog: int
    incoming_backlog: int

    @property
    def bound(self) -> int:
        return sum(1 for s in self.slots if s.state is SlotState.BOUND)

    @property
    def bound_by_host(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.slots:
            if s.state is SlotState.BOUND and s.host:
                out[s.host] = out.get(s.host, 0) + 1
        return out

    @property
    def window_used(self) -> int:
        return sum(s.window_used for s in self.slots)


class _Work:
    """Requests waiting for a session: pinned = all to one session, in order."""

    __slots__ = ("items", "pinned", "pos")

    def __init__(self, items: list[Item], pinned: bool) -> None:
        self.items = items
        self.pinned = pinned
        self.pos = 0


class _End:
    pass


_END = _End()


class IncomingStream:
    """``async for event in pool.incoming()``: receipts and MO until the pool closes."""

    def __init__(self, queue: asyncio.Queue[IncomingEvent | _End]) -> None:
        self._queue = queue

    def __aiter__(self) -> IncomingStream:
        return self

    async def __anext__(self) -> IncomingEvent:
        event = await self._queue.get()
        if isinstance(event, _End):
            self._queue.put_nowait(event)  # other readers stop too
            raise StopAsyncIteration
        return event


class SessionPool(AsyncLifecycle):
    """Sessions of one account (see the module docstring).

    ``on_incoming``, when given, is called on the loop for each incoming event instead of
    queueing it for :meth:`incoming`; it must not block, and its errors are logged, never
    seen by the SMSC (the session has answered already).

    ``on_held``, when given instead, receives each event as a :class:`HeldEvent` whose
    deliver_sm is *not* answered yet: the application calls ``held.answer.send()`` once the
    event is safe (stored), and only then does the SMSC get its deliver_sm_resp (status 0,
    D-10). A session stops reading when ``held_limit`` of its deliver_sm wait for their
    answers (the SMSC is held back, memory is not spent). The parts of a multi-part MO that
    do not complete it are answered as they come (the SMSC may wait for each answer before it
    sends the next part). An ``on_held`` that raises has not taken the event: it is never
    answered, no longer counted against ``held_limit``, and its session ends in order so that
    the SMSC delivers it again on the next one. With ``hand_over_parts`` too, those parts are
    not kept in memory either: each comes to ``on_held`` as a :class:`MoPart`, answered once
    the application stored it (it reassembles the set from its store: a crash between the
    parts loses none of those answered).
    """

    def __init__(
        self,
        account: SmppAccount,
        *,
        on_incoming: Callable[[IncomingEvent], None] | None = None,
        on_held: Callable[[HeldEvent], None] | None = None,
        held_limit: int = 1000,
        rng: random.Random | None = None,
        reassembly_timeout: float = 120.0,
        housekeeping_interval: float = 1.0,
        coordinator: Coordinator | None = None,
        hand_over_parts: bool = False,
    ) -> None:
        self.account = account
        self.profile = account.profile
        self._hosts = account.effective_hosts
        self._slots = [_Slot(i, mode) for i, mode in enumerate(account.sessions)]
        self._cooldown = CooldownPolicy(
            account.drop_cooldown, account.failure_cooldown, account.reconnect_jitter
        )
        self._rng = rng or random.Random()
        if on_incoming is not None and on_held is not None:
            raise ValueError("on_incoming and on_held exclude each other")
        self._on_incoming_cb = on_incoming
        self._on_held = on_held
        self._held_limit = held_limit if on_held is not None else None
        if hand_over_parts and on_held is None:
            raise ValueError("hand_over_parts needs on_held (each part is answered once kept)")
        self._decoder = IncomingDecoder(
            account.label, reassembly_timeout, hand_over_parts=hand_over_parts
        )
        self._incoming: asyncio.Queue[IncomingEvent | _End] = asyncio.Queue()
        self._backlog: deque[_Work] = deque()
        self._active: list[ClientSession] = []
        self._pumping = False
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._closing = False
        self._closed = False
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._housekeeping_interval = housekeeping_interval
        self._coordinator = coordinator
        #: the sessions `aclose` closes itself (a slot that binds later closes its own)
        self._closing_sessions: set[ClientSession] = set()
        #: UDH and SAR references from one space per destination (never keyed by sender:
        #: that would only let two messages to one person share a number)
        self._refs = ReferenceAllocator(16)
        self._bucket = TokenBucket(account.query_rate, 1.0, asyncio.get_running_loop().time())
        #: the account's submit cap, shared by all its sessions: a second's worth may go at once
        self._submits = _submit_bucket(account.max_submit_rate, asyncio.get_running_loop().time())
        self._refill_timer: asyncio.TimerHandle | None = None
        self._query_slots = asyncio.Semaphore(account.query_window)
        self._loop = asyncio.get_running_loop()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._tg is not None:
            return
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        for slot in self._slots:
            self._tasks.append(
                self._tg.create_task(self._run_slot(slot), name=f"slot-{slot.index}")
            )
        self._tasks.append(self._tg.create_task(self._housekeeping(), name="pool-housekeeping"))

    async def aclose(self, grace: float | None = None) -> None:
        """Stop taking work, let sessions finish what is in flight (at most ``grace`` s; None:
        the response timeout), unbind, stop the tasks. Idempotent. Work still waiting in the
        backlog fails as not sent; requests still unanswered after ``grace`` are unknown."""
        if self._closing:
            while not self._closed:
                self._changed.clear()
                await self._changed.wait()
            return
        self._closing = True
        self._stop.set()
        self._changed.set()
        if self._refill_timer is not None:
            self._refill_timer.cancel()
            self._refill_timer = None
        self._fail_backlog("pool closed")
        sessions = [s.session for s in self._slots if s.session is not None]
        self._closing_sessions = set(sessions)
        await asyncio.gather(*(s.aclose(grace) for s in sessions), return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        if self._tg is not None:
            await self._tg.__aexit__(None, None, None)
        # what the closed sessions had queued and never written came back to the backlog
        self._fail_backlog("pool closed")
        self._incoming.put_nowait(_END)
        self._closed = True
        self._changed.set()

    def _fail_backlog(self, reason: str) -> None:
        while self._backlog:
            work = self._backlog.popleft()
            for _, ctx in work.items[work.pos :]:
                _fail_not_sent(ctx, reason)

    async def _sleep(self, delay: float) -> bool:
        """Sleep ``delay`` seconds or until the pool stops; True when it stopped."""
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        return self._stop.is_set()

    async def _run_slot(self, slot: _Slot) -> None:  # noqa: C901 - one slot's life (connect, run, cool down) as one loop
        loop = self._loop
        while not self._closing:
            wait = slot.next_attempt_at - loop.time()
            slot.state = SlotState.WAITING
            if await self._sleep(wait):
                break
            slot.host_index = next_host(len(self._hosts), slot.host_index, slot.last_end)
            host = self._hosts[slot.host_index]
            if self._coordinator is not None:
                retry_in = await self._admit(slot, str(host))
                if self._closing_now():
                    # the pool began closing while the coordinator answered: connecting now
                    # would open a session that close already counted out (and bind right
                    # after the others dropped); the node's cluster slots are released by its
                    # owner at shutdown
                    break
                if retry_in is not None:
                    slot.next_attempt_at = loop.time() + retry_in
                    continue
            slot.state = SlotState.CONNECTING
            slot.end_requested = False
            session = ClientSession(
                self.account,
                slot.mode,
                name=f"{self.account.label}#{slot.index}",
                on_incoming=self._on_incoming,
                on_room=self._on_room,
                held_limit=self._held_limit,
            )
            slot.session = session
            self._changed.set()
            try:
                await session.open(host)
            except ClientError as exc:
                self._attempt_failed(slot, exc)
                await self._ended(slot, str(host), AttemptEnd.FAILED)
                continue
            except Exception as exc:  # an unexpected bug must not end the slot
                log.exception("%s: unexpected error while connecting", session.name)
                self._attempt_failed(slot, ClientError(str(exc)))
                await self._ended(slot, str(host), AttemptEnd.FAILED)
                continue
            if self._closing_now() and session not in self._closing_sessions:
                # bound while the pool was closing, after close gathered its sessions
                await session.aclose()
                await self._ended(slot, str(host), AttemptEnd.DROPPED)
                break
            slot.state = SlotState.BOUND
            slot.bound_since = loop.time()
            slot.binds += 1
            slot.last_error = None
            self._active.append(session)
            log.info("%s: bound to %s as %s", session.name, host, slot.mode.value)
            if slot.end_requested:
                # end_slot came while connecting: it ends now, as any session does (below)
                slot.end_requested = False
                slot.state = SlotState.DRAINING
                session.drain_and_close()
            self._changed.set()
            self._pump()
            reason = await session.wait_closed()
            self._active.remove(session)
            unsent = [item for item in session.take_unsent() if not _cancelled(item)]
            if unsent:
                self._backlog.appendleft(_Work(unsent, pinned=True))
            slot.last_close_reason = reason
            slot.last_end = AttemptEnd.DROPPED
            slot.next_attempt_at = self._cooldown.next_attempt_at(
                loop.time(), AttemptEnd.DROPPED, self._rng.random()
            )
            slot.session = None
            slot.bound_since = None
            slot.returning = False
            log.info("%s: session ended (%s)", session.name, reason.value)
            self._changed.set()
            self._pump()
            await self._ended(slot, str(host), AttemptEnd.DROPPED)
        slot.state = SlotState.STOPPED

    def end_slot(self, index: int) -> bool:
        """End slot ``index``'s session in order (what is in flight is answered, then unbind),
        as a drop: the slot connects again after the drop cooldown, once admitted. For a
        coordinator's owner whose cluster-wide slot was lost. A session still connecting is
        ended as soon as it is bound. False when the slot has no session (it is waiting for its
        next attempt, which asks the coordinator again)."""
        slot = self._slots[index]
        session = slot.session
        if session is None:
            return False
        if slot.state is SlotState.CONNECTING:
            slot.end_requested = True  # _run_slot ends it as soon as it is bound
            return True
        if slot.state is not SlotState.BOUND:
            return True  # draining already
        log.info("slot %d: ending its session (its cluster slot was lost)", index)
        slot.state = SlotState.DRAINING
        session.drain_and_close()
        self._changed.set()
        return True

    def _closing_now(self) -> bool:
        """Whether `aclose` began (read after an await: the flag may have changed there)."""
        return self._closing

    async def _admit(self, slot: _Slot, host: str) -> float | None:
        assert self._coordinator is not None
        try:
            return await self._coordinator.admit(slot.index, host)
        except Exception:  # the shared database is down: do not connect past the limits
            log.exception("slot %d: cannot reach the coordinator; retrying", slot.index)
            return self._housekeeping_interval * 5

    async def _ended(self, slot: _Slot, host: str, end: AttemptEnd) -> None:
        if self._coordinator is None:
            return
        try:
            await self._coordinator.ended(slot.index, host, end)
        except Exception:
            log.exception("slot %d: cannot tell the coordinator that the session ended", slot.index)

    def _attempt_failed(self, slot: _Slot, exc: ClientError) -> None:
        log.warning("slot %d: %s", slot.index, exc)
        slot.failures += 1
        slot.last_error = exc
        slot.last_end = AttemptEnd.FAILED
        slot.session = None
        slot.next_attempt_at = self._cooldown.next_attempt_at(
            self._loop.time(), AttemptEnd.FAILED, self._rng.random()
        )
        self._changed.set()

    async def _housekeeping(self) -> None:
        while not await self._sleep(self._housekeeping_interval):
            now = self._loop.time()
            for session in self._active:
                session.check_link(now)
            for event in self._decoder.expire(now):
                self._deliver(event)
            if not any(s.returning for s in self._slots):
                index = slot_to_return(
                    [
                        (s.host_index or 0, s.bound_since if s.state is SlotState.BOUND else None)
                        for s in self._slots
                    ],
                    now,
                    self.account.primary_return_after,
                )
                if index is not None:
                    slot = self._slots[index]
                    if slot.session is not None:
                        log.info("slot %d: moving back to the primary host", index)
                        slot.returning = True
                        slot.state = SlotState.DRAINING
                        slot.session.drain_and_close()

    async def wait_ready(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - one bound for the whole wait
        *,
        fail_fast: bool = False,
    ) -> None:
        """Wait until a session that can submit (or, for receive-only pools, any session) is
        bound. ``fail_fast``: raise the last BindError / ConnectError as soon as every slot has
        failed its attempt, instead of waiting for the cooldown and the next one."""
        want_submit = any(m.can_submit for m in self.account.sessions)
        async with asyncio.timeout(timeout):
            while True:
                for s in self._active:
                    if s.bound and (s.mode.can_submit or not want_submit):
                        return
                if self._closing:
                    raise NotBoundError("the pool is closed")
                if fail_fast and all(s.last_end is AttemptEnd.FAILED for s in self._slots):
                    errors = [s.last_error for s in self._slots if s.last_error is not None]
                    if errors:
                        raise errors[-1]
                self._changed.clear()
                await self._changed.wait()

    # ------------------------------------------------------------------ sending

    def prepare(self, message: OutboundMessage) -> MessagePlan:
        """Split and address ``message`` (allocating its concatenation reference); raises
        ValidityError, AddressError and the text layer's errors before anything is sent.
        Call :meth:`release` when its parts are final."""
        reference = 0
        # the destination as the parts carry it: release() finds the reference by that
        destination = normalize_destination(message.destination)
        if needs_reference(message):
            bits = 16 if message.split is SplitMethod.SAR else 8
            reference = self._refs.allocate(destination, bits)
        try:
            return build_submits(message, self.profile, reference)
        except Exception:
            self._refs.release(destination, reference)
            raise

    def release(self, plan: MessagePlan) -> None:
        if plan.reference is not None:
            self._refs.release(plan.parts[0].destination_addr, plan.reference)

    def submit_batch(
        self, pdus: Sequence[SubmitSm], *, pinned: bool = False
    ) -> asyncio.Future[list[SubmitResult]]:
        """Queue submits and return a future of their results, in order.

        ``pinned=False``: each PDU is a message of its own, spread over the sessions with
        room. ``pinned=True``: the PDUs are the parts of one message and go through one
        session, in order (spec D-18). Not async, so a dispatcher can keep several batches
        in flight (pipelining) without a task per message.
        """
        self._check_submittable(pdus)
        batch = Batch(len(pdus), self._loop.create_future())
        if pdus:
            self._backlog.append(_Work([(pdu, (batch, i)) for i, pdu in enumerate(pdus)], pinned))
            self._pump()
        return batch.future

    def submit_messages(
        self, messages: Sequence[Sequence[SubmitSm]]
    ) -> list[asyncio.Future[list[SubmitResult]]]:
        """``submit_batch(parts, pinned=True)`` for each message, in order, with one pass of
        the routing for all of them (the gateway's feeder hands over what fits the windows at
        once: one hand-over per round, not per message). A future per message."""
        self._check_submittable(pdu for pdus in messages for pdu in pdus)
        create_future = self._loop.create_future
        backlog = self._backlog
        futures: list[asyncio.Future[list[SubmitResult]]] = []
        for pdus in messages:
            batch = Batch(len(pdus), create_future())
            if pdus:
                backlog.append(_Work([(pdu, (batch, i)) for i, pdu in enumerate(pdus)], True))
            futures.append(batch.future)
        self._pump()
        return futures

    def _check_submittable(self, pdus: Iterable[SubmitSm]) -> None:
        """Refuse submits the pool cannot take: closed, no session that submits, or an
        operation the platform lacks (data_sm / submit_multi)."""
        if self._closing:
            raise NotBoundError("the pool is closed")
        if not any(m.can_submit for m in self.account.sessions):
            raise NotBoundError(f"account {self.account.label} has no tx or trx session")
        if self.profile.unsupported:
            for pdu in pdus:
                self.profile.require(pdu.command_id)

    async def submit(self, parts: Sequence[SubmitSm]) -> list[SubmitResult]:
        """Send the parts of one message through one session, in order; their results."""
        return await self.submit_batch(parts, pinned=True)

    async def submit_many(self, pdus: Sequence[SubmitSm]) -> list[SubmitResult]:
        """Send independent single-part messages; their results, in order."""
        return await self.submit_batch(pdus)

    def _on_room(self, session: ClientSession) -> None:
        if self._backlog:
            self._pump()

    def _pump(self) -> None:
        """Give waiting work to sessions with room (the routing decision is pure)."""
        if self._pumping:
            return
        self._pumping = True
        try:
            backlog = self._backlog
            sessions = self._active
            now = self._loop.time()
            # (the sessions' candidates, computed once per pass: handing work to one session
            # changes only that one's, recomputed below; the list of sessions changes only
            # across awaits, never within this synchronous pass)
            candidates: list[Candidate] | None = None
            while backlog and sessions:
                work = backlog[0]
                if _cancelled(work.items[work.pos]):
                    backlog.popleft()
                    continue
                allowed = self._submit_allowance(now)
                if allowed == 0:
                    break
                if candidates is None or len(candidates) != len(sessions):
                    candidates = [s.candidate(now) for s in sessions]
                index = select_session(candidates, now)
                if index is None:
                    break
                session = sessions[index]
                items = work.items
                if work.pinned:
                    chunk = items[work.pos :] if work.pos else items
                    backlog.popleft()
                else:
                    room = min(candidates[index].room, allowed)
                    end = min(work.pos + room, len(items))
                    chunk = items[work.pos : end]
                    work.pos = end
                    if end == len(items):
                        backlog.popleft()
                if self._submits is not None:
                    self._submits.spend(len(chunk), now)
                session.enqueue(chunk)
                candidates[index] = session.candidate(now)
        finally:
            self._pumping = False

    def _submit_allowance(self, now: float) -> int:
        """How many submit_sm the account's rate cap lets go now (no cap: unbounded). At 0 a
        timer pumps again when the next token is due."""
        if self._submits is None:
            return _UNCAPPED
        allowed = self._submits.available(now)
        if allowed == 0 and self._refill_timer is None and not self._closing:
            wait = self._submits.delay(now)
            self._refill_timer = self._loop.call_later(wait, self._refilled)
        return allowed

    def set_max_submit_rate(self, rate: float | None) -> None:
        """Change the account's submit cap while the sessions run (a configuration reload:
        no session needs rebuilding for it). The new cap starts with a second's worth."""
        if rate is not None and rate <= 0:
            raise ClientConfigError(f"max_submit_rate must be > 0, got {rate}")
        self.account = replace(self.account, max_submit_rate=rate)
        self._submits = _submit_bucket(rate, self._loop.time())
        if self._refill_timer is not None:
            self._refill_timer.cancel()
            self._refill_timer = None
        self._pump()

    def _refilled(self) -> None:
        self._refill_timer = None
        self._pump()

    # ------------------------------------------------------------------ query_sm

    async def query(self, message_id: str, sender: str) -> QueryResult:
        """query_sm for a message this account sent from ``sender`` (spec D-23), within the
        account's query rate and query window. Raises QueryError when the SMSC refuses it and
        OutcomeUnknown when no response comes, UnsupportedOperationError (at once) when the
        profile's platform has no query_sm (devino-online)."""
        self.profile.require(CommandId.QUERY_SM)
        async with self._query_slots:
            while (wait := self._bucket.take(self._loop.time())) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)  # the rate limit's own wait, not a poll
            response = await self._about_message(QuerySm, message_id, sender)
        if response.command_status != 0 or not isinstance(response, QuerySmResp):
            raise QueryError(response.command_status)
        state: SmppMessageState | int
        try:
            state = SmppMessageState(response.message_state)
        except ValueError:
            state = response.message_state
        return QueryResult(response.message_id, state, response.final_date, response.error_code)

    async def cancel(self, message_id: str, sender: str) -> None:
        """cancel_sm for a message this account sent from ``sender``: returns once the SMSC
        answered OK (it will not deliver it). Raises CancelError when the SMSC refuses (it can
        no longer be cancelled), OutcomeUnknown when no response comes, and
        UnsupportedOperationError at once when the profile's platform has no cancel_sm (the
        Devino profiles)."""
        self.profile.require(CommandId.CANCEL_SM)
        response = await self._about_message(CancelSm, message_id, sender)
        if response.command_status != 0 or not isinstance(response, CancelSmResp):
            raise CancelError(response.command_status)

    async def _about_message(
        self, kind: type[QuerySm] | type[CancelSm], message_id: str, sender: str
    ) -> Pdu:
        """A query_sm or cancel_sm for ``message_id`` (sent from ``sender``, typed by the
        profile) through a bound session that may submit; its response."""
        session = await self._session_for_query()
        ton, npi, address = source_address(sender, self.profile.addresses)
        pdu = kind(
            message_id=message_id, source_addr_ton=ton, source_addr_npi=npi, source_addr=address
        )
        return await session.request_nowait(pdu)

    async def _session_for_query(self) -> ClientSession:
        while True:
            for s in self._active:
                if s.bound and s.mode.can_submit:
                    return s
            await self.wait_ready()

    # ------------------------------------------------------------------ incoming

    def _on_incoming(
        self, session: ClientSession, pdu: DeliverSm | DataSm | ProtocolViolation
    ) -> None:
        if isinstance(pdu, ProtocolViolation):
            seq = int.from_bytes(pdu.raw[12:16], "big")
            answer = NO_ANSWER if self._on_held is None else Answer(session.acknowledge, seq)
            unreadable = UnreadablePdu(self.account.label, pdu.raw, pdu.detail, session.name)
            if not self._deliver(unreadable, answer):
                session.release(seq)
            return
        try:
            events = self._decoder.feed(pdu, self._loop.time(), session.name)
        except Exception:
            # never let a bad one hurt the session (answered: it is logged, it cannot be kept)
            log.exception("%s: cannot interpret an incoming PDU", session.name)
            events = []
        answer = NO_ANSWER
        if self._on_held is not None:
            # a part kept for reassembly (no event yet) is answered now
            answer = Answer(session.acknowledge, pdu.sequence_number, len(events))
            if not events:
                session.acknowledge(pdu.sequence_number)
        for event in events:
            if not self._deliver(event, answer):
                # not taken, so never answered: no longer counted as held, and the session
                # ends so that the SMSC delivers it again (see ClientSession.release)
                session.release(pdu.sequence_number)

    def _deliver(self, event: IncomingEvent, answer: Answer = NO_ANSWER) -> bool:
        """Hand ``event`` over; False when ``on_held`` raised (the event was not taken)."""
        held = self._on_held
        if held is not None:
            try:
                held(HeldEvent(event, answer))
            except Exception:
                log.exception("incoming-event callback failed")
                return False
            return True
        callback = self._on_incoming_cb
        if callback is None:
            self._incoming.put_nowait(event)
            return True
        try:
            callback(event)
        except Exception:
            log.exception("incoming-event callback failed")
        return True

    def incoming(self) -> AsyncIterator[IncomingEvent]:
        """Receipts, MO messages (reassembled) and unreadable PDUs, until the pool closes."""
        return IncomingStream(self._incoming)

    # ------------------------------------------------------------------ metrics

    def snapshot(self) -> PoolSnapshot:
        now = self._loop.time()
        slots = []
        for s in self._slots:
            snap = s.session.snapshot() if s.session is not None else None
            slots.append(
                SlotSnapshot(
                    s.index,
                    s.mode,
                    s.state,
                    snap.host if snap and s.state is not SlotState.WAITING else None,
                    snap.window_used if snap else 0,
                    self.account.window,
                    snap.queued if snap else 0,
                    snap.paused_for if snap else 0.0,
                    max(0.0, s.next_attempt_at - now) if s.state is SlotState.WAITING else 0.0,
                    max(0, s.binds - 1),
                    s.failures,
                    str(s.last_error) if s.last_error else None,
                    s.last_close_reason,
                    snap.last_received_ago if snap and s.state is SlotState.BOUND else None,
                )
            )
        backlog = sum(len(w.items) - w.pos for w in self._backlog)
        return PoolSnapshot(self.account.label, tuple(slots), backlog, self._incoming.qsize())

    @property
    def sessions(self) -> tuple[ClientSession, ...]:
        """The sessions bound right now."""
        return tuple(s for s in self._active if s.state is ClientSessionState.BOUND)


def _cancelled(item: Item) -> bool:
    ctx = item[1]
    if type(ctx) is tuple:
        return ctx[0].future.cancelled()
    return ctx.done()  # type: ignore[union-attr]


def _fail_not_sent(ctx: object, reason: str) -> None:
    if type(ctx) is tuple:
        batch, index = ctx
        batch.done(index, not_sent(reason))
    elif isinstance(ctx, asyncio.Future) and not ctx.done():
        ctx.set_exception(NotBoundError(reason))


def _submit_bucket(rate: float | None, now: float) -> TokenBucket | None:
    return None if rate is None else TokenBucket(rate, max(1.0, rate), now)

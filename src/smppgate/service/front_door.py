"""The SMPP front door: the customer's own applications bind to the gateway over SMPP (as to
any SMSC) and their messages join the same durable queue as HTTP traffic, behind the few
upstream sessions the platform allows.

The server side is ``smppgate.smsc``; this module is its handler:

* **binds**: the ``[[smpp_server.users]]`` credentials (ESME_RINVSYSID / ESME_RINVPASWD), a
  lockout per address after repeated failures, ``max_binds`` per user;
* **submit_sm / data_sm**: checked (`smpp_intake`), then **committed to the store before the
  answer**, whose message_id is the gateway's own id. Submits arriving while a commit runs are
  committed together in the next one (group commit). A store failure answers ESME_RSYSERR:
  never OK for a message that is not on disk. Above a user's ``throughput``, ESME_RTHROTTLED;
* **receipts**: the store's ``smpp_outbox`` (written by the transaction that recorded the
  upstream receipt or the final state) is read for every user with a receiver bound, each row
  becomes a deliver_sm receipt to one of the user's rx/trx sessions (windowed, round robin) and
  is forgotten only once the application answered it. Unanswered or refused ones are sent
  again; while the user is not bound they wait in the store (``receipt_keep``);
* **parts an application split itself** (UDH or SAR): each part is held in the store before
  its answer, with an id of its own (``<message id>-<seq>``); a complete set becomes one
  message of as many parts (``smpp_parts``: the reference rewritten) and follows the API's
  multi-part path; a set still incomplete after ``parts_timeout`` is rejected, each part
  held gets a receipt saying so. Complete sets a crash left held are released at start;
* **MO and USSD** routed to a user by ``[[smpp_server.routes]]`` (``smpp_mo``) wait in the
  store's ``smpp_mo_outbox`` (written with the inbound record) and go to the user's
  receivers as deliver_sm the same way as receipts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING

from smppgate.client import TokenBucket
from smppgate.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CancelSm,
    CancelSmResp,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    GenericNack,
    Npi,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Ton,
)
from smppgate.service.cancel import NotCancellableError, cancel_message
from smppgate.service.config import AccountConfig, GatewayConfig, SmppUserConfig
from smppgate.service.intake import Intake
from smppgate.service.smpp_intake import SubmitRefused, smpp_submit
from smppgate.service.smpp_mo import mo_pdu
from smppgate.service.smpp_parts import set_message, set_method
from smppgate.session import BindRequested, SessionConfig
from smppgate.smsc import (
    BindGuard,
    Delivery,
    ServerConnection,
    SmscHandler,
    SmscServer,
    guard_key,
)
from smppgate.smsc.receipts import receipt_pdu
from smppgate.store import (
    HeldSet,
    MessageState,
    NewHeldPart,
    NewMessage,
    NotFound,
    SmppReceipt,
    Store,
    StoreError,
    parse_part_id,
)
from smppgate.text import DeliveryState

if TYPE_CHECKING:
    from smppgate.service.runtime import Gateway

log = logging.getLogger("smppgate.front_door")

#: submits per commit (the store's batch limit)
COMMIT_BATCH = 1000
#: submits waiting for a commit before more are answered ESME_RTHROTTLED (memory stays bounded)
MAX_WAITING = 20_000
#: seconds between looks at the outbox when no receipt came in meanwhile
OUTBOX_POLL = 1.0
#: seconds before a receipt the application refused (or did not answer) is sent again
REDELIVER_AFTER = 5.0
#: seconds between expiries of receipts nobody came for
EXPIRE_EVERY = 600.0
#: held sets released (or given up) per look
RELEASE_BATCH = 100


@dataclass(slots=True)
class _Waiting:
    """A submit whose answer waits for its commit."""

    connection: ServerConnection
    request: SubmitSm | DataSm
    message: NewMessage | NewHeldPart


@dataclass(frozen=True, slots=True)
class _Mo:
    """The tag of a routed MO's deliver_sm (a receipt's is its outbox id, an int)."""

    id: int


@dataclass(slots=True)
class _User:
    config: SmppUserConfig
    account: AccountConfig
    bucket: TokenBucket | None
    #: outbox ids handed to the server (queued, in a window, or waiting to be sent again)
    in_flight: set[int] = field(default_factory=set)
    #: outbox ids the application answered with OK, to delete
    answered: list[int] = field(default_factory=list)
    #: the same for routed MO (smpp_mo_outbox ids)
    mo_in_flight: set[int] = field(default_factory=set)
    mo_answered: list[int] = field(default_factory=list)
    mo_sent: int = 0
    submits: int = 0
    receipts_sent: int = 0
    #: sets of parts given up incomplete (``parts_timeout``)
    sets_given_up: int = 0

    @property
    def system_id(self) -> str:
        return self.config.system_id


class FrontDoor(SmscHandler):
    """The SMPP server applications bind to; an async context manager started after (and
    closed before) the ``Gateway`` whose store and dispatchers it feeds."""

    def __init__(
        self,
        config: GatewayConfig,
        gateway: Gateway,
        *,
        clock: Callable[[], float] = time.time,
        outbox_poll: float = OUTBOX_POLL,
        redeliver_after: float = REDELIVER_AFTER,
        intake: Intake | None = None,
    ) -> None:
        self.config = config.smpp_server
        self._gateway = gateway
        # the API's intake when serving both: the concatenation references of the sets the
        # applications split come from the API's allocator, so the two never collide
        self._intake = intake if intake is not None else Intake(config, gateway.store, clock)
        self._accounts = {a.name: a for a in config.accounts}
        self._clock = clock
        self._outbox_poll = outbox_poll
        self._redeliver_after = redeliver_after
        accounts = {a.name: a for a in config.accounts}
        self.users: dict[str, _User] = {
            u.system_id: _User(
                u,
                accounts[u.account],
                None if u.throughput is None else TokenBucket(u.throughput, max(1.0, u.throughput)),
            )
            for u in self.config.users
        }
        self.server = SmscServer(
            self,
            SessionConfig(window=self.config.window, response_timeout=self.config.response_timeout),
        )
        self._guard = BindGuard(
            delay_after=self.config.failed_binds_before_lockout,
            delay=1.0,
            lockout_after=self.config.failed_binds_before_lockout,
            lockout=self.config.lockout_seconds,
            window=max(self.config.lockout_seconds, 60.0),
        )
        self._waiting: list[_Waiting] = []
        self._commit_wanted = asyncio.Event()
        self._outbox_wanted = asyncio.Event()
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def store(self) -> Store:
        return self._gateway.store

    @property
    def address(self) -> tuple[str, int]:
        return self.server.addresses[0]

    async def __aenter__(self) -> FrontDoor:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        listen = self.config.listen
        assert listen is not None, "the front door is off without [smpp_server] listen"
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        for coro, name in (
            (self._commit_loop(), "front-door-commit"),
            (self._outbox_loop(), "front-door-outbox"),
            (self._expire_loop(), "front-door-expire"),
            (self._sets_loop(), "front-door-sets"),
        ):
            self._tasks.append(self._tg.create_task(coro, name=name))
        try:
            host, port = await self.server.listen(
                listen.host, listen.port, ssl_context=self._ssl_context()
            )
        except BaseException:
            await self.aclose()
            raise
        self._gateway.receipt_listeners.append(self._receipts_recorded)
        self._gateway.outcome_listeners.append(self._receipts_recorded)
        self._gateway.inbound_listeners.append(self._receipts_recorded)
        log.info("SMPP front door listening on %s:%d (%d user(s))", host, port, len(self.users))

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None or self.config.tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return context

    async def aclose(self, grace: float = 2.0) -> None:
        """Unbind every application (the commits under way still answer during ``grace``),
        stop, forget the receipts that were answered. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.server.unbind():
            connections = list(self.server.connections.values())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await asyncio.gather(*(c.closed for c in connections))
        await self.server.aclose()
        if self._tg is not None:
            for task in self._tasks:
                task.cancel()
            with contextlib.suppress(BaseExceptionGroup, asyncio.CancelledError):
                await self._tg.__aexit__(None, None, None)
        if self._waiting:
            # never answered, so the application holds none of them as sent: storing them now
            # would send what it will submit again
            log.warning(
                "front door closed with %d submit(s) unanswered: not stored", len(self._waiting)
            )
            self._waiting.clear()
        await self._delete_answered()

    async def _receipts_recorded(self, *_: object) -> None:
        self._outbox_wanted.set()

    # ------------------------------------------------------------------ binds

    def bind(self, connection: ServerConnection, event: BindRequested) -> None:
        address = connection.peer[0] if connection.peer else "?"
        now = self.server.now()
        match event.pdu:
            case (
                BindTransmitter(system_id=system_id, password=password)
                | BindReceiver(system_id=system_id, password=password)
                | BindTransceiver(system_id=system_id, password=password)
            ):
                pass
            case _:  # the session raises BindRequested for these three only
                return
        # failed binds count per system_id and address (as the emulator does): guessing one
        # user's password from an address does not lock the other users out of it
        key = guard_key(system_id, address)
        if self._guard.locked(key, now):
            self._refuse(connection, event, CommandStatus.ESME_RBINDFAIL, system_id, "locked out")
            return
        user = self.users.get(system_id)
        failure: tuple[CommandStatus, str] | None = None
        if user is None:
            failure = (CommandStatus.ESME_RINVSYSID, "unknown system_id")
        elif not hmac.compare_digest(user.config.password.encode(), password.encode()):
            failure = (CommandStatus.ESME_RINVPASWD, "wrong password")
        if failure is not None:
            if self._guard.failed(key, now):
                log.warning("%r from address %s locked out after failed binds", system_id, address)
            self._refuse(connection, event, *failure, system_id)
            return
        assert user is not None
        bound = self.server.bound_count(system_id)
        if bound >= user.config.max_binds:
            self._refuse(
                connection,
                event,
                CommandStatus.ESME_RBINDFAIL,
                system_id,
                f"max_binds {user.config.max_binds} reached",
            )
            return
        self._guard.succeeded(key)
        self.server.accept_bind(connection, event, system_id, self.config.system_id)
        log.info(
            "application %s bound as %s from %s (session %d, %d of %d)",
            system_id,
            event.mode.value,
            address,
            connection.id,
            bound + 1,
            user.config.max_binds,
        )
        if event.mode.can_receive:
            self._outbox_wanted.set()

    def _refuse(
        self,
        connection: ServerConnection,
        event: BindRequested,
        status: CommandStatus,
        system_id: str,
        why: str,
    ) -> None:
        log.info(
            "bind as %r from %s refused: %s (%s)",
            system_id,
            connection.peer[0] if connection.peer else "?",
            status.name,
            why,
        )
        self.server.reject_bind(connection, event, status)

    def connection_lost(self, connection: ServerConnection) -> None:
        if connection.system_id is not None:
            reason = connection.close_reason.value if connection.close_reason else "closed"
            log.info(
                "application %s session %d ended: %s", connection.system_id, connection.id, reason
            )

    def peer_unbound(self, connection: ServerConnection) -> None:
        log.info("application %s unbound (session %d)", connection.system_id, connection.id)

    def protocol_error(self, connection: ServerConnection, detail: str) -> None:
        log.warning(
            "application %s session %d: protocol error: %s",
            connection.system_id or "(not bound)",
            connection.id,
            detail,
        )

    # ------------------------------------------------------------------ requests

    def request(self, connection: ServerConnection, pdu: Pdu) -> None:
        match pdu:
            case SubmitSm() | DataSm():
                self._on_submit(connection, pdu)
            case QuerySm() if self._tg is not None:
                self._tg.create_task(self._on_query(connection, pdu))
            case CancelSm() if self._tg is not None:
                self._tg.create_task(self._on_cancel(connection, pdu))
            case _:
                # the session's table let it through (replace_sm, submit_multi)
                # but the front door does not take it (yet)
                self.server.answer(
                    connection, pdu, GenericNack(command_status=CommandStatus.ESME_RINVCMDID)
                )

    def _on_submit(self, connection: ServerConnection, request: SubmitSm | DataSm) -> None:
        system_id = connection.system_id
        user = self.users.get(system_id or "")
        if user is None:  # the session admits submits only once bound
            self._answer(connection, request, CommandStatus.ESME_RINVBNDSTS)
            return
        if user.bucket is not None and user.bucket.take(self.server.now()) > 0:
            self._answer(connection, request, CommandStatus.ESME_RTHROTTLED)
            return
        if len(self._waiting) >= MAX_WAITING:
            self._answer(connection, request, CommandStatus.ESME_RTHROTTLED)
            return
        try:
            message = smpp_submit(request, user.config, user.account, self._clock())
        except SubmitRefused as exc:
            log.info("application %s: %s refused: %s", user.system_id, type(request).__name__, exc)
            self._answer(connection, request, exc.status)
            return
        self._waiting.append(_Waiting(connection, request, message))
        self._commit_wanted.set()

    def _answer(
        self,
        connection: ServerConnection,
        request: SubmitSm | DataSm,
        status: CommandStatus,
        message_id: str = "",
    ) -> None:
        response: Pdu
        if isinstance(request, SubmitSm):
            response = SubmitSmResp(command_status=status, message_id=message_id)
        else:
            response = DataSmResp(command_status=status, message_id=message_id)
        self.server.answer(connection, request, response)

    async def _on_query(self, connection: ServerConnection, request: QuerySm) -> None:
        """query_sm answered from the store: the state of a message this user submitted."""
        failed = QuerySmResp(command_status=CommandStatus.ESME_RQUERYFAIL)
        part = parse_part_id(request.message_id)
        message_id = request.message_id if part is None else part[0]
        try:
            message = await self.store.smpp_message(connection.system_id or "", message_id)
            if message is None and part is not None:
                held = await self.store.smpp_held_seqs(connection.system_id or "", message_id)
                if part[1] in held:  # its set is not complete yet
                    self.server.answer(
                        connection,
                        request,
                        QuerySmResp(
                            message_id=request.message_id,
                            message_state=int(DeliveryState.ENROUTE),
                        ),
                    )
                    return
        except StoreError as exc:
            log.warning("front door: query_sm: store: %s", exc)
            self.server.answer(connection, request, failed)
            return
        if message is None or (part is not None and part[1] not in {p.seq for p in message.parts}):
            self.server.answer(connection, request, failed)
            return
        state = _QUERY_STATES[message.state]
        if part is not None:  # the part's own receipt once it came
            receipt = next(p.receipt_state for p in message.parts if p.seq == part[1])
            if receipt is not None and receipt.is_final:
                state = DeliveryState[receipt.name]
        final_date = ""
        if message.state.is_final:
            done = datetime.fromtimestamp(message.updated_at, UTC)
            final_date = done.strftime("%y%m%d%H%M%S") + "000+"
        self.server.answer(
            connection,
            request,
            QuerySmResp(
                message_id=request.message_id,
                final_date=final_date,
                message_state=int(state),
                error_code=(message.last_status or 0) & 0xFF,
            ),
        )

    async def _on_cancel(self, connection: ServerConnection, request: CancelSm) -> None:
        """cancel_sm answered from the store: a message this user submitted is cancelled while
        it is still queued or scheduled, or once submitted through the platform's cancel_sm
        where the profile has it (ESME_RCANCELFAIL once it is on its way, final, or not this
        user's; cancelling one cancelled before is OK). The message_id is required: a
        cancel of every message to a destination (empty message_id) is not taken. A part's id
        (a message the application split itself) cancels its whole message: a part of a
        concatenated message is never sent alone."""
        system_id = connection.system_id or ""
        status = CommandStatus.ESME_ROK
        try:
            message_id = await self._cancel_target(system_id, request.message_id)
            await cancel_message(
                self.store,
                message_id,
                self._clock(),
                by=f"smpp:{system_id}",
                tell_application=False,  # it asked: no deleted receipt for it
                upstream=self._gateway.cancel_upstream,
            )
        except (NotFound, NotCancellableError) as exc:
            log.info("application %s: cancel_sm refused: %s", system_id, exc)
            status = CommandStatus.ESME_RCANCELFAIL
        except StoreError as exc:
            log.warning("front door: cancel_sm: store: %s", exc)
            status = CommandStatus.ESME_RSYSERR
        else:
            log.info("application %s cancelled message %s", system_id, request.message_id)
        self.server.answer(connection, request, CancelSmResp(command_status=status))

    async def _cancel_target(self, system_id: str, requested: str) -> str:
        """The id of the message of ``system_id`` that cancel_sm's ``requested`` id names (its
        own, or one of its parts'); `NotFound` for none (a part whose set is still held
        included: nothing of it is a message yet)."""
        if not requested:
            raise NotFound("message", "(empty message_id)")
        part = parse_part_id(requested)
        message_id = requested if part is None else part[0]
        message = await self.store.smpp_message(system_id, message_id)
        if message is None or (part is not None and part[1] not in {p.seq for p in message.parts}):
            raise NotFound("message", requested)
        return message_id

    async def _commit_loop(self) -> None:
        while True:
            await self._commit_wanted.wait()
            self._commit_wanted.clear()
            await self._commit()

    async def _commit(self) -> None:
        """Commit what waits, in batches; answer each submit only after its commit."""
        while self._waiting:
            batch = self._waiting[:COMMIT_BATCH]
            del self._waiting[:COMMIT_BATCH]
            messages = [w for w in batch if isinstance(w.message, NewMessage)]
            parts = [w for w in batch if isinstance(w.message, NewHeldPart)]
            if messages:
                await self._commit_messages(messages)
            if parts:
                await self._commit_parts(parts)

    async def _commit_messages(self, batch: list[_Waiting]) -> None:
        try:
            results = await self.store.insert_messages(
                [w.message for w in batch if isinstance(w.message, NewMessage)], self._clock()
            )
        except StoreError as exc:
            self._failed(batch, exc)
            return
        self._accepted(batch, [r.message.id for r in results])
        accounts: set[str] = set()
        for waiting, result in zip(batch, results, strict=True):
            if result.message.state is MessageState.BLOCKED:
                # its receipt (stat:UNDELIV) was queued with it: hand it out now
                self._outbox_wanted.set()
                if result.created and self._gateway.metrics is not None:
                    self._gateway.metrics.blocked(waiting.message.account, "intake")
            else:
                accounts.add(waiting.message.account)
        for account in accounts:
            self._gateway.wake(account)

    async def _commit_parts(self, batch: list[_Waiting]) -> None:
        try:
            ids, complete = await self.store.smpp_hold_parts(
                [w.message for w in batch if isinstance(w.message, NewHeldPart)], self._clock()
            )
        except StoreError as exc:
            self._failed(batch, exc)
            return
        self._accepted(batch, ids)
        if complete:
            await self._release(complete)

    def _failed(self, batch: list[_Waiting], exc: StoreError) -> None:
        log.warning("front door: %d submit(s) answered ESME_RSYSERR: store: %s", len(batch), exc)
        for waiting in batch:
            self._answer(waiting.connection, waiting.request, CommandStatus.ESME_RSYSERR)

    def _accepted(self, batch: list[_Waiting], ids: list[str]) -> None:
        for waiting, message_id in zip(batch, ids, strict=True):
            self._answer(waiting.connection, waiting.request, CommandStatus.ESME_ROK, message_id)
            user = self.users.get(waiting.connection.system_id or "")
            if user is not None:
                user.submits += 1

    async def _release(self, sets: list[HeldSet]) -> None:
        """Held sets become their messages (an incomplete one, given up, is rejected at once);
        a store failure leaves them held for the next look (``_sets_loop``)."""
        items = []
        for held in sets:
            first = held.first
            reference = self._intake.concatenation_reference(set_method(held), first.destination)
            items.append((held, set_message(held, self._accounts.get(first.account), reference)))
        try:
            released = set(await self.store.smpp_release_sets(items, self._clock()))
        except StoreError as exc:
            log.warning("front door: %d set(s) of parts stay held: store: %s", len(items), exc)
            return
        for held, message in items:
            if held.message_id not in released:
                continue
            if held.complete:
                self._gateway.wake(message.account)
                continue
            user = self.users.get(held.first.system_id)
            if user is not None:
                user.sets_given_up += 1
            log.warning(
                "application %s: message %s given up: %d of its %d parts came within %g s "
                "(rejected, a receipt for each part held)",
                held.first.system_id,
                held.message_id,
                len(held.parts),
                held.total,
                self.config.parts_timeout,
            )

    async def _sets_loop(self) -> None:
        """Release the complete sets a crash left held (at start) and give up the sets still
        incomplete after ``parts_timeout``."""
        every = min(max(self.config.parts_timeout / 4, 0.05), 5.0)
        while True:
            try:
                due = await self.store.smpp_due_sets(
                    self._clock() - self.config.parts_timeout, RELEASE_BATCH
                )
            except StoreError as exc:
                log.warning("front door: held parts: store: %s", exc)
                due = []
            if due:
                await self._release(due)
            if len(due) < RELEASE_BATCH:
                await asyncio.sleep(every)

    # ------------------------------------------------------------------ receipts

    async def _outbox_loop(self) -> None:
        """One task forgets answered receipts and hands out the next ones, in that order: a
        read of the outbox never overlaps the delete of a receipt it would send again."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._outbox_poll):
                    await self._outbox_wanted.wait()
            self._outbox_wanted.clear()
            await self._delete_answered()
            for user in self.users.values():
                if self.server.can_deliver(user.system_id):
                    try:
                        await self._load(user)
                    except StoreError as exc:
                        log.warning("front door: outbox of %s: store: %s", user.system_id, exc)

    async def _load(self, user: _User) -> None:
        """Hand the user's next receipts to the server, as many as its windows take."""
        receivers = sum(1 for c in self.server.bound(user.system_id) if c.can_receive)
        room = receivers * self.config.window * 2 - len(user.in_flight) - len(user.mo_in_flight)
        if room <= 0:
            return
        rows = await self.store.smpp_outbox(user.system_id, limit=room + len(user.in_flight))
        for row in rows:
            if row.id in user.in_flight or room <= 0:
                continue
            user.in_flight.add(row.id)
            room -= 1
            self.server.deliver(user.system_id, Delivery(_receipt(row), row.id))
        if room <= 0:
            return
        routed = await self.store.smpp_mo_outbox(
            user.system_id, limit=room + len(user.mo_in_flight)
        )
        for mo in routed:
            if mo.id in user.mo_in_flight or room <= 0:
                continue
            user.mo_in_flight.add(mo.id)
            room -= 1
            self.server.deliver(user.system_id, Delivery(mo_pdu(mo.inbound), _Mo(mo.id)))

    def delivery_sent(self, connection: ServerConnection, delivery: Delivery) -> None:
        user = self.users.get(connection.system_id or "")
        if user is None:
            return
        if isinstance(delivery.tag, _Mo):
            user.mo_sent += 1
        else:
            user.receipts_sent += 1

    def delivery_answered(
        self, connection: ServerConnection, delivery: Delivery, response: Pdu
    ) -> None:
        user = self.users.get(connection.system_id or "")
        tag = delivery.tag
        if not isinstance(tag, int | _Mo) or user is None:
            return
        if not isinstance(response, GenericNack) and response.command_status == 0:
            if isinstance(tag, _Mo):
                user.mo_answered.append(tag.id)
            else:
                user.answered.append(tag)
            self._outbox_wanted.set()
            return
        log.info(
            "application %s answered %s with %s: sent again in %g s",
            user.system_id,
            _what(tag),
            CommandStatus(response.command_status).name,
            self._redeliver_after,
        )
        self._later(user, tag)

    def delivery_timed_out(
        self, connection: ServerConnection, delivery: Delivery, sequence_number: int
    ) -> None:
        user = self.users.get(connection.system_id or "")
        tag = delivery.tag
        if isinstance(tag, int | _Mo) and user is not None:
            log.info(
                "application %s: no deliver_sm_resp for %s (seq %d): sent again later",
                user.system_id,
                _what(tag),
                sequence_number,
            )
            self._later(user, tag)

    def _later(self, user: _User, tag: int | _Mo) -> None:
        """Let the outbox hand ``tag`` out again after a pause."""

        def release() -> None:
            if isinstance(tag, _Mo):
                user.mo_in_flight.discard(tag.id)
            else:
                user.in_flight.discard(tag)
            self._outbox_wanted.set()

        asyncio.get_running_loop().call_later(self._redeliver_after, release)

    async def _delete_answered(self) -> bool:
        """Forget the receipts the applications answered; False when the store failed (they
        stay in flight, so none is sent twice meanwhile)."""
        for user in self.users.values():
            if user.answered:
                ids = user.answered
                user.answered = []
                try:
                    await self.store.smpp_outbox_done(ids)
                except StoreError as exc:
                    log.warning("front door: cannot forget answered receipts: store: %s", exc)
                    user.answered.extend(ids)
                    return False
                user.in_flight.difference_update(ids)
            if user.mo_answered:
                ids = user.mo_answered
                user.mo_answered = []
                try:
                    await self.store.smpp_mo_done(ids)
                except StoreError as exc:
                    log.warning("front door: cannot forget answered MO: store: %s", exc)
                    user.mo_answered.extend(ids)
                    return False
                user.mo_in_flight.difference_update(ids)
        return True

    async def _expire_loop(self) -> None:
        while True:
            try:
                before = self._clock() - self.config.receipt_keep
                dropped = await self.store.smpp_outbox_expire(before)
                dropped_mo = await self.store.smpp_mo_expire(before)
                if dropped_mo:
                    log.warning(
                        "front door: %d routed MO given up after %g s without their "
                        "application bound (still on the HTTP API)",
                        dropped_mo,
                        self.config.receipt_keep,
                    )
                if dropped:
                    log.warning(
                        "front door: %d receipt(s) given up after %g s without their "
                        "application bound",
                        dropped,
                        self.config.receipt_keep,
                    )
            except StoreError as exc:
                log.warning("front door: receipt expiry: store: %s", exc)
            await asyncio.sleep(EXPIRE_EVERY)

    # ------------------------------------------------------------------ ops

    def snapshot(self) -> dict[str, object]:
        """Bound applications and their figures (the ops page and /metrics)."""
        return {
            system_id: {
                "sessions": [
                    {
                        "id": c.id,
                        "mode": c.session.mode.value if c.session.mode else None,
                        "peer": f"{c.peer[0]}:{c.peer[1]}" if c.peer else None,
                        "window_used": c.session.window_used,
                    }
                    for c in self.server.bound(system_id)
                ],
                "submits": user.submits,
                "receipts_sent": user.receipts_sent,
                "sets_given_up": user.sets_given_up,
                "mo_sent": user.mo_sent,
                "mo_in_flight": len(user.mo_in_flight),
                "receipts_in_flight": len(user.in_flight),
            }
            for system_id, user in self.users.items()
        }


def _what(tag: int | _Mo) -> str:
    return f"MO {tag.id}" if isinstance(tag, _Mo) else f"receipt {tag}"


#: a message's state as query_sm's message_state (the queue's open states are ENROUTE: SMPP
#: 3.4 has no "scheduled"; a cancelled message is DELETED, as SMPP names a cancelled one)
_QUERY_STATES = {
    MessageState.SCHEDULED: DeliveryState.ENROUTE,
    MessageState.QUEUED: DeliveryState.ENROUTE,
    MessageState.SENDING: DeliveryState.ENROUTE,
    MessageState.SUBMITTED: DeliveryState.ENROUTE,
    MessageState.DELIVERED: DeliveryState.DELIVERED,
    MessageState.UNDELIVERABLE: DeliveryState.UNDELIVERABLE,
    MessageState.EXPIRED: DeliveryState.EXPIRED,
    MessageState.REJECTED: DeliveryState.REJECTED,
    MessageState.FAILED: DeliveryState.UNDELIVERABLE,
    MessageState.UNKNOWN: DeliveryState.UNKNOWN,
    MessageState.BLOCKED: DeliveryState.UNDELIVERABLE,
    MessageState.CANCELLED: DeliveryState.DELETED,
}


def _receipt(row: SmppReceipt) -> DeliverSm:
    """The deliver_sm receipt of an outbox row: the gateway's id in receipted_message_id and
    in the ``id:`` of the text, from the handset to the application's sender."""
    state = DeliveryState[row.state.name]  # the store's names are the text layer's
    try:
        error = int(row.error_code or 0) & 0xFFFF
    except ValueError:
        error = 0
    numeric = row.source.isdigit()
    return receipt_pdu(
        receipt_id=row.message_id,
        state=state,
        error=error,
        submitted=datetime.fromtimestamp(row.submitted_at, UTC),
        done=datetime.fromtimestamp(row.done_at, UTC),
        text=row.text[:20],
        source_ton=Ton.INTERNATIONAL if numeric else Ton.ALPHANUMERIC,
        source_npi=Npi.ISDN if numeric else Npi.UNKNOWN,
        source=row.source,
        destination=row.destination,
    )

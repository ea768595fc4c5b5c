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
  again; while the user is not bound they wait in the store (``receipt_keep``).
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
from smppgate.service.config import AccountConfig, GatewayConfig, SmppUserConfig
from smppgate.service.smpp_intake import SubmitRefused, smpp_message
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
from smppgate.store import MessageState, NewMessage, SmppReceipt, Store, StoreError
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


@dataclass(slots=True)
class _Waiting:
    """A submit whose answer waits for its commit."""

    connection: ServerConnection
    request: SubmitSm | DataSm
    message: NewMessage


@dataclass(slots=True)
class _User:
    config: SmppUserConfig
    account: AccountConfig
    bucket: TokenBucket | None
    #: outbox ids handed to the server (queued, in a window, or waiting to be sent again)
    in_flight: set[int] = field(default_factory=set)
    #: outbox ids the application answered with OK, to delete
    answered: list[int] = field(default_factory=list)
    submits: int = 0
    receipts_sent: int = 0

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
    ) -> None:
        self.config = config.smpp_server
        self._gateway = gateway
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
            case _:
                # the session's table let it through (cancel_sm, replace_sm, submit_multi)
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
            message = smpp_message(request, user.config, user.account, self._clock())
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
        try:
            message = await self.store.smpp_message(connection.system_id or "", request.message_id)
        except StoreError as exc:
            log.warning("front door: query_sm: store: %s", exc)
            self.server.answer(connection, request, failed)
            return
        if message is None:
            self.server.answer(connection, request, failed)
            return
        state = _QUERY_STATES[message.state]
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
            try:
                results = await self.store.insert_messages(
                    [w.message for w in batch], self._clock()
                )
            except StoreError as exc:
                log.warning(
                    "front door: %d submit(s) answered ESME_RSYSERR: store: %s", len(batch), exc
                )
                for waiting in batch:
                    self._answer(waiting.connection, waiting.request, CommandStatus.ESME_RSYSERR)
                continue
            accounts: set[str] = set()
            for waiting, result in zip(batch, results, strict=True):
                self._answer(
                    waiting.connection,
                    waiting.request,
                    CommandStatus.ESME_ROK,
                    result.message.id,
                )
                accounts.add(waiting.message.account)
                system_id = waiting.connection.system_id
                if system_id in self.users:
                    self.users[system_id].submits += 1
            for account in accounts:
                self._gateway.wake(account)

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
        room = receivers * self.config.window * 2 - len(user.in_flight)
        if room <= 0:
            return
        rows = await self.store.smpp_outbox(user.system_id, limit=room + len(user.in_flight))
        for row in rows:
            if row.id in user.in_flight:
                continue
            user.in_flight.add(row.id)
            self.server.deliver(user.system_id, Delivery(_receipt(row), row.id))

    def delivery_sent(self, connection: ServerConnection, delivery: Delivery) -> None:
        user = self.users.get(connection.system_id or "")
        if user is not None:
            user.receipts_sent += 1

    def delivery_answered(
        self, connection: ServerConnection, delivery: Delivery, response: Pdu
    ) -> None:
        user = self.users.get(connection.system_id or "")
        if not isinstance(delivery.tag, int) or user is None:
            return
        if not isinstance(response, GenericNack) and response.command_status == 0:
            user.answered.append(delivery.tag)
            self._outbox_wanted.set()
            return
        log.info(
            "application %s answered receipt %d with %s: sent again in %g s",
            user.system_id,
            delivery.tag,
            CommandStatus(response.command_status).name,
            self._redeliver_after,
        )
        self._later(user, delivery.tag)

    def delivery_timed_out(
        self, connection: ServerConnection, delivery: Delivery, sequence_number: int
    ) -> None:
        user = self.users.get(connection.system_id or "")
        if isinstance(delivery.tag, int) and user is not None:
            log.info(
                "application %s: no deliver_sm_resp for receipt %d (seq %d): sent again later",
                user.system_id,
                delivery.tag,
                sequence_number,
            )
            self._later(user, delivery.tag)

    def _later(self, user: _User, outbox_id: int) -> None:
        """Let the outbox hand ``outbox_id`` out again after a pause."""

        def release() -> None:
            user.in_flight.discard(outbox_id)
            self._outbox_wanted.set()

        asyncio.get_running_loop().call_later(self._redeliver_after, release)

    async def _delete_answered(self) -> bool:
        """Forget the receipts the applications answered; False when the store failed (they
        stay in flight, so none is sent twice meanwhile)."""
        for user in self.users.values():
            if not user.answered:
                continue
            ids = user.answered
            user.answered = []
            try:
                await self.store.smpp_outbox_done(ids)
            except StoreError as exc:
                log.warning("front door: cannot forget answered receipts: store: %s", exc)
                user.answered.extend(ids)
                return False
            user.in_flight.difference_update(ids)
        return True

    async def _expire_loop(self) -> None:
        while True:
            try:
                dropped = await self.store.smpp_outbox_expire(
                    self._clock() - self.config.receipt_keep
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
                "receipts_in_flight": len(user.in_flight),
            }
            for system_id, user in self.users.items()
        }


#: a message's state as query_sm's message_state (the queue's open states are ENROUTE)
_QUERY_STATES = {
    MessageState.QUEUED: DeliveryState.ENROUTE,
    MessageState.SENDING: DeliveryState.ENROUTE,
    MessageState.SUBMITTED: DeliveryState.ENROUTE,
    MessageState.DELIVERED: DeliveryState.DELIVERED,
    MessageState.UNDELIVERABLE: DeliveryState.UNDELIVERABLE,
    MessageState.EXPIRED: DeliveryState.EXPIRED,
    MessageState.REJECTED: DeliveryState.REJECTED,
    MessageState.FAILED: DeliveryState.UNDELIVERABLE,
    MessageState.UNKNOWN: DeliveryState.UNKNOWN,
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

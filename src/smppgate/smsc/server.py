"""The server side of SMPP: listeners, the connections and who is bound on them, and a
windowed delivery queue per bound client (system_id). What a request *means* is the
handler's: the server asks it whether to take a connection, whether a bind is accepted (by
callback: the handler answers with ``accept_bind`` or ``reject_bind``, now or later), what to
answer to each request, and what to do with a delivery's answer.

Two users: the platform emulator (``smppgate.emulator``) and the gateway's SMPP front door
(``smppgate.service.front_door``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from smppgate.pdu import CommandId, CommandStatus, DeliverSm, GenericNack, Pdu
from smppgate.session import (
    BindRequested,
    CloseReason,
    CloseRequested,
    Event,
    LocalProtocolError,
    ProtocolViolation,
    RequestAbandoned,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    SessionConfig,
    UnexpectedResponse,
    WindowFullError,
)
from smppgate.smsc.connection import FastRequest, ServerConnection
from smppgate.transport import SessionConnection, serve

if TYPE_CHECKING:
    from smppgate.smsc.handler import SmscHandler

log = logging.getLogger("smppgate.smsc")


class Delivery:
    """A deliver_sm (receipt or MO) for a bound receiver of one system_id. ``tag`` is the
    handler's own (what it needs when the answer comes)."""

    __slots__ = ("pdu", "tag")

    def __init__(self, pdu: DeliverSm, tag: object = None) -> None:
        self.pdu = pdu
        self.tag = tag


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class SmscServer:
    """Listeners and connections for one ``SmscHandler``; closed with ``aclose`` (idempotent).

    ``clock`` (seconds, any origin) is what the sessions' timers read; it defaults to the
    event loop's. ``fast_request`` is (command_id, hook): see ``ServerConnection``.
    ``queue_limit`` bounds each system_id's waiting deliveries (the oldest is dropped and
    handed to ``handler.delivery_dropped``); None keeps them all."""

    def __init__(
        self,
        handler: SmscHandler,
        session_config: SessionConfig,
        *,
        clock: Callable[[], float] | None = None,
        fast_request: tuple[CommandId, FastRequest] | None = None,
        queue_limit: int | None = None,
    ) -> None:
        self.handler = handler
        self.session_config = session_config
        #: the clock every session of this server reads
        self.now: Callable[[], float] = clock or _loop_time
        self.fast_request = fast_request
        self.queue_limit = queue_limit
        self.connections: dict[int, ServerConnection] = {}
        self._bound: dict[str, list[ServerConnection]] = {}
        self._pending: dict[str, deque[Delivery]] = {}
        self._rr: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self.addresses: list[tuple[str, int]] = []
        self._next_connection = 1
        self._closed = False

    def new_connection_id(self) -> int:
        number = self._next_connection
        self._next_connection += 1
        return number

    # ------------------------------------------------------------------ lifecycle

    async def listen(
        self,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        factory: Callable[[], ServerConnection] | None = None,
    ) -> tuple[str, int]:
        """Open a listener (port 0 picks a free one); returns its (host, port)."""
        server = await serve(
            factory or (lambda: ServerConnection(self)), host, port, ssl_context=ssl_context
        )
        self._servers.append(server)
        bound_host, bound_port = server.sockets[0].getsockname()[:2]
        address = (str(bound_host), int(bound_port))
        self.addresses.append(address)
        return address

    async def aclose(self) -> None:
        """Stop listening and drop every connection (no unbind). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for server in self._servers:
            server.close()
        connections = list(self.connections.values())
        for connection in connections:
            connection.abort()
        if connections:
            await asyncio.wait([c.closed for c in connections], timeout=5)
        for server in self._servers:
            await server.wait_closed()

    # ------------------------------------------------------------------ connections

    def connected(self, connection: ServerConnection) -> None:
        if not self.handler.connection_made(connection):
            connection.abort(CloseReason.POLICY)
            return
        self.connections[connection.id] = connection

    def disconnected(self, connection: ServerConnection) -> None:
        if self.connections.pop(connection.id, None) is None:
            return  # refused: never taken
        system_id = connection.system_id
        if system_id is not None:
            bound = self._bound.get(system_id)
            if bound and connection in bound:
                bound.remove(connection)
        self.handler.connection_lost(connection)

    def bound(self, system_id: str | None = None) -> list[ServerConnection]:
        """The bound connections of ``system_id`` (every one when None)."""
        if system_id is None:
            return [c for connections in self._bound.values() for c in connections]
        return list(self._bound.get(system_id, ()))

    def bound_count(self, system_id: str) -> int:
        return len(self._bound.get(system_id, ()))

    def accept_bind(
        self, connection: ServerConnection, event: BindRequested, system_id: str, our_id: str
    ) -> None:
        """Answer the bind with OK (``our_id`` is the bind_resp's system_id) and count the
        connection as bound for ``system_id``; waiting deliveries start flowing to it."""
        connection.system_id = system_id
        connection.run(lambda session, at: session.accept_bind(event.pdu, our_id, at))
        connection.bound_at = self.now()
        self._bound.setdefault(system_id, []).append(connection)
        if event.mode.can_receive:
            self.drain(system_id)

    def reject_bind(
        self, connection: ServerConnection, event: BindRequested, status: CommandStatus
    ) -> None:
        """Answer the bind with ``status``; the session closes after the answer."""
        connection.system_id = None  # never counted as a bound session of that system_id
        connection.run(lambda session, now: session.reject_bind(event.pdu, status, now))

    def unbind(self, system_id: str | None = None) -> int:
        """Send unbind on the bound sessions of ``system_id`` (all when None); returns how
        many. Each closes on the client's unbind_resp or after the unbind timeout."""
        targets = self.bound(system_id)
        for connection in targets:
            connection.run(lambda session, now: session.unbind(now))
        return len(targets)

    # ------------------------------------------------------------------ deliveries

    def pending(self, system_id: str) -> int:
        """Deliveries waiting for a receiver of ``system_id`` (not those in a window)."""
        queue = self._pending.get(system_id)
        return len(queue) if queue else 0

    def pending_by_system_id(self) -> dict[str, int]:
        return {k: len(v) for k, v in self._pending.items() if v}

    def can_deliver(self, system_id: str) -> bool:
        return any(c.can_receive for c in self._bound.get(system_id, ()))

    def deliver(self, system_id: str, delivery: Delivery) -> None:
        """Send now through a receiver with room in its window, or queue (in order)."""
        self.deliver_all(system_id, (delivery,))

    def deliver_all(self, system_id: str, deliveries: Sequence[Delivery]) -> None:
        """``deliver`` for each of ``deliveries`` in order, the receivers looked up once (a
        server's receipts come in bursts)."""
        queue = self._pending.get(system_id)
        sent = 0
        if not queue:
            receivers = self._receivers(system_id)
            if len(deliveries) == 1:
                sent = int(bool(receivers) and self._send_to(receivers, system_id, deliveries[0]))
            elif receivers:
                sent = self._send_all(receivers, system_id, deliveries)
            if sent == len(deliveries):
                return
        queue = self._queue(system_id)
        limit = self.queue_limit
        handler = self.handler
        for delivery in deliveries[sent:]:
            if limit is not None and len(queue) >= limit:
                handler.delivery_dropped(system_id, queue.popleft())
            queue.append(delivery)
            handler.delivery_queued(system_id, delivery)
            self.drain(system_id)

    def drain(self, system_id: str) -> None:
        """Send waiting deliveries while a receiver of ``system_id`` has room."""
        queue = self._pending.get(system_id)
        if not queue:
            return
        receivers = self._receivers(system_id)
        if not receivers:
            return
        while queue:
            if not self._send_to(receivers, system_id, queue[0]):
                return
            queue.popleft()

    def _queue(self, system_id: str) -> deque[Delivery]:
        queue = self._pending.get(system_id)
        if queue is None:
            queue = self._pending[system_id] = deque()
        return queue

    def _receivers(self, system_id: str) -> list[ServerConnection]:
        return [c for c in self._bound.get(system_id, ()) if c.can_receive]

    def _send(self, system_id: str, delivery: Delivery) -> bool:
        """Round robin over the receivers with a free window."""
        receivers = self._receivers(system_id)
        return bool(receivers) and self._send_to(receivers, system_id, delivery)

    def _send_all(
        self, receivers: list[ServerConnection], system_id: str, deliveries: Sequence[Delivery]
    ) -> int:
        """``_send_to`` for each of ``deliveries`` in order until no receiver has room; the
        receivers are chosen as ``_send_to`` would, one after the other, and each one's share
        is written in one batch (``Session.send_from``). Returns how many went out."""
        count = len(receivers)
        free = [connection.session.window_free for connection in receivers]
        shares: list[deque[tuple[Pdu, object]] | None] = [None] * count
        chosen: list[int] = []
        start = self._rr.get(system_id, 0)
        for delivery in deliveries:
            for offset in range(count):
                index = (start + offset) % count
                if free[index] > 0:
                    break
            else:
                break  # every window is full: the rest waits
            free[index] -= 1
            start += offset + 1
            share = shares[index]
            if share is None:
                share = shares[index] = deque()
            share.append((delivery.pdu, delivery))
            chosen.append(index)
        if not chosen:
            return 0
        self._rr[system_id] = start
        now = self.now()
        for index, share in enumerate(shares):
            if share is not None:
                connection = receivers[index]
                # it takes the whole share: a bound receiver with that much room
                result = connection.session.send_from(share, now)
                connection.wrote()
                for _, error in result.failed:
                    raise error  # as send_request raises it (a PDU that cannot be encoded)
        handler = self.handler
        for index, delivery in zip(chosen, deliveries, strict=False):
            handler.delivery_sent(receivers[index], delivery)
        return len(chosen)

    def _send_to(
        self, receivers: list[ServerConnection], system_id: str, delivery: Delivery
    ) -> bool:
        """``_send`` over ``receivers`` (the bound receivers of ``system_id``, looked up by
        the caller: sending does not change who can receive)."""
        start = self._rr.get(system_id, 0)
        count = len(receivers)
        for offset in range(count):
            connection = receivers[(start + offset) % count]
            if not connection.session.window_free:
                continue
            try:
                connection.send_request(delivery.pdu, context=delivery)
            except (WindowFullError, LocalProtocolError):
                continue
            self._rr[system_id] = start + offset + 1
            self.handler.delivery_sent(connection, delivery)
            return True
        return False

    # ------------------------------------------------------------------ events

    def on_events(self, connection: SessionConnection, events: Sequence[Event]) -> None:
        """The session's events, in order (the connections' handler)."""
        assert isinstance(connection, ServerConnection)
        handler = self.handler
        for event in events:
            if event.__class__ is ResponseReceived:
                # the common event (a deliver_sm answered) before the match's class patterns
                context = event.context
                if isinstance(context, Delivery):
                    handler.delivery_answered(connection, context, event.response)
                    if connection.system_id:
                        self.drain(connection.system_id)
                    continue
            match event:
                case RequestReceived(pdu=pdu):
                    handler.request(connection, pdu)
                case ResponseReceived(context=Delivery() as delivery, response=response):
                    handler.delivery_answered(connection, delivery, response)
                    if connection.system_id:
                        self.drain(connection.system_id)
                case ResponseReceived(response=GenericNack() as nack):
                    handler.unexpected_response(connection, nack)
                case ResponseReceived():
                    if connection.system_id:
                        self.drain(connection.system_id)
                case BindRequested():
                    handler.bind(connection, event)
                case UnexpectedResponse(pdu=pdu):
                    handler.unexpected_response(connection, pdu)
                case RequestTimedOut(context=Delivery() as delivery):
                    handler.delivery_timed_out(connection, delivery, event.sequence_number)
                case RequestAbandoned(context=Delivery() as delivery):
                    # the connection ended with it in the window: first in line again
                    if connection.system_id:
                        self._queue(connection.system_id).appendleft(delivery)
                case ProtocolViolation(detail=detail, answered_with=answered):
                    name = answered.name if answered is not None else "nothing"
                    handler.protocol_error(connection, f"{detail} -> {name}")
                case CloseRequested(reason=CloseReason.PEER_UNBOUND):
                    handler.peer_unbound(connection)
                case _:
                    pass

    def answer(self, connection: ServerConnection, request: Pdu, response: Pdu) -> None:
        """Send ``response`` unless the session ended meanwhile (an answer held back, or
        decided after an await)."""
        if connection.session.closed or not connection.is_open:
            return
        try:
            connection.send_response(request, response)
        except LocalProtocolError:
            log.debug("session %d ended before its answer to %s", connection.id, request)

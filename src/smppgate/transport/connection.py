"""One SMPP connection = one asyncio transport + one sans-IO ``Session``.

The protocol object is a thin loop around the session: bytes read go to
``session.receive_data``, bytes the session wants written are flushed once per loop
iteration (many PDUs, one write), the session's deadlines become one ``call_at`` timer, and
the events go to the handler. It makes no protocol decision of its own, except carrying out
``CloseRequested``: flush, then close.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Protocol, cast

from smppgate.pdu import Pdu
from smppgate.session import CloseReason, CloseRequested, Event, Session

log = logging.getLogger("smppgate.transport")


class EventHandler(Protocol):
    """Receives a connection's events, in order, on the loop thread. Must not block."""

    def __call__(self, connection: SessionConnection, events: list[Event]) -> None: ...


class SessionConnection(asyncio.Protocol):
    """Drives one ``Session`` over an asyncio transport."""

    def __init__(
        self,
        session: Session,
        handler: EventHandler,
        *,
        clock: Callable[[], float] | None = None,
        name: str = "",
    ) -> None:
        self.session = session
        self.handler = handler
        self.name = name
        self._loop = asyncio.get_running_loop()
        self._clock = clock or self._loop.time
        self._transport: asyncio.Transport | None = None
        self._flush_scheduled = False
        self._dispatching = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._writable = asyncio.Event()
        self._writable.set()
        self.connected = self._loop.create_future()
        self.closed = self._loop.create_future()
        self.close_reason: CloseReason | None = None
        self.peer: tuple[str, int] | None = None

    # -------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (asyncio's, or uvloop's, which does not subclass asyncio.Transport)
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), int(peer[1])) if peer else None
        self.session.start(self._clock())
        if not self.connected.done():
            self.connected.set_result(None)
        self._arm_timer()

    def data_received(self, data: bytes) -> None:
        events = self.session.receive_data(data, self._clock())
        self._after(events)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        events = self.session.connection_lost(self._clock())
        if self.close_reason is None:
            self.close_reason = CloseReason.CONNECTION_LOST
        self._writable.set()
        if events:
            self.handler(self, events)
        if not self.closed.done():
            self.closed.set_result(self.close_reason)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -------------------------------------------------------------- commands

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def now(self) -> float:
        return self._clock()

    def send_request(self, pdu: Pdu, context: object = None) -> int:
        """Send a request through the session (its errors propagate); returns the seq."""
        now = self._clock()
        seq = self.session.send_request(pdu, now, context)
        self._schedule_flush()
        deadline = now + self.session.config.response_timeout
        if self._timer is None or deadline < self._timer_at:
            self._arm_timer()
        return seq

    def wrote(self) -> None:
        """The caller gave ``session.send_request`` requests directly (a batch): flush them
        (once per loop iteration) and make sure the response timer is armed."""
        self._schedule_flush()
        deadline = self._clock() + self.session.config.response_timeout
        if self._timer is None or deadline < self._timer_at:
            self._arm_timer()

    def send_response(self, request: Pdu, response: Pdu) -> None:
        self.session.send_response(request, response, self._clock())
        self._schedule_flush()

    def run(self, action: Callable[[Session, float], list[Event] | object]) -> None:
        """Apply a session command (bind, accept_bind, unbind...) and carry out its effects."""
        result = action(self.session, self._clock())
        events = result if isinstance(result, list) else []
        self._after(events)

    async def drain(self) -> None:
        """Wait until the transport's write buffer has room again."""
        await self._writable.wait()

    def abort(self, reason: CloseReason = CloseReason.POLICY) -> None:
        """Close now without unbinding (the session reports its pending requests)."""
        self.close_reason = self.close_reason or reason
        if self._transport is not None:
            self._transport.abort()

    def close(self, reason: CloseReason = CloseReason.POLICY) -> None:
        """Flush what the session wrote, then close the transport."""
        self.close_reason = self.close_reason or reason
        self.flush()
        if self._transport is not None:
            self._transport.close()

    # -------------------------------------------------------------- internals

    def _after(self, events: list[Event]) -> None:
        # what the session wrote while reading (answers to deliver_sm, enquire_link) goes out
        # before the handler runs
        self.flush()
        if events:
            close: CloseRequested | None = None
            for event in events:
                if event.__class__ is CloseRequested:
                    close = event
            self._dispatching = True
            try:
                self.handler(self, events)
            finally:
                self._dispatching = False
            # requests the handler sent go out in the same write, not one iteration later
            self.flush()
            if close is not None:
                self.close(close.reason)
                return
        self._arm_timer()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and not self._dispatching:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write what the session has written so far now, not at the end of the dispatch (a
        handler that refills a window before handing out a batch of results lets the peer work
        on the next requests meanwhile)."""
        self._flush_scheduled = False
        data = self.session.data_to_send()
        if data and self._transport is not None:
            data = self.filter_output(data)
            if data:
                self._transport.write(data)

    def filter_output(self, data: bytes) -> bytes:
        """What actually goes on the wire of the bytes the session wrote (whole PDUs).

        A hook for subclasses: the emulator withholds PDUs here to play a silent or
        half-deaf SMSC. The default writes everything."""
        return data

    def _arm_timer(self) -> None:
        deadline = self.session.next_deadline()
        if deadline is None or self._transport is None:
            return
        if self._timer is not None:
            if self._timer_at <= deadline and not self._timer.cancelled():
                return
            self._timer.cancel()
        # deadlines are in the clock's time; the loop's timer runs on loop time
        delay = max(0.0, deadline - self._clock())
        self._timer_at = deadline
        self._timer = self._loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        events = self.session.tick(self._clock())
        self._after(events)


async def connect(
    host: str,
    port: int,
    session: Session,
    handler: EventHandler,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    connect_timeout: float = 30.0,
    clock: Callable[[], float] | None = None,
    name: str = "",
) -> SessionConnection:
    """Open a TCP (or TLS) connection driven by ``session``."""
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: SessionConnection(session, handler, clock=clock, name=name),
            host,
            port,
            ssl=ssl_context,
            server_hostname=server_hostname if ssl_context else None,
        ),
        connect_timeout,
    )
    return protocol


async def serve(
    factory: Callable[[], SessionConnection],
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    backlog: int = 128,
) -> asyncio.Server:
    """Listen on ``host:port``; every accepted connection gets ``factory()``."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(factory, host, port, ssl=ssl_context, backlog=backlog)

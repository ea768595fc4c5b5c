"""One SMPP connection = one asyncio transport + one sans-IO ``Session``.

The protocol object is a thin loop around the session: bytes read go to
``session.receive_data``, bytes the session wants written are flushed once per loop
iteration (many PDUs, one write), the session's deadlines become one ``call_at`` timer, and
the events go to the handler. It makes no protocol decision of its own, except carrying out
``CloseRequested``: flush, then close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

from smppgate.pdu import Pdu
from smppgate.session import CloseReason, CloseRequested, Event, Session

log = logging.getLogger("smppgate.transport")

#: Linux ``struct tcp_info``: tcpi_bytes_acked (u64) at offset 120 — data bytes the peer's TCP
#: acknowledged, plus one for the SYN (kernel 4.1 and later)
_TCP_INFO_LEN = 128
_BYTES_ACKED = struct.Struct("=Q")
_BYTES_ACKED_AT = 120


@dataclass(frozen=True, slots=True)
class TcpOptions:
    """Socket options of an SMPP connection that find a dead link sooner than SMPP's own
    timers (Linux; ignored elsewhere). Seconds; 0 turns one off."""

    user_timeout: float = 20.0
    """TCP_USER_TIMEOUT: data unacknowledged this long aborts the connection (a dark link
    is dropped before the response timeout, and its unacknowledged submits are known)."""
    keepalive_idle: float = 30.0
    """SO_KEEPALIVE + TCP_KEEPIDLE: probe an idle connection after this long."""
    keepalive_interval: float = 10.0
    keepalive_count: int = 3

    def apply(self, sock: socket.socket) -> None:
        if not sys.platform.startswith("linux"):
            return
        with contextlib.suppress(OSError, AttributeError):
            if self.user_timeout > 0:
                ms = int(self.user_timeout * 1000)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, ms)
            if self.keepalive_idle > 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                idle = max(1, int(self.keepalive_idle))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
                interval = max(1, int(self.keepalive_interval))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, interval)
                count = max(1, self.keepalive_count)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)


def peer_acknowledged(sock: socket.socket | None) -> int | None:
    """How many bytes of what we wrote the peer's TCP acknowledged, from the kernel (Linux
    TCP_INFO); None where that cannot be known (another OS, no socket, a closed one)."""
    if sock is None or not sys.platform.startswith("linux"):
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_LEN)
    except (OSError, ValueError, AttributeError):
        return None
    if len(info) < _BYTES_ACKED_AT + 8:
        return None  # a kernel older than tcpi_bytes_acked
    acked: int = _BYTES_ACKED.unpack_from(info, _BYTES_ACKED_AT)[0]
    return max(0, acked - 1)


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
        tcp: TcpOptions | None = None,
    ) -> None:
        self.session = session
        self._tcp = tcp
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
        #: the plain TCP socket (None with TLS: its stream is records, not our bytes)
        self._sock: socket.socket | None = None
        self._acked_at_close: int | None = None
        #: the link died under this connection (the kernel gave up on unacknowledged data or
        #: unanswered keepalives, or we dropped it for a stalled link) — unlike a peer that
        #: closed or reset it, which was there to receive what we sent (its ACK may just not
        #: have been sent yet)
        self.link_dead = False

    # -------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (asyncio's, or uvloop's, which does not subclass asyncio.Transport)
        self._transport = cast(asyncio.Transport, transport)
        raw = transport.get_extra_info("socket")
        if self._tcp is not None and raw is not None and hasattr(raw, "setsockopt"):
            self._tcp.apply(cast(socket.socket, raw))
        if transport.get_extra_info("sslcontext") is None:
            sock = transport.get_extra_info("socket")
            if sock is not None and hasattr(sock, "getsockopt"):  # asyncio's, uvloop's
                self._sock = cast(socket.socket, sock)
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
        # (the socket is still open here: what the peer acknowledged is read before it closes)
        if isinstance(exc, TimeoutError):  # ETIMEDOUT: TCP_USER_TIMEOUT, keepalive
            self.link_dead = True
        acked = self._acked_at_close = peer_acknowledged(self._sock)
        if self.link_dead and acked is not None and acked < self.session.bytes_out:
            # requests never acknowledged are treated as never received (and sent again
            # elsewhere): the kernel must not deliver them later from an orphaned socket
            _discard_unsent(self._sock)
        self._sock = None
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

    def acknowledge(self, seq: int) -> bool:
        """Answer a deliver_sm / data_sm whose answer the session deferred (status 0)."""
        if not self.session.acknowledge(seq, self._clock()):
            return False
        self._schedule_flush()
        return True

    def peer_acknowledged(self) -> int | None:
        """How many bytes of the session's outgoing stream (``Session.bytes_out``) the peer's
        TCP acknowledged; None when unknown (TLS, not Linux): then nothing is concluded."""
        if self._sock is None:
            return self._acked_at_close
        return peer_acknowledged(self._sock)

    def pause_reading(self) -> None:
        """Read nothing more until ``resume_reading`` (backpressure: TCP's window closes, the
        peer stops sending)."""
        if self._transport is not None and self._transport.is_reading():
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None and not self._transport.is_reading():
            self._transport.resume_reading()

    def run(self, action: Callable[[Session, float], list[Event] | object]) -> None:
        """Apply a session command (bind, accept_bind, unbind...) and carry out its effects."""
        result = action(self.session, self._clock())
        events = result if isinstance(result, list) else []
        self._after(events)

    async def drain(self) -> None:
        """Wait until the transport's write buffer has room again."""
        await self._writable.wait()

    def abort(self, reason: CloseReason = CloseReason.POLICY) -> None:
        """Close now without unbinding (the session reports its pending requests); bytes the
        peer did not acknowledge yet are discarded (a reset), never sent after the close."""
        self.close_reason = self.close_reason or reason
        if reason is CloseReason.LINK_STALLED:
            self.link_dead = True
        _discard_unsent(self._sock)
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


def _discard_unsent(sock: socket.socket | None) -> None:
    """SO_LINGER 0: closing the socket resets the connection and drops its send queue."""
    if sock is None:
        return
    with contextlib.suppress(OSError, ValueError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


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
    tcp: TcpOptions | None = None,
) -> SessionConnection:
    """Open a TCP (or TLS) connection driven by ``session`` (``tcp``: its socket options)."""
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: SessionConnection(session, handler, clock=clock, name=name, tcp=tcp),
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

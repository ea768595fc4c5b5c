"""One accepted connection: a ``SessionConnection`` whose session plays the SMSC role, and who
bound on it.

A server may hand its connections a *fast request* hook: then frames are cut here and a frame
whose command_id is the hook's is offered to it first, as bytes; the hook answers it straight
from them (returns the whole response) or declines (None) and the frame goes through the
session like any other; a run of responses (deliver_sm_resp) goes to the session at once, as a
chunk would without the hook. Everything the session and the handler write for one chunk read
goes out in one write, in order. Without a hook the connection is the plain transport loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from smppgate.session import CloseRequested, Role, Session
from smppgate.transport import SessionConnection

if TYPE_CHECKING:
    from smppgate.smsc.server import SmscServer

#: answers one whole request frame from its bytes, or None to send it the long way
FastRequest = Callable[["ServerConnection", bytes], bytes | None]

_HEADER = 16
_RESPONSE_BIT = 0x80  # of a command_id's first octet


class ServerConnection(SessionConnection):
    """A client's connection to an ``SmscServer``. ``system_id`` is set by the server once a
    bind is accepted (and cleared if it is refused); ``bound_at`` is the clock time then."""

    def __init__(self, server: SmscServer) -> None:
        super().__init__(
            Session(Role.SMSC, server.session_config, server.now()),
            server.on_events,
            clock=server.now,
        )
        self.server = server
        self.id = server.new_connection_id()
        self.name = f"s{self.id}"
        self.system_id: str | None = None
        self.bound_at: float | None = None
        self._rx = b""
        fast = server.fast_request
        self._fast: FastRequest | None = None if fast is None else fast[1]
        self._fast_command = b"" if fast is None else fast[0].to_bytes(4, "big")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.server.connected(self)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.server.disconnected(self)

    @property
    def can_receive(self) -> bool:
        """Bound as a receiver or transceiver: deliveries may go to it."""
        mode = self.session.mode
        return mode is not None and mode.can_receive and self.session.state.is_bound

    def stop_fast_path(self) -> None:
        """From now on every frame goes through the session (the stream is in doubt)."""
        self._fast = None

    def data_received(self, data: bytes) -> None:
        fast = self._fast
        if fast is None:
            super().data_received(data)
            return
        buffer = self._rx + data if self._rx else data
        end = len(buffer)
        position = 0
        out: list[bytes] = []
        session = self.session
        command = self._fast_command
        limit = session.config.max_command_length
        while end - position >= _HEADER:
            length = int.from_bytes(buffer[position : position + 4], "big")
            if length < _HEADER or length > limit:
                # the stream cannot be delimited: the session answers and closes
                self._fast = None
                self._rx = b""
                self._write(out)
                super().data_received(buffer[position:])
                return
            if end - position < length:
                break
            start = position
            frame = buffer[position : position + length]
            position += length
            if frame[4:8] == command:
                response = fast(self, frame)
                if response is not None:
                    out.append(response)
                    continue
            elif frame[4] & _RESPONSE_BIT:
                # a response (deliver_sm_resp): the whole run of responses that follows goes
                # to the session at once, as a chunk without the hook would
                while end - position >= _HEADER:
                    length = int.from_bytes(buffer[position : position + 4], "big")
                    if (
                        length < _HEADER
                        or length > limit
                        or end - position < length
                        or not buffer[position + 4] & _RESPONSE_BIT
                    ):
                        break
                    position += length
                if position - start > len(frame):
                    frame = buffer[start:position]
            # the long way, still one write per chunk: whatever the session and the handler
            # write joins ``out`` in order
            events = session.receive_data(frame, self.now())
            written = session.data_to_send()
            if written:
                out.append(written)
            if events:
                self.handler(self, events)
                written = session.data_to_send()
                if written:
                    out.append(written)
                for event in events:
                    if isinstance(event, CloseRequested):
                        self._rx = b""
                        self._write(out)
                        self.close(event.reason)
                        return
            if session.closed or not self.is_open:  # closed by the session or the handler
                self._rx = b""
                self._write(out)
                return
        self._rx = buffer[position:]
        self._write(out)
        self._arm_timer()

    def _write(self, responses: list[bytes]) -> None:
        if responses and self._transport is not None and not self._transport.is_closing():
            data = self.filter_output(b"".join(responses))
            if data:
                self._transport.write(data)

"""The webhook sender's HTTP/1.1 client: one POST, its status, and the connection kept for
the next POST to the same receiver.

A webhook needs little of HTTP: a POST with a body of known length, the status line of the
answer, and the answer's body read to its end so that the connection can carry the next
request. A general client (aiohttp's) spent ~0.17-0.25 ms of CPU per POST on this machine,
half of what a message cost the gateway end to end; this one writes the request in one
``write`` and reads the answer in an `asyncio.Protocol`. The HTTP itself is h11's (sans-IO:
it serializes the request and parses the answer; this module only moves the bytes and keeps
the connections), so framing, 1xx answers, keep-alive and malformed answers follow a
well-kept implementation of RFC 9112 rather than one written here.

What it keeps of a careful client: the host is resolved by the sender's `CheckedResolver`
(only addresses the egress policy allows; an address literal is checked when its URL is),
https with the system's CA store and the host name checked, no proxy, no redirects (a 3xx is
an answer like any other), 1xx answers skipped, bodies framed by ``Content-Length``, chunked
or the end of the connection, ``Connection: close`` honoured, an answer's head at most
`MAX_HEAD` bytes and a body longer than `MAX_BODY` not read (the connection is closed
instead), and a kept connection that the receiver closed while it was idle replaced once, at
once (the POST is sent again on a new connection: a receiver may see it twice, as it may on
any retry; deliveries are at least once).
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import socket
import ssl
import time
from typing import Final, cast

import h11
from aiohttp.abc import AbstractResolver

from smppgate.service.egress import Target

__all__ = ["HttpError", "WebhookHttp"]

#: the most an answer's status line and headers may take (h11's limit on what it buffers
#: of an event not yet whole: a head, a chunk's size line, a trailer)
MAX_HEAD: Final = 64 * 1024
#: an answer's body beyond this is not read: the connection is closed instead
MAX_BODY: Final = 1024 * 1024
#: a kept connection idle longer than this is closed rather than used (receivers close
#: theirs after 5-75 s; a POST on one closed at that moment would have to be sent again)
IDLE_SECONDS: Final = 4.0


class HttpError(Exception):
    """The receiver gave no usable HTTP answer (closed the connection, or sent what is not
    HTTP/1.x)."""


class _StaleError(HttpError):
    """A kept connection closed before any byte of the answer came: send again on a new one."""


class _Connection(asyncio.Protocol):
    """One connection; one request at a time. `request` returns the answer's status once its
    body has been read (or skipped, when the connection closes after it)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self._http = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self._waiter: asyncio.Future[int] | None = None
        self._got_bytes = False
        self._eof = False
        self._status = 0
        self._read = 0

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (uvloop's is not registered as an asyncio.Transport)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        self._got_bytes = True
        self._http.receive_data(data)
        self._advance()

    def eof_received(self) -> bool | None:
        self._end()
        return None  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._end()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(HttpError("the connection was closed mid-answer"))

    # -- use

    async def request(self, request: h11.Request, body: bytes) -> int:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise _StaleError("the connection is closed")
        http = self._http
        if http.our_state is h11.DONE and http.their_state is h11.DONE:
            http.start_next_cycle()  # the previous exchange is over: the next one
        self._got_bytes, self._status, self._read = False, 0, 0
        self._waiter = asyncio.get_running_loop().create_future()
        # the whole request in one write (h11 checks the body against its Content-Length)
        data = http.send(request) + http.send(h11.Data(data=body)) + http.send(h11.EndOfMessage())
        self.transport.write(data)
        try:
            return await self._waiter
        finally:
            self._waiter = None
            self.idle_since = time.monotonic()

    @property
    def reusable(self) -> bool:
        http = self._http
        return (
            not self.closed
            and http.our_state is h11.DONE
            and http.their_state is h11.DONE
            and not http.trailing_data[0]  # bytes after the answer: out of step
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- the answer, as h11 reads it

    def _end(self) -> None:
        """The receiver closed its side: h11 learns it (an answer framed by the close ends)."""
        if not self._eof:
            self._eof = True
            self._http.receive_data(b"")
            self._advance()

    def _advance(self) -> None:
        waiter = self._waiter
        while waiter is not None and not waiter.done():
            try:
                event = self._http.next_event()
            except h11.RemoteProtocolError as exc:
                if self._got_bytes:
                    self._fail(HttpError(f"not a usable HTTP/1.x answer: {exc}"))
                else:  # h11's word for an end before any answer
                    self._fail(_StaleError("closed before an answer"))
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            self._event(waiter, event)

    def _event(self, waiter: asyncio.Future[int], event: object) -> None:
        if isinstance(event, h11.Response):
            self._status = event.status_code
            if _declared_length(event) > MAX_BODY:
                self._skip_body()
        elif isinstance(event, h11.Data):
            self._read += len(event.data)
            if self._read > MAX_BODY:
                self._skip_body()
        elif isinstance(event, h11.EndOfMessage):
            waiter.set_result(self._status)
        elif isinstance(event, h11.ConnectionClosed):
            if self._got_bytes:
                self._fail(HttpError("the connection was closed mid-answer"))
            else:
                self._fail(_StaleError("closed before an answer"))
        # an InformationalResponse (100 Continue, 103): the real answer follows

    def _fail(self, exc: HttpError) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _skip_body(self) -> None:
        """A body too long to read for nothing: the status is known, the connection goes."""
        assert self._waiter is not None
        self._waiter.set_result(self._status)
        self.close()


def _declared_length(response: h11.Response) -> int:
    """An answer's Content-Length (h11 has checked that it is digits), 0 without one."""
    for name, value in response.headers:
        if name == b"content-length":
            return int(value)
    return 0


class WebhookHttp:
    """POSTs over kept connections, per receiver (scheme, host and port). The caller bounds
    how many run at once to one receiver (``per_host``); as many connections stay open."""

    def __init__(self, resolver: AbstractResolver, timeout: float, keep: int) -> None:
        self._resolver = resolver
        self._timeout = timeout
        self._keep = keep
        self._idle: dict[Target, collections.deque[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, target: Target, path: str, head: bytes, body: bytes) -> int:
        """POST ``body`` to ``target``: ``head`` is the header lines after the Host line,
        each ending in CRLF (Content-Length is added). Returns the answer's status; raises
        TimeoutError after the timeout, `HttpError` or OSError when there is no answer,
        ValueError for a path or header HTTP/1.1 cannot carry."""
        try:
            request = h11.Request(
                method=b"POST",
                target=path.encode("ascii"),
                headers=[
                    (b"Host", _host_header(target).encode("ascii")),
                    *_header_pairs(head),
                    (b"Content-Length", b"%d" % len(body)),
                ],
            )
        except (h11.LocalProtocolError, UnicodeEncodeError) as exc:  # both ValueErrors to callers
            raise ValueError(f"a request HTTP/1.1 cannot carry: {exc}") from None
        async with asyncio.timeout(self._timeout):
            connection = self._take(target)
            if connection is not None:
                try:
                    status = await connection.request(request, body)
                except _StaleError:
                    connection.close()
                    connection = None
                except BaseException:
                    connection.close()
                    raise
                else:
                    self._give_back(target, connection)
                    return status
            connection = await self._connect(target)
            try:
                status = await connection.request(request, body)
            except BaseException:
                connection.close()
                raise
            self._give_back(target, connection)
            return status

    async def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        await self._resolver.close()

    def _take(self, target: Target) -> _Connection | None:
        idle = self._idle.get(target)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be closed
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.close()
        return None

    def _give_back(self, target: Target, connection: _Connection) -> None:
        if not connection.reusable:
            connection.close()
            return
        idle = self._idle.setdefault(target, collections.deque())
        idle.append(connection)
        while len(idle) > self._keep:
            idle.popleft().close()

    async def _connect(self, target: Target) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = self._context() if target.scheme == "https" else None
        addresses: list[tuple[str, int, int]]
        try:
            ipaddress.ip_address(target.host.strip("[]"))
            # an address literal: its URL was checked against the policy as it is written
            addresses = [(target.host.strip("[]"), target.port, 0)]
        except ValueError:
            found = await self._resolver.resolve(target.host, target.port, socket.AF_UNSPEC)
            addresses = [(r["host"], r["port"], r["family"]) for r in found]
        failed: OSError | None = None
        for host, port, family in addresses:
            try:
                _, protocol = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    family=family,
                    ssl=tls,
                    server_hostname=target.host if tls is not None else None,
                )
            except OSError as exc:
                failed = exc
                continue
            return protocol
        if failed is not None:
            raise failed
        raise OSError(f"{target.host} resolves to no address")

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def _host_header(target: Target) -> str:
    host = target.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def _header_pairs(head: bytes) -> list[tuple[bytes, bytes]]:
    """Header lines (``Name: value`` each ending in CRLF) as h11's name and value pairs."""
    pairs = []
    for line in head.split(b"\r\n"):
        if line:
            name, _, value = line.partition(b":")
            pairs.append((name, value.strip()))
    return pairs

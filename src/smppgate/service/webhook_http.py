"""The webhook sender's HTTP/1.1 client: one POST, its status, and the connection kept for
the next POST to the same receiver.

A webhook needs little of HTTP: a POST with a body of known length, the status line of the
answer, and the answer's body read to its end so that the connection can carry the next
request. A general client (aiohttp's) spent ~0.17-0.25 ms of CPU per POST on this machine,
half of what a message cost the gateway end to end; this one writes the request in one
``write`` of prepared bytes and reads the answer in a `asyncio.Protocol`, a few tens of
microseconds.

What it keeps of a careful client: the host is resolved by the sender's `CheckedResolver`
(only addresses the egress policy allows; an address literal is checked when its URL is),
https with the system's CA store and the host name checked, no proxy, no redirects (a 3xx is
an answer like any other), 1xx answers skipped, bodies framed by ``Content-Length``, chunked
or the end of the connection, ``Connection: close`` honoured, and a kept connection that the
receiver closed while it was idle replaced once, at once (the POST is sent again on a new
connection: a receiver may see it twice, as it may on any retry; deliveries are at least once).
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import socket
import ssl
import time
from typing import Final, cast

from aiohttp.abc import AbstractResolver

from smppgate.service.egress import Target

__all__ = ["HttpError", "WebhookHttp"]

#: the most an answer's status line and headers may take
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
        self._buffer = bytearray()
        self._waiter: asyncio.Future[int] | None = None
        self._got_bytes = False
        self._status = 0
        self._keep = True
        # the body being read: "length" (self._left bytes), "chunked" (a size line, the data
        # and its CRLF, the trailer), "close" (until the connection ends), or "" (no answer)
        self._body = ""
        self._left = 0
        self._chunk = "size"
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
        self._buffer += data
        try:
            self._advance()
        except HttpError as exc:
            self._fail(exc)

    def eof_received(self) -> bool | None:
        if self._body == "close" and self._waiter is not None and not self._waiter.done():
            self._keep = False
            self._waiter.set_result(self._status)
        return None  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self._body == "close":
                self._waiter.set_result(self._status)
            elif not self._got_bytes:
                self._waiter.set_exception(_StaleError("closed before an answer"))
            else:
                self._waiter.set_exception(HttpError("the connection was closed mid-answer"))

    # -- use

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise _StaleError("the connection is closed")
        self._buffer.clear()
        self._got_bytes = False
        self._status, self._keep, self._body, self._read = 0, True, "", 0
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        try:
            return await self._waiter
        finally:
            self._waiter = None
            self.idle_since = time.monotonic()

    @property
    def reusable(self) -> bool:
        return self._keep and not self.closed and not self._buffer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # -- parsing

    def _fail(self, exc: Exception) -> None:
        self._keep = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def _advance(self) -> None:
        while self._waiter is not None and not self._waiter.done():
            if not self._body:
                if not self._head():
                    return
            elif self._body == "length":
                taken = min(self._left, len(self._buffer))
                del self._buffer[:taken]
                self._left -= taken
                if self._left:
                    return
                self._done()
            elif self._body == "chunked":
                if not self._chunked():
                    return
            else:  # "close": the body runs until the connection ends
                self._buffer.clear()
                return

    def _head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise HttpError(f"an answer's head longer than {MAX_HEAD} bytes")
            return False
        lines = bytes(self._buffer[:end]).split(b"\r\n")
        del self._buffer[: end + 4]
        status, keep, headers = _parse_head(lines)
        if 100 <= status < 200:
            return True  # an interim answer (100 Continue, 103): the real one follows
        self._status, self._keep = status, keep
        length = headers.get(b"content-length")
        if status in (204, 304):
            self._done()
        elif b"chunked" in headers.get(b"transfer-encoding", b""):
            self._body, self._chunk = "chunked", "size"
        elif length is not None:
            if not length.isdigit():
                raise HttpError(f"a bad Content-Length: {length[:40]!r}")
            self._body, self._left = "length", int(length)
            if self._left > MAX_BODY:
                self._skip_body()
        else:
            self._body, self._keep = "close", False
        return True

    def _chunked(self) -> bool:
        """Read what the buffer holds of a chunked body; False: more bytes are needed."""
        while True:
            if self._chunk == "data":
                taken = min(self._left, len(self._buffer))
                del self._buffer[:taken]
                self._left -= taken
                if self._left:
                    return False
                self._chunk = "size"
                continue
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise HttpError("a chunk size or trailer line too long")
                return False
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            if self._chunk == "trailer":
                if not line:
                    self._done()
                    return True
            elif not self._chunk_size(line):
                return True

    def _chunk_size(self, line: bytes) -> bool:
        """A chunk's size line; False: the body ends here (skipped, too long)."""
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(f"a bad chunk size: {line[:40]!r}") from None
        if size == 0:
            self._chunk = "trailer"
            return True
        self._read += size
        if self._read > MAX_BODY:
            self._skip_body()
            return False
        self._chunk, self._left = "data", size + 2  # the data and its CRLF
        return True

    def _skip_body(self) -> None:
        """A body too long to read for nothing: the status is known, the connection goes."""
        self._keep = False
        self._done()
        self.close()

    def _done(self) -> None:
        self._body = "done"
        assert self._waiter is not None
        self._waiter.set_result(self._status)


def _parse_head(lines: list[bytes]) -> tuple[int, bool, dict[bytes, bytes]]:
    """An answer's status, whether its connection may be kept, and its headers (names and
    values in lower case)."""
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or not code.isdigit():
        raise HttpError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise HttpError(f"a malformed header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip().lower()
    connection = headers.get(b"connection", b"")
    keep = b"close" not in connection and (version == b"HTTP/1.1" or b"keep-alive" in connection)
    return int(code), keep, headers


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
        TimeoutError after the timeout, `HttpError` or OSError when there is no answer."""
        request = b"".join(
            (
                f"POST {path} HTTP/1.1\r\nHost: {_host_header(target)}\r\n".encode("ascii"),
                head,
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        async with asyncio.timeout(self._timeout):
            connection = self._take(target)
            if connection is not None:
                try:
                    status = await connection.request(request)
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
                status = await connection.request(request)
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

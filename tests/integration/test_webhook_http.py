"""The webhook sender's HTTP/1.1 client against raw servers on 127.0.0.1 that answer exactly
as each test scripts: kept connections, the ways an answer's body is framed, interim answers,
a receiver that closes an idle connection, answers that are not HTTP, and the same under
uvloop (the loop `smppgate serve` runs on)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import uvloop

from smppgate.service.egress import EgressPolicy, Target
from smppgate.service.webhook_http import MAX_BODY, MAX_HEAD, HttpError, WebhookHttp
from smppgate.service.webhooks import CheckedResolver

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Script:
    """What the server answers to its n-th request (over all connections), and what it saw."""

    answers: Callable[[int], bytes | list[bytes] | None]
    close_after: Callable[[int], bool] = lambda n: False
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


@asynccontextmanager
async def server(script: Script) -> AsyncIterator[Target]:
    handlers: set[asyncio.Task[object]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        script.connections += 1
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                n = len(script.requests)
                script.requests.append(head + body)
                answer = script.answers(n)
                if answer is None:
                    await asyncio.sleep(3600)  # a receiver that never answers
                for piece in [answer] if isinstance(answer, bytes) else answer:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)
                if script.close_after(n):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield Target("http", "127.0.0.1", port)
    finally:
        listener.close()
        # the client closed its connections: their handlers end; one left waiting forever
        # (a receiver that never answers) is stopped
        _, pending = await asyncio.wait(handlers, timeout=2) if handlers else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def client(timeout: float = 5.0) -> WebhookHttp:
    return WebhookHttp(CheckedResolver(EgressPolicy(allow_private=True)), timeout, keep=4)


HEAD = b"Content-Type: application/json\r\nX-Smppgate-Delivery: 7\r\n"


async def test_posts_go_over_one_kept_connection() -> None:
    script = Script(lambda n: OK)
    async with server(script) as target:
        http = client()
        statuses = [await http.post(target, "/hook?x=1", HEAD, b'{"n":%d}' % i) for i in range(3)]
        await http.close()
    assert statuses == [200, 200, 200]
    assert script.connections == 1
    first = script.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nX-Smppgate-Delivery: 7\r\nContent-Length: 7\r\n\r\n" in first
    assert first.endswith(b'{"n":0}')


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ],
    ids=["chunked", "interim-answer", "no-body"],
)
async def test_framed_answers_keep_the_connection(answer: bytes) -> None:
    script = Script(lambda n: answer)
    async with server(script) as target:
        http = client()
        first = await http.post(target, "/", HEAD, b"{}")
        second = await http.post(target, "/", HEAD, b"{}")
        await http.close()
    assert first == second == (204 if b"204" in answer else 202)
    assert script.connections == 1


async def test_an_answer_in_pieces_is_read_whole() -> None:
    pieces = [b"HTTP/1.1 200 OK\r\nConte", b"nt-Length: 5\r\n\r\nab", b"cde"]
    script = Script(lambda n: pieces)
    async with server(script) as target:
        http = client()
        assert [await http.post(target, "/", HEAD, b"{}") for _ in range(2)] == [200, 200]
        await http.close()
    assert script.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_a_connection_the_receiver_ends_is_not_used_again(answer: bytes) -> None:
    script = Script(lambda n: answer, close_after=lambda n: True)
    async with server(script) as target:
        http = client()
        assert [await http.post(target, "/", HEAD, b"{}") for _ in range(3)] == [200] * 3
        await http.close()
    assert script.connections == 3
    assert len(script.requests) == 3


async def test_a_body_until_the_connection_ends() -> None:
    answer = b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nall of it"
    script = Script(lambda n: answer, close_after=lambda n: True)
    async with server(script) as target:
        http = client()
        assert [await http.post(target, "/", HEAD, b"{}") for _ in range(2)] == [201, 201]
        await http.close()
    assert script.connections == 2


async def test_an_idle_connection_the_receiver_closed_is_replaced_and_the_post_sent_once() -> None:
    # the receiver closes each connection after its answer without saying so (its
    # keep-alive timeout ran out): the next POST finds the kept connection dead
    script = Script(lambda n: OK, close_after=lambda n: True)
    async with server(script) as target:
        http = client()
        assert await http.post(target, "/", HEAD, b'{"n":1}') == 200
        await asyncio.sleep(0.1)  # the close has arrived
        assert await http.post(target, "/", HEAD, b'{"n":2}') == 200
        await http.close()
    assert [r.endswith(b'{"n":2}') for r in script.requests] == [False, True]
    assert script.connections == 2


async def test_a_redirect_is_an_answer_not_followed() -> None:
    answer = b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n"
    script = Script(lambda n: answer)
    async with server(script) as target:
        http = client()
        assert await http.post(target, "/", HEAD, b"{}") == 302
        await http.close()
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n"],
    ids=["not-http", "bad-header"],
)
async def test_what_is_not_http_is_an_error(answer: bytes) -> None:
    script = Script(lambda n: answer)
    async with server(script) as target:
        http = client()
        with pytest.raises(HttpError):
            await http.post(target, "/", HEAD, b"{}")
        await http.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
        # in pieces: the head is refused once more than MAX_HEAD of it waits for its end
        [b"HTTP/1.1 200 OK\r\nX-Long: ", b"a" * (MAX_HEAD + 1), b"\r\nContent-Length: 0\r\n\r\n"],
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=["bad-length", "bad-chunk-size", "head-too-long", "closed-mid-body", "bad-status"],
)
async def test_a_malformed_answer_is_an_error_and_the_connection_is_not_kept(
    answer: bytes | list[bytes],
) -> None:
    script = Script(lambda n: answer if n == 0 else OK, close_after=lambda n: n == 0)
    async with server(script) as target:
        http = client()
        with pytest.raises(HttpError):
            await http.post(target, "/", HEAD, b"{}")
        assert await http.post(target, "/", HEAD, b"{}") == 200  # on a new connection
        await http.close()
    assert script.connections == 2


async def test_a_request_http_cannot_carry_is_refused_before_sending() -> None:
    script = Script(lambda n: OK)
    async with server(script) as target:
        http = client()
        with pytest.raises(ValueError, match="cannot carry"):
            await http.post(target, "/a b", HEAD, b"{}")
        with pytest.raises(ValueError, match="cannot carry"):
            await http.post(target, "/", b"X-Bad: a\x00b\r\n", b"{}")
        await http.close()
    assert script.requests == []


async def test_a_huge_body_is_not_read() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1)
    script = Script(lambda n: answer)  # the body never comes: the status is enough
    async with server(script) as target:
        http = client()
        assert await http.post(target, "/", HEAD, b"{}") == 200
        assert await http.post(target, "/", HEAD, b"{}") == 200
        await http.close()
    assert script.connections == 2


async def test_no_answer_times_out_and_the_connection_is_dropped() -> None:
    script = Script(lambda n: None if n == 0 else OK)
    async with server(script) as target:
        http = client(timeout=0.3)
        with pytest.raises(TimeoutError):
            await http.post(target, "/", HEAD, b"{}")
        assert await http.post(target, "/", HEAD, b"{}") == 200
        await http.close()
    assert script.connections == 2


async def test_a_name_is_resolved_by_the_checked_resolver() -> None:
    script = Script(lambda n: OK)
    async with server(script) as target:
        named = Target("http", "localhost", target.port)
        refusing = WebhookHttp(CheckedResolver(EgressPolicy()), 5.0, keep=4)
        with pytest.raises(OSError, match="internal addresses"):
            await refusing.post(named, "/", HEAD, b"{}")
        await refusing.close()
        http = client()
        assert await http.post(named, "/", HEAD, b"{}") == 200
        await http.close()
    assert len(script.requests) == 1
    assert b"\r\nHost: localhost:%d\r\n" % target.port in script.requests[0]


def test_the_client_runs_on_uvloop() -> None:
    async def main() -> list[int]:
        script = Script(lambda n: OK)
        async with server(script) as target:
            http = client()
            statuses = [await http.post(target, "/", HEAD, b"{}") for _ in range(2)]
            await http.close()
        assert script.connections == 1
        return statuses

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(main()) == [200, 200]

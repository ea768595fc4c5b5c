"""Every error answer is an RFC 9457 problem document with the security headers — those of the
handlers, of the router (404, 405), of the body limit (413) and of aiohttp's own request
parser (headers over 8 KiB), which never reaches a middleware — and keeps the 0.x ``error``
object. Then the settings a reload changes per request: ``body_timeout`` and
``allowed_hosts``."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import ClientSession, web

from smppgate.api import create_app
from smppgate.api.app import MAX_BODY, SECURITY_HEADERS, runner
from smppgate.api.errors import PROBLEM_JSON
from smppgate.service.config import GatewayConfig
from smppgate.service.intake import Intake
from smppgate.service.metrics import Metrics
from smppgate.service.reload import LiveConfig
from smppgate.store import Store
from tests.integration.test_api_messages import AUTH, KEY, gateway_config

SMS = {"to": "+79001234567", "text": "hi"}
#: a body over the 8 MiB limit
BIG = object()


class Served:
    """The app as `smppgate serve` runs it (its runner, a real socket on 127.0.0.1)."""

    def __init__(self, base: str, host: str, port: int, live: LiveConfig) -> None:
        self.base = base
        self.host = host
        self.port = port
        self.live = live

    async def raw(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send ``request`` as it is; the status, headers and body of the answer."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 30)
        finally:
            writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        return int(lines[0].split()[1]), headers, body


async def serve(store: Store, config: GatewayConfig) -> AsyncIterator[Served]:
    live = LiveConfig(config)
    app = create_app(
        config=config,
        store=store,
        intake=Intake(config, store),
        metrics=Metrics(store),
        readiness=_ready,
        live=live,
    )
    served = runner(app, config)
    await served.setup()
    try:
        site = web.TCPSite(served, "127.0.0.1", 0)
        await site.start()
        host, port = served.addresses[0][:2]
        yield Served(f"http://{host}:{port}", host, port, live)
    finally:
        await served.cleanup()


async def _ready() -> tuple[bool, dict[str, Any]]:
    return True, {}


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Served]:
    async for served in serve(store, gateway_config()):
        yield served


def assert_problem(
    status: int, headers: dict[str, str], body: bytes, code: str, instance: str | None
) -> dict[str, Any]:
    assert headers["Content-Type"] == PROBLEM_JSON, headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"] == f"/problems/{code}"
    assert problem["title"]
    assert problem["detail"]
    assert problem.get("instance") == instance
    # the 0.x body, kept (deprecated)
    assert problem["error"]["code"] == code
    assert problem["error"]["message"] == problem["detail"]
    return problem


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v2/none", None, 404, "not_found"),
        ("DELETE", "/v1/inbound", None, 405, "method_not_allowed"),
        ("POST", "/v1/messages", {**SMS, "to": "12"}, 422, "validation_error"),
        ("POST", "/v1/messages", BIG, 413, "body_too_large"),
    ],
)
async def test_handler_and_router_errors_are_problem_documents(
    gate: Served, method: str, path: str, body: Any, status: int, code: str
) -> None:
    async with (
        ClientSession() as http,
        http.request(
            method,
            gate.base + path,
            data=io.BytesIO(b" " * (MAX_BODY + 1)) if body is BIG else json.dumps(body),
            headers={**AUTH, "Content-Type": "application/json"},
        ) as r,
    ):
        assert r.status == status
        raw = await r.read()
        headers = dict(r.headers)
    problem = assert_problem(status, headers, raw, code, path)
    if code == "validation_error":
        assert problem["field"] == problem["error"]["field"] == "to"
    if status == 405:
        assert "GET" in headers["Allow"]


async def test_extension_members_of_a_code_are_top_level_and_in_the_old_error(
    gate: Served,
) -> None:
    async with ClientSession() as http:
        for _ in range(2):
            async with http.post(
                gate.base + "/v1/messages",
                json=SMS,
                headers={**AUTH, "Idempotency-Key": "k1"},
            ) as r:
                first = await r.json()
        async with http.post(
            gate.base + "/v1/messages",
            json={**SMS, "text": "other"},
            headers={**AUTH, "Idempotency-Key": "k1"},
        ) as r:
            assert r.status == 409
            problem = assert_problem(409, dict(r.headers), await r.read(), "idempotency_conflict",
                                     "/v1/messages")  # fmt: skip
    assert problem["message_id"] == problem["error"]["message_id"] == first["id"]


async def test_an_unauthenticated_request_is_a_problem_with_www_authenticate(
    gate: Served,
) -> None:
    status, headers, body = await gate.raw(
        b"GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert status == 401
    assert headers["WWW-Authenticate"] == "Bearer"
    assert_problem(401, headers, body, "unauthorized", "/v1/messages")


@pytest.mark.parametrize(
    "request_bytes",
    [
        # headers over aiohttp's 8 KiB limit: refused by its parser, before any middleware
        b"GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n",
    ],
    ids=["headers-over-8k", "malformed-header"],
)
async def test_requests_the_parser_refuses_get_a_problem_and_the_security_headers(
    gate: Served, request_bytes: bytes
) -> None:
    status, headers, body = await gate.raw(request_bytes)
    assert status == 400
    problem = assert_problem(400, headers, body, "bad_request", None)
    assert "aiohttp" not in body.decode().lower()
    assert problem["title"] == "Malformed HTTP request"


# ------------------------------------------------------------------------ reload


async def test_body_timeout_follows_a_reload(store: Store) -> None:
    async for gate in serve(store, gateway_config(body_timeout=30.0)):
        gate.live.current = replace(
            gate.live.current, http=replace(gate.live.current.http, body_timeout=0.2)
        )
        status, _, body = await gate.raw(
            b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"to": '
        )
        assert status == 408
        assert json.loads(body)["detail"] == "the body did not arrive within 0.2 s"


async def test_allowed_hosts_follow_a_reload(store: Store) -> None:
    async for gate in serve(store, gateway_config()):
        headers = {**AUTH, "Host": "gw.example.com"}
        async with ClientSession() as http:
            async with http.get(gate.base + "/v1/messages", headers=headers) as r:
                assert r.status == 403
                assert (await r.json())["code"] == "host_not_allowed"
            gate.live.current = replace(
                gate.live.current,
                http=replace(gate.live.current.http, allowed_hosts=("gw.example.com",)),
            )
            async with http.get(gate.base + "/v1/messages", headers=headers) as r:
                assert r.status == 200
            gate.live.current = replace(
                gate.live.current, http=replace(gate.live.current.http, allowed_hosts=())
            )
            async with http.get(gate.base + "/v1/messages", headers=headers) as r:
                assert r.status == 403

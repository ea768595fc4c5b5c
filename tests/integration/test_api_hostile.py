"""Hostile and malformed requests over a real socket on 127.0.0.1, on both stores: each one
a clear 4xx naming what is wrong, never a 500 (which would also fill the ops page's "last
errors"). Then cross-site requests, security headers, idempotency and slow clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from smppgate.api import create_app
from smppgate.api.app import SECURITY_HEADERS, runner
from smppgate.service.intake import Intake
from smppgate.service.metrics import Metrics
from smppgate.store import Store
from tests.integration.test_api_messages import AUTH, KEY, Gate, gateway_config, start

SMS = {"to": "+79001234567", "text": "hi"}
USSD = {"to": "79001234567", "text": "menu", "op": "pssr_response"}

# (method, path, body as sent (bytes) or JSON, extra headers, status, field or code)
CASES: list[tuple[str, str, Any, dict[str, str], int, str]] = [
    (
        "POST",
        "/v1/messages",
        b'{"to": 1' + b"0" * 5000 + b', "text": "x"}',
        {},
        400,
        "malformed_json",
    ),
    ("POST", "/v1/messages", b"[" * 100_000 + b"]" * 100_000, {}, 400, "malformed_json"),
    (
        "POST",
        "/v1/messages",
        b'{"to": "79001234567", "text": ' + b"[" * 50 + b"]" * 50 + b"}",
        {},
        400,
        "malformed_json",
    ),
    ("POST", "/v1/messages", {**SMS, "validity": 10**5000 // 10**4990}, {}, 422, "validity"),
    ("POST", "/v1/messages", {**SMS, "callback_url": "http://[::1"}, {}, 422, "callback_url"),
    ("POST", "/v1/messages", {**SMS, "callback_url": "http://[zz]/"}, {}, 422, "callback_url"),
    (
        "POST",
        "/v1/messages",
        {**SMS, "callback_url": "http://127.0.0.1:8080/x"},
        {},
        422,
        "callback_url",
    ),
    (
        "POST",
        "/v1/messages",
        {**SMS, "callback_url": "http://x.com:99999/"},
        {},
        422,
        "callback_url",
    ),
    ("POST", "/v1/messages", {**SMS, "callback_url": "http://a:b@x.com/"}, {}, 422, "callback_url"),
    (
        "POST",
        "/v1/messages",
        {**SMS, "callback_url": "http://x.com/\ud800"},
        {},
        422,
        "callback_url",
    ),
    ("POST", "/v1/messages", {**SMS, "reference": "a\ud800b"}, {}, 422, "reference"),
    ("POST", "/v1/messages", {**SMS, "reference": "a\x00b"}, {}, 422, "reference"),
    ("POST", "/v1/messages", {**SMS, "text": "a\x00b"}, {}, 422, "text"),
    ("POST", "/v1/messages", {**SMS, "account": "promo\x00"}, {}, 422, "account"),
    (
        "POST",
        "/v1/messages",
        {**SMS, "callback_url": "https://x.com/\x00"},
        {},
        422,
        "callback_url",
    ),
    ("POST", "/v1/messages", {**SMS, "from": "\x00"}, {}, 422, "from"),
    (
        "POST",
        "/v1/messages/batch",
        {"messages": [{**SMS, "text": "\ud800"}]},
        {},
        422,
        "messages[0].text",
    ),
    ("POST", "/v1/ussd", {**USSD, "op": "²"}, {}, 422, "op"),
    ("POST", "/v1/ussd", {**USSD, "op": "9" * 5000}, {}, 422, "op"),
    ("POST", "/v1/ussd", {**USSD, "op": 2**70}, {}, 422, "op"),
    ("POST", "/v1/ussd", {**USSD, "op": "\x00"}, {}, 422, "op"),
    ("POST", "/v1/messages/preview", {"text": "\ud800"}, {}, 422, "text"),
    ("GET", "/v1/messages?limit=²", None, {}, 422, "limit"),
    ("GET", "/v1/messages?limit=" + "9" * 5000, None, {}, 422, "limit"),
    ("GET", "/v1/messages?after=%00", None, {}, 422, "after"),
    ("GET", "/v1/messages?account=a%00", None, {}, 422, "account"),
    ("GET", "/v1/messages?since=1e999", None, {}, 422, "since"),
    ("GET", "/v1/messages?since=not-a-time", None, {}, 422, "since"),
    ("GET", "/v1/messages?status=%00", None, {}, 422, "status"),
    ("GET", "/v1/messages/01AB%00CD", None, {}, 422, "id"),
    ("GET", "/v1/inbound?after=²", None, {}, 422, "after"),
    ("GET", "/v1/inbound?after=" + str(2**64), None, {}, 422, "after"),
    ("GET", "/v1/inbound?after=" + "9" * 5000, None, {}, 422, "after"),
    ("GET", "/v1/inbound?limit=²", None, {}, 422, "limit"),
    ("GET", "/v1/inbound?account=%00", None, {}, 422, "account"),
    ("POST", "/v1/messages", SMS, {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    (
        "POST",
        "/v1/messages",
        SMS,
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
    ),
    ("POST", "/v1/messages", SMS, {"Idempotency-Key": "k" * 201}, 400, "invalid_idempotency_key"),
]


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, gateway_config()):
        yield g


def _id(case: tuple[str, str, Any, dict[str, str], int, str]) -> str:
    return f"{case[0]} {case[1][:30]} {case[5]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
async def test_hostile_input_is_a_4xx_naming_the_field(
    gate: Gate, case: tuple[str, str, Any, dict[str, str], int, str]
) -> None:
    method, path, body, headers, status, what = case
    sent_headers = {**AUTH, "Content-Type": "application/json", **headers}
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    async with gate.client.request(method, path, data=data, headers=sent_headers) as r:
        answer = await r.json()
        assert r.status == status, answer
    error = answer["error"]
    assert what in (error.get("field"), error["code"]), error
    assert error["message"]


async def test_an_api_key_that_is_not_utf8_is_401_not_500(gate: Gate) -> None:
    reader, writer = await asyncio.open_connection(gate.client.host, gate.client.port)
    writer.write(
        b"GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: \xff\xfe\xc3(\r\n"
        b"Connection: close\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]


@pytest.fixture
async def open_gate(store: Store) -> AsyncIterator[Gate]:
    """No API keys: the loopback default a web page could reach."""
    async for g in start(store, gateway_config(api_keys=())):
        yield g


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "evil.example"}, 403),  # DNS rebinding: the attacker's name
        ({"Host": "evil.example:8080"}, 403),
        ({"Origin": "http://evil.example"}, 403),  # a page elsewhere posting here
        ({"Origin": "null"}, 403),
        ({"Host": "localhost:8080", "Origin": "http://localhost:8080"}, 202),
        ({"Host": "127.0.0.1:1234"}, 202),
        ({"Host": "[::1]:8080"}, 202),
        ({"Host": "gw.example.com", "Origin": "https://gw.example.com"}, 202),
    ],
)
async def test_cross_site_requests_are_refused(
    store: Store, headers: dict[str, str], status: int
) -> None:
    config = gateway_config(api_keys=(), allowed_hosts=("gw.example.com",))
    async for gate in start(store, config):
        async with gate.client.post("/v1/messages", json=SMS, headers=headers) as r:
            assert r.status == status, await r.text()
        async with gate.client.get("/v1/messages", headers=headers) as r:
            assert r.status == (403 if status == 403 else 200)


async def test_a_text_plain_post_without_preflight_is_refused(open_gate: Gate) -> None:
    body = json.dumps(SMS)
    async with open_gate.client.post(
        "/v1/messages", data=body, headers={"Content-Type": "text/plain"}
    ) as r:
        assert r.status == 415
    page = await open_gate.store.list_messages()
    assert page.items == ()


@pytest.mark.parametrize("path", ["/ui/", "/v1/messages", "/docs", "/healthz", "/v2/none"])
async def test_security_headers_and_no_version_banner(gate: Gate, path: str) -> None:
    async with gate.client.get(path, headers=AUTH) as r:
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, name
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Server"] == "smppgate"
        assert "aiohttp" not in str(r.headers).lower()
        assert "python" not in r.headers["Server"].lower()


# ------------------------------------------------------------------------ idempotency


async def test_same_key_with_another_request_is_409_naming_the_key(gate: Gate) -> None:
    status, first = await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "order-9"})
    assert status == 202
    status, again = await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "order-9"})
    assert (status, again["id"]) == (200, first["id"])
    # same destination and text, another reference / callback / priority: another request
    changes: list[dict[str, Any]] = [
        {"reference": "x"}, {"priority": 5}, {"validity": 3600},
        {"callback_url": "https://example.com/h"}, {"resend_unknown": True},
    ]  # fmt: skip
    for changed in changes:
        status, answer = await gate.post(
            "/v1/messages", {**SMS, **changed}, **{"Idempotency-Key": "order-9"}
        )
        assert status == 409, changed
        assert answer["error"]["code"] == "idempotency_conflict"
        assert "order-9" in answer["error"]["message"]


async def test_batch_and_single_keys_do_not_meet(gate: Gate) -> None:
    status, batch = await gate.post(
        "/v1/messages/batch", {"messages": [SMS, SMS]}, **{"Idempotency-Key": "k"}
    )
    assert status == 202
    # a single message under the key a batch item is stored with is a new message
    status, single = await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "k#0"})
    assert status == 202
    assert single["id"] not in {m["id"] for m in batch["messages"]}
    status, single_k = await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "k"})
    assert status == 202
    assert single_k["id"] != single["id"]
    # the same batch replays; a longer or different one under the same key is a conflict
    status, again = await gate.post(
        "/v1/messages/batch", {"messages": [SMS, SMS]}, **{"Idempotency-Key": "k"}
    )
    assert status == 200
    assert [m["id"] for m in again["messages"]] == [m["id"] for m in batch["messages"]]
    before = len((await gate.store.list_messages()).items)
    for other in ([SMS, SMS, SMS], [SMS, {**SMS, "text": "other"}]):
        status, answer = await gate.post(
            "/v1/messages/batch", {"messages": other}, **{"Idempotency-Key": "k"}
        )
        assert status == 409
        assert "'k'" in answer["error"]["message"]
    assert len((await gate.store.list_messages()).items) == before  # nothing stored


# ------------------------------------------------------------------------ slow clients


async def test_a_body_that_never_completes_is_408(store: Store) -> None:
    config = gateway_config(body_timeout=0.2)
    async for gate in start(store, config):
        reader, writer = await asyncio.open_connection(gate.client.host, gate.client.port)
        writer.write(
            b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {KEY}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"to": '
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:100]


async def test_a_client_trickling_headers_is_cut_off(store: Store) -> None:
    config = gateway_config(header_timeout=0.3)
    app = create_app(
        config=config,
        store=store,
        intake=Intake(config, store),
        metrics=Metrics(store),
        readiness=_ready,
    )
    served = runner(app, config)  # what `smppgate serve` runs the app with
    await served.setup()
    try:
        site = web.TCPSite(served, "127.0.0.1", 0)
        await site.start()
        host, port = served.addresses[0][:2]
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")

        async def trickle() -> None:
            while True:
                await asyncio.sleep(0.05)
                writer.write(b"a")

        trickling = asyncio.create_task(trickle())
        try:
            # the connection is closed without an answer (before: held ~75-130 s)
            assert await asyncio.wait_for(reader.read(), 30) == b""
        finally:
            trickling.cancel()
            writer.close()
    finally:
        await served.cleanup()


async def _ready() -> tuple[bool, dict[str, Any]]:
    return True, {}

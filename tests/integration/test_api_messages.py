"""The HTTP API over a real socket on 127.0.0.1 and a real store (an SQLite file in tmp_path,
and a fresh PostgreSQL database where SMPPGATE_TEST_POSTGRES_URL names a server)."""

from __future__ import annotations

import platform
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from smppgate import __version__
from smppgate.api import create_app
from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.intake import Intake
from smppgate.service.metrics import Metrics
from smppgate.store import Store

KEY = "test-key-1-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
NOW = 1_800_000_000.0


def gateway_config(**http: Any) -> GatewayConfig:
    config = parse_config(
        {
            "http": {"api_keys": [KEY]},
            "accounts": [
                {
                    "name": "promo",
                    "system_id": "promo",
                    "password": "pw",
                    "hosts": ["127.0.0.1:2775"],
                    "default_sender": "Shop",
                    "max_parts": 3,
                },
                {
                    "name": "tx",
                    "system_id": "tx",
                    "password": "pw",
                    "hosts": ["127.0.0.1:2776"],
                    "default_sender": "79001112233",
                },
            ],
        },
        environ={},
    )
    return replace(config, http=replace(config.http, **http)) if http else config


Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]


class Gate:
    """A running app and the parts behind it."""

    def __init__(self, client: TestClient[web.Request, web.Application], store: Store,
                 metrics: Metrics, app: web.Application) -> None:  # fmt: skip
        self.client = client
        self.store = store
        self.metrics = metrics
        self.app = app
        self.ready = True

    async def post(self, path: str, body: Any, **headers: str) -> tuple[int, Any]:
        async with self.client.post(path, json=body, headers={**AUTH, **headers}) as r:
            return r.status, await r.json()

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.client.get(path, headers=AUTH) as r:
            return r.status, await r.json()


async def start(store: Store, config: GatewayConfig) -> AsyncIterator[Gate]:
    metrics = Metrics(store)
    holder: dict[str, Gate] = {}

    async def readiness() -> tuple[bool, dict[str, Any]]:
        await store.ping()
        return holder["gate"].ready, {"store": "ok"}

    app = create_app(
        config=config,
        store=store,
        intake=Intake(config, store, clock=lambda: NOW),
        metrics=metrics,
        readiness=readiness,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        holder["gate"] = Gate(client, store, metrics, app)
        yield holder["gate"]


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, gateway_config()):
        yield g


SMS = {"to": "+79001234567", "text": "Your code is 1234"}


# ------------------------------------------------------------------------ sending


async def test_post_then_get_shows_queued_with_parts(gate: Gate) -> None:
    status, body = await gate.post("/v1/messages", {**SMS, "reference": "order-7"})
    assert status == 202
    assert body == {"id": body["id"], "parts": 1, "status": "queued"}
    status, message = await gate.get(f"/v1/messages/{body['id']}")
    assert status == 200
    assert message["status"] == "queued"
    assert message["to"] == "79001234567"
    assert message["from"] == "Shop"
    assert message["account"] == "promo"
    assert message["reference"] == "order-7"
    assert message["part_count"] == 1
    assert [p["status"] for p in message["parts"]] == ["planned"]
    assert message["parts"][0]["message_id"] is None
    assert message["attempts"] == []
    # committed: another connection to the same database sees it
    assert (await gate.store.get_message(body["id"])).message.text == SMS["text"]


async def test_accepted_says_where_the_message_is_and_405_says_what_is_allowed(
    gate: Gate,
) -> None:
    async with gate.client.post("/v1/messages", json=SMS, headers=AUTH) as response:
        assert response.status == 202
        body = await response.json()
        assert response.headers["Location"] == f"/v1/messages/{body['id']}"
    async with gate.client.get(response.headers["Location"], headers=AUTH) as response:
        assert response.status == 200
    async with gate.client.delete("/v1/messages/batch", headers=AUTH) as response:
        assert response.status == 405
        assert (await response.json())["error"]["code"] == "method_not_allowed"
        assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"POST"}


async def test_priority_is_stored_and_shown(gate: Gate) -> None:
    status, body = await gate.post("/v1/messages", {**SMS, "priority": 7})
    assert status == 202
    status, message = await gate.get(f"/v1/messages/{body['id']}")
    assert message["priority"] == 7
    assert (await gate.store.get_message(body["id"])).message.priority == 7
    status, body = await gate.post("/v1/messages", SMS)
    assert (await gate.store.get_message(body["id"])).message.priority == 0


async def test_long_text_is_planned_into_parts(gate: Gate) -> None:
    status, body = await gate.post("/v1/messages", {**SMS, "text": "x" * 300, "split": "sar"})
    assert status == 202
    assert body["parts"] == 2
    detail = await gate.store.get_message(body["id"])
    assert [(p.sar_total, p.sar_seq) for p in detail.message.parts] == [(2, 1), (2, 2)]


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        ({"to": "12ab"}, "to", "letters"),
        ({"text": "x" * 500}, "text", "at most 3"),
        ({"account": "nope"}, "account", "unknown account"),
        ({"validity": 30}, "validity", "at least 60"),
        ({"text": "Привет", "encoding": "gsm7"}, "text", "position 0"),
        ({"text": "price 5€ ☃", "encoding": "latin1"}, "text", "position 7"),
        ({"callback_url": "ftp://example.com/x"}, "callback_url", "http"),
        ({"from": "A very long sender"}, "from", "11"),
        ({"validity": "60"}, "validity", "whole number"),
        ({"split": "zip"}, "split", "udh, sar, payload"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"to": None}, "to", "required"),
        ({"priority": 10}, "priority", "0..9"),
        ({"priority": -1}, "priority", "0..9"),
        ({"priority": "high"}, "priority", "whole number"),
    ],
)
async def test_invalid_input_is_422_naming_the_field(
    gate: Gate, patch: dict[str, Any], field: str, words: str
) -> None:
    body = {**SMS, **patch}
    body = {k: v for k, v in body.items() if v is not None}
    status, answer = await gate.post("/v1/messages", body)
    assert status == 422, answer
    assert answer["error"]["code"] == "validation_error"
    assert answer["error"]["field"] == field
    assert words in answer["error"]["message"]
    page = await gate.store.list_messages()
    assert page.items == ()


async def test_malformed_json_is_400(gate: Gate) -> None:
    async with gate.client.post(
        "/v1/messages", data=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    ) as r:
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "malformed_json"
    status, answer = await gate.post("/v1/messages", ["a", "list"])
    assert status == 422
    assert answer["error"]["field"] == "body"


async def test_unknown_id_is_404_and_unknown_route_is_json(gate: Gate) -> None:
    status, answer = await gate.get("/v1/messages/01NOPE")
    assert status == 404
    assert answer["error"]["code"] == "not_found"
    status, answer = await gate.get("/v2/nothing")
    assert status == 404
    assert answer["error"]["code"] == "not_found"


# ------------------------------------------------------------------------ idempotency


async def test_same_idempotency_key_twice_makes_one_message(gate: Gate) -> None:
    first_status, first = await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "k-1"})
    async with gate.client.post(
        "/v1/messages", json=SMS, headers={**AUTH, "Idempotency-Key": "k-1"}
    ) as r:
        assert r.status == 200
        assert r.headers["Idempotent-Replayed"] == "true"
        again = await r.json()
    assert first_status == 202
    assert again == first
    assert len((await gate.store.list_messages()).items) == 1
    # a different key is a different message
    status, other = await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "k-2"})
    assert status == 202
    assert other["id"] != first["id"]


async def test_idempotency_key_reused_for_another_text_is_409(gate: Gate) -> None:
    await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "k-9"})
    status, answer = await gate.post(
        "/v1/messages", {**SMS, "text": "something else"}, **{"Idempotency-Key": "k-9"}
    )
    assert status == 409
    assert answer["error"]["code"] == "idempotency_conflict"


async def test_idempotency_scope_is_per_api_key(store: Store) -> None:
    config = gateway_config(api_keys=(KEY, "second-key-0123456789abcdef"))
    async for gate in start(store, config):
        _, first = await gate.post("/v1/messages", SMS, **{"Idempotency-Key": "same"})
        async with gate.client.post(
            "/v1/messages",
            json=SMS,
            headers={"X-API-Key": "second-key-0123456789abcdef", "Idempotency-Key": "same"},
        ) as r:
            assert r.status == 202
            second = await r.json()
        assert second["id"] != first["id"]
        stored = (await store.get_message(first["id"])).message
        assert KEY not in stored.idempotency_scope
        assert stored.idempotency_scope.startswith("key:")


# ------------------------------------------------------------------------ batch


async def test_batch_is_all_or_nothing(gate: Gate) -> None:
    good = [{**SMS, "to": f"+7900123450{i}"} for i in range(5)]
    bad = [*good[:3], {**SMS, "to": "oops"}, *good[3:]]
    status, answer = await gate.post("/v1/messages/batch", {"messages": bad})
    assert status == 422
    assert answer["error"]["field"] == "messages[3].to"
    assert (await gate.store.list_messages()).items == ()

    status, answer = await gate.post("/v1/messages/batch", {"messages": good})
    assert status == 202
    assert [m["status"] for m in answer["messages"]] == ["queued"] * 5
    listed = (await gate.store.list_messages()).items
    assert [m.id for m in listed] == [m["id"] for m in answer["messages"]]


async def test_batch_with_idempotency_key_replays(gate: Gate) -> None:
    batch = {"messages": [SMS, {**SMS, "to": "+79001234568"}]}
    s1, first = await gate.post("/v1/messages/batch", batch, **{"Idempotency-Key": "b-1"})
    s2, again = await gate.post("/v1/messages/batch", batch, **{"Idempotency-Key": "b-1"})
    assert (s1, s2) == (202, 200)
    assert again == first
    assert len((await gate.store.list_messages()).items) == 2


async def test_batch_too_large_is_413(store: Store) -> None:
    async for gate in start(store, gateway_config(max_batch=3)):
        status, answer = await gate.post("/v1/messages/batch", {"messages": [SMS] * 4})
        assert status == 413
        assert answer["error"]["code"] == "batch_too_large"
        status, answer = await gate.post("/v1/messages/batch", {"messages": []})
        assert status == 422


# ------------------------------------------------------------------------ preview, ussd


async def test_preview(gate: Gate) -> None:
    status, answer = await gate.post("/v1/messages/preview", {"text": "Привет, world!"})
    assert status == 200
    assert answer["encoding"] == "ucs2"
    assert answer["parts"] == 1
    assert answer["units_left"] == 70 - 14
    assert sorted(answer["forcing_characters"]) == sorted(set("Привет"))
    assert answer["max_parts"] == 3
    status, answer = await gate.post("/v1/messages/preview", {"text": "a" * 161})
    assert (answer["encoding"], answer["parts"], answer["units_left"]) == ("gsm7", 2, 153 - 8)
    assert (await gate.store.list_messages()).items == ()


async def test_preview_and_planning_follow_the_account_alphabet(store: Store) -> None:
    config = gateway_config()
    ascii_tx = parse_config(
        {"accounts": [{"name": "tx", "system_id": "tx", "password": "pw",
                       "hosts": ["127.0.0.1:2776"], "default_alphabet": "ascii"}]},
        environ={},
    ).accounts[0]  # fmt: skip
    config = replace(config, accounts=(config.accounts[0], ascii_tx))
    async for gate in start(store, config):
        text = {"text": "Héllo", "to": "+79001234567", "from": "Shop"}
        # the promo account reads data_coding 0 as GSM 03.38: é fits
        status, answer = await gate.post("/v1/messages/preview", {"text": "Héllo"})
        assert (status, answer["encoding"], answer["default_alphabet"]) == (200, "gsm7", "gsm7")
        # with ascii, anything outside ASCII goes UCS2
        _, answer = await gate.post("/v1/messages/preview", {"text": "Héllo", "account": "tx"})
        assert (answer["encoding"], answer["default_alphabet"]) == ("ucs2", "ascii")
        assert answer["forcing_characters"] == ["é"]
        _, answer = await gate.post("/v1/messages/preview", {"text": "Hello", "account": "tx"})
        assert answer["encoding"] == "gsm7"
        # what is stored is planned the same way
        status, body = await gate.post("/v1/messages", {**text, "account": "tx"})
        assert status == 202
        detail = await store.get_message(body["id"])
        assert detail.message.encoding == "ucs2"
        assert detail.message.parts[0].data_coding == 8


async def test_ussd_is_stored_with_its_op(gate: Gate) -> None:
    status, answer = await gate.post(
        "/v1/ussd",
        {"to": "+79001234567", "text": "Balance: 10", "op": "pssr_response",
         "session": {"number": 7, "sequence": 1, "end": True}},
    )  # fmt: skip
    assert status == 202, answer
    status, message = await gate.get(f"/v1/messages/{answer['id']}")
    assert message["ussd"] == {"op": 17, "session": {"number": 7, "sequence": 1, "end": True}}
    status, answer = await gate.post("/v1/ussd", {"to": "+79001234567", "text": "x"})
    assert (status, answer["error"]["field"]) == (422, "op")


# ------------------------------------------------------------------------ listings


async def test_list_messages_filters_and_pages(gate: Gate) -> None:
    for i in range(5):
        await gate.post("/v1/messages", {**SMS, "account": "promo" if i % 2 else "tx"})
    status, page = await gate.get("/v1/messages?limit=2&account=tx")
    assert status == 200
    assert len(page["items"]) == 2
    assert all(m["account"] == "tx" for m in page["items"])
    status, rest = await gate.get(f"/v1/messages?limit=2&account=tx&after={page['next']}")
    assert len(rest["items"]) == 1
    assert rest["next"] is None
    status, queued = await gate.get("/v1/messages?status=queued&since=2020-01-01T00:00:00Z")
    assert len(queued["items"]) == 5
    status, none = await gate.get("/v1/messages?status=delivered")
    assert none["items"] == []
    status, answer = await gate.get("/v1/messages?status=lost")
    assert (status, answer["error"]["field"]) == (422, "status")
    status, answer = await gate.get("/v1/messages?since=yesterday")
    assert (status, answer["error"]["field"]) == (422, "since")


async def test_list_inbound(gate: Gate) -> None:
    from smppgate.store import NewInbound

    for i in range(3):
        await gate.store.record_inbound(
            NewInbound(
                "promo",
                "79001234567",
                "1234",
                f"mo {i}",
                0,
                NOW + i,
                ussd_service_op=1 if i == 2 else None,
            )
        )
    status, page = await gate.get("/v1/inbound?limit=2")
    assert status == 200
    assert [m["text"] for m in page["items"]] == ["mo 0", "mo 1"]
    status, rest = await gate.get(f"/v1/inbound?after={page['next']}")
    assert [(m["text"], m["kind"]) for m in rest["items"]] == [("mo 2", "ussd")]


# ------------------------------------------------------------------------ auth, health


async def test_auth(gate: Gate) -> None:
    async with gate.client.post("/v1/messages", json=SMS) as r:
        assert r.status == 401
        assert (await r.json())["error"]["code"] == "unauthorized"
    async with gate.client.get("/v1/messages", headers={"X-API-Key": "wrong"}) as r:
        assert r.status == 401
    async with gate.client.get("/metrics") as r:
        assert r.status == 401
    async with gate.client.get("/v1/messages", headers={"X-API-Key": KEY}) as r:
        assert r.status == 200
    async with gate.client.get("/healthz") as r:
        assert r.status == 200
        assert await r.json() == {"status": "ok"}
    assert (await gate.store.list_messages()).items == ()


async def test_no_keys_means_open(store: Store) -> None:
    async for gate in start(store, gateway_config(api_keys=())):
        async with gate.client.post("/v1/messages", json=SMS) as r:
            assert r.status == 202


async def test_readyz_follows_readiness(gate: Gate) -> None:
    status, answer = await gate.get("/readyz")
    assert (status, answer["ready"]) == (200, True)
    gate.ready = False
    status, answer = await gate.get("/readyz")
    assert (status, answer["ready"]) == (503, False)


async def test_store_gone_is_503(gate: Gate) -> None:
    await gate.store.aclose()  # not the client's mistake: retry later
    async with gate.client.post("/v1/messages", json=SMS, headers=AUTH) as r:
        assert r.status == 503
        assert r.headers["Retry-After"] == "1"
        assert (await r.json())["error"]["code"] == "store_unavailable"


async def test_unexpected_error_is_500_with_correlation_id(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    config = gateway_config()

    async def readiness() -> tuple[bool, dict[str, Any]]:
        return True, {}

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = create_app(config=config, store=store, intake=Intake(config, store),
                     metrics=Metrics(store), readiness=readiness)  # fmt: skip
    app.router.add_get("/v1/broken", broken)
    async with (
        TestClient(TestServer(app, host="127.0.0.1")) as client,
        client.get("/v1/broken", headers=AUTH) as r,
    ):
        assert r.status == 500
        error = (await r.json())["error"]
    assert error["code"] == "internal_error"
    assert "a bug" not in error["message"]
    assert error["correlation_id"] in caplog.text


# ------------------------------------------------------------------------ documents


async def test_metrics_parse_as_prometheus_text(gate: Gate) -> None:
    await gate.post("/v1/messages", SMS)
    gate.metrics.submitted("promo")
    gate.metrics.response("promo", "ESME_ROK")
    gate.metrics.session_state("promo", 'host "a"\\b', "s1", bound=True)
    gate.metrics.response_seconds.observe("promo", value=0.02)
    async with gate.client.get("/metrics", headers=AUTH) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await r.text()
    samples = parse_prometheus(text)
    assert samples[("smppgate_queue_messages", (("state", "queued"),))] == 1
    assert samples[("smppgate_messages_accepted_total", (("account", "promo"),))] == 1
    assert samples[("smppgate_submits_total", (("account", "promo"),))] == 1
    key = ("smppgate_bound_sessions", (("account", "promo"), ("host", 'host "a"\\b')))
    assert samples[key] == 1
    assert samples[("smppgate_webhook_backlog", ())] == 0
    bucket = ("smppgate_response_seconds_bucket", (("account", "promo"), ("le", "0.025")))
    assert samples[bucket] == 1
    assert samples[("smppgate_response_seconds_count", (("account", "promo"),))] == 1
    build = (("version", __version__), ("python", platform.python_version()))
    assert samples[("smppgate_build_info", build)] == 1


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_prometheus(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A strict reader of the text format: every line is a comment or a valid sample."""
    samples = {}
    typed: set[str] = set()
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram")
            typed.add(name)
            if kind == "histogram":
                typed.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
            continue
        if line.startswith("# HELP "):
            continue
        match = _SAMPLE.match(line)
        assert match, line
        name, _, labels, value = match.groups()
        assert name in typed, name
        pairs = []
        if labels:
            consumed = "".join(m.group(0) for m in _LABEL.finditer(labels))
            assert consumed == labels, labels
            for m in _LABEL.finditer(labels):
                raw = m.group(2)
                unescaped = re.sub(r"\\(.)", lambda x: {"n": "\n"}.get(x[1], x[1]), raw)
                pairs.append((m.group(1), unescaped))
        samples[(name, tuple(pairs))] = float(value)
    return samples


async def test_openapi_lists_every_route(gate: Gate) -> None:
    status, document = await gate.get("/openapi.json")
    assert status == 200
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "smppgate"
    assert {"bearer", "apiKey"} <= set(document["components"]["securitySchemes"])
    schemas = document["components"]["schemas"]
    registered = set()
    for route in gate.app.router.routes():
        if route.method == "HEAD":
            continue
        path = route.resource.canonical if route.resource is not None else ""
        registered.add((path, route.method.lower()))
        assert path in document["paths"], path
        operation = document["paths"][path][route.method.lower()]
        assert operation["responses"], path
    documented = {(p, m) for p, item in document["paths"].items() for m in item}
    assert documented == registered
    # every $ref resolves
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', _dump(document))
    assert refs
    assert set(refs) <= set(schemas)
    assert "Error" in schemas


def _dump(document: Any) -> str:
    import json

    return json.dumps(document)


async def test_docs_page_is_self_contained(gate: Gate) -> None:
    async with gate.client.get("/docs", headers=AUTH) as r:
        assert r.status == 200
        assert r.content_type == "text/html"
        page = await r.text()
    assert "/v1/messages/batch" in page
    assert "<script" not in page
    assert not re.search(r'(src|href)="https?://', page)

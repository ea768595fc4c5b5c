"""API clients over a real socket and a real store (SQLite and PostgreSQL): each key names a
client; a client sends only through its accounts, within its rate and daily quota, and sees
only its own messages and its accounts' inbound; `[http] api_keys` stays an unrestricted
operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from smppgate.api.keys import LIVE
from smppgate.service.config import ClientConfig, GatewayConfig, parse_config
from smppgate.store import NewInbound, Store

from .test_api_messages import KEY, NOW, Gate, start

SHOP = "shop-key-0123456789abcdef"
CRM = "crm-key-0123456789abcdef0"
SLOW = "slow-key-0123456789abcdef"
SMS = {"to": "+79001234567", "text": "Your code is 1234"}


def clients_config() -> GatewayConfig:
    account = {"system_id": "s", "password": "pw", "default_sender": "Shop"}
    return parse_config(
        {
            "http": {"api_keys": [KEY]},
            "accounts": [
                {**account, "name": "promo", "hosts": ["127.0.0.1:2775"]},
                {**account, "name": "tx", "hosts": ["127.0.0.1:2776"]},
            ],
            "clients": [
                {"name": "shop", "api_keys": [SHOP], "accounts": ["tx"], "daily_quota": 3},
                {"name": "crm", "api_keys": [CRM], "accounts": ["promo"]},
                # 0.001 tokens a second: the third request within the test has no token
                {"name": "slow", "api_keys": [SLOW], "rate": 0.001, "burst": 2},
            ],
        },
        environ={},
    )


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, clients_config()):
        yield g


async def call(
    gate: Gate, method: str, path: str, key: str, body: Any = None
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {key}"}
    async with gate.client.request(method, path, json=body, headers=headers) as r:
        is_json = r.content_type in ("application/json", "application/problem+json")
        return r.status, (await r.json()) if is_json else await r.text(), dict(r.headers)


async def test_a_message_records_its_client_and_goes_through_its_account(gate: Gate) -> None:
    status, body, _ = await call(gate, "POST", "/v1/messages", SHOP, SMS)
    assert status == 202
    status, message, _ = await call(gate, "GET", f"/v1/messages/{body['id']}", SHOP)
    assert (message["client"], message["account"]) == ("shop", "tx")  # its only account
    status, body, _ = await call(gate, "POST", "/v1/messages", KEY, SMS)
    status, message, _ = await call(gate, "GET", f"/v1/messages/{body['id']}", KEY)
    assert (message["client"], message["account"]) == ("default", "promo")


async def test_an_account_the_client_may_not_use_is_403(gate: Gate) -> None:
    status, body, _ = await call(gate, "POST", "/v1/messages", SHOP, {**SMS, "account": "promo"})
    assert status == 403
    assert body["error"]["code"] == "account_forbidden"
    assert body["error"]["field"] == "account"
    assert "tx" in body["error"]["message"]
    status, body, _ = await call(
        gate, "POST", "/v1/messages/batch", SHOP, {"messages": [SMS, {**SMS, "account": "promo"}]}
    )
    assert status == 403
    status, body, _ = await call(gate, "POST", "/v1/messages/preview", SHOP,
                                 {"text": "hi", "account": "promo"})  # fmt: skip
    assert status == 403
    assert (await gate.store.list_messages()).items == ()


async def test_a_client_sees_only_its_own_messages(gate: Gate) -> None:
    _, shop, _ = await call(gate, "POST", "/v1/messages", SHOP, SMS)
    _, crm, _ = await call(gate, "POST", "/v1/messages", CRM, SMS)
    _, listed, _ = await call(gate, "GET", "/v1/messages", SHOP)
    assert [m["id"] for m in listed["items"]] == [shop["id"]]
    status, body, _ = await call(gate, "GET", f"/v1/messages/{crm['id']}", SHOP)
    assert status == 404
    assert body["error"]["code"] == "not_found"
    # a client's own filter cannot widen its view
    _, listed, _ = await call(gate, "GET", "/v1/messages?client=crm", SHOP)
    assert [m["id"] for m in listed["items"]] == [shop["id"]]
    # the operator sees all, and may filter
    _, listed, _ = await call(gate, "GET", "/v1/messages", KEY)
    assert {m["id"] for m in listed["items"]} == {shop["id"], crm["id"]}
    _, listed, _ = await call(gate, "GET", "/v1/messages?client=crm", KEY)
    assert [m["id"] for m in listed["items"]] == [crm["id"]]


async def test_a_client_sees_the_inbound_of_its_accounts(gate: Gate) -> None:
    for account in ("promo", "tx"):
        await gate.store.record_inbound(NewInbound(account, "79001234567", "1234", "hi", 0, NOW))
    _, shop, _ = await call(gate, "GET", "/v1/inbound", SHOP)
    assert [m["account"] for m in shop["items"]] == ["tx"]
    _, everyone, _ = await call(gate, "GET", "/v1/inbound", KEY)
    assert [m["account"] for m in everyone["items"]] == ["promo", "tx"]


async def test_above_the_rate_is_429_with_retry_after(gate: Gate) -> None:
    for _ in range(2):
        status, _, _ = await call(gate, "GET", "/v1/messages", SLOW)
        assert status == 200
    status, body, headers = await call(gate, "POST", "/v1/messages", SLOW, SMS)
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert int(headers["Retry-After"]) >= 1
    assert body["error"]["retry_after"] > 0
    assert (await gate.store.list_messages()).items == ()
    # other clients are not held by it
    status, _, _ = await call(gate, "POST", "/v1/messages", SHOP, SMS)
    assert status == 202
    assert gate.metrics.client_limited_total.get("slow", "rate") == 1


async def test_beyond_the_daily_quota_is_429_with_the_reset_time(gate: Gate) -> None:
    status, _, _ = await call(gate, "POST", "/v1/messages/batch", SHOP, {"messages": [SMS] * 2})
    assert status == 202
    # two more would make four: the whole batch is refused, nothing stored
    status, body, headers = await call(
        gate, "POST", "/v1/messages/batch", SHOP, {"messages": [SMS] * 2}
    )
    assert status == 429
    error = body["error"]
    assert error["code"] == "quota_exceeded"
    assert (error["limit"], error["used"]) == (3, 2)
    assert error["resets_at"] == "2027-01-16T00:00:00Z"  # the UTC midnight after NOW
    assert int(headers["Retry-After"]) >= 1
    assert len((await gate.store.list_messages(client="shop")).items) == 2
    status, _, _ = await call(gate, "POST", "/v1/messages", SHOP, SMS)
    assert status == 202
    status, body, _ = await call(gate, "POST", "/v1/messages", SHOP, SMS)
    assert (status, body["error"]["code"]) == (429, "quota_exceeded")
    # the operator is not counted against anyone
    status, _, _ = await call(gate, "POST", "/v1/messages", KEY, SMS)
    assert status == 202
    assert gate.metrics.client_accepted_total.get("shop") == 3
    assert gate.metrics.client_limited_total.get("shop", "daily_quota") == 2


async def test_operator_paths_are_refused_to_other_clients(gate: Gate) -> None:
    status, body, _ = await call(gate, "GET", "/metrics", SHOP)
    assert (status, body["error"]["code"]) == (403, "operator_only")
    status, body, _ = await call(gate, "GET", "/v1/ops", SHOP)
    assert (status, body["error"]["code"]) == (403, "operator_only")
    status, _, _ = await call(gate, "GET", "/metrics", KEY)
    assert status == 200


async def test_metrics_label_clients_by_their_configured_names(gate: Gate) -> None:
    await call(gate, "POST", "/v1/messages", SHOP, SMS)
    await call(gate, "POST", "/v1/messages", "no-such-key-0123456789abcdef", SMS)
    _, text, _ = await call(gate, "GET", "/metrics", KEY)
    assert 'smppgate_client_messages_accepted_total{client="shop"} 1' in text
    # an unknown key never becomes a label (401 before any client is named)
    assert "no-such-key" not in text


async def test_an_unknown_key_is_401(gate: Gate) -> None:
    status, body, headers = await call(gate, "GET", "/v1/messages", "x" * 20)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert headers["WWW-Authenticate"] == "Bearer"


async def test_a_reload_changes_the_clients_from_the_next_request(store: Store) -> None:
    """The keys are read from the configuration in force (service/reload.py): a client added
    by a reload is known at once, one removed is a 401, and a rate budget is not refilled."""
    async for gate in start(store, clients_config()):
        for _ in range(2):
            assert (await call(gate, "GET", "/v1/messages", SLOW))[0] == 200
        running = gate.app[LIVE].current
        fresh = "fresh-key-0123456789abcdef"
        gate.app[LIVE].current = replace(
            running,
            clients=(*running.clients[1:], ClientConfig("fresh", (fresh,), accounts=("tx",))),
        )
        assert (await call(gate, "GET", "/v1/messages", SHOP))[0] == 401
        assert (await call(gate, "GET", "/v1/messages", fresh))[0] == 200
        # slow kept its rate: its spent bucket was kept, not refilled by the reload
        assert (await call(gate, "GET", "/v1/messages", SLOW))[0] == 429

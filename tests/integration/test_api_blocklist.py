"""/v1/blocklist over a real socket and a real store (SQLite and PostgreSQL): entries per
account, a client sees and edits only its accounts' lists, and a message to a listed number
ends `blocked` at once (202 with the state; a per-item state in a batch)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smppgate.store import Store

from .test_api_clients import CRM, SHOP, SMS, call, clients_config
from .test_api_messages import KEY, Gate, start


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, clients_config()):
        yield g


async def test_add_is_idempotent_and_a_message_to_the_number_ends_blocked(gate: Gate) -> None:
    body = {"number": "8 900 123-45-67", "reason": "asked by phone"}
    status, entry, _ = await call(gate, "POST", "/v1/blocklist", SHOP, body)
    assert status == 201
    assert entry == {
        "number": "79001234567",
        "account": "tx",  # shop's only account
        "source": "api",
        "reason": "asked by phone",
        "added_by": "shop",
        "created_at": entry["created_at"],
    }
    status, again, _ = await call(gate, "POST", "/v1/blocklist", SHOP, body)
    assert (status, again) == (200, entry)

    status, sent, headers = await call(gate, "POST", "/v1/messages", SHOP, SMS)
    assert status == 202
    assert sent["status"] == "blocked"
    assert headers["Location"] == f"/v1/messages/{sent['id']}"
    status, message, _ = await call(gate, "GET", f"/v1/messages/{sent['id']}", SHOP)
    assert message["status"] == "blocked"
    assert [p["status"] for p in message["parts"]] == ["planned"]  # never sent
    # the list is per account: through promo the number is not blocked
    status, other, _ = await call(gate, "POST", "/v1/messages", CRM, SMS)
    assert (status, other["status"]) == (202, "queued")
    assert gate.metrics.blocked_total.get("tx", "intake") == 1


async def test_a_batch_says_per_message_which_are_blocked(gate: Gate) -> None:
    await call(gate, "POST", "/v1/blocklist", KEY, {"number": "79001234568", "account": "promo"})
    batch = {"messages": [SMS, {**SMS, "to": "79001234568"}]}
    status, body, _ = await call(gate, "POST", "/v1/messages/batch", KEY, batch)
    assert status == 202
    assert [m["status"] for m in body["messages"]] == ["queued", "blocked"]
    status, page, _ = await call(gate, "GET", "/v1/messages?status=blocked", KEY)
    assert [m["to"] for m in page["items"]] == ["79001234568"]


async def test_a_client_sees_and_edits_only_its_accounts(gate: Gate) -> None:
    for account in ("promo", "tx"):
        status, _, _ = await call(
            gate, "POST", "/v1/blocklist", KEY, {"number": "79001234567", "account": account}
        )
        assert status == 201
    status, body, _ = await call(
        gate, "POST", "/v1/blocklist", SHOP, {"number": "79001234569", "account": "promo"}
    )
    assert (status, body["error"]["code"]) == (403, "account_forbidden")
    status, page, _ = await call(gate, "GET", "/v1/blocklist", SHOP)
    assert [(e["account"], e["number"]) for e in page["items"]] == [("tx", "79001234567")]
    status, body, _ = await call(gate, "GET", "/v1/blocklist?account=promo", SHOP)
    assert status == 403
    status, body, _ = await call(gate, "DELETE", "/v1/blocklist/79001234567?account=promo", SHOP)
    assert status == 403
    status, page, _ = await call(gate, "GET", "/v1/blocklist", KEY)
    assert len(page["items"]) == 2  # the operator sees every account's


async def test_delete_and_paging(gate: Gate) -> None:
    for i in range(3):
        await call(gate, "POST", "/v1/blocklist", CRM, {"number": f"7900123456{i}"})
    status, page, _ = await call(gate, "GET", "/v1/blocklist?limit=2", CRM)
    assert [e["number"] for e in page["items"]] == ["79001234560", "79001234561"]
    status, rest, _ = await call(gate, "GET", f"/v1/blocklist?limit=2&after={page['next']}", CRM)
    assert [e["number"] for e in rest["items"]] == ["79001234562"]
    assert rest["next"] is None
    status, found, _ = await call(gate, "GET", "/v1/blocklist?number=%2B79001234561", CRM)
    assert [e["number"] for e in found["items"]] == ["79001234561"]
    status, removed, _ = await call(gate, "DELETE", "/v1/blocklist/+79001234561", CRM)
    assert (status, removed["number"], removed["account"]) == (200, "79001234561", "promo")
    status, body, _ = await call(gate, "DELETE", "/v1/blocklist/79001234561", CRM)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, sent, _ = await call(gate, "POST", "/v1/messages", CRM, {**SMS, "to": "79001234561"})
    assert sent["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "not a number"}, "number"),
        ({}, "number"),
        ({"number": "79001234567", "reason": "x" * 201}, "reason"),
        ({"number": "79001234567", "account": "nope"}, "account"),
        ({"number": "79001234567", "extra": 1}, "extra"),
    ],
)
async def test_bad_entries_are_422_naming_the_field(
    gate: Gate, body: dict[str, object], field: str
) -> None:
    status, answer, _ = await call(gate, "POST", "/v1/blocklist", KEY, body)
    assert status == 422
    assert answer["error"]["field"] == field
    status, answer, _ = await call(gate, "GET", "/v1/blocklist?after=x", KEY)
    assert (status, answer["error"]["field"]) == (422, "after")

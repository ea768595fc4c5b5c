"""Numbers as people type them through the HTTP API, on SQLite and PostgreSQL: what is stored
and sent, what is refused (422 naming the field, per item in a batch), the preview, routes
matched against the number as each route's account reads it, senders by the profile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from smppgate.service.config import GatewayConfig, parse_config
from smppgate.store import Store
from tests.integration.test_api_messages import KEY, Gate, start

BELARUS = {"country_code": "375", "trunk_prefix": "80", "national_lengths": [9],
           "national_first_digits": "12345"}  # fmt: skip


def numbers_config(*, routes: bool = False) -> GatewayConfig:
    account = {"password": "pw", "hosts": ["127.0.0.1:2775"], "default_sender": "Shop"}
    data: dict[str, Any] = {
        "http": {"api_keys": [KEY]},
        "accounts": [
            {"name": "promo", "system_id": "promo", **account},
            {"name": "tx", "system_id": "tx", "profile": "devino-transactional",
             **account, "hosts": ["127.0.0.1:2776"]},
            {"name": "by", "system_id": "by", **account, "numbers": BELARUS},
        ],
    }  # fmt: skip
    if routes:
        data["routes"] = [
            {"prefix": "375", "account": "by"},
            {"prefix": "7701", "account": "tx"},
            {"prefix": "7", "account": "promo"},
        ]
    return parse_config(data, environ={})


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, numbers_config()):
        yield g


@pytest.fixture
async def routed(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, numbers_config(routes=True)):
        yield g


async def _stored_to(gate: Gate, message_id: str) -> tuple[str, str]:
    status, message = await gate.get(f"/v1/messages/{message_id}")
    assert status == 200
    return message["to"], message["account"]


@pytest.mark.parametrize(
    "typed",
    ["8 900 123-45-67", "+7 (900) 123 45 67", "007 900 123 45 67", "8-900-123-45-67",
     "79001234567", "900 123 45 67",
     "\uff0b\uff17 \uff19\uff10\uff10 \uff11\uff12\uff13\u2013\uff14\uff15\u2013\uff16\uff17"],
)  # fmt: skip
async def test_a_number_as_typed_is_stored_and_sent_international(gate: Gate, typed: str) -> None:
    status, body = await gate.post("/v1/messages", {"to": typed, "text": "Code 1234"})
    assert status == 202, body
    assert await _stored_to(gate, body["id"]) == ("79001234567", "promo")
    detail = await gate.store.get_message(body["id"])
    assert detail.message.destination == "79001234567"


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("8 900 abc 45 67", "letters are not part of a number: 'a' at position 7"),
        ("12345", "7 to 15 digits"),
        ("+7 900 123 45 67 8", "10 digits follow +7"),
        ("+8 900 123 45 67", "written without +"),
        ("*100#", "'*'"),
        ("", "must not be empty"),
    ],
)
async def test_what_is_no_number_is_422_on_to_with_the_reason(
    gate: Gate, typed: str, words: str
) -> None:
    status, answer = await gate.post("/v1/messages", {"to": typed, "text": "x"})
    assert status == 422
    assert answer["error"]["field"] == "to"
    assert words in answer["error"]["message"]
    assert (await gate.store.list_messages()).items == ()


async def test_a_batch_names_the_item_whose_number_is_wrong(gate: Gate) -> None:
    status, answer = await gate.post(
        "/v1/messages/batch",
        {"messages": [{"to": "8 900 123 45 67", "text": "a"},
                      {"to": "8 9OO 123 45 68", "text": "b"}]},
    )  # fmt: skip
    assert status == 422
    assert answer["error"]["field"] == "messages[1].to"
    assert "'O' at position 4 of '8 9OO 123 45 68'" in answer["error"]["message"]
    assert (await gate.store.list_messages()).items == ()
    status, answer = await gate.post(
        "/v1/messages/batch",
        {"messages": [{"to": "8 900 123 45 67", "text": "a"},
                      {"to": "+44 (0)20 7946 0958", "text": "b"}]},
    )  # fmt: skip
    assert status == 202
    stored = [await _stored_to(gate, m["id"]) for m in answer["messages"]]
    assert [to for to, _ in stored] == ["79001234567", "442079460958"]


async def test_ussd_reads_numbers_the_same_way(gate: Gate) -> None:
    status, body = await gate.post(
        "/v1/ussd", {"to": "8 (900) 123-45-67", "text": "Balance", "op": "pssr_response"}
    )
    assert status == 202, body
    assert (await _stored_to(gate, body["id"]))[0] == "79001234567"
    status, answer = await gate.post("/v1/ussd", {"to": "8 900", "text": "x", "op": 17})
    assert status == 422
    assert answer["error"]["field"] == "to"


async def test_the_preview_shows_the_number_and_sender_as_they_would_go(gate: Gate) -> None:
    status, body = await gate.post(
        "/v1/messages/preview", {"text": "Hi", "to": "8 (900) 123-45-67", "from": "+79001112233"}
    )
    assert status == 200
    assert (body["to"], body["from"], body["parts"]) == ("79001234567", "79001112233", 1)
    status, body = await gate.post("/v1/messages/preview", {"text": "Hi"})
    assert "to" not in body
    assert "from" not in body
    # the account's own plan
    status, body = await gate.post(
        "/v1/messages/preview", {"text": "Hi", "to": "8 029 123-45-67", "account": "by"}
    )
    assert body["to"] == "375291234567"
    for field, value in (("to", "8 900 12"), ("from", "A sender too long")):
        status, answer = await gate.post("/v1/messages/preview", {"text": "Hi", field: value})
        assert status == 422
        assert answer["error"]["field"] == field


async def test_an_account_named_reads_numbers_by_its_own_plan(gate: Gate) -> None:
    status, body = await gate.post(
        "/v1/messages", {"to": "29 123 45 67", "text": "x", "account": "by"}
    )
    assert status == 202, body
    assert await _stored_to(gate, body["id"]) == ("375291234567", "by")
    # Russia's 8 900 ... is no number in Belarus's plan
    status, answer = await gate.post(
        "/v1/messages", {"to": "8 900 123 45 67", "text": "x", "account": "by"}
    )
    assert status == 422
    assert answer["error"]["field"] == "to"


@pytest.mark.parametrize(
    ("typed", "to", "account"),
    [
        ("8 029 123-45-67", "375291234567", "by"),  # only Belarus's plan reads it
        ("+375 29 123 45 67", "375291234567", "by"),
        ("8 701 123 45 67", "77011234567", "tx"),  # Kazakhstan, after the trunk 8
        ("8 900 123 45 67", "79001234567", "promo"),
    ],
)
async def test_routes_match_the_number_as_their_account_reads_it(
    routed: Gate, typed: str, to: str, account: str
) -> None:
    status, body = await routed.post("/v1/messages", {"to": typed, "text": "x"})
    assert status == 202, body
    assert await _stored_to(routed, body["id"]) == (to, account)


async def test_a_number_no_route_can_read_is_422_on_to(routed: Gate) -> None:
    status, answer = await routed.post("/v1/messages", {"to": "8 900 abc", "text": "x"})
    assert (status, answer["error"]["field"]) == (422, "to")
    # readable, but no route takes it: 422 on class as before
    status, answer = await routed.post("/v1/messages", {"to": "+44 20 7946 0958", "text": "x"})
    assert (status, answer["error"]["field"]) == (422, "class")


@pytest.mark.parametrize(
    ("sender", "account", "words"),
    [
        ("+375291234567", "tx", "alphanumeric address (TON 5), which holds at most 11"),
        ("Магазин", "promo", "Latin letters"),
        ("Shop[1]", "promo", "'[' at position 5"),
        ("A sender too long", "tx", "at most 11 characters"),
    ],
)
async def test_senders_the_profile_cannot_carry_are_422_saying_what_to_fix(
    gate: Gate, sender: str, account: str, words: str
) -> None:
    status, answer = await gate.post(
        "/v1/messages", {"to": "+79001234567", "text": "x", "from": sender, "account": account}
    )
    assert status == 422
    assert answer["error"]["field"] == "from"
    assert words in answer["error"]["message"]


async def test_a_long_numeric_sender_goes_where_the_profile_sends_numbers(gate: Gate) -> None:
    # smpp34 sends it as an international number (TON 1, 15 digits)
    status, body = await gate.post(
        "/v1/messages", {"to": "+79001234567", "text": "x", "from": "+375291234567"}
    )
    assert status == 202, body
    assert (await gate.store.get_message(body["id"])).message.source == "375291234567"

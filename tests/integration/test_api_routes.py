"""Traffic classes and routes over the API (SQLite and PostgreSQL): a message without
`account` goes where the routes say, never silently to the first account; an explicit account
wins where the client may use it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from smppgate.service.config import ConfigError, GatewayConfig, parse_config
from smppgate.store import Store

from .test_api_clients import call
from .test_api_messages import KEY, Gate, start

SHOP = "shop-key-0123456789abcdef"
SMS = {"to": "+79001234567", "text": "Your code is 1234"}


def routed_config(routes: list[dict[str, str]]) -> GatewayConfig:
    account = {"system_id": "s", "password": "pw", "default_sender": "Shop"}
    return parse_config(
        {
            "http": {"api_keys": [KEY]},
            # the first account is promo: without routes a code would leave there
            "accounts": [
                {**account, "name": "promo", "hosts": ["127.0.0.1:2775"]},
                {**account, "name": "transactional", "hosts": ["127.0.0.1:2776"]},
                {**account, "name": "kz", "hosts": ["127.0.0.1:2777"]},
            ],
            "routes": routes,
            "clients": [
                {"name": "shop", "api_keys": [SHOP], "accounts": ["transactional"],
                 "default_class": "transactional"},
            ],
        },
        environ={},
    )  # fmt: skip


SEED_ROUTES = [
    {"class": "transactional", "account": "transactional"},
    {"class": "promo", "account": "promo"},
    {"prefix": "77", "account": "kz"},
    {"class": "alerts", "account": "transactional"},
]


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, routed_config(SEED_ROUTES)):
        yield g


async def account_of(gate: Gate, body: dict[str, object], key: str = KEY) -> tuple[int, object]:
    status, answer, _ = await call(gate, "POST", "/v1/messages", key, body)
    if status != 202:
        return status, answer
    _, message, _ = await call(gate, "GET", f"/v1/messages/{answer['id']}", KEY)
    return status, (message["account"], message["class"])


async def test_a_class_picks_its_account(gate: Gate) -> None:
    assert await account_of(gate, {**SMS, "class": "transactional"}) == (
        202, ("transactional", "transactional"),
    )  # fmt: skip
    assert await account_of(gate, {**SMS, "class": "promo"}) == (202, ("promo", "promo"))
    assert await account_of(gate, {**SMS, "class": "alerts"}) == (
        202, ("transactional", "alerts"),
    )  # fmt: skip
    assert await account_of(gate, {**SMS, "to": "+77011234567"}) == (202, ("kz", None))


async def test_no_matching_route_is_422_not_the_first_account(gate: Gate) -> None:
    status, body = await account_of(gate, SMS)  # no class, +7900: no route takes it
    assert status == 422
    assert body["error"]["field"] == "class"  # type: ignore[index]
    assert "name an account, or add a route" in body["error"]["message"]  # type: ignore[index]
    assert (await gate.store.list_messages()).items == ()


async def test_an_unknown_class_is_422_naming_the_known_ones(gate: Gate) -> None:
    status, body = await account_of(gate, {**SMS, "class": "spam"})
    assert status == 422
    assert "transactional, promo, service, alerts" in body["error"]["message"]  # type: ignore[index]


async def test_an_explicit_account_wins_where_the_client_may_use_it(gate: Gate) -> None:
    assert await account_of(gate, {**SMS, "class": "promo", "account": "kz"}) == (
        202, ("kz", "promo"),
    )  # fmt: skip
    status, body = await account_of(gate, {**SMS, "account": "promo"}, SHOP)
    assert status == 403
    assert body["error"]["code"] == "account_forbidden"  # type: ignore[index]


async def test_a_clients_default_class_routes_its_messages(gate: Gate) -> None:
    assert await account_of(gate, SMS, SHOP) == (202, ("transactional", "transactional"))
    # a class whose route goes to an account the client may not use: 403, not another account
    status, body = await account_of(gate, {**SMS, "class": "promo"}, SHOP)
    assert status == 403
    assert "'promo'" in body["error"]["message"]  # type: ignore[index]


async def test_batch_and_ussd_carry_the_class(gate: Gate) -> None:
    status, body, _ = await call(
        gate, "POST", "/v1/messages/batch", KEY,
        {"messages": [{**SMS, "class": "promo"}, {**SMS, "class": "transactional"}]},
    )  # fmt: skip
    assert status == 202
    accounts = [(await gate.store.get_message(m["id"])).message.account for m in body["messages"]]
    assert accounts == ["promo", "transactional"]
    status, body, _ = await call(
        gate, "POST", "/v1/ussd", KEY,
        {"to": "+79001234567", "text": "Balance", "op": "pssr_response", "class": "service",
         "account": "promo"},
    )  # fmt: skip
    assert status == 202
    _, message, _ = await call(gate, "GET", f"/v1/messages/{body['id']}", KEY)
    assert (message["class"], message["ussd"]["op"]) == ("service", 17)


@pytest.mark.parametrize(
    ("routes", "key", "fragment"),
    [
        ([{"class": "promo", "account": "nope"}], "routes[0].account", "no account 'nope'"),
        ([{"prefix": "+7", "account": "promo"}], "routes[0].prefix", "international digits"),
        ([{"class": "a b", "account": "promo"}], "routes[0].class", "letters"),
        ([{"account": "promo", "colour": "red"}], "routes[0].colour", "unknown key"),
    ],
)
def test_route_errors_name_the_key(routes: list[dict[str, str]], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        routed_config(routes)
    assert raised.value.key == key
    assert fragment in str(raised.value)


def test_an_unknown_default_class_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"clients\[0\]\.default_class: unknown class 'otp'"):
        parse_config(
            {
                "accounts": [{"name": "a", "hosts": ["127.0.0.1:1"], "system_id": "s",
                              "password": "p"}],
                "clients": [{"name": "c", "api_keys": [SHOP], "default_class": "otp"}],
            },
            environ={},
        )  # fmt: skip

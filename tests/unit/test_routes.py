"""Routes: the first matching route the client may use wins; none matching is refused."""

from __future__ import annotations

import pytest

from smppgate.service.routes import NoRouteError, Route, choose_account

# the seed's split: one-time codes through smpp03/04, campaigns through smpp01/02
ROUTES = (
    Route("transactional", traffic_class="transactional"),
    Route("promo", traffic_class="promo"),
    Route("kz", prefix="77"),
    Route("promo"),  # the fallback
)


def anyone(account: str) -> bool:
    return True


@pytest.mark.parametrize(
    ("traffic_class", "destination", "account"),
    [
        ("transactional", "79001234567", "transactional"),
        ("transactional", "77001234567", "transactional"),  # class before prefix: order
        ("promo", "79001234567", "promo"),
        (None, "77001234567", "kz"),
        (None, "79001234567", "promo"),
        ("service", "79001234567", "promo"),
    ],
)
def test_the_first_match_wins(traffic_class: str | None, destination: str, account: str) -> None:
    assert choose_account(ROUTES, traffic_class, destination, anyone) == account


def test_routes_to_accounts_the_client_may_not_use_are_passed_over() -> None:
    only_promo = {"promo"}.__contains__
    assert choose_account(ROUTES, "transactional", "79001234567", only_promo) == "promo"
    with pytest.raises(NoRouteError) as raised:
        choose_account(ROUTES[:1], "transactional", "79001234567", only_promo)
    assert raised.value.forbidden == "transactional"


def test_without_a_fallback_an_unmatched_message_is_refused() -> None:
    with pytest.raises(NoRouteError, match="no \\[\\[routes\\]\\] entry matches") as raised:
        choose_account(ROUTES[:2], None, "79001234567", anyone)
    assert raised.value.forbidden is None

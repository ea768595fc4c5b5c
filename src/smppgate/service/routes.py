"""Traffic classes and routes: which account a message without ``account`` goes through.

``[[routes]]`` are tried in order; the first whose class and destination prefix match, and
whose account the client may use, wins; the prefix is matched against the destination as the
route's account reads it (its dial plan, `smppgate.numbers`): international digits. A route
with neither is the fallback. With routes configured and none matching, the message is
refused: a one-time code must not leave on the promo hosts because it fell through to the
first account. Pure decisions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["BUILTIN_CLASSES", "NoRouteError", "Route", "choose_account"]

#: classes a message may name without any configuration
BUILTIN_CLASSES = ("transactional", "promo", "service")


@dataclass(frozen=True, slots=True)
class Route:
    """``[[routes]]``: messages of ``traffic_class`` (None: any) to numbers starting with
    ``prefix`` (None: any; international digits, after normalization) go through
    ``account``."""

    account: str
    traffic_class: str | None = None
    prefix: str | None = None

    def matches(self, traffic_class: str | None, destination: str) -> bool:
        return (self.traffic_class is None or self.traffic_class == traffic_class) and (
            self.prefix is None or destination.startswith(self.prefix)
        )

    def describe(self) -> str:
        return (
            f"class {self.traffic_class or 'any'}, prefix {self.prefix or 'any'} -> {self.account}"
        )


class NoRouteError(Exception):
    """No route takes the message (or none the client may use)."""

    def __init__(self, traffic_class: str | None, destination: str, forbidden: str | None) -> None:
        what = f"class {traffic_class!r}" if traffic_class else "no class"
        if forbidden is not None:
            reason = f"the matching route's account {forbidden!r} is not one this client may use"
        else:
            reason = "no [[routes]] entry matches and there is no fallback route"
        super().__init__(f"{what} to {destination}: {reason}; name an account, or add a route")
        self.traffic_class = traffic_class
        self.destination = destination
        self.forbidden = forbidden


def choose_account(
    routes: Sequence[Route],
    traffic_class: str | None,
    destination: str | Callable[[str], str | None],
    may_use: Callable[[str], bool],
) -> str:
    """The account of the first matching route the client may use; `NoRouteError` when none
    matches (``forbidden`` names the first matching account the client may not use).
    ``destination`` is the normalized number, or a function giving it as an account reads it
    (None: that account cannot read it, so its routes do not match)."""
    number_for = destination if callable(destination) else lambda _account: destination
    forbidden = None
    for route in routes:
        number = number_for(route.account)
        if number is None or not route.matches(traffic_class, number):
            continue
        if may_use(route.account):
            return route.account
        forbidden = forbidden or route.account
    shown = destination if isinstance(destination, str) else "the destination"
    raise NoRouteError(traffic_class, shown, forbidden)

"""The outcome mix of delivery receipts: which final state each message reaches."""

from __future__ import annotations

import random
from dataclasses import dataclass

from smppgate.emulator.errors import EmulatorConfigError
from smppgate.text import DeliveryState

#: outcome names as written in settings -> receipt state
OUTCOME_STATES: dict[str, DeliveryState] = {
    "delivered": DeliveryState.DELIVERED,
    "undeliverable": DeliveryState.UNDELIVERABLE,
    "expired": DeliveryState.EXPIRED,
    "rejected": DeliveryState.REJECTED,
}

#: the err: field and network_error_code we report with each final state
ERROR_CODES: dict[DeliveryState, int] = {
    DeliveryState.DELIVERED: 0,
    DeliveryState.UNDELIVERABLE: 1,
    DeliveryState.EXPIRED: 2,
    DeliveryState.REJECTED: 3,
    DeliveryState.DELETED: 4,
}


@dataclass(frozen=True, slots=True)
class OutcomeMix:
    """Relative weights of the final states (they need not add up to 1)."""

    delivered: float = 1.0
    undeliverable: float = 0.0
    expired: float = 0.0
    rejected: float = 0.0

    def __post_init__(self) -> None:
        weights = self.weights()
        if any(w < 0 for w in weights):
            raise EmulatorConfigError("dlr_outcome", "weights must not be negative")
        if sum(weights) <= 0:
            raise EmulatorConfigError("dlr_outcome", "at least one weight must be positive")

    def weights(self) -> tuple[float, float, float, float]:
        return (self.delivered, self.undeliverable, self.expired, self.rejected)

    def choose(self, rng: random.Random) -> DeliveryState:
        """One final state drawn with these weights."""
        if self.delivered and not (self.undeliverable or self.expired or self.rejected):
            return DeliveryState.DELIVERED
        states = tuple(OUTCOME_STATES.values())
        return rng.choices(states, weights=self.weights())[0]

    @classmethod
    def parse(cls, text: str) -> OutcomeMix:
        """``delivered=0.9,undeliverable=0.1``; names left out weigh 0."""
        weights: dict[str, float] = {}
        for item in text.split(","):
            name, sep, value = item.strip().partition("=")
            if not sep or name.strip() not in OUTCOME_STATES:
                raise EmulatorConfigError(
                    "dlr_outcome",
                    f"{item.strip()!r}: expected NAME=WEIGHT with NAME one of "
                    + ", ".join(OUTCOME_STATES),
                )
            try:
                weights[name.strip()] = float(value)
            except ValueError:
                raise EmulatorConfigError("dlr_outcome", f"{value!r} is not a number") from None
        return cls.from_mapping(weights)

    @classmethod
    def from_mapping(cls, weights: dict[str, float]) -> OutcomeMix:
        unknown = set(weights) - set(OUTCOME_STATES)
        if unknown:
            raise EmulatorConfigError("dlr_outcome", f"unknown outcome {sorted(unknown)[0]!r}")
        return cls(**{name: float(weights.get(name, 0.0)) for name in OUTCOME_STATES})

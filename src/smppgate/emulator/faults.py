"""Fault injection: small policies chosen by name, scoped to an account and a destination prefix.

Each behaviour is one class with a ``name`` and a ``kind`` saying where the emulator consults it:

* ``submit``: asked about every submit_sm / data_sm / submit_multi destination, in rule order;
  the first error status wins and delays add up (``throttle``, ``queue_full``,
  ``invalid_destination``, ``delay``, ``reject``).
* ``connection``: read by each bound connection of the account (``drop_after``, ``silence``,
  ``mute_enquire_link``).
* ``bind``: consulted when a bind of the account arrives (``reject_bind``).
* ``accept``: consulted when a TCP connection arrives, before any bind (``refuse_connections``).

``Faults`` is the mutable set of rules the emulator reads at run time: tests, the control API and
the CLI add and remove rules while sessions run.
"""

from __future__ import annotations

import random
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, NamedTuple

from smppgate.emulator.errors import EmulatorConfigError, UnknownFaultError
from smppgate.pdu import CommandStatus


class FaultKind(Enum):
    SUBMIT = "submit"
    CONNECTION = "connection"
    BIND = "bind"
    ACCEPT = "accept"


class SubmitFacts(NamedTuple):
    """What a submit policy may look at."""

    system_id: str
    destination: str
    message_key: tuple[str, str, bytes]  # (system_id, destination, content): one message
    now: float


class Verdict(NamedTuple):
    status: CommandStatus = CommandStatus.ESME_ROK
    delay: float = 0.0


def _status(value: object, key: str) -> CommandStatus:
    try:
        if isinstance(value, str):
            return (
                CommandStatus[value]
                if not value.lower().startswith("0x")
                else (CommandStatus(int(value, 16)))
            )
        if isinstance(value, int):
            return CommandStatus(value)
    except (KeyError, ValueError):
        pass
    raise EmulatorConfigError(key, f"{value!r} is not a command_status name or number")


class Policy:
    """Base of the behaviours: a name, a kind and the parameters it was built with."""

    name: ClassVar[str]
    kind: ClassVar[FaultKind]

    def params(self) -> dict[str, object]:
        return {}

    def judge(self, facts: SubmitFacts) -> Verdict | None:
        """Submit policies: an answer for this submit, or None for no opinion."""
        return None


class Throttle(Policy):
    """Token bucket: ``rate`` submits per second (burst ``burst``) per account; beyond it
    ESME_RTHROTTLED."""

    name = "throttle"
    kind = FaultKind.SUBMIT

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise EmulatorConfigError("throttle.rate", "must be positive")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        if self.burst < 1:
            raise EmulatorConfigError("throttle.burst", "must be at least 1")
        self._buckets: dict[str, tuple[float, float]] = {}  # system_id -> (tokens, at)

    def params(self) -> dict[str, object]:
        return {"rate": self.rate, "burst": self.burst}

    def judge(self, facts: SubmitFacts) -> Verdict | None:
        tokens, at = self._buckets.get(facts.system_id, (self.burst, facts.now))
        tokens = min(self.burst, tokens + (facts.now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[facts.system_id] = (tokens - 1.0, facts.now)
            return None
        self._buckets[facts.system_id] = (tokens, facts.now)
        return Verdict(CommandStatus.ESME_RTHROTTLED)


class QueueFull(Policy):
    """ESME_RMSGQFUL for the first ``first`` attempts of each message, then with
    ``probability`` for any attempt."""

    name = "queue_full"
    kind = FaultKind.SUBMIT
    MEMORY = 10_000  # messages whose attempts are counted

    def __init__(self, first: int = 0, probability: float = 0.0, seed: int | None = None) -> None:
        if first < 0:
            raise EmulatorConfigError("queue_full.first", "must not be negative")
        if not 0.0 <= probability <= 1.0:
            raise EmulatorConfigError("queue_full.probability", "must be within 0..1")
        if not first and not probability:
            raise EmulatorConfigError("queue_full", "set first or probability")
        self.first = int(first)
        self.probability = float(probability)
        self._rng = random.Random(seed)
        self._attempts: OrderedDict[tuple[str, str, bytes], int] = OrderedDict()

    def params(self) -> dict[str, object]:
        return {"first": self.first, "probability": self.probability}

    def judge(self, facts: SubmitFacts) -> Verdict | None:
        attempts = self._attempts
        n = attempts.pop(facts.message_key, 0) + 1
        attempts[facts.message_key] = n
        if len(attempts) > self.MEMORY:
            attempts.popitem(last=False)
        if n <= self.first or (self.probability and self._rng.random() < self.probability):
            return Verdict(CommandStatus.ESME_RMSGQFUL)
        return None


class InvalidDestination(Policy):
    """ESME_RINVDSTADR for destinations fully matching ``pattern`` (a regular expression)."""

    name = "invalid_destination"
    kind = FaultKind.SUBMIT

    def __init__(self, pattern: str) -> None:
        try:
            self.pattern = re.compile(pattern)
        except re.error as exc:
            raise EmulatorConfigError("invalid_destination.pattern", str(exc)) from None

    def params(self) -> dict[str, object]:
        return {"pattern": self.pattern.pattern}

    def judge(self, facts: SubmitFacts) -> Verdict | None:
        if self.pattern.fullmatch(facts.destination):
            return Verdict(CommandStatus.ESME_RINVDSTADR)
        return None


class Delay(Policy):
    """Answer submits ``seconds`` late (the response, not the receipt)."""

    name = "delay"
    kind = FaultKind.SUBMIT

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise EmulatorConfigError("delay.seconds", "must not be negative")
        self.seconds = float(seconds)

    def params(self) -> dict[str, object]:
        return {"seconds": self.seconds}

    def judge(self, facts: SubmitFacts) -> Verdict | None:
        return Verdict(CommandStatus.ESME_ROK, self.seconds)


class Reject(Policy):
    """Answer every submit with ``status`` (any command_status name or number)."""

    name = "reject"
    kind = FaultKind.SUBMIT

    def __init__(self, status: str | int) -> None:
        self.status = _status(status, "reject.status")

    def params(self) -> dict[str, object]:
        return {"status": self.status.name}

    def judge(self, facts: SubmitFacts) -> Verdict | None:
        return Verdict(self.status)


class DropAfter(Policy):
    """Drop the TCP connection (no unbind) when a session has received ``pdus`` requests."""

    name = "drop_after"
    kind = FaultKind.CONNECTION

    def __init__(self, pdus: int) -> None:
        if pdus < 1:
            raise EmulatorConfigError("drop_after.pdus", "must be at least 1")
        self.pdus = int(pdus)

    def params(self) -> dict[str, object]:
        return {"pdus": self.pdus}


class Silence(Policy):
    """Write nothing at all any more (responses, enquire_link_resp, deliver_sm)."""

    name = "silence"
    kind = FaultKind.CONNECTION


class MuteEnquireLink(Policy):
    """Leave enquire_link unanswered; everything else goes on."""

    name = "mute_enquire_link"
    kind = FaultKind.CONNECTION


class RejectBind(Policy):
    """Refuse binds of the account with ``status`` (default ESME_RBINDFAIL)."""

    name = "reject_bind"
    kind = FaultKind.BIND

    def __init__(self, status: str | int = "ESME_RBINDFAIL") -> None:
        self.status = _status(status, "reject_bind.status")

    def params(self) -> dict[str, object]:
        return {"status": self.status.name}


class RefuseConnections(Policy):
    """Close every new TCP connection at once, for ``seconds`` from when the rule is added."""

    name = "refuse_connections"
    kind = FaultKind.ACCEPT

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise EmulatorConfigError("refuse_connections.seconds", "must be positive")
        self.seconds = float(seconds)
        self.until = 0.0  # set by Faults.add from its clock

    def params(self) -> dict[str, object]:
        return {"seconds": self.seconds}


POLICIES: dict[str, Callable[..., Policy]] = {
    cls.name: cls
    for cls in (
        Throttle,
        QueueFull,
        InvalidDestination,
        Delay,
        Reject,
        DropAfter,
        Silence,
        MuteEnquireLink,
        RejectBind,
        RefuseConnections,
    )
}


def make_policy(name: str, params: Mapping[str, Any] | None = None) -> Policy:
    """Build the behaviour called ``name``; raises UnknownFaultError or EmulatorConfigError."""
    factory = POLICIES.get(name)
    if factory is None:
        raise UnknownFaultError(name)
    try:
        return factory(**dict(params or {}))
    except TypeError as exc:
        raise EmulatorConfigError(f"faults.{name}", f"bad parameters: {exc}") from None


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One active behaviour and where it applies (None = everywhere)."""

    id: int
    policy: Policy
    account: str | None = None
    prefix: str | None = None

    def applies(self, system_id: str | None, destination: str | None = None) -> bool:
        if self.account is not None and self.account != system_id:
            return False
        return self.prefix is None or (
            destination is not None and destination.startswith(self.prefix)
        )

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "fault": self.policy.name,
            "account": self.account,
            "prefix": self.prefix,
            **self.policy.params(),
        }


class ConnectionFaults(NamedTuple):
    """The connection-level behaviours in force for one account."""

    drop_after: int | None = None
    silence: bool = False
    mute_enquire_link: bool = False


NO_CONNECTION_FAULTS = ConnectionFaults()


class Faults:
    """The rules in force. ``version`` changes on every edit so readers can cache."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._rules: dict[int, FaultRule] = {}
        self._next_id = 1
        self.version = 0
        self.active = False  # any rule in force (read on the submit fast path)
        self._submit: tuple[FaultRule, ...] = ()

    def __len__(self) -> int:
        return len(self._rules)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        return tuple(self._rules.values())

    def add(
        self,
        name: str | Policy,
        *,
        account: str | None = None,
        prefix: str | None = None,
        **params: Any,
    ) -> FaultRule:
        """Put a behaviour in force (by name with its parameters, or a built policy)."""
        policy = name if isinstance(name, Policy) else make_policy(name, params)
        if isinstance(policy, RefuseConnections):
            policy.until = self._clock() + policy.seconds
        rule = FaultRule(self._next_id, policy, account or None, prefix or None)
        self._next_id += 1
        self._rules[rule.id] = rule
        self._changed()
        return rule

    def remove(self, rule_id: int) -> None:
        if self._rules.pop(rule_id, None) is None:
            raise UnknownFaultError(str(rule_id))
        self._changed()

    def clear(self, name: str | None = None) -> None:
        """Remove every rule, or every rule of behaviour ``name``."""
        for rule_id, rule in list(self._rules.items()):
            if name is None or rule.policy.name == name:
                del self._rules[rule_id]
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self.active = bool(self._rules)
        self._submit = tuple(r for r in self._rules.values() if r.policy.kind is FaultKind.SUBMIT)

    # ---------------------------------------------------------------- questions

    @property
    def has_submit_rules(self) -> bool:
        return bool(self._submit)

    def judge_submit(self, facts: SubmitFacts) -> Verdict | None:
        """The combined answer of the submit rules for this destination: the first error
        status wins, delays add up; None when no rule has an opinion."""
        status = CommandStatus.ESME_ROK
        delay = 0.0
        opinion = False
        for rule in self._submit:
            if not rule.applies(facts.system_id, facts.destination):
                continue
            verdict = rule.policy.judge(facts)
            if verdict is None:
                continue
            opinion = True
            delay += verdict.delay
            if verdict.status is not CommandStatus.ESME_ROK:
                status = verdict.status
                break
        return Verdict(status, delay) if opinion else None

    def connection_faults(self, system_id: str | None) -> ConnectionFaults:
        drop_after: int | None = None
        silence = mute = False
        for rule in self._rules.values():
            policy = rule.policy
            if policy.kind is not FaultKind.CONNECTION or not rule.applies(system_id):
                continue
            if isinstance(policy, DropAfter):
                drop_after = policy.pdus if drop_after is None else min(drop_after, policy.pdus)
            elif isinstance(policy, Silence):
                silence = True
            elif isinstance(policy, MuteEnquireLink):
                mute = True
        if drop_after is None and not silence and not mute:
            return NO_CONNECTION_FAULTS
        return ConnectionFaults(drop_after, silence, mute)

    def bind_status(self, system_id: str) -> CommandStatus | None:
        for rule in self._rules.values():
            if isinstance(rule.policy, RejectBind) and rule.applies(system_id):
                return rule.policy.status
        return None

    def refusing(self, now: float) -> bool:
        return any(
            isinstance(rule.policy, RefuseConnections) and now < rule.policy.until
            for rule in self._rules.values()
        )

    def describe(self) -> list[dict[str, object]]:
        return [rule.describe() for rule in self._rules.values()]

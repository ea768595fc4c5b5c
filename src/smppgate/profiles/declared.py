"""Profiles declared in the gateway's TOML config (``[[profiles]]``), on top of the built-ins.

A declared profile starts from a ``base`` (a built-in or an earlier declared one, default
``smpp34``) and changes what it names: hosts, timers, retry rules and per-status overrides,
TON/NPI, the default alphabet, unsupported operations, generic_nack. It keeps the base's
platform floors (``minimums``, the 3..5 queue-full retries): a profile built on a Devino one
cannot lower the page's waits. Errors name the key (``profiles[0].retry.statuses.X``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from smppgate.pdu import CommandId, CommandStatus, RetryClass
from smppgate.profiles.profile import (
    AddressPolicy,
    BelowPlatformMinimumError,
    HostAddress,
    ProviderProfile,
    RetryRules,
    get_profile,
)
from smppgate.text import DefaultAlphabet


class ProfileError(ValueError):
    """A declared profile is wrong; ``key`` says where."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


#: operations a platform may lack (the others are the session's own: bind, unbind, ...)
OPTIONAL_OPERATIONS = MappingProxyType(
    {
        "query_sm": CommandId.QUERY_SM,
        "data_sm": CommandId.DATA_SM,
        "submit_multi": CommandId.SUBMIT_MULTI,
        "cancel_sm": CommandId.CANCEL_SM,
        "replace_sm": CommandId.REPLACE_SM,
    }
)
_TIMERS = ("reconnect_after_drop", "reconnect_after_failure", "enquire_link_idle",
           "enquire_link_timeout", "response_timeout", "min_validity")  # fmt: skip
_KEYS = {"name", "base", "description", "hosts", "max_sessions", "retry", "addresses",
         "default_alphabet", "unsupported", "generic_nack", *_TIMERS}  # fmt: skip
_RETRY_KEYS = {"throttle_pause", "queue_full_delays", "queue_full_max_retries",
               "transient_delays", "transient_max_retries", "statuses"}  # fmt: skip
_ADDRESS_KEYS = {"source", "alphanumeric", "international", "short_code",
                 "short_code_max_digits", "destination"}  # fmt: skip


def declare_profile(
    data: Mapping[str, Any], key: str, declared: Mapping[str, ProviderProfile]
) -> ProviderProfile:
    """The profile a ``[[profiles]]`` table declares (``declared``: the earlier ones)."""
    _known(data, key, _KEYS)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError(f"{key}.name", "required: the name accounts use in profile = ...")
    base_name = data.get("base", "smpp34")
    if not isinstance(base_name, str):
        raise ProfileError(f"{key}.base", "must be a profile name")
    try:
        base = get_profile(base_name, declared)
    except ValueError as exc:
        raise ProfileError(f"{key}.base", str(exc)) from None
    changes: dict[str, Any] = {"name": name}
    if "description" in data:
        changes["description"] = _string(data, key, "description")
    if "hosts" in data:
        changes["hosts"] = _hosts(data["hosts"], f"{key}.hosts")
    if "max_sessions" in data:
        changes["max_sessions"] = _whole(data, key, "max_sessions", 1, 64)
    for timer in _TIMERS:
        if timer in data:
            changes[timer] = _seconds(data, key, timer)
    if "retry" in data:
        changes["retry"] = _retry(_table(data, key, "retry"), f"{key}.retry", base.retry)
    if "addresses" in data:
        changes["addresses"] = _addresses(
            _table(data, key, "addresses"), f"{key}.addresses", base.addresses
        )
    if "default_alphabet" in data:
        changes["default_alphabet"] = _alphabet(data, key)
    if "unsupported" in data:
        changes["unsupported"] = _operations(data["unsupported"], f"{key}.unsupported")
    if "generic_nack" in data:
        value = data["generic_nack"]
        if not isinstance(value, bool):
            raise ProfileError(f"{key}.generic_nack", f"must be true or false, got {value!r}")
        changes["answer_errors"] = value
    try:
        return replace(base, **changes)
    except BelowPlatformMinimumError as exc:  # a floor of the base's platform
        raise ProfileError(f"{key}.{exc.key}", str(exc)) from None
    except ValueError as exc:  # the base's queue-full retry range
        raise ProfileError(f"{key}.retry.queue_full_max_retries", str(exc)) from None


def _known(data: Mapping[str, Any], key: str, keys: set[str]) -> None:
    for name in data:
        if name not in keys:
            raise ProfileError(
                f"{key}.{name}", f"unknown key (known here: {', '.join(sorted(keys))})"
            )


def _table(data: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = data[name]
    if not isinstance(value, Mapping):
        raise ProfileError(f"{key}.{name}", "must be a table")
    return value


def _string(data: Mapping[str, Any], key: str, name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ProfileError(f"{key}.{name}", f"must be a string, got {value!r}")
    return value


def _seconds(data: Mapping[str, Any], key: str, name: str) -> float:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ProfileError(f"{key}.{name}", f"must be a number of seconds above 0, got {value!r}")
    return float(value)


def _whole(data: Mapping[str, Any], key: str, name: str, low: int, high: int) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProfileError(f"{key}.{name}", f"must be a whole number {low}..{high}, got {value!r}")
    return value


def _delays(value: object, key: str) -> tuple[float, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(not isinstance(v, bool) and isinstance(v, int | float) and v >= 0 for v in value)
    ):
        raise ProfileError(key, "must be a non-empty list of seconds, e.g. [5, 15, 45]")
    return tuple(float(v) for v in value)


def _hosts(value: object, key: str) -> tuple[HostAddress, ...]:
    if not isinstance(value, list) or not value:
        raise ProfileError(key, "must be a non-empty list of 'HOST:PORT', primary first")
    hosts: list[HostAddress] = []
    for i, text in enumerate(value):
        try:
            if not isinstance(text, str):
                raise ValueError
            hosts.append(HostAddress.parse(text))
        except ValueError:
            raise ProfileError(f"{key}[{i}]", f"must be HOST:PORT, got {text!r}") from None
    return tuple(hosts)


def _retry(data: Mapping[str, Any], key: str, base: RetryRules) -> RetryRules:
    _known(data, key, _RETRY_KEYS)
    changes: dict[str, Any] = {}
    if "throttle_pause" in data:
        changes["throttle_pause"] = _seconds(data, key, "throttle_pause")
    for name in ("queue_full_delays", "transient_delays"):
        if name in data:
            changes[name] = _delays(data[name], f"{key}.{name}")
    for name in ("queue_full_max_retries", "transient_max_retries"):
        if name in data:
            changes[name] = _whole(data, key, name, 0, 100)
    if "statuses" in data:
        overrides = dict(base.overrides)
        for status_text, class_text in _table(data, key, "statuses").items():
            where = f"{key}.statuses.{status_text}"
            overrides[_status(status_text, where)] = _retry_class(class_text, where)
        changes["overrides"] = MappingProxyType(overrides)
    try:
        return replace(base, **changes)
    except ValueError as exc:
        raise ProfileError(key, str(exc)) from None


def _status(text: str, key: str) -> int:
    try:
        if text.lower().startswith("0x"):
            return int(CommandStatus(int(text, 16)))
        return int(CommandStatus[text.upper()])
    except (KeyError, ValueError):
        raise ProfileError(
            key, "not a command_status name (ESME_RSYSERR) or number (0x08)"
        ) from None


def _retry_class(value: object, key: str) -> RetryClass:
    try:
        return RetryClass(value)
    except ValueError:
        names = ", ".join(c.value for c in RetryClass)
        raise ProfileError(key, f"must be one of {names}, got {value!r}") from None


def _pair(value: object, key: str) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFF for v in value)
    ):
        raise ProfileError(key, f"must be [TON, NPI], e.g. [5, 1], got {value!r}")
    return value[0], value[1]


def _addresses(data: Mapping[str, Any], key: str, base: AddressPolicy) -> AddressPolicy:
    _known(data, key, _ADDRESS_KEYS)
    policy = base
    if "source" in data:
        policy = policy.with_source(*_pair(data["source"], f"{key}.source"))
    fields = {
        "alphanumeric": ("alphanumeric_source_ton", "alphanumeric_source_npi"),
        "international": ("numeric_source_ton", "numeric_source_npi"),
        "short_code": ("short_code_source_ton", "short_code_source_npi"),
        "destination": ("dest_ton", "dest_npi"),
    }
    for name, (ton_field, npi_field) in fields.items():
        if name in data:
            ton, npi = _pair(data[name], f"{key}.{name}")
            policy = replace(policy, **{ton_field: ton, npi_field: npi})
    if "short_code_max_digits" in data:
        policy = replace(
            policy, short_code_max_digits=_whole(data, key, "short_code_max_digits", 0, 20)
        )
    return policy


def _alphabet(data: Mapping[str, Any], key: str) -> DefaultAlphabet:
    try:
        return DefaultAlphabet(data["default_alphabet"])
    except ValueError:
        names = ", ".join(a.value for a in DefaultAlphabet)
        raise ProfileError(f"{key}.default_alphabet", f"must be one of {names}") from None


def _operations(value: object, key: str) -> frozenset[CommandId]:
    if not isinstance(value, list):
        raise ProfileError(key, "must be a list of operations, e.g. ['query_sm']")
    found: set[CommandId] = set()
    for i, name in enumerate(value):
        if name not in OPTIONAL_OPERATIONS:
            names = ", ".join(OPTIONAL_OPERATIONS)
            raise ProfileError(f"{key}[{i}]", f"must be one of {names}, got {name!r}")
        found.add(OPTIONAL_OPERATIONS[name])
    return frozenset(found)

"""Errors of the emulator: bad configuration, and requests its API cannot carry out."""

from __future__ import annotations


class EmulatorError(Exception):
    """Base class of the emulator's errors."""


class EmulatorConfigError(EmulatorError, ValueError):
    """A setting is missing, unknown or out of range; ``key`` names it (dotted for TOML)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


class NoReceiverError(EmulatorError):
    """An MO message was injected for an account with no rx/trx session bound."""

    def __init__(self, system_id: str) -> None:
        super().__init__(f"no receiver (rx or trx) session is bound for {system_id!r}")
        self.system_id = system_id


class UnknownFaultError(EmulatorError, KeyError):
    """A fault behaviour name (or a rule id) that does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown fault {self.name!r}"

# ruff: noqa: N818  (the names are the contract the gateway was promised: NotFound, ...)
"""The store's errors: one small hierarchy, driver errors translated at the boundary.

Callers catch `StoreError` for "the store failed" and the subclasses when they can act on the
reason: `StoreUnavailable` (retry later, answer 503), `DuplicateKey` (a unique value already
exists), `NotFound`, `SchemaOutOfDate` (run `smppgate migrate`).
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is busy beyond the timeout; nothing was committed."""


class DuplicateKey(StoreError):
    """A unique value (a message id, a part, ...) already exists; the transaction rolled back."""

    def __init__(self, what: str) -> None:
        super().__init__(f"duplicate key: {what}")
        self.what = what


class NotFound(StoreError):
    """The record asked for does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} not found: {key!r}")
        self.kind = kind
        self.key = key


class QuotaExceeded(StoreError):
    """The messages would take a client over its daily quota; nothing was inserted."""

    def __init__(self, client: str, day: str, limit: int, used: int) -> None:
        super().__init__(f"client {client!r} queued {used} of {limit} messages on {day}")
        self.client = client
        self.day = day
        self.limit = limit
        self.used = used


class InvalidTransition(StoreError):
    """An operation asked for a state change the lifecycle table does not allow."""

    def __init__(self, message_id: str, old: str, new: str) -> None:
        super().__init__(f"message {message_id}: {old} -> {new} is not a legal transition")
        self.message_id = message_id
        self.old = old
        self.new = new


class InvalidTime(StoreError, ValueError):
    """A time given to the store is not a finite epoch (infinity or NaN): nothing is written.
    The store never holds a sentinel for a time; the databases refuse one too (migration 4)."""

    def __init__(self, what: str, value: float) -> None:
        super().__init__(f"{what} must be a finite epoch, got {value!r}")
        self.what = what
        self.value = value


class SchemaOutOfDate(StoreError):
    """The database schema is older (or newer) than this code; run `smppgate migrate`."""

    def __init__(self, current: int, expected: int) -> None:
        super().__init__(f"schema version {current}, this code needs {expected}")
        self.current = current
        self.expected = expected


class UnsupportedUrl(StoreError):
    """The store URL names no backend this package has."""

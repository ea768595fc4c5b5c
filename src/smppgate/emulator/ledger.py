"""What the emulator remembers, always bounded: message ids, submitted messages and their
states, the submit record, the violation log and the counters."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Generic, NamedTuple, TypeVar

from smppgate.emulator.config import IdFormat, ReceiptIdFormat
from smppgate.pdu import CommandStatus, Pdu, decode
from smppgate.text import DeliveryState

K = TypeVar("K")
V = TypeVar("V")


class BoundedIndex(Generic[K, V]):
    """A mapping that forgets its oldest entries: two generations of at most ``limit / 2``
    entries each; when the young one fills up, the old one is dropped. O(1) everything."""

    __slots__ = ("_half", "_new", "_old")

    def __init__(self, limit: int) -> None:
        self._half = max(1, limit // 2)
        self._new: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def __setitem__(self, key: K, value: V) -> None:
        new = self._new
        new[key] = value
        if len(new) >= self._half:
            self._old = new
            self._new = {}

    def get(self, key: K) -> V | None:
        value = self._new.get(key)
        if value is None:
            value = self._old.get(key)
        return value

    def pop(self, key: K, default: V | None = None) -> V | None:
        """Forget ``key`` (in both generations); its value, or ``default``."""
        old = self._old.pop(key, None)
        value = self._new.pop(key, None)
        return value if value is not None else old if old is not None else default

    def __contains__(self, key: object) -> bool:
        return key in self._new or key in self._old

    def __len__(self) -> int:
        return len(self._new) + len(self._old)


class MessageIds:
    """Unique ids from a counter, written in decimal or hex. ``numbers`` is the counter
    itself (the fast path draws from it and writes the id as ``text`` does)."""

    __slots__ = ("decimal", "format", "numbers")

    def __init__(self, start: int, fmt: IdFormat) -> None:
        self.numbers = itertools.count(start)
        self.format = fmt
        self.decimal = fmt is IdFormat.DECIMAL  # read per id: no enum lookup on the hot path

    def next(self) -> tuple[int, str]:
        number = next(self.numbers)
        return number, self.text(number)

    def text(self, number: int) -> str:
        return str(number) if self.decimal else format(number, "x")

    def for_receipt(self, number: int, message_id: str, fmt: ReceiptIdFormat) -> str:
        if fmt is ReceiptIdFormat.SAME:
            return message_id
        return str(number) if fmt is ReceiptIdFormat.DECIMAL else format(number, "x")


class SubmitRecord(NamedTuple):
    """One submit as the emulator received it (and what it answered). The PDU is kept as its
    wire bytes and decoded on demand (``pdu``), so the submit path allocates nothing more."""

    at: float
    system_id: str
    session: int  # the connection's id (see SessionInfo.id)
    traffic_class: str  # the listener's class (D-02)
    message_id: str  # "" when refused
    status: CommandStatus
    frame: bytes
    number: int = 0  # the id as a number (for receipts in another base)

    @property
    def pdu(self) -> Pdu:
        return decode(self.frame)


class MessageStatus(NamedTuple):
    """A message's state once something happened to it (delivered, cancelled, expired...)."""

    state: DeliveryState
    done_at: float
    error: int = 0


class Violation(NamedTuple):
    """A client broke a platform rule (Part C id) at ``at``."""

    rule: str
    session: int | None
    system_id: str | None
    detail: str
    at: float


class SessionEvent(NamedTuple):
    """connect, bind, bind_failed, unbind, drop, refused... for the event log."""

    at: float
    session: int
    kind: str
    system_id: str | None
    detail: str


class Counters:
    """Totals since start; ``snapshot`` gives them as a dict."""

    __slots__ = (
        "billed_segments",
        "bind_failures",
        "binds",
        "connections",
        "deliver_errors",
        "disconnects",
        "mo_sent",
        "protocol_errors",
        "queries",
        "receipts_dropped",
        "receipts_queued",
        "receipts_sent",
        "refused_connections",
        "submit_errors",
        "submits",
        "violations",
    )

    def __init__(self) -> None:
        self.billed_segments = 0
        self.bind_failures = 0
        self.binds = 0
        self.connections = 0
        self.deliver_errors = 0
        self.disconnects = 0
        self.mo_sent = 0
        self.protocol_errors = 0
        """Requests answered with generic_nack or an error status before any platform check:
        undecodable, unknown, or not allowed in the session's state."""
        self.queries = 0
        self.receipts_dropped = 0
        self.receipts_queued = 0
        self.receipts_sent = 0
        self.refused_connections = 0
        self.submit_errors = 0
        self.submits = 0
        self.violations = 0

    def snapshot(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Log(Generic[V]):
    """A bounded log (oldest entries dropped); iterate it, index it, ``clear`` it."""

    __slots__ = ("_items", "_limit", "dropped")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: deque[V] = deque(maxlen=limit)
        self.dropped = 0

    def append(self, item: V) -> None:
        items = self._items
        if len(items) == self._limit:
            self.dropped += 1
        items.append(item)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> V:
        return self._items[index]

    def clear(self) -> None:
        self._items.clear()

    def rules(self) -> list[str]:
        """For violation logs: the rule ids, in order."""
        return [getattr(item, "rule", "") for item in self._items]

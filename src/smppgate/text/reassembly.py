"""Reassembly of multi-part MO messages (spec D-25): pure, clock-free, memory-bounded.

Parts are fed with the time as an argument; a message comes out when its last part arrives.
Sets that stay incomplete are handed over as partial by :meth:`Reassembler.expire` after the
timeout, and the oldest set is handed over as partial when the bound on sets in progress is
reached: a part is never dropped silently. Parts are joined as octets and decoded only once
joined, so an escape or surrogate pair torn by a careless sender still decodes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from smppgate.text.coding import DefaultAlphabet, decode
from smppgate.text.errors import UdhError
from smppgate.text.udh import ESM_CLASS_UDHI, find_concatenation, split_udh

__all__ = [
    "AssembledMessage",
    "AssemblyStatus",
    "ConcatKey",
    "ConcatPart",
    "Reassembler",
    "concatenation_of",
]


class AssemblyStatus(StrEnum):
    """Why a message was handed over."""

    COMPLETE = "complete"
    TIMED_OUT = "timed_out"
    EVICTED = "evicted"
    # A part that cannot belong to a set (seqnum 0 or above total, broken UDH): handed over
    # alone with whatever content it had.
    MALFORMED = "malformed"


class ConcatKey(NamedTuple):
    """What identifies one concatenated message."""

    account: str
    source: str
    destination: str
    reference: int
    total: int


@dataclass(frozen=True, slots=True)
class AssembledMessage:
    """A reassembled (or partial) message. ``segments[i]`` is part i + 1, None if missing."""

    account: str
    source: str
    destination: str
    reference: int | None
    total: int
    data_coding: int
    segments: tuple[bytes | None, ...]
    status: AssemblyStatus

    @property
    def payload(self) -> bytes:
        """The parts present, joined in order."""
        return b"".join(segment for segment in self.segments if segment is not None)

    @property
    def missing(self) -> tuple[int, ...]:
        """Sequence numbers (1-based) of the parts that never arrived."""
        return tuple(i for i, segment in enumerate(self.segments, 1) if segment is None)

    @property
    def complete(self) -> bool:
        return self.status is AssemblyStatus.COMPLETE

    def text(self, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7) -> str:
        """Decoded payload; raises only UnsupportedDataCodingError (see :func:`decode`)."""
        return decode(self.payload, self.data_coding, default_alphabet)


class _Pending:
    __slots__ = ("data_coding", "received", "segments", "started")

    def __init__(self, total: int, data_coding: int, started: float) -> None:
        self.started = started
        self.data_coding = data_coding
        self.segments: list[bytes | None] = [None] * total
        self.received = 0


class Reassembler:
    """Collects parts keyed by (account, source, destination, reference, total).

    Duplicates are ignored, also when they come after their message completed (an identical
    part within ``timeout`` of completion); a different part with the same key then starts a
    new message, since the reference may have been legitimately reused.
    """

    __slots__ = ("_pending", "_recent", "max_sets", "timeout")

    def __init__(self, timeout: float = 120.0, max_sets: int = 10_000) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        if max_sets < 1:
            raise ValueError(f"max_sets must be at least 1, not {max_sets}")
        self.timeout = timeout
        self.max_sets = max_sets
        # Insertion order is arrival order of first parts: oldest first for expiry and eviction.
        self._pending: OrderedDict[ConcatKey, _Pending] = OrderedDict()
        self._recent: OrderedDict[ConcatKey, tuple[float, frozenset[tuple[int, bytes]]]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        """Sets in progress."""
        return len(self._pending)

    def next_deadline(self) -> float | None:
        """When :meth:`expire` will next have something to hand over, if anything is pending."""
        for pending in self._pending.values():
            return pending.started + self.timeout
        return None

    def feed(
        self,
        *,
        source: str,
        destination: str,
        reference: int,
        total: int,
        seqnum: int,
        payload: bytes,
        data_coding: int,
        now: float,
        account: str = "",
    ) -> tuple[AssembledMessage, ...]:
        """Add one part (payload without UDH); returns what is ready: evicted partial sets
        first, then this part's message if it completed. Never raises for wire values.
        """
        if total == 1 and seqnum == 1:
            return (
                AssembledMessage(
                    account,
                    source,
                    destination,
                    reference,
                    1,
                    data_coding,
                    (payload,),
                    AssemblyStatus.COMPLETE,
                ),
            )
        if not 1 <= seqnum <= total:
            return (
                AssembledMessage(
                    account,
                    source,
                    destination,
                    reference,
                    total,
                    data_coding,
                    (payload,),
                    AssemblyStatus.MALFORMED,
                ),
            )
        key = ConcatKey(account, source, destination, reference, total)
        pending = self._pending.get(key)
        if pending is None:
            if self._is_late_duplicate(key, seqnum, payload, now):
                return ()
            out = self._make_room()
            pending = self._pending[key] = _Pending(total, data_coding, now)
        else:
            out = []
        if pending.segments[seqnum - 1] is not None:
            return tuple(out)
        pending.segments[seqnum - 1] = payload
        pending.received += 1
        if pending.received == total:
            del self._pending[key]
            self._remember(key, pending, now)
            out.append(_handover(key, pending, AssemblyStatus.COMPLETE))
        return tuple(out)

    def feed_short_message(
        self,
        *,
        source: str,
        destination: str,
        short_message: bytes,
        esm_class: int,
        data_coding: int,
        now: float,
        sar: tuple[int, int, int] | None = None,
        account: str = "",
    ) -> tuple[AssembledMessage, ...]:
        """Add a deliver_sm's short_message: reads the UDH when esm_class has UDHI (8- or
        16-bit concatenation reference), else the SAR values (ref, total, seqnum) if given.
        A message that is not concatenated comes straight back. Never raises for wire values.
        """
        part = concatenation_of(short_message, esm_class, sar)
        if part is None:
            return (
                AssembledMessage(
                    account,
                    source,
                    destination,
                    None,
                    1,
                    data_coding,
                    (short_message,),
                    AssemblyStatus.MALFORMED,
                ),
            )
        reference, total, seqnum, payload = part
        return self.feed(
            source=source,
            destination=destination,
            reference=reference,
            total=total,
            seqnum=seqnum,
            payload=payload,
            data_coding=data_coding,
            now=now,
            account=account,
        )

    def expire(self, now: float) -> tuple[AssembledMessage, ...]:
        """Hand over, as partial, every set whose first part arrived ``timeout`` ago or more."""
        out: list[AssembledMessage] = []
        while self._pending:
            key, pending = next(iter(self._pending.items()))
            if now - pending.started < self.timeout:
                break
            del self._pending[key]
            out.append(_handover(key, pending, AssemblyStatus.TIMED_OUT))
        while self._recent:
            key, (completed, _) = next(iter(self._recent.items()))
            if now - completed < self.timeout:
                break
            del self._recent[key]
        return tuple(out)

    def _make_room(self) -> list[AssembledMessage]:
        out = []
        while len(self._pending) >= self.max_sets:
            key, pending = self._pending.popitem(last=False)
            out.append(_handover(key, pending, AssemblyStatus.EVICTED))
        return out

    def _is_late_duplicate(self, key: ConcatKey, seqnum: int, payload: bytes, now: float) -> bool:
        recent = self._recent.get(key)
        if recent is None:
            return False
        completed, parts = recent
        if now - completed >= self.timeout:
            del self._recent[key]
            return False
        return (seqnum, payload) in parts

    def _remember(self, key: ConcatKey, pending: _Pending, now: float) -> None:
        parts = frozenset(
            (seqnum, segment)
            for seqnum, segment in enumerate(pending.segments, 1)
            if segment is not None
        )
        self._recent.pop(key, None)
        self._recent[key] = (now, parts)
        while len(self._recent) > self.max_sets:
            self._recent.popitem(last=False)


class ConcatPart(NamedTuple):
    """Where one short_message belongs: ``reference``, ``total``, ``seqnum`` (1, 1 for a
    message that is not concatenated) and its ``payload`` without the UDH."""

    reference: int
    total: int
    seqnum: int
    payload: bytes


def concatenation_of(
    short_message: bytes, esm_class: int, sar: tuple[int, int, int] | None = None
) -> ConcatPart | None:
    """Read a short_message's concatenation: the UDH when esm_class has UDHI (8- or 16-bit
    reference), else the SAR values (ref, total, seqnum) if given. None when the UDH cannot
    be read. Never raises for wire values."""
    payload = short_message
    if esm_class & ESM_CLASS_UDHI:
        try:
            elements, payload = split_udh(short_message)
        except UdhError:
            return None
        concatenation = find_concatenation(elements)
        if concatenation is not None:
            sar = (concatenation.reference, concatenation.total, concatenation.seqnum)
    reference, total, seqnum = sar if sar is not None else (0, 1, 1)
    return ConcatPart(reference, total, seqnum, payload)


def _handover(key: ConcatKey, pending: _Pending, status: AssemblyStatus) -> AssembledMessage:
    return AssembledMessage(
        key.account,
        key.source,
        key.destination,
        key.reference,
        key.total,
        pending.data_coding,
        tuple(pending.segments),
        status,
    )

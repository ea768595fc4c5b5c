"""Concatenation references: unique among a destination's messages in flight (spec D-14)."""

from __future__ import annotations

from smppgate.text.errors import ReferencesExhaustedError

__all__ = ["ReferenceAllocator"]


class ReferenceAllocator:
    """Hands out 8-bit (UDH) or 16-bit (SAR) references per destination.

    A reference is not handed out again for the same destination until it is released (when
    every part of its message is final): a handset reassembles by sender and reference,
    whichever account sent the parts, so the destination is the whole key. One cursor rotates
    across all destinations, so consecutive messages get different references even to
    destinations seen for the first time, and a just-released reference is not the next one
    reused. Pure and clock-free; memory holds only destinations with something in flight.
    """

    __slots__ = ("_cursor", "_in_flight", "modulus")

    def __init__(self, bits: int = 8) -> None:
        if bits not in (8, 16):
            raise ValueError(f"reference width must be 8 or 16 bits, not {bits}")
        self.modulus = 1 << bits
        self._cursor = 0
        self._in_flight: dict[str, set[int]] = {}

    def allocate(self, destination: str) -> int:
        """A reference not in flight to this destination.

        Raises :class:`ReferencesExhaustedError` when all of them are.
        """
        taken = self._in_flight.setdefault(destination, set())
        if len(taken) >= self.modulus:
            raise ReferencesExhaustedError(destination, self.modulus)
        reference = self._cursor
        while reference in taken:
            reference = (reference + 1) % self.modulus
        taken.add(reference)
        self._cursor = (reference + 1) % self.modulus
        return reference

    def release(self, destination: str, reference: int) -> None:
        """Return a reference; releasing one that is not in flight does nothing."""
        taken = self._in_flight.get(destination)
        if taken is None:
            return
        taken.discard(reference)
        if not taken:
            del self._in_flight[destination]

    def in_flight(self, destination: str) -> frozenset[int]:
        """The references currently held for this destination."""
        return frozenset(self._in_flight.get(destination, ()))

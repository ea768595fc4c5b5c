"""Concatenation references: unique among a destination's messages in flight (spec D-14)."""

from __future__ import annotations

from smppgate.text.errors import ReferencesExhaustedError

__all__ = ["ReferenceAllocator"]


class ReferenceAllocator:
    """Hands out 8-bit (UDH) or 16-bit (SAR) references per destination, from one space.

    A reference is not handed out again for the same destination until it is released (when
    every part of its message is final): a handset reassembles by sender and reference,
    whichever account sent the parts, so the destination is the whole key. Keying it by
    sender too would only let more messages share a reference: the destination alone is the
    safe key. One cursor rotates across all destinations, so consecutive messages get
    different references even to destinations seen for the first time, and a just-released
    reference is not the next one reused.

    One allocator serves both widths (``allocate(destination, bits=8)`` draws from the 8-bit
    range, which is a subset of the 16-bit one): a UDH-split and a SAR-split message to the
    same person in flight at once never get the same number, whichever way the SMSC or the
    handset carries it. Pure and clock-free; memory holds only destinations with something
    in flight.
    """

    __slots__ = ("_cursor", "_in_flight", "modulus")

    def __init__(self, bits: int = 8) -> None:
        self.modulus = _modulus(bits)
        self._cursor = 0
        self._in_flight: dict[str, set[int]] = {}

    def allocate(self, destination: str, bits: int | None = None) -> int:
        """A reference not in flight to this destination, below ``2**bits`` (default: the
        allocator's own width; a narrower one draws from the same in-flight set).

        Raises :class:`ReferencesExhaustedError` when all of that range are in flight.
        """
        modulus = self.modulus if bits is None else _modulus(bits)
        if modulus > self.modulus:
            raise ValueError(
                f"a {bits}-bit reference from a {self.modulus.bit_length() - 1}-bit allocator"
            )
        taken = self._in_flight.get(destination)
        reference = self._cursor % modulus
        if taken:
            if len(taken) >= modulus and modulus == self.modulus:
                raise ReferencesExhaustedError(destination, modulus)
            # fewer than `modulus` taken: a free one is within `modulus` steps; otherwise
            # (a narrower range, taken counting wider references too) look before giving up
            for _ in range(modulus):
                if reference not in taken:
                    break
                reference = (reference + 1) % modulus
            else:
                raise ReferencesExhaustedError(destination, modulus)
        else:
            taken = self._in_flight[destination] = set()
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


def _modulus(bits: int) -> int:
    if bits not in (8, 16):
        raise ValueError(f"reference width must be 8 or 16 bits, not {bits}")
    return 1 << bits

"""Message ids: 26-character, time-ordered, unique (ULID layout), from the standard library.

48 bits of milliseconds then 80 random bits, in Crockford base32, so ids sort by creation time
as plain strings. Within one process ids are strictly increasing even inside one millisecond
(the random part is incremented), which keeps "then by id" FIFO ties in insertion order.
The time comes from the caller's `now`, like every other time in the store.
"""

from __future__ import annotations

import secrets
import threading

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = 0


#: every pair of base32 digits, indexed by their 10 bits (13 lookups make an id, not 26)
_PAIRS = tuple(high + low for high in _ALPHABET for low in _ALPHABET)
_SHIFTS = tuple(range(120, -1, -10))


def _encode(value: int) -> str:
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


def new_message_id(now: float) -> str:
    """A new id for a message created at `now` (epoch seconds)."""
    global _last
    ms = max(0, int(now * 1000)) & ((1 << 48) - 1)
    candidate = (ms << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
    with _lock:
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
    return _encode(candidate)

"""Message ids: 26-character, time-ordered, unique (ULID layout), from the standard library.

48 bits of milliseconds then 80 random bits, in Crockford base32, so ids sort by creation time
as plain strings. Within one process ids are strictly increasing even inside one millisecond
(the random part is incremented), which keeps "then by id" FIFO ties in insertion order.
The time comes from the caller's `now`, like every other time in the store.

The random bits come from `os.urandom` (what `secrets` uses), drawn 4 KiB at a time (409 ids)
rather than once per id: each `os.urandom` call releases the GIL, and under load the intake
waited ~80 µs per id to get it back. A child process drops the buffer at fork, so it never
hands out the random parts its parent will.
"""

from __future__ import annotations

import os
import threading

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_BYTES = _RANDOM_BITS // 8
#: one refill: 409 ids' worth of random bytes
_CHUNK = 4096 - 4096 % _RANDOM_BYTES
_lock = threading.Lock()
_last = 0
_random = b""
_offset = 0


def _after_fork_in_child() -> None:
    # the parent keeps its buffer and hands those bytes out itself; a fresh lock as well, in
    # case another thread of the parent held it at the fork
    global _lock, _random, _offset
    _lock = threading.Lock()
    _random = b""
    _offset = 0


os.register_at_fork(after_in_child=_after_fork_in_child)


#: every pair of base32 digits, indexed by their 10 bits (13 lookups make an id, not 26)
_PAIRS = tuple(high + low for high in _ALPHABET for low in _ALPHABET)
_SHIFTS = tuple(range(120, -1, -10))


def _encode(value: int) -> str:
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])


def new_message_id(now: float) -> str:
    """A new id for a message created at `now` (epoch seconds)."""
    global _last, _random, _offset
    ms = max(0, int(now * 1000)) & ((1 << 48) - 1)
    with _lock:
        offset = _offset
        if offset >= len(_random):
            _random = os.urandom(_CHUNK)
            offset = 0
        _offset = offset + _RANDOM_BYTES
        candidate = (ms << _RANDOM_BITS) | int.from_bytes(
            _random[offset : offset + _RANDOM_BYTES], "big"
        )
        if candidate <= _last:
            candidate = _last + 1
        _last = candidate
    return _encode(candidate)

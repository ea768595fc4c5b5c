"""Message ids: the ULID layout, strictly increasing, and random parts a fork never repeats."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from smppgate.store import ids
from smppgate.store.ids import new_message_id

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Ids never go back within a process, and other tests make ids too: these are made near the
# end of the 48-bit millisecond range (the year 10,889), after any other test's, and the
# fixture below puts the process's last id back for the tests that come after.
NOW = 281_000_000_000.123


@pytest.fixture(autouse=True)
def _restore_last_id() -> Iterator[None]:
    last = ids._last
    yield
    ids._last = last


def _decode(value: str) -> int:
    number = 0
    for char in value:
        number = number * 32 + _ALPHABET.index(char)
    return number


def test_an_id_is_26_crockford_digits_starting_with_the_milliseconds() -> None:
    value = new_message_id(NOW)
    assert len(value) == 26
    assert set(value) <= set(_ALPHABET)
    assert _decode(value) >> 80 == int(NOW * 1000)


def test_ids_strictly_increase_within_one_millisecond_across_refills() -> None:
    # more ids than one buffer of random bytes holds, all in the same millisecond
    values = [new_message_id(NOW + 3600) for _ in range(3 * 409 + 5)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)


def test_ids_sort_by_time() -> None:
    earlier = new_message_id(NOW + 7200)
    later = new_message_id(NOW + 7201)
    assert earlier < later


def test_ids_from_threads_are_unique() -> None:
    found: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        mine = [new_message_id(NOW + 10_800) for _ in range(1000)]
        assert mine == sorted(mine)
        with lock:
            found.extend(mine)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 4000


def test_the_random_part_is_not_a_counter() -> None:
    # each id in a new millisecond carries fresh random bits, not the last one plus one
    first = _decode(new_message_id(NOW + 14_400)) & ((1 << 80) - 1)
    second = _decode(new_message_id(NOW + 14_401)) & ((1 << 80) - 1)
    assert second != first + 1
    assert first != second


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_forked_child_does_not_reuse_its_parents_random_bytes() -> None:
    new_message_id(NOW + 18_000)  # the buffer holds unused random bytes now
    # later milliseconds than any id before: each id is its time plus its buffered random part
    times = [NOW + 18_001 + k for k in range(5)]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            os.write(write, " ".join(new_message_id(t) for t in times).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        child = pipe.read().decode().split()
    os.waitpid(pid, 0)
    parent = [new_message_id(t) for t in times]
    assert len(child) == len(times)
    assert not set(child) & set(parent)

"""Reading destinations (smppgate.numbers.normalize) against libphonenumber's parse +
is_possible_number + format (the ``phonenumbers`` package, installed with the test extras),
on the inputs the API sees: digits already international, and numbers as people type them.

    .venv/bin/python benchmarks/bench_numbers.py [--count 200000]

Prints one JSON line: microseconds per number for each input and each reader. libphonenumber
cannot be told Russia's ``00`` international prefix (its metadata has ``810`` only), so it is
timed on the inputs both read alike.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneNumberFormat

from smppgate.numbers import normalize

INPUTS = {
    "digits": "79001234567",
    "plus": "+79001234567",
    "typed": "8 (900) 123-45-67",
    "foreign": "+44 (0)20 7946 0958",
}


def theirs(value: str) -> str:
    number = phonenumbers.parse(value, "RU")
    if not phonenumbers.is_possible_number(number):
        raise ValueError(value)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]


def per_call(read: Callable[[str], str], value: str, count: int) -> float:
    read(value)  # the first call loads libphonenumber's metadata for the region
    start = time.perf_counter()
    for _ in range(count):
        read(value)
    return (time.perf_counter() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000)
    args = parser.parse_args()
    result: dict[str, float] = {}
    for name, value in INPUTS.items():
        assert normalize(value) == theirs(value), value
        result[f"{name}_ours_us"] = round(per_call(normalize, value, args.count), 2)
        result[f"{name}_phonenumbers_us"] = round(per_call(theirs, value, args.count // 10), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Codec throughput: encode, decode and round trip of submit_sm and deliver_sm (a receipt).

    python benchmarks/bench_codec.py [--n 200000]

Prints one JSON line per (pdu, operation) with PDUs/s. For the side-by-side comparison with
the peer libraries use peer_adapter.py with ../shared/bench (see its docstring).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable

from peer_adapter import Adapter


def _rate(fn: Callable[[int], object], n: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    adapter = Adapter()
    submit = adapter.enc_submit(1)
    deliver = adapter.enc_deliver(1)
    for pdu, enc, dec, wire in (
        ("submit_sm", adapter.enc_submit, adapter.dec_submit, submit),
        ("deliver_sm", adapter.enc_deliver, adapter.dec_deliver, deliver),
    ):
        enc_rate = _rate(enc, args.n)
        dec_rate = _rate(lambda _i, w=wire, d=dec: d(w), args.n)  # type: ignore[misc]
        round_trip = 1 / (1 / enc_rate + 1 / dec_rate)
        for op, rate in (("encode", enc_rate), ("decode", dec_rate), ("roundtrip", round_trip)):
            print(json.dumps({"bench": "codec", "pdu": pdu, "op": op, "pdus_per_s": round(rate)}))


if __name__ == "__main__":
    main()

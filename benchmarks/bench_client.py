"""Client hot path without sockets: submits through ``ClientSession``'s queue-and-window code
and the sans-IO session, responses fed back in bulk, results resolved through batch futures.

    .venv/bin/python benchmarks/bench_client.py [--count 200000] [--window 100]

Prints one JSON line (msgs_per_s, us_per_msg). The end-to-end figure against the shared
harness's neutral sink comes from ``smppgate bench client`` (see benchmarks/results/client.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from smppgate.pdu import BindTransceiverResp, SubmitSm, SubmitSmResp, encode
from smppgate.session import BindMode, Role, Session, SessionConfig

TEXT = b"Hello from the SMPP peer benchmark: 70 Latin characters in one part..."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.count, args.window))


async def run(count: int, window: int) -> None:
    session = Session(Role.ESME, SessionConfig(window=window))
    session.bind(BindMode.TRANSCEIVER, "bench", "bench", 0.0)
    session.data_to_send()
    session.receive_data(encode(BindTransceiverResp(system_id="sink"), 1), 0.0)
    resp_cache: dict[int, bytes] = {}
    done = 0
    t0 = time.perf_counter()
    while done < count:
        seqs = []
        for _ in range(window):
            pdu = SubmitSm(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr="447700900001",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="447700900123",
                registered_delivery=1,
                short_message=TEXT,
            )
            seqs.append(session.send_request(pdu, 1.0, None))
        session.data_to_send()
        key = seqs[0]
        data = resp_cache.get(key)
        if data is None:  # the SMSC side: encoded here, and counted in the figure
            data = resp_cache[key] = b"".join(
                encode(SubmitSmResp(message_id=f"{s:x}"), s) for s in seqs
            )
        done += len(session.receive_data(data, 1.0))
    elapsed = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "bench": "client_session_path",
                "count": done,
                "msgs_per_s": round(done / elapsed, 1),
                "us_per_msg": round(elapsed / done * 1e6, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

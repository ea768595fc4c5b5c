"""Client hot path without sockets, phase by phase: a ``SubmitSm`` value built per message,
moved from a queue into the window by the sans-IO session's ``send_from`` (what
``ClientSession._fill`` does) and encoded, then the SMSC's submit_sm_resp bytes fed back in
bulk (``receive_data``: framing, decoding, matching, events).

    .venv/bin/python benchmarks/bench_client.py [--count 200000] [--window 100]

Prints one JSON line: microseconds per message for each phase and msgs/s for the three. The
SMSC's answers are encoded outside the timed phases. The end-to-end figure against the shared
harness's neutral sink comes from ``smppgate bench client`` (see benchmarks/results/client.md).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque

from smppgate.pdu import BindTransceiverResp, Pdu, SubmitSm, SubmitSmResp, encode
from smppgate.session import BindMode, ResponseReceived, Role, Session, SessionConfig

TEXT = b"Hello from the SMPP peer benchmark: 70 Latin characters in one part..."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=100)
    args = parser.parse_args()
    run(args.count, args.window)


def run(count: int, window: int) -> None:
    session = Session(Role.ESME, SessionConfig(window=window))
    session.bind(BindMode.TRANSCEIVER, "bench", "bench", 0.0)
    session.data_to_send()
    session.receive_data(encode(BindTransceiverResp(system_id="sink"), 1), 0.0)
    queue: deque[tuple[Pdu, object]] = deque()
    build = send = receive = 0.0
    done = 0
    clock = time.perf_counter
    while done < count:
        first = session._next_seq  # the sequence numbers send_from is about to use
        answers = b"".join(
            encode(SubmitSmResp(message_id=f"{seq:x}"), seq) for seq in range(first, first + window)
        )
        t0 = clock()
        for i in range(window):
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
            queue.append((pdu, i))
        t1 = clock()
        session.send_from(queue, 1.0)
        session.data_to_send()
        t2 = clock()
        events = session.receive_data(answers, 1.0)
        t3 = clock()
        if len(events) != window or not isinstance(events[-1], ResponseReceived):
            raise SystemExit(f"expected {window} responses, got {events[:3]}")
        build += t1 - t0
        send += t2 - t1
        receive += t3 - t2
        done += window
    total = build + send + receive
    print(
        json.dumps(
            {
                "bench": "client_session_path",
                "count": done,
                "window": window,
                "build_us": round(build / done * 1e6, 3),
                "send_us": round(send / done * 1e6, 3),
                "receive_us": round(receive / done * 1e6, 3),
                "us_per_msg": round(total / done * 1e6, 3),
                "msgs_per_s": round(done / total, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

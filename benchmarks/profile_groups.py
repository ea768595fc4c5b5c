"""Where a gateway's time goes, by function group, from a py-spy collapsed-stack file.

    python benchmarks/profile_groups.py PROFILE.txt [PROFILE.txt ...]

Reads ``py-spy record --format raw`` output (``bench_kannel.py --py-spy DIR`` writes one per
run; ``--threads --native``: the first frame names the thread, C frames are included) and
prints a Markdown table: each sample goes to the first group, in the order of ``GROUPS``,
whose pattern matches a frame of its stack (innermost first), so a store call made while
handling an HTTP request counts as store, and an fsync inside the store thread counts as
fsync. Waiting (``epoll_wait``, a futex wait, the store thread's idle ``queue.get``) is
reported apart: py-spy records a thread that sits in a C call as active.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

#: (group, pattern on one frame); the first group with a matching frame, innermost frame
#: first, takes the sample
GROUPS: tuple[tuple[str, str], ...] = (
    ("wait: event loop idle (epoll)", r"^(epoll_wait|epoll_pwait|select_epoll_poll) "),
    ("wait: store thread idle", r"^_queue_SimpleQueue_get"),
    ("store: fsync (WAL commit)", r"^(fdatasync|fsync) "),
    (
        "store: thread hop (futures, self-pipe wake-up)",
        r"^(call_soon_threadsafe|_write_to_self|_read_from_self|_chain_future"
        r"|_copy_future_state|_set_state|_call_set_state) ",
    ),
    (
        "store: SQLite engine (C: statements, pages, WAL writes)",
        r"libsqlite3|^(pwrite64|pread64|_pysqlite_query_execute|pysqlite_)",
    ),
    ("store: Python (transaction functions, rows to objects)", r"smppgate/store/"),
    (
        "webhooks: outbox, body building, sender",
        r"smppgate/service/webhooks\.py|smppgate/service/egress\.py",
    ),
    ("receipts: parse and match", r"smppgate/text/receipt\.py|smppgate/service/incoming\.py"),
    ("dispatcher", r"smppgate/service/(runtime|dispatch)\.py"),
    (
        "SMPP client, session, codec",
        r"smppgate/(client|session|pdu|transport)/|smppgate/text/(coding|segment|gsm)",
    ),
    ("validation, splitting, intake", r"smppgate/service/intake\.py|smppgate/text/"),
    ("HTTP API: handlers, JSON", r"smppgate/api/|(^|/)json/|_json\.c"),
    ("aiohttp: HTTP parsing, server and client", r"aiohttp/|_http_parser|multidict|yarl/"),
    ("event loop (asyncio or uvloop)", r"asyncio/|^uv_|^uv__|uvloop/"),
)
_COMPILED = [(name, re.compile(pattern)) for name, pattern in GROUPS]


#: the innermost frame of a thread waiting for the GIL (released around a C call)
GIL_WAIT = re.compile(r"^(pthread_cond_timedwait|take_gil) ")


def group_of(frames: list[str]) -> str:
    idle = ("select_epoll_poll", "uv__io_poll", "_queue_SimpleQueue_get")
    if any(GIL_WAIT.search(f) for f in frames[-2:]) and not any(f.startswith(idle) for f in frames):
        return "wait: for the GIL (the other thread holds it)"
    for name, pattern in _COMPILED:
        for frame in reversed(frames):
            if pattern.search(frame):
                return name
    return "other (C library, interpreter)"


def table(path: Path) -> str:
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        n = int(count)
        counts[group_of(frames[1:])] += n
        total += n
    busy = sum(n for name, n in counts.items() if not name.startswith("wait:"))
    rows = [
        f"### {path.name}: {total} samples, {busy} busy",
        "",
        "| group | share of busy samples | share of all |",
        "|---|---:|---:|",
    ]
    for name, n in counts.most_common():
        share = "" if name.startswith("wait:") else f"{n / busy:.1%}"
        rows.append(f"| {name} | {share} | {n / total:.1%} |")
    return "\n".join(rows)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("\n\n".join(table(Path(arg)) for arg in sys.argv[1:]))


if __name__ == "__main__":
    main()

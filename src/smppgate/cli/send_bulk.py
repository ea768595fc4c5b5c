"""`smppgate send-bulk FILE.csv --account NAME`: queue a campaign from a CSV file.

Columns ``to,text[,from]``; a first row naming the columns (``to``, ``text``, ``from`` in any
order) is read as a header. Every row is validated like an API request; valid rows are
committed in batches (one transaction each) straight to the store, no HTTP involved. Each row
carries the idempotency key ``<sha256 of the file>:<line>``, so running the same file again
(after a crash, say) queues nothing twice.

Progress goes to stderr: one ``\\r`` line on a terminal, plain lines every few seconds
otherwise (a log file or CI gets no control characters). The summary (queued, already queued,
rejected with line numbers and reasons) goes to stdout, as text or, with ``--json``, as one
JSON object. Exit code 0 when every row was queued, 1 when some
were rejected (the others are queued), 2 for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from smppgate.cli.config_file import add_config_argument, read_config
from smppgate.service.config import CLI_CLIENT, ClientConfig, ConfigError, GatewayConfig
from smppgate.service.intake import (
    Intake,
    MessageRequest,
    ValidationError,
    check_send_at,
    parse_send_at,
)
from smppgate.store import MAX_PRIORITY, MessageState, NewMessage, StoreError, open_store

SCOPE = "cli:send-bulk"
#: the client send-bulk's messages record: the operator at the console, unrestricted
CLI = ClientConfig(CLI_CLIENT, operator=True)
MAX_SHOWN = 50


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "send-bulk",
        help="queue a campaign from a CSV file",
        description="Queue one message per CSV row (to,text[,from]; header row optional) "
        "through the store. Re-running the same file queues nothing twice.",
    )
    parser.add_argument("file", metavar="FILE.csv", help="the CSV file (UTF-8)")
    parser.add_argument("--account", required=True, help="the account to send from")
    add_config_argument(parser)
    parser.add_argument(
        "--from",
        dest="sender",
        metavar="SENDER",
        help="sender for rows without one (default: the account's)",
    )
    parser.add_argument("--priority", type=int, default=0, metavar="P",
                        help="0..9: within the account, due messages of a higher priority are "
                        "sent first (default 0; e.g. keep OTPs above a campaign)")  # fmt: skip
    parser.add_argument("--class", dest="traffic_class", metavar="CLASS",
                        help="the traffic class recorded with each message (transactional, "
                        "promo, service or a class [[routes]] name)")  # fmt: skip
    parser.add_argument("--send-at", metavar="TIME",
                        help="send no row before this time: RFC 3339 with its UTC offset, "
                        "e.g. 2026-12-08T09:00:00+03:00 (at most 30 days ahead); the messages "
                        "wait as 'scheduled' and can be cancelled until then. Quiet hours "
                        "([[quiet_hours]]) may move some later")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=500, metavar="N",
                        help="messages per store transaction (1..1000, default 500)")  # fmt: skip
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object (for scripts)")  # fmt: skip
    parser.set_defaults(func=run)


@dataclass
class Row:
    line: int
    to: str
    text: str
    sender: str | None


@dataclass
class Summary:
    rows: int = 0
    queued: int = 0
    parts: int = 0
    repeated: int = 0
    #: not sent: the number is on the account's blocklist (the message ended `blocked`)
    blocked: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    send_at: str | None = None
    """--send-at as given (None: the messages go now)."""


def run(args: argparse.Namespace) -> int:
    try:
        config = read_config(args)
    except ConfigError as exc:
        print(f"smppgate send-bulk: {exc}", file=sys.stderr)
        return 2
    if args.account not in {a.name for a in config.accounts}:
        known = ", ".join(a.name for a in config.accounts)
        print(f"smppgate send-bulk: unknown account {args.account!r} (known: {known})",
              file=sys.stderr)  # fmt: skip
        return 2
    if not 0 <= args.priority <= MAX_PRIORITY:
        print(f"smppgate send-bulk: --priority must be 0..{MAX_PRIORITY}", file=sys.stderr)
        return 2
    if not 1 <= args.batch_size <= 1000:
        print("smppgate send-bulk: --batch-size must be 1..1000", file=sys.stderr)
        return 2
    send_at = None
    if args.send_at is not None:
        try:
            send_at = parse_send_at(args.send_at, "--send-at")
            check_send_at(send_at, time.time())
        except ValidationError as exc:
            print(f"smppgate send-bulk: --send-at: {exc.message}", file=sys.stderr)
            return 2
    try:
        with open(args.file, "rb") as f:
            raw = f.read()
    except OSError as exc:
        print(f"smppgate send-bulk: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        print(f"smppgate send-bulk: {args.file} is not UTF-8 ({exc})", file=sys.stderr)
        return 2
    summary = Summary(send_at=args.send_at)
    rows = read_rows(text, summary)
    digest = hashlib.sha256(raw).hexdigest()[:32]
    progress = Progress(sys.stderr, len(rows))
    try:
        asyncio.run(queue(config, args, rows, digest, summary, progress, send_at))
    except StoreError as exc:
        progress.done()
        print(f"smppgate send-bulk: store error after {summary.queued} queued: {exc}; "
              "run the same command again to queue the rest", file=sys.stderr)  # fmt: skip
        return 1
    progress.done()
    print(
        json.dumps(report_json(summary, args.account))
        if args.json
        else report(summary, args.account)
    )
    return 1 if summary.rejected else 0


def read_rows(text: str, summary: Summary) -> list[Row]:
    """The CSV's data rows; malformed rows go to ``summary.rejected``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = {"to": 0, "text": 1, "from": 2}
    rows: list[Row] = []
    first = True
    previous_line = 0
    for record in reader:
        line = previous_line + 1
        previous_line = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue
        if first:
            first = False
            names = [cell.strip().lower() for cell in record]
            if "to" in names and "text" in names:
                columns = {name: names.index(name) for name in ("to", "text", "from")
                           if name in names}  # fmt: skip
                continue
        summary.rows += 1
        if len(record) <= max(columns["to"], columns["text"]):
            summary.rejected.append((line, "expected the columns to,text[,from]"))
            continue
        sender_at = columns.get("from")
        sender = (
            record[sender_at].strip() if sender_at is not None and sender_at < len(record) else ""
        )
        rows.append(
            Row(line, record[columns["to"]].strip(), record[columns["text"]], sender or None)
        )
    return rows


async def queue(
    config: GatewayConfig,
    args: argparse.Namespace,
    rows: list[Row],
    digest: str,
    summary: Summary,
    progress: Progress,
    send_at: float | None = None,
) -> None:
    async with open_store(config.store.url) as store:
        intake = Intake(config, store)
        batch: list[NewMessage] = []
        for done, row in enumerate(rows, 1):
            request = MessageRequest(
                to=row.to,
                text=row.text,
                sender=row.sender or args.sender,
                account=args.account,
                priority=args.priority,
                traffic_class=args.traffic_class,
                send_at=send_at,
            )
            try:
                batch.append(
                    intake.prepare(
                        request,
                        idempotency_key=f"{digest}:{row.line}",
                        scope=SCOPE,
                        client=CLI,
                    )
                )
            except ValidationError as exc:
                summary.rejected.append((row.line, f"{exc.field}: {exc.message}"))
            if len(batch) >= args.batch_size:
                await _commit(intake, batch, summary)
                batch = []
            progress.update(done, summary.queued, len(summary.rejected))
        await _commit(intake, batch, summary)
        progress.update(len(rows), summary.queued, len(summary.rejected), force=True)


async def _commit(intake: Intake, batch: list[NewMessage], summary: Summary) -> None:
    for accepted in await intake.commit(batch):
        if accepted.created and accepted.status is MessageState.BLOCKED:
            summary.blocked += 1
        elif accepted.created:
            summary.queued += 1
            summary.parts += accepted.parts
        else:
            summary.repeated += 1


class Progress:
    """On a terminal, one line on stderr rewritten with ``\\r`` at most ten times a second;
    elsewhere (a pipe, a log file), a plain line every ``PLAIN_INTERVAL`` seconds. ``label``
    names the command, ``verb`` what happened to the rows that went through (``queued``,
    ``added``): send-bulk and ``blocklist import`` show the same display."""

    PLAIN_INTERVAL = 5.0

    def __init__(
        self,
        out: TextIO,
        total: int,
        *,
        terminal: bool | None = None,
        label: str = "send-bulk",
        verb: str = "queued",
    ) -> None:
        self._label = label
        self._verb = verb
        self._out = out
        self._total = total
        self._terminal = out.isatty() if terminal is None else terminal
        self._shown = 0.0
        self._started = time.monotonic()
        self._used = False

    def update(self, done: int, ok: int, rejected: int, *, force: bool = False) -> None:
        now = time.monotonic()
        interval = 0.1 if self._terminal else self.PLAIN_INTERVAL
        if not force and now - self._shown < interval:
            return
        self._shown = now
        percent = 100 * done // self._total if self._total else 100
        rate = done / (now - self._started) if now > self._started else 0.0
        counts = (
            f"{percent:3d}% {done}/{self._total} {self._verb} {ok} "
            f"rejected {rejected} ({rate:.0f}/s)"
        )
        if not self._terminal:
            self._out.write(f"{self._label}: {counts.lstrip()}\n")
            self._out.flush()
            return
        self._used = True
        width = 30
        filled = width * done // self._total if self._total else width
        self._out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {counts}")
        self._out.flush()

    def done(self) -> None:
        if self._used:
            self._out.write("\n")
            self._out.flush()


def report_json(summary: Summary, account: str) -> dict[str, Any]:
    """The summary for scripts: every rejected row, not only the first ``MAX_SHOWN``."""
    return {
        "account": account,
        "rows": summary.rows,
        "queued": summary.queued,
        "parts": summary.parts,
        "already_queued": summary.repeated,
        "blocked": summary.blocked,
        "send_at": summary.send_at,
        "rejected": [{"line": line, "reason": reason} for line, reason in sorted(summary.rejected)],
    }


def report(summary: Summary, account: str) -> str:
    lines = [
        f"queued {summary.queued} message(s), {summary.parts} part(s), for account {account}",
    ]
    if summary.send_at is not None:
        lines.append(f"scheduled: not sent before {summary.send_at} (quiet hours may move some "
                     "later); cancel with DELETE /v1/messages/{id}")  # fmt: skip
    if summary.repeated:
        lines.append(f"already queued by an earlier run: {summary.repeated}")
    if summary.blocked:
        lines.append(f"blocked (on the account's blocklist, not sent): {summary.blocked}")
    lines.append(f"rejected: {len(summary.rejected)}")
    for line, reason in sorted(summary.rejected)[:MAX_SHOWN]:
        lines.append(f"  line {line}: {reason}")
    if len(summary.rejected) > MAX_SHOWN:
        lines.append(f"  ... and {len(summary.rejected) - MAX_SHOWN} more")
    return "\n".join(lines)

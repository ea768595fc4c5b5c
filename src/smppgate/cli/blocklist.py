"""`smppgate blocklist add|remove|list|import`: the accounts' blocklists, in the store.

A message to a listed number ends ``blocked`` without being sent (docs/blocklist.md). The
operator at the console may edit every account; ``--account`` left out means the first one
(as for messages). ``import FILE.csv`` reads ``number[,reason]`` rows (a first row naming the
columns is a header), checks each like the API does, and adds the valid ones in batches (one
transaction each) with send-bulk's progress display; every bad row is reported with its line
number, none is skipped silently. Adding a listed number again changes nothing, so an import
can simply be run again. Exit codes: 0 done, 1 some rows rejected (or the number to remove
was not listed), 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from smppgate.cli.config_file import add_config_argument, read_config
from smppgate.cli.send_bulk import MAX_SHOWN, Progress
from smppgate.service.blocklist import Blocklists
from smppgate.service.blocklist import entry_json as block_entry
from smppgate.service.clients import AccountForbiddenError
from smppgate.service.config import CLI_CLIENT, ConfigError, GatewayConfig
from smppgate.service.intake import Intake, ValidationError
from smppgate.store import MAX_BLOCKS, BlockSource, NewBlock, NotFound, StoreError, open_store

PROG = "smppgate blocklist"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "blocklist",
        help="add, remove, list or import blocked numbers",
        description="The accounts' blocklists: a message to a listed number ends 'blocked' "
        "without being sent. --account defaults to the first account.",
    )
    commands = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="list a number", description="List a number "
                              "for an account (listing it again changes nothing).")  # fmt: skip
    add.add_argument("number", help="the number, as a message's 'to' is written")
    add.add_argument("--reason", help="why (kept with the entry)")

    remove = commands.add_parser(
        "remove",
        help="unlist a number",
        description="Remove a number from an account's blocklist, whatever listed it (exit "
        "code 1 when it was not listed).",
    )
    remove.add_argument("number")

    show = commands.add_parser("list", help="show entries",
                               description="Show the entries, oldest first.")  # fmt: skip
    show.add_argument("--number", help="only this number")
    show.add_argument("--all-accounts", action="store_true",
                      help="every account's entries (default: --account's)")  # fmt: skip

    imp = commands.add_parser("import", help="list the numbers of a CSV file",
                              description="List every number of a CSV file (number[,reason]; "
                              "header row optional); bad rows are reported with their line "
                              "numbers.")  # fmt: skip
    imp.add_argument("file", metavar="FILE.csv", help="the CSV file (UTF-8)")
    imp.add_argument("--reason", help="the reason of rows that give none")
    imp.add_argument(
        "--batch-size",
        type=int,
        default=500,
        metavar="N",
        help=f"entries per store transaction (1..{MAX_BLOCKS}, default 500)",
    )

    for sub in (add, remove, show, imp):
        sub.add_argument("--account", help="the account (default: the first one)")
        add_config_argument(sub)
        sub.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    parser.set_defaults(func=run)


@dataclass
class Row:
    line: int
    number: str
    reason: str | None


@dataclass
class Summary:
    rows: int = 0
    added: int = 0
    #: listed before (by an earlier run, another row, the API or a keyword)
    repeated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    try:
        config = read_config(args)
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    text = None
    if args.action == "import":
        text = _read_file(args)
        if text is None:
            return 2
    try:
        return asyncio.run(_run(config, args, text))
    except (ValidationError, AccountForbiddenError) as exc:
        print(f"{PROG} {args.action}: {exc}", file=sys.stderr)
        return 2
    except NotFound as exc:
        print(f"{PROG} remove: {exc.key} is not listed", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"{PROG} {args.action}: store error: {exc}", file=sys.stderr)
        return 1


def _read_file(args: argparse.Namespace) -> str | None:
    """The CSV file's text; None (the reason printed) when it cannot be read."""
    if not 1 <= args.batch_size <= MAX_BLOCKS:
        print(f"{PROG} import: --batch-size must be 1..{MAX_BLOCKS}", file=sys.stderr)
        return None
    try:
        with open(args.file, "rb") as f:
            return f.read().decode("utf-8-sig")
    except OSError as exc:
        print(f"{PROG} import: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
    except UnicodeDecodeError as exc:
        print(f"{PROG} import: {args.file} is not UTF-8 ({exc})", file=sys.stderr)
    return None


async def _run(config: GatewayConfig, args: argparse.Namespace, text: str | None) -> int:
    if text is not None:
        return await _import(config, args, text)
    async with open_store(config.store.url) as store:
        lists = Blocklists(Intake(config, store), store)
        if args.action == "add":
            result = await lists.add(
                args.number, account=args.account, reason=args.reason, source=BlockSource.CLI
            )
            _print_entries(args, [block_entry(result.entry)],
                           "added" if result.created else "already listed")  # fmt: skip
        elif args.action == "remove":
            removed = await lists.remove(args.number, account=args.account)
            _print_entries(args, [block_entry(removed)], "removed")
        else:
            account = None if args.all_accounts else lists.account(args.account, None).name
            entries: list[dict[str, Any]] = []
            after = 0
            while True:
                page = await lists.list(account=account, number=args.number, after=after)
                entries.extend(block_entry(e) for e in page.items)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
            _print_entries(args, entries, None)
    return 0


def _print_entries(
    args: argparse.Namespace, entries: list[dict[str, Any]], verb: str | None
) -> None:
    if args.json:
        print(json.dumps(entries if verb is None else entries[0], ensure_ascii=False))
        return
    for e in entries:
        why = f"  ({e['reason']})" if e["reason"] else ""
        head = f"{verb}: " if verb is not None else ""
        print(f"{head}{e['number']}  account {e['account']}  {e['source']} by "
              f"{e['added_by']} at {e['created_at']}{why}")  # fmt: skip
    if verb is None:
        print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")


async def _import(config: GatewayConfig, args: argparse.Namespace, text: str) -> int:
    summary = Summary()
    rows = read_rows(text, summary)
    async with open_store(config.store.url) as store:
        lists = Blocklists(Intake(config, store), store)
        chosen = lists.account(args.account, None)
        account = chosen.name
        progress = Progress(sys.stderr, len(rows), label="blocklist import", verb="added")
        batch: list[NewBlock] = []
        try:
            for done, row in enumerate(rows, 1):
                try:
                    batch.append(lists.entry(row.number, row.reason or args.reason, chosen,
                                             BlockSource.IMPORT, CLI_CLIENT))  # fmt: skip
                except ValidationError as exc:
                    summary.rejected.append((row.line, f"{exc.field}: {exc.message}"))
                if len(batch) >= args.batch_size:
                    await _add(lists, batch, summary)
                    batch = []
                progress.update(done, summary.added, len(summary.rejected))
            await _add(lists, batch, summary)
            progress.update(len(rows), summary.added, len(summary.rejected), force=True)
        except StoreError as exc:
            progress.done()
            print(f"{PROG} import: store error after {summary.added} added: {exc}; run the "
                  "same command again to add the rest", file=sys.stderr)  # fmt: skip
            return 1
        progress.done()
    print(json.dumps(report_json(summary, account)) if args.json else report(summary, account))
    return 1 if summary.rejected else 0


def read_rows(text: str, summary: Summary) -> list[Row]:
    """The CSV's data rows (``number[,reason]``); malformed ones go to ``summary.rejected``."""
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = {"number": 0, "reason": 1}
    width = len(columns)
    rows: list[Row] = []
    first = True
    previous_line = 0
    try:
        for record in reader:
            line = previous_line + 1
            previous_line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if first:
                first = False
                names = [cell.strip().lower() for cell in record]
                if "number" in names:
                    columns = {n: names.index(n) for n in ("number", "reason") if n in names}
                    width = len(names)
                    continue
            summary.rows += 1
            if len(record) > width:
                summary.rejected.append(
                    (line, f"expected the columns number[,reason], got {len(record)} columns")
                )
                continue
            at = columns.get("reason")
            reason = record[at].strip() if at is not None and at < len(record) else ""
            rows.append(Row(line, record[columns["number"]].strip(), reason or None))
    except csv.Error as exc:
        summary.rejected.append((previous_line + 1, f"not CSV: {exc}"))
    return rows


async def _add(lists: Blocklists, batch: list[NewBlock], summary: Summary) -> None:
    if not batch:
        return
    for result in await lists.add_many(batch):
        if result.created:
            summary.added += 1
        else:
            summary.repeated += 1


def report_json(summary: Summary, account: str) -> dict[str, Any]:
    """The summary for scripts: every rejected row, not only the first ``MAX_SHOWN``."""
    return {
        "account": account,
        "rows": summary.rows,
        "added": summary.added,
        "already_listed": summary.repeated,
        "rejected": [{"line": line, "reason": reason} for line, reason in sorted(summary.rejected)],
    }


def report(summary: Summary, account: str) -> str:
    lines = [f"added {summary.added} number(s) to the blocklist of account {account}"]
    if summary.repeated:
        lines.append(f"already listed: {summary.repeated}")
    lines.append(f"rejected: {len(summary.rejected)}")
    for line, reason in sorted(summary.rejected)[:MAX_SHOWN]:
        lines.append(f"  line {line}: {reason}")
    if len(summary.rejected) > MAX_SHOWN:
        lines.append(f"  ... and {len(summary.rejected) - MAX_SHOWN} more")
    return "\n".join(lines)

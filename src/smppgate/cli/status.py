"""`smppgate status ID`: one message, its parts, receipts and attempts, from the store."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from smppgate.api.schemas import message_detail
from smppgate.cli.config_file import add_config_argument, read_config
from smppgate.service.config import ConfigError
from smppgate.store import MessageDetail, NotFound, StoreError, open_store


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show a message",
        description="Show a message from the store: state, parts with their SMSC message ids, "
        "receipts and attempts. Exit code 1 when there is no such message.",
    )
    parser.add_argument("id", help="the message id the API or send-bulk returned")
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the API's JSON form")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = read_config(args)
    except ConfigError as exc:
        print(f"smppgate status: {exc}", file=sys.stderr)
        return 2
    try:
        detail = asyncio.run(_fetch(config.store.url, args.id))
    except NotFound:
        print(f"smppgate status: no message {args.id}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"smppgate status: {exc}", file=sys.stderr)
        return 1
    body = message_detail(detail)
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        print(render(body))
    return 0


async def _fetch(url: str, message_id: str) -> MessageDetail:
    async with open_store(url, migrate=False) as store:
        return await store.get_message(message_id)


def render(m: dict[str, Any]) -> str:
    """The API's message form as readable text."""
    lines = [
        f"message {m['id']}  {m['status']}",
        f"  account {m['account']}  from {m['from']}  to {m['to']}",
        f"  created {m['created_at']}  updated {m['updated_at']}",
        f"  {m['part_count']} part(s), {m['encoding']}, split {m['split']}"
        + (f", reference {m['reference']}" if m["reference"] else ""),
        f"  text: {m['text']!r}",
    ]
    if m["last_status"]:
        lines.append(f"  last status: {m['last_status']}")
    lines.append("  parts:")
    for p in m["parts"]:
        receipt = p["receipt_state"] or "-"
        lines.append(
            f"    {p['seq']}  {p['status']:<9} message_id {p['message_id'] or '-'}  "
            f"receipt {receipt}" + (f" ({p['error_code']})" if p["error_code"] else "")
        )
    if m["attempts"]:
        lines.append("  attempts:")
        for a in m["attempts"]:
            part = "-" if a["seq"] is None else a["seq"]
            where = "/".join(x for x in (a["node_id"], a["session_id"], a["host"]) if x)
            lines.append(
                f"    {a['at']}  part {part}  {a['outcome']}  {a['status_name'] or ''}  {where}"
            )
    return "\n".join(lines)

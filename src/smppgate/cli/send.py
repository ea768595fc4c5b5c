"""``smppgate send``: bind, send one message (split as needed), optionally wait for its
receipts, unbind. Exit 0 only when every part was accepted (and, with ``--wait-dlr``,
delivered); 1 when the SMSC refused or did not deliver; 2 for usage errors found before
connecting (validity, address, text); 3 when no session could be bound."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from typing import Any

from smppgate.client import (
    ClientConfigError,
    ClientError,
    DeliveryReport,
    MessageResult,
    OutboundMessage,
    SessionPool,
    SmppAccount,
    build_submits,
    parse_mode,
    send_message,
)
from smppgate.client.errors import AddressError, BindError, ConnectError, ValidityError
from smppgate.numbers import normalize
from smppgate.profiles import PROFILES, HostAddress, get_profile
from smppgate.session import BindMode
from smppgate.text import DeliveryState, Encoding, SplitMethod, TextError, message_ids_match

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BIND = 0, 1, 2, 3


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("send", help="send one SMS (or USSD) message and report its parts")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--smsc", metavar="HOST:PORT", help="the SMSC to bind to")
    where.add_argument(
        "--profile",
        choices=sorted(n for n in PROFILES if PROFILES[n].hosts),
        help="a built-in provider profile (its hosts, primary first)",
    )
    p.add_argument("--system-id", required=True)
    p.add_argument("--password", help="default: the SMPPGATE_PASSWORD environment variable")
    p.add_argument("--from", dest="sender", required=True, help="sender (alphanumeric or digits)")
    p.add_argument(
        "--to",
        dest="destination",
        required=True,
        help="destination number as people type it, read as in Russia (8 900 123-45-67, "
        "+7 900 ..., 00 44 ...); a foreign one with +",
    )
    p.add_argument("--text", required=True)
    p.add_argument("--split", choices=[m.value for m in SplitMethod], default="udh")
    p.add_argument("--encoding", choices=["auto", "gsm7", "ucs2", "latin1"], default="auto")
    p.add_argument("--mode", choices=["trx", "tx"], default="trx")
    p.add_argument("--validity", type=float, metavar="SECONDS")
    p.add_argument("--wait-dlr", type=float, metavar="SECONDS", help="wait for the receipts")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to get a bound session")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--verbose", action="store_true", help="log the sessions' progress")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the outcome is reported once, as one line; session logs only on request
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    try:
        return asyncio.run(_send(args))
    except KeyboardInterrupt:
        return 130


def _fail(args: argparse.Namespace, code: int, reason: str) -> int:
    if args.json:
        print(json.dumps({"ok": False, "error": reason}))
    else:
        print(f"smppgate send: {reason}", file=sys.stderr)
    return code


async def _send(args: argparse.Namespace) -> int:
    password = args.password if args.password is not None else os.environ.get("SMPPGATE_PASSWORD")
    if password is None:
        return _fail(args, EXIT_USAGE, "no password: use --password or SMPPGATE_PASSWORD")
    try:
        profile = get_profile(args.profile or "devino-promo")
        hosts = (HostAddress.parse(args.smsc),) if args.smsc else ()
        mode = parse_mode(args.mode)
        sessions: tuple[BindMode, ...] = (mode,)
        if args.wait_dlr and not mode.can_receive:
            sessions = (mode, BindMode.RECEIVER)  # receipts need a receiving session (D-07)
        account = SmppAccount(
            args.system_id, password, profile=profile, hosts=hosts, sessions=sessions
        )
        message = OutboundMessage(
            args.sender,
            # the HTTP API's reading (default dial plan): `--to 12` or `--to abc` never
            # reach the SMSC
            normalize(args.destination),
            args.text,
            encoding=Encoding(args.encoding),
            split=SplitMethod(args.split),
            validity=args.validity,
        )
        build_submits(message, profile)  # every local error before connecting
    except (ClientConfigError, ValidityError, AddressError, TextError, ValueError) as exc:
        return _fail(args, EXIT_USAGE, str(exc))

    async with SessionPool(account) as pool:
        try:
            await pool.wait_ready(args.timeout, fail_fast=True)
        except (BindError, ConnectError) as exc:
            return _fail(args, EXIT_BIND, str(exc))
        except TimeoutError:
            return _fail(args, EXIT_BIND, f"no bound session within {args.timeout:g} s")
        try:
            result = await send_message(pool, message)
        except ClientError as exc:
            return _fail(args, EXIT_FAILED, str(exc))
        receipts: list[DeliveryReport] = []
        if args.wait_dlr and result.accepted:
            await _wait_receipts(pool, result, args.wait_dlr, receipts)
    return _report(args, result, receipts)


def _expected_receipts(result: MessageResult) -> list[str]:
    ids = [p.message_id for p in result.parts if p.message_id]
    # message_payload: the SMSC sends one receipt, for the whole message (platform point 8)
    return ids[:1] if result.plan.plan.method is SplitMethod.PAYLOAD else ids


async def _wait_receipts(
    pool: SessionPool, result: MessageResult, seconds: float, out: list[DeliveryReport]
) -> None:
    waiting = set(_expected_receipts(result))
    try:
        async with asyncio.timeout(seconds):
            async for event in pool.incoming():
                if not isinstance(event, DeliveryReport) or event.message_id is None:
                    continue
                for mid in list(waiting):
                    if message_ids_match(mid, event.message_id) and (
                        event.state is None or event.state.is_final
                    ):
                        waiting.discard(mid)
                        out.append(event)
                if not waiting:
                    return
    except TimeoutError:
        return


def _report(args: argparse.Namespace, result: MessageResult, receipts: list[DeliveryReport]) -> int:
    delivered = len(receipts) == len(_expected_receipts(result)) and all(
        r.state is DeliveryState.DELIVERED for r in receipts
    )
    ok = result.accepted and (delivered if args.wait_dlr else True)
    total = len(result.parts)
    if args.json:
        plan = result.plan.plan
        print(
            json.dumps(
                {
                    "ok": ok,
                    "message": {
                        "from": args.sender,
                        "to": args.destination,
                        "text": args.text,
                        "encoding": plan.encoding.value,
                        "split": plan.method.value,
                        "parts": total,
                    },
                    "parts": [
                        {
                            "part": i,
                            "outcome": p.outcome.value,
                            "message_id": p.message_id,
                            "command_status": p.status.name if p.status is not None else None,
                            "reason": p.reason or None,
                        }
                        for i, p in enumerate(result.parts, 1)
                    ],
                    "receipts": [
                        {
                            "message_id": r.message_id,
                            "state": r.state.name if r.state is not None else None,
                            "err": r.receipt.err,
                        }
                        for r in receipts
                    ],
                },
                ensure_ascii=False,
            )
        )
    else:
        for i, p in enumerate(result.parts, 1):
            status = p.status.name if p.status is not None else "-"
            if p.message_id:
                print(f"part {i}/{total}: {p.outcome.value} message_id={p.message_id}")
            else:
                print(f"part {i}/{total}: {p.outcome.value} {status} {p.reason}".rstrip())
        for r in receipts:
            state = r.state.name if r.state is not None else "?"
            print(f"receipt {r.message_id}: {state}")
        if args.wait_dlr and result.accepted and not delivered:
            print("smppgate send: not every part was reported delivered", file=sys.stderr)
        elif not result.accepted:
            first = next(p for p in result.parts if not p.accepted)
            why = first.status.name if first.status is not None else first.reason
            print(f"smppgate send: not accepted: {why}", file=sys.stderr)
    return EXIT_OK if ok else EXIT_FAILED

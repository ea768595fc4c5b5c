"""``smppgate smsc``: run the platform emulator (an SMPP 3.4 server that behaves like the Devino
platform and misbehaves on demand)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import os
import signal
import sys
import tomllib
from typing import Any

from smppgate.cli.loops import LOOP_HELP, LOOPS, LoopUnavailableError, loop_factory
from smppgate.emulator import (
    DEMO_ACCOUNT,
    Account,
    Emulator,
    EmulatorConfig,
    EmulatorConfigError,
    FaultSpec,
    ListenerConfig,
    OutcomeMix,
    UnknownFaultError,
)
from smppgate.emulator.config import is_loopback
from smppgate.service.logs import LOG_LEVELS

log = logging.getLogger("smppgate.emulator")

EPILOG = f"""\
Defaults make a first run work: it listens on 127.0.0.1:2775 with the demo account
{DEMO_ACCOUNT[0]}:{DEMO_ACCOUNT[1]} (system_id "{DEMO_ACCOUNT[0]}", password "{DEMO_ACCOUNT[1]}")
and sends a DELIVRD receipt 1 s after each submit that asks for one.

Faults (--fault NAME[:key=value,...], also account=LOGIN and prefix=DIGITS):
  throttle:rate=N[,burst=B]      ESME_RTHROTTLED beyond N submits/s (also --throttle N)
  queue_full:first=K             ESME_RMSGQFUL for the first K attempts of each message
  queue_full:probability=P       ... or with probability P
  invalid_destination:pattern=RE ESME_RINVDSTADR for destinations matching RE
  delay:seconds=S                answer submits S seconds late
  reject:status=NAME             answer every submit with NAME (e.g. ESME_RSYSERR)
  drop_after:pdus=N              drop the TCP connection at the N-th request
  silence                        stop writing anything (no responses, no enquire_link_resp)
  mute_enquire_link              leave enquire_link unanswered
  reject_bind:status=NAME        refuse binds
  refuse_connections:seconds=T   close new connections at once for T seconds
Examples:
  smppgate smsc --account bench:bench --no-dlr
  smppgate smsc --fault throttle:rate=5,account=demo --control 127.0.0.1:8775
  curl -XPOST 127.0.0.1:8775/mo -d '{{"system_id":"demo","source":"79001234567",
       "destination":"1234","text":"hi"}}'
See docs/emulator.md for the TOML file and the control API.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "smsc",
        help="run the platform emulator (SMPP 3.4 server)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--listen",
        action="append",
        metavar="HOST:PORT[/CLASS]",
        help="listen here (repeatable); CLASS promo (default) or transactional; "
        "default 127.0.0.1:2775",
    )
    parser.add_argument(
        "--account",
        action="append",
        metavar="LOGIN:PASSWORD",
        help=f"an account (repeatable); default the demo account {':'.join(DEMO_ACCOUNT)}",
    )
    parser.add_argument("--config", metavar="FILE.toml", help="settings file (see docs)")
    parser.add_argument("--dlr-delay", type=float, metavar="S", help="receipt delay (1.0)")
    parser.add_argument(
        "--dlr-outcome",
        metavar="MIX",
        help="receipt outcomes, e.g. delivered=0.9,undeliverable=0.05,expired=0.03,rejected=0.02",
    )
    parser.add_argument("--no-dlr", action="store_true", help="send no delivery receipts")
    parser.add_argument(
        "--id-format", choices=("decimal", "hex"), help="message ids in submit_sm_resp"
    )
    parser.add_argument(
        "--receipt-id-format",
        choices=("same", "decimal", "hex"),
        help="message ids in receipts (same as submit_sm_resp, or forced to one base)",
    )
    parser.add_argument("--max-sessions", type=int, metavar="N", help="per account (4)")
    parser.add_argument(
        "--short-validity",
        choices=("reject", "expire"),
        help="validity_period under 60 s: ESME_RINVEXPIRY (reject) or accept and expire",
    )
    parser.add_argument("--throttle", type=float, metavar="N", help="submits/s per account")
    parser.add_argument(
        "--fault", action="append", metavar="SPEC", help="a fault rule (repeatable, see below)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="answer platform-rule violations with errors instead of only logging them",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve TLS on every listener")
    parser.add_argument("--tls-key", metavar="FILE")
    parser.add_argument("--seed", type=int, help="seed of the outcome mix")
    parser.add_argument(
        "--control", metavar="HOST:PORT", help="HTTP control API on this loopback address"
    )
    parser.add_argument(
        "--control-token",
        metavar="TOKEN",
        default=os.environ.get("SMPPGATE_CONTROL_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' on the control API "
        "(default: $SMPPGATE_CONTROL_TOKEN; none: open to local users)",
    )
    parser.add_argument(
        "--stats-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between counter lines (0: none)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="INFO",
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (any case; default INFO)",
    )
    parser.add_argument("--loop", choices=LOOPS, default="auto", help=LOOP_HELP)
    parser.set_defaults(func=run)


def parse_fault(text: str) -> FaultSpec:
    """``NAME[:key=value,...]`` with values read as numbers when they look like numbers."""
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    account = prefix = None
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise EmulatorConfigError(f"fault {name}", f"{item!r} is not key=value")
        if key == "account":
            account = value
        elif key == "prefix":
            prefix = value
        else:
            params[key] = _number(value)
    try:
        return FaultSpec(name.strip(), account, prefix, params)
    except UnknownFaultError:
        raise EmulatorConfigError("fault", f"unknown fault {name!r}") from None


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    """The config from the file (if any), then the command line on top."""
    data: dict[str, Any] = {}
    if args.config:
        try:
            with open(args.config, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise EmulatorConfigError(
                "config", f"cannot read {args.config}: {exc.strerror}"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise EmulatorConfigError("config", f"{args.config}: {exc}") from None
    config: EmulatorConfig = EmulatorConfig.from_mapping(data)
    changes: dict[str, Any] = {}
    if args.listen:
        listeners = [ListenerConfig.parse(item) for item in args.listen]
        changes["listeners"] = tuple(listeners)
    if args.tls_cert:
        changes["listeners"] = tuple(
            ListenerConfig(item.host, item.port, item.traffic_class, args.tls_cert, args.tls_key)
            for item in changes.get("listeners", config.listeners)
        )
    if args.account:
        changes["accounts"] = tuple(Account.parse(item) for item in args.account)
    if args.dlr_delay is not None:
        changes["dlr_delay"] = args.dlr_delay
    if args.dlr_outcome:
        changes["dlr_outcomes"] = OutcomeMix.parse(args.dlr_outcome)
    if args.no_dlr:
        changes["dlr_enabled"] = False
    for option, key in (
        ("id_format", "message_id_format"),
        ("receipt_id_format", "receipt_id_format"),
        ("max_sessions", "max_sessions"),
        ("short_validity", "short_validity"),
        ("seed", "seed"),
    ):
        value = getattr(args, option)
        if value is not None:
            changes[key] = value
    if args.strict:
        changes["strict"] = True
    faults = list(config.faults)
    if args.throttle is not None:
        faults.append(FaultSpec("throttle", params={"rate": args.throttle}))
    faults.extend(parse_fault(item) for item in args.fault or ())
    changes["faults"] = tuple(faults)
    return config.with_changes(**changes)


def _control_address(text: str) -> tuple[str, int]:
    listener = ListenerConfig.parse(text)
    return listener.host, listener.port


async def serve(
    config: EmulatorConfig,
    control: tuple[str, int] | None,
    stats_interval: float,
    stop: asyncio.Event | None = None,
    control_token: str | None = None,
) -> None:
    """Run until ``stop`` is set (or SIGINT / SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(Emulator(config))
        log.info(
            "accounts: %s; receipts %s",
            ", ".join(a.system_id for a in config.accounts),
            f"after {config.dlr_delay:g} s" if config.dlr_enabled else "off",
        )
        if control is not None:
            # aiohttp comes with the gateway extra: the emulator alone runs without it
            from smppgate.emulator.control import ControlServer

            server = await stack.enter_async_context(
                ControlServer(emulator, *control, token=control_token)
            )
            log.info("control API on http://%s:%d", *server.address)
        ticker = asyncio.create_task(_report(emulator, stats_interval)) if stats_interval else None
        try:
            await stop.wait()
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
        log.info("stopping")
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signum)


async def _report(emulator: Emulator, interval: float) -> None:
    """One line of counters per interval while anything moves."""
    previous = emulator.counters.snapshot()
    while True:
        await asyncio.sleep(interval)
        current = emulator.counters.snapshot()
        if current == previous:
            continue
        submits = (current["submits"] - previous["submits"]) / interval
        log.info(
            "sessions=%d binds=%d bind_failures=%d submits/s=%.0f submits=%d errors=%d "
            "receipts=%d pending=%d mo=%d violations=%d faults=%d",
            len(emulator.bound_sessions()),
            current["binds"],
            current["bind_failures"],
            submits,
            current["submits"],
            current["submit_errors"],
            current["receipts_sent"],
            sum(emulator.pending_deliveries(a) for a in emulator.accounts),
            current["mo_sent"],
            current["violations"],
            len(emulator.faults),
        )
        previous = current


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = build_config(args)
        control = _control_address(args.control) if args.control else None
        if control is not None and not is_loopback(control[0]):
            raise EmulatorConfigError("control", f"{control[0]} is not a loopback address")
        if control is not None and importlib.util.find_spec("aiohttp") is None:
            raise EmulatorConfigError(
                "control", "the control API needs pip install 'smppgate[gateway]'"
            )
    except EmulatorConfigError as exc:
        print(f"smppgate smsc: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        factory = loop_factory(args.loop)
    except LoopUnavailableError as exc:
        print(f"smppgate smsc: {exc}", file=sys.stderr)
        return 2
    log.info("event loop: %s", "asyncio" if factory is None else factory.__module__)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(
                serve(config, control, args.stats_interval, control_token=args.control_token)
            )
    except EmulatorConfigError as exc:
        print(f"smppgate smsc: configuration error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"smppgate smsc: cannot listen: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0

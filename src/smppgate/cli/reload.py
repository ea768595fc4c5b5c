"""`smppgate reload`: make a running `smppgate serve` read its configuration file again.

It checks the file first (as `check-config` does), so a mistake is reported here and the
gateway is not even asked; then it sends SIGHUP to the process whose id ``--pid-file`` holds
(``smppgate serve --pid-file``) or to ``--pid``. Under systemd, ``systemctl reload smppgate``
does the same through the unit's ``ExecReload``.

Why a signal and not an HTTP endpoint: it needs no network surface and no key (the operating
system checks that the caller may signal the process), it works while the API is overloaded,
and it is what service managers already send. What the gateway applied, and what it refused,
is in its log and in ``smppgate_config_reloads_total`` / ``smppgate_config_last_reload_successful``
on /metrics.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from smppgate.cli.config_file import add_config_argument, config_path, read_config
from smppgate.service.config import ConfigError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reload",
        help="make a running gateway read its configuration again (SIGHUP)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_argument(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--pid-file", metavar="FILE", help="as given to smppgate serve")
    target.add_argument("--pid", type=int, metavar="PID", help="the gateway's process id")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = config_path(args)
    if path is not None:
        try:
            read_config(args)
        except ConfigError as exc:
            print(f"smppgate reload: {exc}; the gateway was not asked", file=sys.stderr)
            return 2
    try:
        pid = args.pid if args.pid is not None else _read_pid(Path(args.pid_file))
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        print(f"smppgate reload: {exc}", file=sys.stderr)
        return 1
    checked = f"{path} is valid; " if path is not None else ""
    print(f"{checked}sent SIGHUP to process {pid}: what it applied is in its log")
    return 0


def _read_pid(pid_file: Path) -> int:
    text = pid_file.read_text(encoding="utf-8").strip()
    if not text.isdigit() or int(text) <= 1:
        raise ValueError(f"{pid_file} does not hold a process id: {text!r}")
    return int(text)

"""Entry point of the `smppgate` command: one subcommand per job, one module per subcommand.

Each module in ``COMMANDS`` has ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed arguments and returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from smppgate import __version__

# subcommand modules of smppgate.cli, in the order --help lists them
COMMANDS: tuple[str, ...] = (
    "serve",
    "send",
    "send_bulk",
    "status",
    "smsc",
    "migrate",
    "bench",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (``only``) just one subcommand: a command imports only its
    own module, so ``smppgate bench client`` or ``smppgate send`` do not pay for the HTTP
    server and database drivers that ``serve`` loads (memory and start-up time)."""
    parser = argparse.ArgumentParser(
        prog="smppgate",
        description="SMS/USSD gateway over SMPP 3.4 (Devino Telecom and any SMPP 3.4 SMSC).",
    )
    parser.add_argument("--version", action="version", version=f"smppgate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"smppgate.cli.{name}").register(subparsers)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand module named by ``argv``, when its first argument names one."""
    if not argv:
        return None
    name = argv[0].replace("-", "_")
    return name if name in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_chosen(args_list))
    args = parser.parse_args(args_list)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return func(args)


if __name__ == "__main__":
    sys.exit(main())

"""Entry point of the `smppgate` command: one subcommand per job, one module per subcommand.

Each module in ``COMMANDS`` has ``register(subparsers)``, which adds its parser and sets
``func`` (a callable taking the parsed arguments and returning the exit code).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from smppgate import __version__

# subcommand modules of smppgate.cli, in the order --help lists them
COMMANDS: tuple[str, ...] = (
    "serve",
    "send",
    "send_bulk",
    "blocklist",
    "status",
    "smsc",
    "migrate",
    "check_config",
    "reload",
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
        try:
            module = importlib.import_module(f"smppgate.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name not in EXTRAS:
                raise
            _register_missing(subparsers, name, exc.name)
        else:
            module.register(subparsers)
    return parser


# packages a command may need that `pip install smppgate` (the library alone) does not bring
EXTRAS = {"aiohttp": "gateway", "asyncpg": "postgres"}


def _register_missing(subparsers: Any, name: str, package: str) -> None:
    """A command whose extra is not installed still shows in --help and says what to install,
    instead of a traceback."""
    command = name.replace("_", "-")
    hint = f"smppgate {command} needs {package}: pip install 'smppgate[{EXTRAS[package]}]'"
    # a prefix no argument uses: every argument (--config, --help, ...) is taken as given
    parser = subparsers.add_parser(
        command, help=f"(not installed: {hint})", add_help=False, prefix_chars="\x01"
    )
    parser.add_argument("rest", nargs="*")

    def missing(_: argparse.Namespace) -> int:
        print(hint, file=sys.stderr)
        return 2

    parser.set_defaults(func=missing)


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand module named by ``argv``, when its first argument names one."""
    if not argv:
        return None
    name = argv[0].replace("-", "_")
    return name if name in COMMANDS else None


# Collect the youngest generation after this many net allocations of container objects, not
# 700. Each submit_sm allocates a handful of tuples that live for one round trip; at 700 the
# collector scanned them while they were in flight, about 8% of the client's CPU at 100k msg/s.
# At 10,000 they are freed by reference counting before any scan (cyclic garbage still gets
# collected, a little later).
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Collector settings for smppgate's own processes (the library never changes them: an
    application embedding the client decides for its process): the threshold above, and the
    objects created while starting (modules, tables) moved out of the collector's scans."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def main(argv: Sequence[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_chosen(args_list))
    args = parser.parse_args(args_list)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    if argv is None:  # the smppgate command's own process (not a caller's, e.g. a test)
        tune_gc()
    return func(args)


if __name__ == "__main__":
    sys.exit(main())

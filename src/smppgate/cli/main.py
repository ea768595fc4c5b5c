"""Entry point of the `smppgate` command: one subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from smppgate import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smppgate",
        description="SMS/USSD gateway over SMPP 3.4 (Devino Telecom and any SMPP 3.4 SMSC).",
    )
    parser.add_argument("--version", action="version", version=f"smppgate {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

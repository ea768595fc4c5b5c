"""`smppgate migrate`: apply the store's pending schema migrations and print the versions."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from smppgate.cli.config_file import add_config_argument, read_config
from smppgate.service.config import ConfigError
from smppgate.store import StoreError, migrate, open_store


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="apply pending store migrations",
        description="Apply the store's pending schema migrations (safe to run on every node: "
        "each migration is applied once) and print the schema version.",
    )
    add_config_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = read_config(args)
    except ConfigError as exc:
        print(f"smppgate migrate: {exc}", file=sys.stderr)
        return 2
    try:
        applied, version = asyncio.run(_migrate(config.store.url))
    except StoreError as exc:
        print(f"smppgate migrate: {exc}", file=sys.stderr)
        return 1
    if applied:
        print(f"applied migrations {', '.join(map(str, applied))}; schema version {version}")
    else:
        print(f"schema version {version}: up to date")
    return 0


async def _migrate(url: str) -> tuple[list[int], int]:
    applied = await migrate(url)
    async with open_store(url, migrate=False) as store:
        return applied, await store.schema_version()

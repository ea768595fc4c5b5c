"""Which configuration a gateway command reads: ``--config FILE``, else the file named by the
``SMPPGATE_CONFIG`` environment variable, else the embedded demo configuration.

Every command that works on the gateway's store (serve, send-bulk, status, migrate,
check-config) takes the same argument from here, so the rule is the same everywhere and a
service manager can set the file once in the environment.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping

from smppgate.service.config import GatewayConfig, default_config, load_config

CONFIG_ENV = "SMPPGATE_CONFIG"

HELP = (
    f"TOML configuration file (default: ${CONFIG_ENV}, else the embedded demo configuration "
    "with an in-process emulator)"
)


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help=HELP)


def config_path(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> str | None:
    """The file to read, or None for the embedded demo configuration."""
    env = os.environ if environ is None else environ
    path: str | None = args.config
    if path is None:
        path = env.get(CONFIG_ENV) or None
    return path


def read_config(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> GatewayConfig:
    """The configuration the arguments name (raises ``ConfigError`` naming the key at fault)."""
    path = config_path(args, environ)
    return default_config(environ) if path is None else load_config(path, environ)

"""`smppgate check-config`: read and validate a configuration without starting anything.

Exit 0 and a summary when the configuration would start; exit 2 and the error naming the key
at fault when it would not. Nothing is opened: no store, no socket, no SMSC session — so it is
safe to run on a live node before a restart or a deploy (a restart costs the platform's 60 s
without sessions; a refused configuration costs more).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from smppgate.cli.config_file import CONFIG_ENV, add_config_argument, config_path, read_config
from smppgate.service.config import ConfigError, GatewayConfig


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="validate a configuration file without starting",
        description="Read and validate a configuration (--config FILE, else "
        f"${CONFIG_ENV}) exactly as `smppgate serve` would, without opening the store or any "
        "connection. Exit 0 with a summary when it would start, 2 with the key at fault when "
        "it would not.",
    )
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = read_config(args)
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"ok": False, "key": exc.key, "error": str(exc)}))
        else:
            print(f"smppgate check-config: {exc}", file=sys.stderr)
        return 2
    body = summary(config, config_path(args))
    if args.json:
        print(json.dumps(body, ensure_ascii=False))
    else:
        print(render(body))
    return 0


def safe_url(url: str) -> str:
    """A store URL without its password (a summary may end up in a ticket or a chat)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def summary(config: GatewayConfig, path: str | None) -> dict[str, Any]:
    """What the configuration will run, secrets left out."""
    return {
        "ok": True,
        "source": path or "embedded demo configuration",
        "store": safe_url(config.store.url),
        "http": str(config.http.listen),
        "api_keys": len(config.http.api_keys),
        "emulator": str(config.emulator.listen) if config.emulator.enabled else None,
        "accounts": [
            {
                "name": a.name,
                "profile": a.profile.name,
                "system_id": a.system_id,
                "password_from": a.password_source,
                "hosts": [str(h) for h in a.hosts],
                "sessions": [m.value for m in a.sessions],
                "window": a.window,
            }
            for a in config.accounts
        ],
        "clients": [
            {
                "name": c.name,
                "keys": len(c.api_keys),
                "accounts": None if c.accounts is None else list(c.accounts),
                "rate": c.rate,
                "daily_quota": c.daily_quota,
                "operator": c.operator,
            }
            for c in config.api_clients
        ],
        "quiet_hours": [q.describe() for q in config.quiet_hours],
    }


def render(body: dict[str, Any]) -> str:
    lines = [
        f"configuration OK: {body['source']}",
        f"  store {body['store']}",
        f"  http  {body['http']} ({body['api_keys']} API key(s))",
    ]
    if body["emulator"]:
        lines.append(f"  emulator in-process on {body['emulator']} (demo: nothing leaves it)")
    lines.extend(
        f"  client {c['name']}: {c['keys']} key(s), accounts "
        f"{'all' if c['accounts'] is None else ', '.join(c['accounts'])}, rate "
        f"{c['rate'] or 'unlimited'}, daily_quota {c['daily_quota'] or 'unlimited'}"
        + (", operator" if c["operator"] else "")
        for c in body["clients"]
    )
    lines.extend(
        f"  account {a['name']}: profile {a['profile']}, system_id {a['system_id']} "
        f"(password from {a['password_from']}), hosts {', '.join(a['hosts'])}, "
        f"sessions {' '.join(a['sessions'])}, window {a['window']}"
        for a in body["accounts"]
    )
    lines.extend(f"  quiet hours: {q}" for q in body["quiet_hours"])
    return "\n".join(lines)

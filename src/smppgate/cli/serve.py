"""`smppgate serve`: the gateway — HTTP API, dispatcher, receipts, MO, webhooks, metrics."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from smppgate.api import create_app
from smppgate.api.app import runner as http_runner
from smppgate.api.keys import UPSTREAM_CANCEL
from smppgate.cli.config_file import add_config_argument, config_path, read_config
from smppgate.cli.loops import LOOP_HELP, LOOPS, LoopUnavailableError, loop_factory
from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.service.config import ConfigError, GatewayConfig, load_config
from smppgate.service.front_door import FrontDoor
from smppgate.service.intake import Intake
from smppgate.service.logs import LOG_LEVELS, configure_logging, set_level
from smppgate.service.metrics import Metrics
from smppgate.service.notify import notify
from smppgate.service.ops import OpsView
from smppgate.service.reload import LiveConfig, Reloader
from smppgate.service.runtime import Gateway
from smppgate.service.webhooks import WebhookOutbox, WebhookSender
from smppgate.store import StoreError

log = logging.getLogger("smppgate.serve")

DESCRIPTION = """\
Run the gateway: accept messages over HTTP, queue them durably, send them to the SMSC under
the platform's rules, track receipts, call webhooks.

The configuration is --config FILE, else the file named by $SMPPGATE_CONFIG. Without either it
starts the embedded DEMO configuration (and says so on every start): SQLite in
./data/smppgate.db, the HTTP API on http://127.0.0.1:8080, and one account "demo" (password
"demo") bound to a platform emulator started in the same process on 127.0.0.1:2775, which
"delivers" every message: nothing reaches a real phone. Try:

  curl -s localhost:8080/v1/messages -H 'Content-Type: application/json' \
    -d '{"to":"79001234567","from":"Demo","text":"Hi"}'

Every configuration key is in docs/configuration.md; the HTTP API is at /docs.
SIGTERM or Ctrl-C stops gracefully: no new work, in-flight responses awaited, sessions unbound.
SIGHUP (or `smppgate reload`) reads the configuration file again and applies what needs no
new SMPP session (API keys, webhooks, log level, limits, retention); a bad file is refused and
the running configuration stays (docs/operations.md, "Reload").
Under systemd with Type=notify it reports READY=1 once the API listens (deploy/systemd/).
Check a configuration without starting anything: smppgate check-config --config FILE.
"""

DEMO_WARNING = (
    "no --config and no $SMPPGATE_CONFIG: running the DEMO configuration with an in-process "
    "platform emulator that 'delivers' every message (nothing reaches a real phone); "
    "pass --config FILE for real traffic"
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the gateway (HTTP API + SMPP sessions + queue)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_argument(parser)
    parser.add_argument(
        "--log-format", choices=("text", "json"), help="log lines as text (default) or JSON"
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help=f"{', '.join(LOG_LEVELS)} (any case; default: [log] level, INFO)",
    )
    parser.add_argument("--node-id", metavar="ID", help="this node's name (default: host-pid)")
    parser.add_argument(
        "--pid-file",
        metavar="FILE",
        help="write this process's id there (removed at exit), for `smppgate reload`",
    )
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default="auto",
        help=LOOP_HELP,
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = read_config(args)
    except ConfigError as exc:
        print(f"smppgate serve: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(args.log_format or config.log_format, args.log_level or config.log_level)
    for account in config.accounts:
        # the source, never the value: a stale variable overriding the file shows here
        log.info("account %s: password from %s", account.name, account.password_source)
    for warning in config.warnings:
        log.warning("%s", warning)
    if config_path(args) is None:
        # on stderr as well as in the log: a log level of ERROR must not hide it
        print(f"smppgate serve: WARNING: {DEMO_WARNING}", file=sys.stderr)
        log.warning(DEMO_WARNING)
    try:
        factory = loop_factory(args.loop)
    except LoopUnavailableError as exc:
        print(f"smppgate serve: {exc}", file=sys.stderr)
        return 2
    log.info("event loop: %s", "asyncio" if factory is None else factory.__module__)
    pid_file = Path(args.pid_file) if args.pid_file else None
    if pid_file is not None:
        pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(
                serve(config, node_id=args.node_id, keep_log_level=args.log_level is not None)
            )
    except StoreError as exc:
        print(f"smppgate serve: store error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"smppgate serve: {exc}", file=sys.stderr)
        return 1
    finally:
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
    return 0


def _reload_source(config: GatewayConfig) -> GatewayConfig:
    if config.source_path is None:
        raise ConfigError("--config", "the demo configuration has no file to read again")
    return load_config(config.source_path)


def _on_sighup(reloaders: list[Reloader]) -> None:
    if not reloaders:
        # (installed first thing: SIGHUP's default action would end the process)
        log.warning("SIGHUP while starting: ignored, send it again once the gateway runs")
        return
    reloader = reloaders[0]
    log.info("SIGHUP: reloading the configuration")
    notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
    reloader.reload()
    notify("READY=1")


def _emulator_config(config: GatewayConfig) -> EmulatorConfig:
    listen = config.emulator.listen
    return EmulatorConfig(
        listeners=(ListenerConfig(listen.host, listen.port),),
        accounts=tuple(Account(a.system_id, a.password) for a in config.accounts),
        dlr_delay=config.emulator.dlr_delay,
    )


async def serve(
    config: GatewayConfig,
    *,
    node_id: str | None = None,
    stop: asyncio.Event | None = None,
    keep_log_level: bool = False,
) -> None:
    """Run until ``stop`` is set (by default: SIGTERM or SIGINT); SIGHUP reloads the
    configuration from ``config.source_path`` (``keep_log_level``: the command line set the
    level, a reload keeps it)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    reloaders: list[Reloader] = []  # the one reloader, once everything it reconfigures runs
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, _on_sighup, reloaders)
    async with contextlib.AsyncExitStack() as stack:
        if config.emulator.enabled:
            emulator = await stack.enter_async_context(Emulator(_emulator_config(config)))
            host, port = emulator.address
            log.info("platform emulator listening on %s:%d", host, port)
        # one metrics object for everything: the gateway's pool sampler records into the same
        # object /metrics renders
        metrics = Metrics()
        # webhooks are decided inside the transactions that record their events (a crash
        # cannot separate the two); the gateway's listeners below only wake the sender
        gateway = await stack.enter_async_context(
            Gateway(
                config,
                node_id=node_id,
                metrics=metrics,
                notifier=lambda store: WebhookOutbox(config, store),
            )
        )
        metrics.attach_store(gateway.store)
        sender = await stack.enter_async_context(
            WebhookSender(config, gateway.store, node_id=gateway.node_id, metrics=metrics)
        )

        async def wake(*_: object) -> None:
            sender.wake()

        gateway.receipt_listeners.append(wake)
        gateway.outcome_listeners.append(wake)
        gateway.inbound_listeners.append(wake)
        door_snapshot = None
        intake = Intake(config, gateway.store)
        if config.smpp_server.enabled:
            # entered after the gateway, so closed before it: applications are unbound and
            # what they submitted is committed before the dispatchers stop
            door = await stack.enter_async_context(FrontDoor(config, gateway, intake=intake))
            door_snapshot = door.snapshot
            metrics.attach_front_door(door_snapshot)
        ops = await stack.enter_async_context(OpsView(gateway, metrics, front_door=door_snapshot))
        live = LiveConfig(config)
        app = create_app(
            config=config,
            store=gateway.store,
            intake=intake,
            metrics=metrics,
            readiness=gateway.ready,
            ops=ops,
            live=live,
        )
        app[UPSTREAM_CANCEL] = gateway.cancel_upstream
        targets: list[Callable[[GatewayConfig], None]] = [
            gateway.reconfigure,
            intake.reconfigure,
            sender.reconfigure,
        ]
        if isinstance(gateway.store.notifier, WebhookOutbox):
            targets.append(gateway.store.notifier.reconfigure)
        if not keep_log_level:
            targets.append(lambda new: set_level(new.log_level))
        reloaders.append(
            Reloader(live, functools.partial(_reload_source, config), targets, metrics)
        )
        runner = http_runner(app, config)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        listen = config.http.listen
        site = web.TCPSite(runner, listen.host, listen.port)
        await site.start()
        log.info(
            "smppgate %s listening on http://%s:%d (ops page at /ui/, API docs at /docs)",
            gateway.node_id,
            listen.host,
            listen.port,
        )
        notify(f"READY=1\nSTATUS=listening on http://{listen.host}:{listen.port}")
        await stop.wait()
        notify("STOPPING=1\nSTATUS=stopping: unbinding the SMPP sessions")
        log.info("stopping: no new work, waiting for in-flight responses")

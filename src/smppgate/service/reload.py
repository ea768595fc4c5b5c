"""Reloading the configuration without a restart (SIGHUP, `smppgate reload`).

A restart costs at least 60 s without sessions (the platform's reconnect cooldown), so what can
change under a running gateway does: API keys and batch limit, the API clients, routes and
quiet hours (``[[clients]]``, ``[[routes]]``, ``[[quiet_hours]]``: from the next request or
claim), the webhooks' secret and attempts, the default sender / callback URL / split / encoding
/ part limit of an account, retention, lease and shutdown timings, the log level. `plan_reload`
compares the running configuration with the new one and says what it applies and what it keeps
at its running value, with why:

- **needs a restart**: ``node_id``, ``[store] url``, ``[emulator]``, ``[log] format``, and every
  ``[http]`` / ``[webhooks]`` setting but those in `LIVE_FIELDS` (the listen address, the
  header timeout and the pools are built into the HTTP server and the webhook client at
  start; ``body_timeout`` and ``allowed_hosts`` are read per request);
- **rebuilds that account's sessions**: a change of the settings its SMPP sessions are built
  from (`SESSION_FIELDS`: system_id, password, hosts, sessions, profile, TLS, window, timers,
  query_rate). The gateway does it for that account alone (`AccountRunner.rebuild`):
  the window drains, the sessions unbind, and the new ones bind when the platform's reconnect
  wait allows; the other accounts are untouched. ``max_submit_rate`` applies to the running
  pool at once, ``query_after`` to the query_sm sweeper.
- **needs a restart**: an account added or removed. Adding one would need its users and
  receipts routed (front door, routes, clients) and metrics set up mid-run; removing one
  would leave its queued messages with no sender. Both are reported, the rest applies.

A file that does not parse or validate is refused whole (`ConfigError`), and the running
configuration stays. `LiveConfig` holds the configuration the parts read per use (the API's
keys and limits); the others get it through their `reconfigure` methods.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from smppgate.service.config import AccountConfig, ConfigError, GatewayConfig
from smppgate.service.metrics import Metrics

log = logging.getLogger("smppgate.reload")

#: account settings the SMPP sessions are built from: a change needs them rebuilt (the
#: gateway does it for that account alone: `Gateway.reconfigure`)
SESSION_FIELDS = (
    "system_id", "password", "profile", "hosts", "sessions", "window", "tls", "ca_file",
    "tls_verify", "query_rate", "reconnect_after_drop",
    "reconnect_after_failure", "response_timeout", "enquire_link_idle",
    "unsafe_below_platform_minimums", "tcp", "write_stall_after",
)  # fmt: skip


def session_changes(old: AccountConfig, new: AccountConfig) -> list[str]:
    """The settings ``old``'s sessions were built from that ``new`` changes."""
    return [f for f in SESSION_FIELDS if getattr(old, f) != getattr(new, f)]


def as_built(account: AccountConfig, built: AccountConfig) -> AccountConfig:
    """``account`` with the session settings of ``built`` (those its sessions run with)."""
    return replace(account, **{f: getattr(built, f) for f in SESSION_FIELDS})


class LiveConfig:
    """The configuration in force: replaced whole by a reload, read at each use."""

    __slots__ = ("current",)

    def __init__(self, config: GatewayConfig) -> None:
        self.current = config


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    #: what runs after the reload: the new file, less what `refused` lists
    config: GatewayConfig
    #: what changes, one line each ("http.api_keys", "accounts[promo].default_sender")
    applied: tuple[str, ...]
    #: what stays at its running value, and why
    refused: tuple[str, ...]


def plan_reload(running: GatewayConfig, new: GatewayConfig) -> ReloadPlan:
    applied: list[str] = []
    refused: list[str] = []
    restart = "needs a restart"
    refused.extend(
        f"{key}: {restart}"
        for key in ("node_id", "emulator", "log_format", "store.url")
        if _get(new, key) != _get(running, key)
    )
    kept: dict[str, Any] = {}
    for section, live in LIVE_FIELDS.items():
        before, after = getattr(running, section), getattr(new, section)
        frozen = {f.name: getattr(before, f.name) for f in fields(before) if f.name not in live}
        refused.extend(
            f"{section}.{name}: {restart}"
            for name, value in frozen.items()
            if getattr(after, name) != value
        )
        kept[section] = replace(after, **frozen)
    config = replace(
        new,
        node_id=running.node_id,
        store=replace(new.store, url=running.store.url),
        **kept,
        emulator=running.emulator,
        log_format=running.log_format,
        accounts=_accounts(running, new, applied, refused),
    )
    config = _policy(running, config, applied, refused)
    for section in ("store", "http", "webhooks"):
        before, after = getattr(running, section), getattr(config, section)
        applied.extend(
            f"{section}.{f.name}"
            for f in fields(before)
            if getattr(before, f.name) != getattr(after, f.name)
        )
    applied.extend(
        name.replace("log_", "log.")
        for name in ("log_level", "shutdown_timeout")
        if getattr(running, name) != getattr(config, name)
    )
    return ReloadPlan(config, tuple(applied), tuple(refused))


#: the settings of these sections a reload applies; the others are built into the HTTP server
#: and the webhook sender's client at start (listen address, header timeout, pools,
#: the address policy of the resolver) and need a restart, as does any setting added later
#: until it is listed here
LIVE_FIELDS = {
    "http": frozenset({"api_keys", "max_batch", "body_timeout", "allowed_hosts"}),
    "webhooks": frozenset({"secret", "max_attempts", "backoff"}),
}


def _policy(
    running: GatewayConfig, config: GatewayConfig, applied: list[str], refused: list[str]
) -> GatewayConfig:
    """``[[clients]]`` and ``[[routes]]`` apply from the next request, unless they name an
    account that is not running (one the reload could not add): then both stay as they run."""
    running_accounts = {a.name for a in config.accounts}
    named = (
        {r.account for r in config.routes}
        | {a for c in config.clients for a in (c.accounts or ())}
        | {q.account for q in config.quiet_hours if q.account is not None}
    )
    missing = sorted(named - running_accounts)
    changed = [
        name
        for name in ("clients", "routes", "quiet_hours")
        if getattr(running, name) != getattr(config, name)
    ]
    if not changed:
        return config
    if missing:
        refused.append(
            f"{' and '.join(changed)}: name account(s) not running ({', '.join(missing)}): "
            "kept as they run (restart to add the account)"
        )
        return replace(
            config,
            clients=running.clients,
            routes=running.routes,
            quiet_hours=running.quiet_hours,
        )
    applied.extend(changed)
    return config


def _get(config: GatewayConfig, key: str) -> object:
    value: object = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _accounts(
    running: GatewayConfig, new: GatewayConfig, applied: list[str], refused: list[str]
) -> tuple[AccountConfig, ...]:
    """The running accounts with the new file's settings; one whose session settings changed
    gets its sessions rebuilt (reported as ``accounts[name].sessions rebuilt``). Accounts
    are neither added nor removed (see the module docstring)."""
    offered = {a.name: a for a in new.accounts}
    result = []
    for old in running.accounts:
        fresh = offered.pop(old.name, None)
        if fresh is None:
            refused.append(
                f"accounts[{old.name}]: removed from the file; its sessions keep running "
                "(removing an account needs a restart)"
            )
            result.append(old)
            continue
        applied.extend(
            f"accounts[{old.name}].{f.name}"
            for f in fields(old)
            if f.compare and getattr(old, f.name) != getattr(fresh, f.name)
        )
        if session_changes(old, fresh):
            applied.append(f"accounts[{old.name}]: sessions rebuilt")
        result.append(fresh)
    refused.extend(
        f"accounts[{name}]: new account: needs sessions of its own (restart to add it)"
        for name in offered
    )
    return tuple(result)


class Reloader:
    """Loads the file again and hands what `plan_reload` allows to each of ``targets`` (the
    parts' `reconfigure` methods), then to ``live``. Never raises for a bad file: it logs the
    error and keeps the running configuration."""

    def __init__(
        self,
        live: LiveConfig,
        load: Callable[[], GatewayConfig],
        targets: Sequence[Callable[[GatewayConfig], None]],
        metrics: Metrics | None = None,
    ) -> None:
        self._live = live
        self._load = load
        self._targets = targets
        self._metrics = metrics

    def reload(self) -> ReloadPlan | None:
        try:
            new = self._load()
        except ConfigError as exc:
            log.error("configuration reload refused, the running configuration stays: %s", exc)
            self._count("refused")
            return None
        plan = plan_reload(self._live.current, new)
        for target in self._targets:
            target(plan.config)
        self._live.current = plan.config
        for line in plan.refused:
            log.warning("configuration reload: not applied: %s", line)
        log.info(
            "configuration reloaded: %s",
            ", ".join(plan.applied) if plan.applied else "nothing changed that a reload applies",
        )
        self._count("applied")
        return plan

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.config_reload(outcome)

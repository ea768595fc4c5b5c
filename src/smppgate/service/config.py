"""The gateway's configuration: TOML in, validated frozen values out.

Every error names the key at fault (``accounts[1].sessions``) and says what to write instead.
Secrets can come from the environment: ``SMPPGATE_API_KEYS`` (comma-separated),
``SMPPGATE_WEBHOOK_SECRET``, and per account ``password_env`` or
``SMPPGATE_PASSWORD_<ACCOUNT NAME IN UPPER CASE>``. The documented reference of every key is
docs/configuration.md; a test keeps the two in step.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from smppgate.client import TcpOptions
from smppgate.numbers import RUSSIA, DialPlan, SenderError
from smppgate.pdu import CommandId
from smppgate.profiles import (
    BelowPlatformMinimumError,
    HostAddress,
    ProfileError,
    ProviderProfile,
    declare_profile,
    get_profile,
)
from smppgate.service.egress import EgressPolicy, UrlRefusedError
from smppgate.service.logs import parse_level
from smppgate.service.quiet_hours import QuietHours, WindowError, parse_offset, parse_window
from smppgate.service.routes import BUILTIN_CLASSES, Route
from smppgate.session import BindMode
from smppgate.store import redacted_url
from smppgate.text import DefaultAlphabet, Encoding, SplitMethod

DEFAULT_DATA_DIR = Path("data")
DEFAULT_STORE_URL = f"sqlite:{DEFAULT_DATA_DIR}/smppgate.db"  # relative to the working directory
DEFAULT_HTTP_LISTEN = HostAddress("127.0.0.1", 8080)
DEFAULT_EMULATOR_LISTEN = HostAddress("127.0.0.1", 2775)
_MODES = {"tx": BindMode.TRANSMITTER, "rx": BindMode.RECEIVER, "trx": BindMode.TRANSCEIVER}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
#: an API key shorter than this is refused: keys are bearer secrets, guessable ones are none
MIN_API_KEY_LENGTH = 16


class ConfigError(ValueError):
    """A configuration value is missing or wrong; ``key`` says which one."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True, slots=True)
class StoreConfig:
    url: str = DEFAULT_STORE_URL
    lease_seconds: float = 60.0
    retention_days: float = 30.0
    """Final messages (with parts, attempts, receipts) and inbound kept this long (0: keep)."""
    unmatched_receipt_days: float = 7.0
    webhook_days: float = 7.0
    """Delivered webhooks kept this long (0: keep); given-up ones follow retention_days."""
    redact_text_after_days: float = 0.0
    """Message texts replaced by "" after this long (0: never), e.g. for one-time codes."""
    retention_batch: int = 200


@dataclass(frozen=True, slots=True)
class HttpConfig:
    listen: HostAddress = DEFAULT_HTTP_LISTEN
    api_keys: tuple[str, ...] = ()
    max_batch: int = 1000
    allowed_hosts: tuple[str, ...] = ()
    """Host names (besides the listen address, IP literals and localhost) requests may name
    in ``Host`` and ``Origin``; anything else is refused (DNS rebinding, cross-site)."""
    header_timeout: float = 10.0
    """Seconds a client has to send a request's headers."""
    body_timeout: float = 30.0
    """Seconds a client has to send a request's body."""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    secret: str = ""
    timeout: float = 10.0
    max_attempts: int = 12
    backoff: tuple[float, ...] = (5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
    allow_private: bool = False
    """Let webhooks go to loopback/private/link-local addresses (labs and tests only)."""
    allow_hosts: tuple[str, ...] = ()
    """Receivers inside the network: host names, addresses or networks (CIDR)."""
    workers: int = 32
    """Deliveries in progress at once on this node."""
    per_host: int = 8
    """Deliveries in progress at once to one receiver (host and port): a slow or hanging
    receiver holds at most this many workers."""

    @property
    def policy(self) -> EgressPolicy:
        return EgressPolicy(allow_private=self.allow_private, allow_hosts=self.allow_hosts)


#: an account's MO keywords unless its config lists others (Cyrillic ones: Russian handsets)
DEFAULT_OPT_OUT_KEYWORDS = ("STOP", "СТОП")
DEFAULT_OPT_IN_KEYWORDS = ("START", "СТАРТ")  # noqa: RUF001


@dataclass(frozen=True, slots=True)
class AccountConfig:
    name: str
    system_id: str
    password: str
    profile: ProviderProfile
    hosts: tuple[HostAddress, ...]
    sessions: tuple[BindMode, ...] = (BindMode.TRANSCEIVER,)
    window: int = 10
    split: SplitMethod = SplitMethod.UDH
    encoding: Encoding = Encoding.AUTO
    max_parts: int = 10
    max_mo_sets: int = 1000
    """Multi-part MO sets in progress (parts stored, set incomplete) at most; one more hands
    the oldest over partial, as the reassembly timeout would (store/mo_parts.py)."""
    default_callback_url: str | None = None
    default_sender: str | None = None
    tls: bool = False
    ca_file: str | None = None
    tls_verify: bool = True
    query_after: float | None = None
    """Ask query_sm for a message with no receipt after this many seconds (None: never)."""
    query_rate: float = 10.0
    max_submit_rate: float | None = None
    """submit_sm per second at most over all the account's sessions (per node)."""
    reconnect_after_drop: float | None = None
    """Seconds before reconnecting after a session drop (None: the profile's, 60 s)."""
    reconnect_after_failure: float | None = None
    """Seconds before retrying after a failed connect or bind (None: the profile's, 90 s)."""
    response_timeout: float | None = None
    """Seconds to wait for a response (None: the profile's)."""
    enquire_link_idle: float | None = None
    """Seconds of silence before enquire_link (None: the profile's, 60 s)."""
    password_source: str = field(default="password", compare=False)
    """Where the password came from (``password``, ``env:NAME``): logged at start, never the
    value, so a stale variable that overrides the file can be seen."""
    unsafe_below_platform_minimums: bool = False
    """Tests only: timers below the profile's platform minimums are accepted."""
    tcp: TcpOptions = field(default_factory=TcpOptions)
    """TCP_USER_TIMEOUT and keepalive of the SMPP sockets (a dark link found sooner)."""
    write_stall_after: float = 5.0
    """Seconds of unacknowledged writes after which a session takes no new submits."""
    numbers: DialPlan = RUSSIA
    """How destinations are read (``[numbers]``, ``[accounts.numbers]``): Russia by default."""
    opt_out_keywords: tuple[str, ...] = DEFAULT_OPT_OUT_KEYWORDS
    """An MO whose whole text is one of these (trimmed, any case) puts its sender on the
    account's blocklist (issue 16); empty: no keyword opts out."""
    opt_in_keywords: tuple[str, ...] = DEFAULT_OPT_IN_KEYWORDS
    """An MO whose whole text is one of these takes its sender off the account's blocklist,
    when a keyword put it there (an operator's block stays)."""

    @property
    def receives(self) -> bool:
        return any(mode.can_receive for mode in self.sessions)

    @property
    def default_alphabet(self) -> DefaultAlphabet:
        """What data_coding 0 means on this account (``default_alphabet``, else the
        profile's): how texts are planned, previewed and costed."""
        return self.profile.default_alphabet


#: the client that `[http] api_keys` (or, with no key configured at all, every caller) is:
#: every account, every message and inbound, no limits
DEFAULT_CLIENT = "default"
#: what `smppgate send-bulk` records as the client of the messages it queues
CLI_CLIENT = "cli"
_RESERVED_CLIENTS = (DEFAULT_CLIENT, CLI_CLIENT)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """One API client (``[[clients]]``): its keys, the accounts it may send through, and its
    limits. Every message records the client that queued it."""

    name: str
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    accounts: tuple[str, ...] | None = None
    """Accounts it may name or be routed to (None: every account)."""
    default_class: str | None = None
    """The traffic class of its messages that name none."""
    rate: float | None = None
    """Requests per second it may make (a token bucket of ``burst``); None: no limit."""
    burst: int = 1
    daily_quota: int | None = None
    """Messages it may queue per UTC day; None: no limit."""
    operator: bool = False
    """Sees every message and inbound, the ops page and /metrics (the default client does)."""

    def may_use(self, account: str) -> bool:
        return self.accounts is None or account in self.accounts

    @property
    def unrestricted(self) -> bool:
        return self.accounts is None and self.rate is None and self.daily_quota is None


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """The platform emulator started in-process (the default demo configuration)."""

    enabled: bool = False
    listen: HostAddress = DEFAULT_EMULATOR_LISTEN
    dlr_delay: float = 1.0


@dataclass(frozen=True, slots=True)
class SmppUserConfig:
    """An application allowed to bind to the SMPP front door."""

    system_id: str
    password: str
    account: str
    """The upstream account its messages go out through."""
    max_binds: int = 8
    throughput: float | None = None
    """submit_sm per second it may send (ESME_RTHROTTLED above); None: no limit."""
    password_source: str = "password"  # noqa: S105 - where it came from, not a secret


class InboundKind(StrEnum):
    """What an ``[[smpp_server.routes]]`` entry takes: MO SMS or USSD."""

    SMS = "sms"
    USSD = "ussd"


@dataclass(frozen=True, slots=True)
class SmppRouteConfig:
    """An ``[[smpp_server.routes]]`` entry: MO and USSD matching every criterion given go to
    the front door user ``user`` (the first entry that matches wins)."""

    user: str
    destination: str | None = None
    """The number or short code the subscriber sent to (exact; a leading ``+`` ignored)."""
    keyword: str | None = None
    """The text's first word (case ignored)."""
    account: str | None = None
    """The upstream account it came in on."""
    kind: InboundKind | None = None


@dataclass(frozen=True, slots=True)
class SmppServerConfig:
    """``[smpp_server]``: the SMPP front door (off when ``listen`` is None)."""

    listen: HostAddress | None = None
    users: tuple[SmppUserConfig, ...] = ()
    system_id: str = "smppgate"
    """What bind_resp says the gateway is called."""
    tls_cert: str | None = None
    tls_key: str | None = None
    window: int = 10
    """deliver_sm outstanding per bound receiver."""
    response_timeout: float = 30.0
    """Seconds to wait for a deliver_sm_resp (then it is sent again later)."""
    receipt_keep: float = 3 * 86400.0
    """Seconds a receipt waits for its application to bind before it is given up."""
    failed_binds_before_lockout: int = 5
    lockout_seconds: float = 300.0
    parts_timeout: float = 300.0
    """Seconds the parts of a message an application split itself are held for the rest of
    their set; then the set is given up: rejected, a receipt for each part held."""
    routes: tuple[SmppRouteConfig, ...] = ()
    """MO and USSD to users, in order; what matches none stays on the HTTP API."""

    @property
    def enabled(self) -> bool:
        return self.listen is not None


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    node_id: str = ""
    store: StoreConfig = StoreConfig()
    http: HttpConfig = HttpConfig()
    webhooks: WebhookConfig = WebhookConfig()
    accounts: tuple[AccountConfig, ...] = ()
    clients: tuple[ClientConfig, ...] = ()
    """``[[clients]]`` as configured (`api_clients` adds the default client)."""
    routes: tuple[Route, ...] = ()
    """``[[routes]]`` in order: the account of a message that names none."""
    quiet_hours: tuple[QuietHours, ...] = ()
    """``[[quiet_hours]]`` in order: the hours a message may be sent in (first match)."""
    emulator: EmulatorConfig = EmulatorConfig()
    smpp_server: SmppServerConfig = SmppServerConfig()
    log_format: str = "text"
    log_level: str = "INFO"
    shutdown_timeout: float = 10.0
    source_path: str | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    """Things to log once logging is set up (a secrets file others can read, say)."""

    def account(self, name: str | None) -> AccountConfig:
        """The named account, or the first one when ``name`` is None."""
        if name is None:
            return self.accounts[0]
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(name)

    @property
    def api_clients(self) -> tuple[ClientConfig, ...]:
        """Every client the API knows: ``[[clients]]``, then the default client (the keys of
        ``[http] api_keys``; with no key configured anywhere, every caller of the loopback
        API). Derived here, not stored, so the default client always has the http keys."""
        keyed = any(c.api_keys for c in self.clients)
        if self.http.api_keys or not keyed:
            return (*self.clients, ClientConfig(DEFAULT_CLIENT, self.http.api_keys, operator=True))
        return self.clients

    @property
    def traffic_classes(self) -> tuple[str, ...]:
        """The classes a message may name: the built-in ones and those routes name."""
        named = (r.traffic_class for r in self.routes if r.traffic_class is not None)
        return tuple(dict.fromkeys((*BUILTIN_CLASSES, *named)))

    def client(self, name: str) -> ClientConfig | None:
        return next((c for c in self.api_clients if c.name == name), None)


# --------------------------------------------------------------------------- parsing


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and validate a TOML file."""
    try:
        with Path(path).open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("--config", f"no such file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from exc
    config = parse_config(data, environ)
    return replace(config, source_path=str(path), warnings=_file_warnings(Path(path), data))


def _file_warnings(path: Path, data: Mapping[str, Any]) -> tuple[str, ...]:
    """A file holding secrets (API keys, the webhook secret, passwords) that users other than
    its owner may read is worth a warning."""
    holds = []
    if _table(data, "http").get("api_keys"):
        holds.append("http.api_keys")
    clients = data.get("clients")
    if isinstance(clients, list) and any(
        isinstance(c, Mapping) and c.get("api_keys") for c in clients
    ):
        holds.append("clients[].api_keys")
    if _table(data, "webhooks").get("secret"):
        holds.append("webhooks.secret")
    accounts = data.get("accounts")
    if isinstance(accounts, list) and any(
        isinstance(a, Mapping) and a.get("password") for a in accounts
    ):
        holds.append("accounts[].password")
    try:
        mode = path.stat().st_mode
    except OSError:
        return ()
    if not holds or not mode & 0o044:
        return ()
    return (
        f"{path} holds secrets ({', '.join(holds)}) and is readable by other users "
        f"(mode {mode & 0o777:o}): chmod 600 it, or pass the secrets in the environment",
    )


DEMO_ACCOUNT = {
    "name": "demo",
    "profile": "devino-promo",  # the in-process emulator plays the platform
    "system_id": "demo",
    "password": "demo",
    "hosts": ["127.0.0.1:2775"],
    "sessions": ["trx", "trx"],
    "window": 50,
}


def default_config(environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """The embedded configuration used without --config: SQLite under ./data, one account
    bound to a platform emulator started in-process on 127.0.0.1:2775."""
    return parse_config(
        {"accounts": [DEMO_ACCOUNT], "emulator": {"enabled": True}},
        environ,
    )


def parse_config(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> GatewayConfig:
    env = os.environ if environ is None else environ
    _known(data, "", {"node_id", "store", "http", "webhooks", "accounts", "emulator", "log",
                      "shutdown_timeout", "profiles", "smpp_server",
                      "clients", "routes", "numbers", "quiet_hours"})  # fmt: skip
    store = _store(_table(data, "store"))
    http = _http(_table(data, "http"), env)
    webhooks = _webhooks(_table(data, "webhooks"), env)
    raw_accounts = data.get("accounts", [])
    if not isinstance(raw_accounts, list) or not raw_accounts:
        raise ConfigError("accounts", "at least one [[accounts]] table is needed")
    declared = _profiles(data.get("profiles", []))
    numbers = _dial_plan(_table(data, "numbers"), "numbers", RUSSIA)
    accounts = tuple(
        _account(a, f"accounts[{i}]", env, declared, numbers) for i, a in enumerate(raw_accounts)
    )
    names = [a.name for a in accounts]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("accounts", f"account name {name!r} is used twice")
    log = _table(data, "log")
    _known(log, "log", {"format", "level"})
    log_format = _str(log, "log", "format", "text")
    if log_format not in ("text", "json"):
        raise ConfigError("log.format", f"must be 'text' or 'json', got {log_format!r}")
    try:
        log_level = parse_level(_str(log, "log", "level", "INFO"))
    except ValueError as exc:
        raise ConfigError("log.level", str(exc)) from None
    emulator = _emulator(_table(data, "emulator"))
    routes = _routes(data.get("routes", []), names)
    clients = _clients(data.get("clients", []), http, names, env)
    classes = {*BUILTIN_CLASSES, *(r.traffic_class for r in routes)}
    for i, client in enumerate(clients):
        if client.default_class is not None and client.default_class not in classes:
            raise ConfigError(
                f"clients[{i}].default_class",
                f"unknown class {client.default_class!r}; classes: "
                f"{', '.join(sorted(c for c in classes if c))} (a route's class adds one)",
            )
    quiet_hours = _quiet_hours(data.get("quiet_hours", []), names, classes)
    policy = webhooks.policy
    for i, account in enumerate(accounts):
        if account.default_callback_url is not None:
            try:
                policy.check_url(account.default_callback_url)
            except UrlRefusedError as exc:
                raise ConfigError(f"accounts[{i}].default_callback_url", str(exc)) from None
    smpp_server = _smpp_server(_table(data, "smpp_server"), env, set(names))
    return GatewayConfig(
        node_id=_str(data, "", "node_id", ""),
        store=store,
        http=http,
        webhooks=webhooks,
        accounts=accounts,
        clients=clients,
        routes=routes,
        quiet_hours=quiet_hours,
        emulator=emulator,
        smpp_server=smpp_server,
        log_format=log_format,
        log_level=log_level,
        shutdown_timeout=_number(data, "", "shutdown_timeout", 10.0, minimum=0.0),
    )


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(name, "must be a table ([" + name + "])")
    return value


def _subtable(data: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}.{name}", f"must be a table ([{key}.{name}])")
    return value


def _known(data: Mapping[str, Any], prefix: str, keys: set[str]) -> None:
    for key in data:
        if key not in keys:
            hint = ", ".join(sorted(keys))
            raise ConfigError(_key(prefix, key), f"unknown key (known here: {hint})")


def _str(data: Mapping[str, Any], prefix: str, name: str, default: str) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise ConfigError(_key(prefix, name), f"must be a string, got {value!r}")
    return value


def _opt_str(data: Mapping[str, Any], prefix: str, name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(_key(prefix, name), f"must be a non-empty string, got {value!r}")
    return value


def _bool(data: Mapping[str, Any], prefix: str, name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(_key(prefix, name), f"must be true or false, got {value!r}")
    return value


def _number(
    data: Mapping[str, Any],
    prefix: str,
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(_key(prefix, name), f"must be a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(_key(prefix, name), f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(_key(prefix, name), f"must be at most {maximum}, got {value}")
    return float(value)


def _int(
    data: Mapping[str, Any], prefix: str, name: str, default: int, *, minimum: int, maximum: int
) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(_key(prefix, name), f"must be a whole number, got {value!r}")
    if not minimum <= value <= maximum:
        raise ConfigError(_key(prefix, name), f"must be {minimum}..{maximum}, got {value}")
    return value


def _host(text: object, key: str, default_port: int = 2775) -> HostAddress:
    """``HOST:PORT``; a bare host gets ``default_port`` (0: the port is required)."""
    if not isinstance(text, str):
        raise ConfigError(key, f"must be a 'HOST:PORT' string, got {text!r}")
    try:
        return HostAddress.parse(text, default_port)
    except ValueError:
        raise ConfigError(key, f"must be HOST:PORT, got {text!r}") from None


def _store(data: Mapping[str, Any]) -> StoreConfig:
    _known(data, "store", {"url", "lease_seconds", *_RETENTION_DAYS, "retention_batch"})
    url = _str(data, "store", "url", DEFAULT_STORE_URL)
    if not url.startswith(("sqlite:", "postgresql://", "postgres://")):
        raise ConfigError(
            "store.url",
            f"must be sqlite:///ABSOLUTE/PATH, sqlite:RELATIVE/PATH or postgresql://..., "
            f"got {redacted_url(url)!r}",
        )
    if url.startswith("sqlite:") and ":memory:" in url:
        raise ConfigError("store.url", "an in-memory SQLite store would lose every message")
    days = {
        name: _number(data, "store", name, default, minimum=0.0)
        for name, default in _RETENTION_DAYS.items()
    }
    redact = days["redact_text_after_days"]
    if redact and days["retention_days"] and redact > days["retention_days"]:
        raise ConfigError(
            "store.redact_text_after_days",
            f"{redact:g} is after retention_days ({days['retention_days']:g}): messages are "
            "deleted before their texts would be redacted; lower it or set it to 0",
        )
    return StoreConfig(
        url=url,
        lease_seconds=_number(data, "store", "lease_seconds", 60.0, minimum=5.0),
        retention_batch=_int(data, "store", "retention_batch", 200, minimum=1, maximum=5000),
        **days,
    )


#: retention ages in days and their defaults (0: keep forever / never redact)
_RETENTION_DAYS = {
    "retention_days": 30.0,
    "unmatched_receipt_days": 7.0,
    "webhook_days": 7.0,
    "redact_text_after_days": 0.0,
}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http(data: Mapping[str, Any], env: Mapping[str, str]) -> HttpConfig:
    _known(data, "http", {"listen", "api_keys", "max_batch", "allowed_hosts", "header_timeout",
                          "body_timeout"})  # fmt: skip
    # no default port: a bare host used to listen on 2775, the SMPP port
    listen = _host(data.get("listen", "127.0.0.1:8080"), "http.listen", default_port=0)
    keys = data.get("api_keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError("http.api_keys", "must be a list of non-empty strings")
    from_env = [k.strip() for k in env.get("SMPPGATE_API_KEYS", "").split(",") if k.strip()]
    api_keys = tuple(dict.fromkeys([*keys, *from_env]))
    for i, key in enumerate(api_keys):
        where = "SMPPGATE_API_KEYS" if key in from_env and key not in keys else "http.api_keys"
        _check_api_key(key, f"{where}[{i}]")
    max_batch = _int(data, "http", "max_batch", 1000, minimum=1, maximum=1000)
    return HttpConfig(
        listen=listen,
        api_keys=api_keys,
        max_batch=max_batch,
        allowed_hosts=tuple(h.lower() for h in _str_list(data, "http", "allowed_hosts")),
        header_timeout=_number(data, "http", "header_timeout", 10.0, minimum=0.1),
        body_timeout=_number(data, "http", "body_timeout", 30.0, minimum=0.1),
    )


def _check_api_key(key: str, where: str) -> None:
    if len(key) < MIN_API_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise ConfigError(
            where,
            f"an API key is at least {MIN_API_KEY_LENGTH} printable ASCII characters, "
            f"this one has {len(key)}: generate one, e.g. `openssl rand -hex 24`",
        )


_CLIENT_KEYS = {"name", "api_keys", "api_keys_env", "accounts", "default_class", "rate",
                "burst", "daily_quota", "operator"}  # fmt: skip


def _clients(
    raw: object, http: HttpConfig, accounts: list[str], env: Mapping[str, str]
) -> tuple[ClientConfig, ...]:
    """``[[clients]]`` (`GatewayConfig.api_clients` adds the default one)."""
    if not isinstance(raw, list) or not all(isinstance(c, Mapping) for c in raw):
        raise ConfigError("clients", "must be an array of tables ([[clients]])")
    clients = [_client(c, f"clients[{i}]", accounts, env) for i, c in enumerate(raw)]
    seen: dict[str, str] = {}
    for i, client in enumerate(clients):
        if client.name in seen.values():
            raise ConfigError(f"clients[{i}].name", f"client name {client.name!r} is used twice")
        for key in client.api_keys:
            if key in seen:
                raise ConfigError(
                    f"clients[{i}].api_keys",
                    f"a key of client {client.name!r} is also a key of {seen[key]!r}: every "
                    "key names one client",
                )
            seen[key] = client.name
    for key in http.api_keys:
        if key in seen:
            raise ConfigError("http.api_keys", f"a key here is also a key of client {seen[key]!r}")
    if not (seen or http.api_keys) and not _is_loopback(http.listen.host):
        raise ConfigError(
            "http.api_keys",
            f"the API listens on {http.listen.host}, which is not a loopback address: set "
            "api_keys (or SMPPGATE_API_KEYS, or [[clients]] api_keys) so that requests must "
            "present a key",
        )
    return tuple(clients)


def _routes(raw: object, accounts: list[str]) -> tuple[Route, ...]:
    """``[[routes]]``: class and prefix (both optional) to an account, in order."""
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise ConfigError("routes", "must be an array of tables ([[routes]])")
    routes = []
    for i, data in enumerate(raw):
        key = f"routes[{i}]"
        _known(data, key, {"class", "prefix", "account"})
        account = _str(data, key, "account", "")
        if account not in accounts:
            raise ConfigError(
                f"{key}.account", f"no account {account!r}; accounts: {', '.join(accounts)}"
            )
        traffic_class = _opt_str(data, key, "class")
        if traffic_class is not None and not _NAME.match(traffic_class):
            raise ConfigError(f"{key}.class", "letters, digits, '_', '.', '-' (1..64)")
        prefix = _opt_str(data, key, "prefix")
        if prefix is not None and not (prefix.isascii() and prefix.isdecimal()
                                       and len(prefix) <= 15):  # fmt: skip
            raise ConfigError(
                f"{key}.prefix",
                f"international digits the destination starts with, e.g. '7' or '7900'; "
                f"got {prefix!r}",
            )
        routes.append(Route(account, traffic_class, prefix))
    return tuple(routes)


def _quiet_hours(
    raw: object, accounts: list[str], classes: set[str | None]
) -> tuple[QuietHours, ...]:
    """``[[quiet_hours]]``: account, class and prefix (each optional) to the window messages
    are sent in, in the recipient's local time (``utc_offset``)."""
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) for r in raw):
        raise ConfigError("quiet_hours", "must be an array of tables ([[quiet_hours]])")
    rules = []
    for i, data in enumerate(raw):
        key = f"quiet_hours[{i}]"
        _known(data, key, {"account", "class", "prefix", "send_between", "utc_offset"})
        account = _opt_str(data, key, "account")
        if account is not None and account not in accounts:
            raise ConfigError(
                f"{key}.account", f"no account {account!r}; accounts: {', '.join(accounts)}"
            )
        traffic_class = _opt_str(data, key, "class")
        if traffic_class is not None and traffic_class not in classes:
            known = ", ".join(sorted(c for c in classes if c))
            raise ConfigError(f"{key}.class", f"unknown class {traffic_class!r}; classes: {known}")
        prefix = _opt_str(data, key, "prefix")
        if prefix is not None and not (prefix.isascii() and prefix.isdecimal()
                                       and len(prefix) <= 15):  # fmt: skip
            raise ConfigError(
                f"{key}.prefix",
                f"international digits the destination starts with, e.g. '7'; got {prefix!r}",
            )
        window = _opt_str(data, key, "send_between")
        if window is None:
            raise ConfigError(
                f"{key}.send_between",
                "required: the local hours messages may be sent in, e.g. '09:00-21:00'",
            )
        try:
            start, end = parse_window(window)
        except WindowError as exc:
            raise ConfigError(f"{key}.send_between", str(exc)) from None
        try:
            offset = parse_offset(_str(data, key, "utc_offset", "+00:00"))
        except WindowError as exc:
            raise ConfigError(f"{key}.utc_offset", str(exc)) from None
        rules.append(QuietHours(start, end, offset, account, traffic_class, prefix))
    return tuple(rules)


def _client(
    data: Mapping[str, Any], key: str, accounts: list[str], env: Mapping[str, str]
) -> ClientConfig:
    _known(data, key, _CLIENT_KEYS)
    name = _str(data, key, "name", "")
    if not _NAME.match(name):
        raise ConfigError(f"{key}.name", "letters, digits, '_', '.', '-' (1..64), e.g. 'shop'")
    if name in _RESERVED_CLIENTS:
        raise ConfigError(
            f"{key}.name",
            f"{name!r} is reserved ([http] api_keys is {DEFAULT_CLIENT!r}, "
            f"send-bulk is {CLI_CLIENT!r}); choose another name",
        )
    keys = _str_list(data, key, "api_keys")
    env_name = _opt_str(data, key, "api_keys_env")
    if env_name is not None:
        if env_name not in env:
            raise ConfigError(f"{key}.api_keys_env", f"environment variable {env_name} is unset")
        keys += [k.strip() for k in env[env_name].split(",") if k.strip()]
    if not keys:
        raise ConfigError(f"{key}.api_keys", "a client needs at least one key (or api_keys_env)")
    for i, api_key in enumerate(keys):
        _check_api_key(api_key, f"{key}.api_keys[{i}]")
    allowed: tuple[str, ...] | None = None
    if "accounts" in data:
        allowed = tuple(_str_list(data, key, "accounts"))
        if not allowed:
            raise ConfigError(f"{key}.accounts", "name at least one account (leave it out: all)")
        for i, account in enumerate(allowed):
            if account not in accounts:
                known = ", ".join(accounts)
                raise ConfigError(
                    f"{key}.accounts[{i}]", f"no account {account!r}; accounts: {known}"
                )
    rate = None if "rate" not in data else _number(data, key, "rate", 0.0, minimum=0.001)
    quota = data.get("daily_quota")
    return ClientConfig(
        name=name,
        api_keys=tuple(dict.fromkeys(keys)),
        accounts=allowed,
        default_class=_opt_str(data, key, "default_class"),
        rate=rate,
        burst=_int(data, key, "burst", max(1, math.ceil(rate or 1)), minimum=1, maximum=1_000_000),
        daily_quota=None
        if quota is None
        else _int(data, key, "daily_quota", 0, minimum=1, maximum=10**12),
        operator=_bool(data, key, "operator", False),
    )


def _str_list(data: Mapping[str, Any], prefix: str, name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(_key(prefix, name), "must be a list of non-empty strings")
    return value


def _webhooks(data: Mapping[str, Any], env: Mapping[str, str]) -> WebhookConfig:
    _known(data, "webhooks", {"secret", "timeout", "max_attempts", "allow_private",
                              "allow_hosts", "workers", "per_host"})  # fmt: skip
    secret = env.get("SMPPGATE_WEBHOOK_SECRET") or _str(data, "webhooks", "secret", "")
    try:
        allow_hosts = EgressPolicy.parse_hosts(_str_list(data, "webhooks", "allow_hosts"))
    except ValueError as exc:
        raise ConfigError("webhooks.allow_hosts", str(exc)) from None
    workers = _int(data, "webhooks", "workers", 32, minimum=1, maximum=1000)
    return WebhookConfig(
        secret=secret,
        timeout=_number(data, "webhooks", "timeout", 10.0, minimum=0.1),
        max_attempts=_int(data, "webhooks", "max_attempts", 12, minimum=1, maximum=100),
        allow_private=_bool(data, "webhooks", "allow_private", False),
        allow_hosts=allow_hosts,
        workers=workers,
        per_host=_int(data, "webhooks", "per_host", 8, minimum=1, maximum=workers),
    )


def _emulator(data: Mapping[str, Any]) -> EmulatorConfig:
    _known(data, "emulator", {"enabled", "listen", "dlr_delay"})
    return EmulatorConfig(
        enabled=_bool(data, "emulator", "enabled", False),
        listen=_host(data.get("listen", "127.0.0.1:2775"), "emulator.listen"),
        dlr_delay=_number(data, "emulator", "dlr_delay", 1.0, minimum=0.0),
    )


_SMPP_SERVER_KEYS = {"listen", "users", "system_id", "tls_cert", "tls_key", "window",
                     "response_timeout", "receipt_keep", "failed_binds_before_lockout",
                     "lockout_seconds", "parts_timeout", "routes"}  # fmt: skip
_SMPP_ROUTE_KEYS = {"user", "destination", "keyword", "account", "kind"}
_SMPP_USER_KEYS = {"system_id", "password", "password_env", "account", "max_binds", "throughput"}


def _smpp_server(
    data: Mapping[str, Any], env: Mapping[str, str], accounts: set[str]
) -> SmppServerConfig:
    _known(data, "smpp_server", _SMPP_SERVER_KEYS)
    if not data:
        return SmppServerConfig()
    if "listen" not in data:
        raise ConfigError("smpp_server.listen", "required: HOST:PORT the front door listens on")
    listen = _host(data["listen"], "smpp_server.listen", default_port=0)
    tls_cert = _opt_str(data, "smpp_server", "tls_cert")
    tls_key = _opt_str(data, "smpp_server", "tls_key")
    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("smpp_server.tls_cert", "tls_cert and tls_key are set together")
    raw_users = data.get("users", [])
    if not isinstance(raw_users, list) or not raw_users:
        raise ConfigError("smpp_server.users", "at least one [[smpp_server.users]] table")
    users = tuple(
        _smpp_user(u, f"smpp_server.users[{i}]", env, accounts) for i, u in enumerate(raw_users)
    )
    ids = [u.system_id for u in users]
    for system_id in ids:
        if ids.count(system_id) > 1:
            raise ConfigError("smpp_server.users", f"system_id {system_id!r} is used twice")
    return SmppServerConfig(
        listen=listen,
        users=users,
        system_id=_str(data, "smpp_server", "system_id", "smppgate")[:15],
        tls_cert=tls_cert,
        tls_key=tls_key,
        window=_int(data, "smpp_server", "window", 10, minimum=1, maximum=1000),
        response_timeout=_number(data, "smpp_server", "response_timeout", 30.0, minimum=0.1),
        receipt_keep=_number(data, "smpp_server", "receipt_keep", 3 * 86400.0, minimum=1.0),
        failed_binds_before_lockout=_int(
            data, "smpp_server", "failed_binds_before_lockout", 5, minimum=1, maximum=1000
        ),
        lockout_seconds=_number(data, "smpp_server", "lockout_seconds", 300.0, minimum=0.0),
        parts_timeout=_number(data, "smpp_server", "parts_timeout", 300.0, minimum=0.1),
        routes=_smpp_routes(data.get("routes", []), set(ids), accounts),
    )


def _smpp_routes(raw: object, users: set[str], accounts: set[str]) -> tuple[SmppRouteConfig, ...]:
    if not isinstance(raw, list):
        raise ConfigError("smpp_server.routes", "must be tables ([[smpp_server.routes]])")
    routes: list[SmppRouteConfig] = []
    for i, data in enumerate(raw):
        key = f"smpp_server.routes[{i}]"
        if not isinstance(data, Mapping):
            raise ConfigError(key, "must be a table ([[smpp_server.routes]])")
        _known(data, key, _SMPP_ROUTE_KEYS)
        user = _str(data, key, "user", "")
        if user not in users:
            raise ConfigError(f"{key}.user", f"{user!r} is not a [[smpp_server.users]] system_id")
        account = _opt_str(data, key, "account")
        if account is not None and account not in accounts:
            raise ConfigError(f"{key}.account", f"{account!r} is not an [[accounts]] name")
        kind = _opt_str(data, key, "kind")
        if kind is not None and kind not in {k.value for k in InboundKind}:
            raise ConfigError(f"{key}.kind", f"sms or ussd, not {kind!r}")
        destination = _opt_str(data, key, "destination")
        keyword = _opt_str(data, key, "keyword")
        routes.append(
            SmppRouteConfig(
                user=user,
                destination=None if destination is None else destination.removeprefix("+"),
                keyword=None if keyword is None else keyword.casefold(),
                account=account,
                kind=None if kind is None else InboundKind(kind),
            )
        )
    return tuple(routes)


def _smpp_user(
    data: object, key: str, env: Mapping[str, str], accounts: set[str]
) -> SmppUserConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(key, "must be a table ([[smpp_server.users]])")
    _known(data, key, _SMPP_USER_KEYS)
    system_id = _str(data, key, "system_id", "")
    if not 1 <= len(system_id) <= 15 or not system_id.isprintable():
        raise ConfigError(f"{key}.system_id", "1..15 printable characters (SMPP's limit)")
    if "password_env" in data:
        env_name = _opt_str(data, key, "password_env")
        assert env_name is not None
        if env_name not in env:
            raise ConfigError(f"{key}.password_env", f"environment variable {env_name} is unset")
        password, source = env[env_name], f"env:{env_name}"
    elif "password" in data:
        password, source = _str(data, key, "password", ""), "password"
    else:
        raise ConfigError(f"{key}.password", "missing: set password or password_env")
    if not 1 <= len(password) <= 8:
        raise ConfigError(f"{key}.password", "1..8 characters (SMPP's limit)")
    account = _str(data, key, "account", "")
    if account not in accounts:
        known = ", ".join(sorted(accounts))
        raise ConfigError(f"{key}.account", f"unknown account {account!r}; known: {known}")
    throughput = data.get("throughput")
    return SmppUserConfig(
        system_id=system_id,
        password=password,
        account=account,
        max_binds=_int(data, key, "max_binds", 8, minimum=1, maximum=1000),
        throughput=None
        if throughput is None
        else _number(data, key, "throughput", 0.0, minimum=0.1),
        password_source=source,
    )


def _profiles(raw: object) -> dict[str, ProviderProfile]:
    """``[[profiles]]``: provider profiles declared on top of the built-ins, in order (a
    profile's ``base`` may name an earlier one)."""
    if not isinstance(raw, list) or not all(isinstance(p, Mapping) for p in raw):
        raise ConfigError("profiles", "must be an array of tables ([[profiles]])")
    declared: dict[str, ProviderProfile] = {}
    for i, item in enumerate(raw):
        try:
            profile = declare_profile(item, f"profiles[{i}]", declared)
        except ProfileError as exc:
            raise ConfigError(exc.key, exc.message) from None
        if profile.name in declared:
            raise ConfigError(f"profiles[{i}].name", f"profile {profile.name!r} is declared twice")
        declared[profile.name] = profile
    return declared


_ACCOUNT_KEYS = {
    "name", "profile", "hosts", "system_id", "password", "password_env", "sessions", "window",
    "split", "encoding", "max_parts", "max_mo_sets", "default_callback_url", "default_sender",
    "tls",
    "ca_file", "tls_verify", "query_after", "query_rate", "reconnect_after_drop",
    "reconnect_after_failure", "response_timeout", "enquire_link_idle", "source_ton",
    "source_npi", "default_alphabet", "unsafe_below_platform_minimums",
    "tcp_user_timeout",
    "tcp_keepalive_idle", "tcp_keepalive_interval", "tcp_keepalive_count", "write_stall_after",
    "max_submit_rate", "numbers", "opt_out_keywords", "opt_in_keywords",
}  # fmt: skip
#: timers an account may set; None keeps the profile's (the platform's) value
_TIMER_KEYS = ("reconnect_after_drop", "reconnect_after_failure", "response_timeout",
               "enquire_link_idle")  # fmt: skip


def _account(
    data: object,
    key: str,
    env: Mapping[str, str],
    declared: Mapping[str, ProviderProfile],
    numbers: DialPlan = RUSSIA,
) -> AccountConfig:
    if not isinstance(data, Mapping):
        raise ConfigError(key, "must be a table ([[accounts]])")
    _known(data, key, _ACCOUNT_KEYS)
    name = _str(data, key, "name", "")
    if not _NAME.match(name):
        raise ConfigError(f"{key}.name", "letters, digits, '_', '.', '-' (1..64), e.g. 'promo'")
    profile_name = _str(data, key, "profile", "smpp34")
    try:
        profile = get_profile(profile_name, declared)
    except ValueError as exc:
        raise ConfigError(f"{key}.profile", str(exc)) from None
    profile = _account_profile(data, key, profile)
    raw_hosts = data.get("hosts")
    if raw_hosts is None:
        hosts = profile.hosts
    elif isinstance(raw_hosts, list) and raw_hosts:
        hosts = tuple(_host(h, f"{key}.hosts[{i}]") for i, h in enumerate(raw_hosts))
    else:
        raise ConfigError(f"{key}.hosts", "must be a non-empty list of 'HOST:PORT'")
    if not hosts:
        raise ConfigError(
            f"{key}.hosts", f"profile {profile.name!r} has no hosts: list them, primary first"
        )
    system_id = _str(data, key, "system_id", "")
    if not system_id or len(system_id) > profile.max_system_id:
        raise ConfigError(
            f"{key}.system_id", f"1..{profile.max_system_id} characters (SMPP system_id)"
        )
    password, password_source = _account_password(data, key, name, env)
    if len(password) > profile.max_password:
        raise ConfigError(
            f"{key}.password", f"at most {profile.max_password} characters (SMPP 3.4 limit)"
        )
    raw_sessions = data.get("sessions", ["trx"])
    if not isinstance(raw_sessions, list) or not raw_sessions:
        raise ConfigError(f"{key}.sessions", 'a list of modes, e.g. ["trx", "trx"]')
    if len(raw_sessions) > profile.max_sessions:
        raise ConfigError(
            f"{key}.sessions",
            f"at most {profile.max_sessions} sessions per account (the platform allows "
            f"{profile.max_sessions}), got {len(raw_sessions)}",
        )
    sessions: list[BindMode] = []
    for i, mode in enumerate(raw_sessions):
        if mode not in _MODES:
            raise ConfigError(f"{key}.sessions[{i}]", f"must be tx, rx or trx, got {mode!r}")
        sessions.append(_MODES[mode])
    try:
        split = SplitMethod(_str(data, key, "split", "udh"))
    except ValueError:
        raise ConfigError(f"{key}.split", "must be udh, sar or payload") from None
    text_encodings = [e.value for e in Encoding if e is not Encoding.BINARY]
    encoding_name = _str(data, key, "encoding", "auto")
    if encoding_name not in text_encodings:
        # binary would pass here and then refuse every text message with a 422
        raise ConfigError(
            f"{key}.encoding", f"must be one of {', '.join(text_encodings)}, got {encoding_name!r}"
        )
    encoding = Encoding(encoding_name)
    default_sender = _opt_str(data, key, "default_sender")
    if default_sender is not None:
        try:
            profile.addresses.check_sender(default_sender)
        except SenderError as exc:
            # found now, not as a 422 on every request that leaves `from` out
            raise ConfigError(f"{key}.default_sender", str(exc)) from None
    ca_file = _opt_str(data, key, "ca_file")
    if ca_file is not None and not (Path(ca_file).is_file() and os.access(ca_file, os.R_OK)):
        raise ConfigError(f"{key}.ca_file", f"no readable file at {ca_file!r}")
    query_after = data.get("query_after")
    timers = {
        name: None if data.get(name) is None else _number(data, key, name, 0.0, minimum=0.0)
        for name in _TIMER_KEYS
    }
    for timer in ("response_timeout", "enquire_link_idle"):
        if timers[timer] == 0:
            raise ConfigError(f"{key}.{timer}", "must be more than 0 seconds")
    unsafe = _bool(data, key, "unsafe_below_platform_minimums", False)
    if not unsafe:
        for timer, value in timers.items():
            try:
                profile.check_minimum(timer, value)
            except BelowPlatformMinimumError as exc:
                raise ConfigError(f"{key}.{timer}", str(exc)) from None
    if query_after is not None and not profile.supports(CommandId.QUERY_SM):
        raise ConfigError(
            f"{key}.query_after",
            f"profile {profile.name!r} has no query_sm: remove query_after (receipts only)",
        )
    opt_out, opt_in = _opt_keywords(data, key)
    return AccountConfig(
        name=name,
        system_id=system_id,
        password=password,
        profile=profile,
        hosts=hosts,
        sessions=tuple(sessions),
        window=_int(data, key, "window", 10, minimum=1, maximum=1000),
        split=split,
        encoding=encoding,
        max_parts=_int(data, key, "max_parts", 10, minimum=1, maximum=255),
        max_mo_sets=_int(data, key, "max_mo_sets", 1000, minimum=1, maximum=1_000_000),
        default_callback_url=_opt_str(data, key, "default_callback_url"),
        default_sender=default_sender,
        tls=_bool(data, key, "tls", False),
        ca_file=ca_file,
        tls_verify=_bool(data, key, "tls_verify", True),
        query_after=None
        if query_after is None
        else _number(data, key, "query_after", 0.0, minimum=1.0),
        query_rate=_number(data, key, "query_rate", 10.0, minimum=0.1),
        max_submit_rate=None
        if data.get("max_submit_rate") is None
        else _number(data, key, "max_submit_rate", 0.0, minimum=0.001),
        password_source=password_source,
        unsafe_below_platform_minimums=unsafe,
        tcp=_tcp_options(data, key),
        write_stall_after=_number(data, key, "write_stall_after", 5.0, minimum=0.0),
        numbers=_dial_plan(_subtable(data, key, "numbers"), f"{key}.numbers", numbers),
        opt_out_keywords=opt_out,
        opt_in_keywords=opt_in,
        **timers,
    )


_NUMBERS_KEYS = {"country_code", "trunk_prefix", "international_prefixes", "national_lengths",
                 "national_first_digits"}  # fmt: skip


def _dial_plan(data: Mapping[str, Any], key: str, base: DialPlan) -> DialPlan:
    """``[numbers]`` (every account) or ``[accounts.numbers]`` (one): the keys it names
    change ``base`` (Russia, or the ``[numbers]`` table for an account)."""
    _known(data, key, _NUMBERS_KEYS)
    changes: dict[str, Any] = {}
    for name in ("country_code", "trunk_prefix", "national_first_digits"):
        if name in data:
            value = data[name]
            if not isinstance(value, str) or not (value == "" or value.isdigit()):
                raise ConfigError(f"{key}.{name}", f'digits in a string, e.g. "7", got {value!r}')
            changes[name] = value
    if "international_prefixes" in data:
        value = data["international_prefixes"]
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise ConfigError(
                f"{key}.international_prefixes", 'a list of digit strings, e.g. ["810", "00"]'
            )
        changes["international_prefixes"] = tuple(value)
    if "national_lengths" in data:
        value = data["national_lengths"]
        if not isinstance(value, list) or not value or not all(type(n) is int for n in value):
            raise ConfigError(f"{key}.national_lengths", "a list of digit counts, e.g. [10]")
        changes["national_lengths"] = tuple(value)
    if not changes:
        return base
    try:
        return replace(base, **changes)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _opt_keywords(data: Mapping[str, Any], key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``opt_out_keywords`` and ``opt_in_keywords``: words, trimmed; no word in both lists
    (compared as the MO's text is: trimmed, any case)."""
    lists: list[tuple[str, ...]] = []
    for name, default in (
        ("opt_out_keywords", DEFAULT_OPT_OUT_KEYWORDS),
        ("opt_in_keywords", DEFAULT_OPT_IN_KEYWORDS),
    ):
        if name not in data:
            lists.append(default)
            continue
        words = _str_list(data, key, name)
        if not all(w.strip() for w in words):
            raise ConfigError(f"{key}.{name}", "a keyword cannot be only spaces")
        lists.append(tuple(w.strip() for w in words))
    both = {w.casefold() for w in lists[0]} & {w.casefold() for w in lists[1]}
    if both:
        raise ConfigError(
            f"{key}.opt_in_keywords",
            f"{', '.join(sorted(both))} is also an opt-out keyword: a word does one thing",
        )
    return lists[0], lists[1]


def _account_profile(
    data: Mapping[str, Any], key: str, profile: ProviderProfile
) -> ProviderProfile:
    """The profile as this account's contract changes it: ``source_ton`` / ``source_npi``
    (every sender goes out with them) and ``default_alphabet``."""
    has_ton, has_npi = "source_ton" in data, "source_npi" in data
    if has_ton != has_npi:
        missing = "source_npi" if has_ton else "source_ton"
        raise ConfigError(f"{key}.{missing}", "source_ton and source_npi are set together")
    if has_ton:
        ton = _int(data, key, "source_ton", 0, minimum=0, maximum=6)
        npi = _int(data, key, "source_npi", 0, minimum=0, maximum=18)
        profile = replace(profile, addresses=profile.addresses.with_source(ton, npi))
    if "default_alphabet" in data:
        try:
            alphabet = DefaultAlphabet(_str(data, key, "default_alphabet", ""))
        except ValueError:
            names = ", ".join(a.value for a in DefaultAlphabet)
            raise ConfigError(f"{key}.default_alphabet", f"must be one of {names}") from None
        profile = replace(profile, default_alphabet=alphabet)
    return profile


def password_variable(account: str) -> str:
    """``SMPPGATE_PASSWORD_<ACCOUNT>``: the account name upper-cased, other characters ``_``."""
    return "SMPPGATE_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", account.upper())


def _tcp_options(data: Mapping[str, Any], key: str) -> TcpOptions:
    default = TcpOptions()
    return TcpOptions(
        user_timeout=_number(data, key, "tcp_user_timeout", default.user_timeout, minimum=0.0),
        keepalive_idle=_number(
            data, key, "tcp_keepalive_idle", default.keepalive_idle, minimum=0.0
        ),
        keepalive_interval=_number(
            data, key, "tcp_keepalive_interval", default.keepalive_interval, minimum=1.0
        ),
        keepalive_count=_int(
            data, key, "tcp_keepalive_count", default.keepalive_count, minimum=1, maximum=100
        ),
    )


def _account_password(
    data: Mapping[str, Any], key: str, name: str, env: Mapping[str, str]
) -> tuple[str, str]:
    """The password and where it came from. The environment overrides the file (as for every
    secret here): ``password_env`` names a variable that must be set; otherwise
    ``SMPPGATE_PASSWORD_<ACCOUNT>``, when set, wins over ``password``."""
    env_name = _opt_str(data, key, "password_env")
    if env_name is not None:
        if env_name not in env:
            raise ConfigError(f"{key}.password_env", f"environment variable {env_name} is unset")
        return env[env_name], f"env:{env_name}"
    default_env = password_variable(name)
    if default_env in env:
        return env[default_env], f"env:{default_env}"
    if "password" not in data:
        raise ConfigError(
            f"{key}.password", f"missing: set password, password_env or {default_env}"
        )
    return _str(data, key, "password", ""), "password"

"""Settings of the emulator: listeners, accounts, receipts, platform checks, security, bounds.

Every value has a default that behaves like the Devino platform's page (four sessions per
account, validity at least 60 s, 60 s / 90 s reconnect waits); a TOML file or the CLI changes
them. ``EmulatorConfig.from_mapping`` turns a TOML document into a config and names the key of
any bad value (``EmulatorConfigError.key``).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from smppgate.emulator.errors import EmulatorConfigError, UnknownFaultError
from smppgate.emulator.faults import POLICIES, make_policy
from smppgate.emulator.outcomes import OutcomeMix
from smppgate.pdu import CommandStatus, Npi, Ton
from smppgate.text import DefaultAlphabet

DEMO_ACCOUNT = ("demo", "demo")
DEFAULT_PORT = 2775


class TrafficClass(StrEnum):
    """Which of the platform's host pairs a listener stands for (D-02)."""

    PROMO = "promo"
    TRANSACTIONAL = "transactional"


class IdFormat(StrEnum):
    """How a message id is written: decimal digits or lower-case hex."""

    DECIMAL = "decimal"
    HEX = "hex"


class ReceiptIdFormat(StrEnum):
    """The id a receipt carries: as in submit_sm_resp, or forced to one base (real SMSCs do
    both; this exercises a client's id matching)."""

    SAME = "same"
    DECIMAL = "decimal"
    HEX = "hex"


class ShortValidity(StrEnum):
    """What to do with a validity_period under the minimum (D-22)."""

    REJECT = "reject"  # ESME_RINVEXPIRY
    EXPIRE = "expire"  # accept, then report EXPIRED


@dataclass(frozen=True, slots=True)
class Account:
    """A login of the platform. The password never appears in repr or logs."""

    system_id: str
    password: str = field(repr=False)
    max_sessions: int | None = None  # None: EmulatorConfig.max_sessions
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7
    """What data_coding 0 means on this account when the emulator decodes (reassembly,
    receipt text, payload billing) and encodes (MO): as the client's account is set."""

    def __post_init__(self) -> None:
        if not self.system_id or len(self.system_id) > 15:
            raise EmulatorConfigError("accounts.system_id", "must be 1..15 characters (C-Octet 16)")
        if len(self.password) > 8:
            raise EmulatorConfigError(
                f"accounts.{self.system_id}.password", "must be at most 8 characters (C-Octet 9)"
            )
        if self.max_sessions is not None and self.max_sessions < 1:
            raise EmulatorConfigError(
                f"accounts.{self.system_id}.max_sessions", "must be at least 1"
            )
        try:
            object.__setattr__(self, "default_alphabet", DefaultAlphabet(self.default_alphabet))
        except ValueError:
            names = "|".join(a.value for a in DefaultAlphabet)
            raise EmulatorConfigError(
                f"accounts.{self.system_id}.default_alphabet",
                f"{self.default_alphabet!r} is not one of {names}",
            ) from None

    @classmethod
    def parse(cls, text: str) -> Account:
        """``LOGIN:PASSWORD``."""
        login, sep, password = text.partition(":")
        if not sep or not login:
            raise EmulatorConfigError("account", "expected LOGIN:PASSWORD")
        return cls(login, password)


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """One listening socket. ``port`` 0 picks a free port (see ``Emulator.addresses``).
    TLS when ``tls_cert`` (and ``tls_key``) or ``ssl_context`` is given."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    traffic_class: TrafficClass | str = TrafficClass.PROMO
    tls_cert: str | None = None
    tls_key: str | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise EmulatorConfigError("listeners.port", f"{self.port} is not a TCP port")
        try:
            object.__setattr__(self, "traffic_class", TrafficClass(self.traffic_class))
        except ValueError:
            raise EmulatorConfigError(
                "listeners.traffic_class", f"{self.traffic_class!r} is not promo|transactional"
            ) from None
        if self.tls_key and not self.tls_cert:
            raise EmulatorConfigError("listeners.tls_key", "given without tls_cert")

    @property
    def tls(self) -> bool:
        return self.ssl_context is not None or self.tls_cert is not None

    def make_ssl_context(self) -> ssl.SSLContext | None:
        if self.ssl_context is not None:
            return self.ssl_context
        if self.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise EmulatorConfigError("listeners.tls_cert", f"cannot load: {exc}") from None
        return context

    @classmethod
    def parse(cls, text: str, traffic_class: str = TrafficClass.PROMO) -> ListenerConfig:
        """``HOST:PORT``, ``[V6]:PORT`` or ``PORT``; ``HOST:PORT/transactional`` tags the class."""
        text, _, klass = text.strip().partition("/")
        host, port_text = "127.0.0.1", text
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port_text = rest.removeprefix(":")
        elif ":" in text:
            host, _, port_text = text.rpartition(":")
        try:
            port = int(port_text)
        except ValueError:
            raise EmulatorConfigError("listen", f"{text!r} is not HOST:PORT") from None
        return cls(host or "127.0.0.1", port, klass or traffic_class)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault rule to put in force at start (TOML ``[[faults]]``)."""

    fault: str
    account: str | None = None
    prefix: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        make_policy(self.fault, self.params)  # fail at load time, naming the key


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Everything the emulator does; see docs/emulator.md for each setting."""

    listeners: tuple[ListenerConfig, ...] = (ListenerConfig(),)
    accounts: tuple[Account, ...] = (Account(*DEMO_ACCOUNT),)
    system_id: str = "DEVINO"
    """system_id in bind_*_resp."""
    strict: bool = False
    """Turn platform-rule violations (D-03, D-04, D-08, D-09, D-14, D-16) into error answers."""

    # receipts
    dlr_enabled: bool = True
    dlr_delay: float = 1.0
    dlr_outcomes: OutcomeMix = field(default_factory=OutcomeMix)
    message_id_format: IdFormat | str = IdFormat.DECIMAL
    receipt_id_format: ReceiptIdFormat | str = ReceiptIdFormat.SAME
    message_id_start: int | None = None
    """First message id; None starts from the wall clock in microseconds (unique across runs)."""
    receipt_queue_limit: int = 10_000
    """Receipts and MO kept per account while no receiver is bound (oldest dropped)."""
    seed: int | None = None
    """Seed of the outcome mix, for reproducible runs."""

    # platform rules
    max_sessions: int = 4
    session_limit_status: CommandStatus = CommandStatus.ESME_RBINDFAIL
    min_validity: float = 60.0
    short_validity: ShortValidity | str = ShortValidity.REJECT
    reconnect_after_drop: float = 60.0
    reconnect_after_failure: float = 90.0
    throttle_pause: float = 1.0
    throttle_grace: float = 0.05
    """Submits already in flight when a 0x58 went out: arrivals this soon are not D-20."""
    qfull_pause_scale: float = 1.0
    """Scale of the 5 / 15 / 45 s pauses D-21 checks after ESME_RMSGQFUL (tests use 0.01)."""
    enquire_link_idle: float = 60.0
    source_ton: tuple[int, ...] = (Ton.ALPHANUMERIC, Ton.INTERNATIONAL)
    source_npi: tuple[int, ...] = (Npi.ISDN,)
    dest_ton: tuple[int, ...] = (Ton.INTERNATIONAL,)
    dest_npi: tuple[int, ...] = (Npi.ISDN,)

    # session timers
    bind_timeout: float = 30.0
    deliver_timeout: float = 30.0
    unbind_timeout: float = 5.0
    deliver_window: int = 100
    fast_path: bool = True
    """Answer plain submit_sm straight from their bytes (the benchmark path); False sends
    every frame through the session's full decode (the same answers: a property test says so)."""

    # security
    failed_binds_before_delay: int = 3
    failed_bind_delay: float = 1.0
    failed_binds_before_lockout: int = 10
    lockout_seconds: float = 300.0
    failed_bind_window: float = 600.0

    # bounds on what clients can grow
    max_connections: int = 1_000
    record_limit: int = 10_000
    message_limit: int = 200_000
    violation_limit: int = 10_000
    event_limit: int = 10_000

    faults: tuple[FaultSpec, ...] = ()

    def __post_init__(self) -> None:  # noqa: C901 - a flat list of independent checks
        if not self.listeners:
            raise EmulatorConfigError("listeners", "at least one listener is needed")
        names = [a.system_id for a in self.accounts]
        if len(set(names)) != len(names):
            raise EmulatorConfigError("accounts", "a system_id appears twice")
        for key, enum in (
            ("message_id_format", IdFormat),
            ("receipt_id_format", ReceiptIdFormat),
            ("short_validity", ShortValidity),
        ):
            value = getattr(self, key)
            try:
                object.__setattr__(self, key, enum(value))
            except ValueError:
                allowed = "|".join(m.value for m in enum)
                raise EmulatorConfigError(key, f"{value!r} is not one of {allowed}") from None
        for key in (
            "dlr_delay",
            "min_validity",
            "reconnect_after_drop",
            "reconnect_after_failure",
            "throttle_pause",
            "throttle_grace",
            "qfull_pause_scale",
            "failed_bind_delay",
            "lockout_seconds",
        ):
            if getattr(self, key) < 0:
                raise EmulatorConfigError(key, "must not be negative")
        for key in ("bind_timeout", "deliver_timeout", "unbind_timeout", "enquire_link_idle"):
            if getattr(self, key) <= 0:
                raise EmulatorConfigError(key, "must be positive")
        for key in (
            "max_sessions",
            "deliver_window",
            "max_connections",
            "receipt_queue_limit",
            "message_limit",
            "violation_limit",
            "event_limit",
            "failed_binds_before_delay",
            "failed_binds_before_lockout",
        ):
            if getattr(self, key) < 1:
                raise EmulatorConfigError(key, "must be at least 1")
        if self.record_limit < 0:
            raise EmulatorConfigError("record_limit", "must not be negative")

    def with_changes(self, **changes: Any) -> EmulatorConfig:
        return replace(self, **changes)

    @property
    def account_map(self) -> dict[str, Account]:
        return {a.system_id: a for a in self.accounts}

    # ---------------------------------------------------------------- TOML

    @classmethod
    def from_mapping(  # noqa: C901 - one branch per kind of setting in the document
        cls, data: Mapping[str, Any], base: EmulatorConfig | None = None
    ) -> Any:
        """Build a config from a parsed TOML document (keys as the field names; ``listeners``,
        ``accounts`` and ``faults`` as arrays of tables; ``dlr_outcomes`` as a table)."""
        base = base or cls()
        known = {f.name: f for f in fields(cls)}
        changes: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise EmulatorConfigError(key, "unknown setting")
            if key == "listeners":
                changes[key] = tuple(
                    _listener(i, item) for i, item in enumerate(_tables(key, value))
                )
            elif key == "accounts":
                changes[key] = tuple(
                    _account(i, item) for i, item in enumerate(_tables(key, value))
                )
            elif key == "faults":
                changes[key] = tuple(_fault(i, item) for i, item in enumerate(_tables(key, value)))
            elif key == "dlr_outcomes":
                if not isinstance(value, Mapping):
                    raise EmulatorConfigError(key, "expected a table like {delivered = 0.9}")
                changes[key] = OutcomeMix.from_mapping(dict(value))
            elif key == "session_limit_status":
                changes[key] = _command_status(key, value)
            elif key in ("source_ton", "source_npi", "dest_ton", "dest_npi"):
                if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
                    raise EmulatorConfigError(key, "expected a list of integers")
                changes[key] = tuple(value)
            else:
                changes[key] = _scalar(key, value, getattr(base, key))
        try:
            return replace(base, **changes)
        except EmulatorConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise EmulatorConfigError("config", str(exc)) from None


def _tables(key: str, value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise EmulatorConfigError(key, "expected an array of tables ([[" + key + "]])")
    return value


def _check_keys(key: str, item: Mapping[str, Any], allowed: set[str]) -> None:
    for name in item:
        if name not in allowed:
            raise EmulatorConfigError(f"{key}.{name}", "unknown setting")


def _listener(index: int, item: Mapping[str, Any]) -> ListenerConfig:
    _check_keys(
        f"listeners[{index}]", item, {"host", "port", "traffic_class", "tls_cert", "tls_key"}
    )
    try:
        return ListenerConfig(**item)
    except TypeError as exc:
        raise EmulatorConfigError(f"listeners[{index}]", str(exc)) from None


def _account(index: int, item: Mapping[str, Any]) -> Account:
    _check_keys(
        f"accounts[{index}]", item, {"system_id", "password", "max_sessions", "default_alphabet"}
    )
    if "system_id" not in item or "password" not in item:
        raise EmulatorConfigError(f"accounts[{index}]", "system_id and password are required")
    return Account(
        str(item["system_id"]),
        str(item["password"]),
        item.get("max_sessions"),
        item.get("default_alphabet", DefaultAlphabet.GSM7),
    )


def _fault(index: int, item: Mapping[str, Any]) -> FaultSpec:
    if "fault" not in item:
        raise EmulatorConfigError(f"faults[{index}].fault", "missing (the behaviour's name)")
    params = {k: v for k, v in item.items() if k not in ("fault", "account", "prefix")}
    try:
        return FaultSpec(str(item["fault"]), item.get("account"), item.get("prefix"), params)
    except UnknownFaultError as exc:
        known = ", ".join(sorted(POLICIES))
        raise EmulatorConfigError(
            f"faults[{index}].fault", f"unknown fault {exc.name!r} (known: {known})"
        ) from None


def _command_status(key: str, value: object) -> CommandStatus:
    try:
        if isinstance(value, str):
            return CommandStatus[value]
        if isinstance(value, int):
            return CommandStatus(value)
    except (KeyError, ValueError):
        pass
    raise EmulatorConfigError(key, f"{value!r} is not a command_status name or number")


def _scalar(key: str, value: object, current: object) -> object:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise EmulatorConfigError(key, "expected true or false")
        return value
    if isinstance(current, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EmulatorConfigError(key, "expected a number")
        return float(value)
    if isinstance(current, int) or (key in ("message_id_start", "seed") and current is None):
        if isinstance(value, bool) or not isinstance(value, int):
            raise EmulatorConfigError(key, "expected an integer")
        return value
    if isinstance(current, str):
        if not isinstance(value, str):
            raise EmulatorConfigError(key, "expected a string")
        return value
    raise EmulatorConfigError(key, "cannot be set from a file")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names the loopback interface (the control API listens only there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Account configuration: who we are (system_id, password), where the SMSC is (hosts, primary
first), how many sessions in which modes, and the timers. Every platform default comes from
the :class:`~smppgate.profiles.ProviderProfile`; a field left at None means "the profile's".
Validation happens at construction and raises :class:`ClientConfigError` with a readable message.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from smppgate.client.errors import ClientConfigError
from smppgate.profiles import (
    DEVINO_PROMO,
    BelowPlatformMinimumError,
    HostAddress,
    ProviderProfile,
)
from smppgate.session import BindMode, SessionConfig, SessionPolicy
from smppgate.transport import TcpOptions


def _profile_hint(profile: ProviderProfile) -> str:
    """Where a library user who never chose a profile learns which one to choose."""
    if profile is not DEVINO_PROMO:
        return ""
    return (
        ". devino-promo is SmppAccount's default profile (Devino Telecom's platform, whose "
        "rules these minimums are): for another SMSC pass profile=SMPP34 (from "
        "smppgate.profiles), which has no such minimums; for Devino's transactional hosts "
        "DEVINO_TRANSACTIONAL"
    )


def parse_mode(text: str | BindMode) -> BindMode:
    """``tx`` / ``rx`` / ``trx`` (or the long names) -> BindMode."""
    if isinstance(text, BindMode):
        return text
    value = text.strip().lower()
    aliases = {"transmitter": "tx", "receiver": "rx", "transceiver": "trx"}
    try:
        return BindMode(aliases.get(value, value))
    except ValueError:
        raise ClientConfigError(f"session mode {text!r} is not one of tx, rx, trx") from None


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS to the SMSC. Verification is on unless switched off explicitly."""

    ca_file: str | None = None
    """PEM file of the CA(s) to trust; None = the system's default trust store."""
    verify: bool = True
    server_hostname: str | None = None
    """Name to verify the certificate against; None = the host's name as configured."""
    cert_file: str | None = None
    key_file: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


@dataclass(frozen=True, slots=True)
class SmppAccount:
    """One platform account: system_id + password + ordered hosts + up to N sessions."""

    system_id: str
    password: str
    profile: ProviderProfile = DEVINO_PROMO
    hosts: tuple[HostAddress, ...] = ()
    """Primary first, then backups; empty = the profile's hosts."""
    sessions: tuple[BindMode, ...] = (BindMode.TRANSCEIVER,)
    """One entry per session, its bind mode (platform: at most 4 per system_id)."""
    window: int = 10
    """Requests outstanding per session (the platform lets the client choose)."""
    response_timeout: float | None = None
    reconnect_after_drop: float | None = None
    reconnect_after_failure: float | None = None
    reconnect_jitter: float = 0.1
    """Fraction by which a cooldown may be lengthened at random (never shortened)."""
    enquire_link_idle: float | None = None
    enquire_link_timeout: float | None = None
    bind_timeout: float = 30.0
    connect_timeout: float = 30.0
    unbind_timeout: float = 5.0
    primary_return_after: float | None = 600.0
    """A session bound to a backup for this long is moved back to the primary (one session
    at a time, through the normal drop cooldown); None = only on its next reconnect."""
    query_rate: float = 10.0
    """query_sm per second at most, for the whole account."""
    query_window: int = 2
    """query_sm outstanding at most, for the whole account (their share of the window)."""
    tcp: TcpOptions = field(default_factory=TcpOptions)
    """TCP_USER_TIMEOUT and keepalive of the SMPP sockets (issue 20)."""
    write_stall_after: float = 5.0
    """A session whose written bytes stay unacknowledged by the SMSC's TCP this long takes no
    new submits (they go to other sessions or wait) until the SMSC acknowledges again; 0: off."""
    max_submit_rate: float | None = None
    """submit_sm per second at most over all the account's sessions in this process (the
    rate in the customer's contract); None: only the windows limit it."""
    tls: TlsConfig | None = None
    name: str = field(default="")
    """Label for logs and metrics; defaults to the system_id."""
    unsafe_below_platform_minimums: bool = False
    """Tests only: accept timers below the profile's platform minimums (a Devino profile
    refuses reconnect waits under 60 / 90 s and enquire_link_idle under 60 s otherwise)."""

    def __post_init__(self) -> None:  # noqa: C901 - a flat list of independent checks
        p = self.profile
        if not self.system_id:
            raise ClientConfigError("system_id is required")
        if len(self.system_id) > p.max_system_id:
            raise ClientConfigError(
                f"system_id {self.system_id!r} is {len(self.system_id)} characters; "
                f"{p.name} allows at most {p.max_system_id}"
            )
        if len(self.password) > p.max_password:
            raise ClientConfigError(
                f"password is {len(self.password)} characters; "
                f"{p.name} allows at most {p.max_password}"
            )
        if not self.sessions:
            raise ClientConfigError("an account needs at least one session")
        if len(self.sessions) > p.max_sessions:
            raise ClientConfigError(
                f"account {self.system_id!r} asks for {len(self.sessions)} sessions; "
                f"{p.name} allows at most {p.max_sessions} per system_id"
            )
        for mode in self.sessions:
            if not isinstance(mode, BindMode):
                raise ClientConfigError(f"session mode {mode!r} is not a BindMode (tx, rx, trx)")
        if not self.effective_hosts:
            raise ClientConfigError(
                f"account {self.system_id!r} has no hosts (profile {p.name} names none)"
            )
        if self.window < 1:
            raise ClientConfigError(f"window must be at least 1, got {self.window}")
        if self.query_window < 1 or self.query_rate <= 0:
            raise ClientConfigError("query_window must be >= 1 and query_rate > 0")
        if self.max_submit_rate is not None and self.max_submit_rate <= 0:
            raise ClientConfigError(f"max_submit_rate must be > 0, got {self.max_submit_rate}")
        if self.reconnect_jitter < 0:
            raise ClientConfigError("reconnect_jitter cannot be negative: jitter only lengthens")
        for name in (
            "response_timeout",
            "reconnect_after_drop",
            "reconnect_after_failure",
            "enquire_link_idle",
            "enquire_link_timeout",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ClientConfigError(f"{name} cannot be negative")
        for name in ("bind_timeout", "connect_timeout", "unbind_timeout"):
            if getattr(self, name) <= 0:
                raise ClientConfigError(f"{name} must be positive")
        if not self.unsafe_below_platform_minimums:
            try:
                p.check_minimums(
                    {
                        "reconnect_after_drop": self.reconnect_after_drop,
                        "reconnect_after_failure": self.reconnect_after_failure,
                        "enquire_link_idle": self.enquire_link_idle,
                    }
                )
            except BelowPlatformMinimumError as exc:
                raise ClientConfigError(f"{exc}{_profile_hint(p)}") from None

    # ------------------------------------------------------------ effective values

    @property
    def label(self) -> str:
        return self.name or self.system_id

    @property
    def effective_hosts(self) -> tuple[HostAddress, ...]:
        return self.hosts or self.profile.hosts

    @property
    def drop_cooldown(self) -> float:
        v = self.reconnect_after_drop
        return self.profile.reconnect_after_drop if v is None else v

    @property
    def failure_cooldown(self) -> float:
        v = self.reconnect_after_failure
        return self.profile.reconnect_after_failure if v is None else v

    def session_policy(self) -> SessionPolicy:
        """How this account's sessions answer the SMSC: the profile's policy."""
        return self.profile.session_policy()

    def session_config(self) -> SessionConfig:
        p = self.profile
        return SessionConfig(
            window=self.window,
            response_timeout=self.response_timeout or p.response_timeout,
            enquire_link_idle=self.enquire_link_idle or p.enquire_link_idle,
            enquire_link_timeout=self.enquire_link_timeout or p.enquire_link_timeout,
            unbind_timeout=self.unbind_timeout,
            bind_timeout=self.bind_timeout,
        )

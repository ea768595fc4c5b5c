"""The provider profile model and the built-in profiles (Devino promo / transactional, and a
plain SMPP 3.4 one). Source of the Devino values: shared/seed/devino-smpp-en.md."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType

from smppgate.pdu import CommandStatus, Npi, RetryClass, Ton


@dataclass(frozen=True, slots=True)
class HostAddress:
    host: str
    port: int = 2775
    name: str = ""  # a human name (smpp01.integrationapi.net) shown in logs

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str, default_port: int = 2775) -> HostAddress:
        """``host`` or ``host:port`` (``[v6]:port`` for IPv6)."""
        text = text.strip()
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else default_port
        elif text.count(":") == 1:
            host, _, port_text = text.partition(":")
            port = int(port_text)
        else:
            host, port = text, default_port
        if not host or not 0 < port < 65536:
            raise ValueError(f"{text!r} is not HOST:PORT")
        return cls(host, port)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """TON/NPI for sender and destination (Devino: alphanumeric 5/1, numeric 1/1, dest 1/1)."""

    alphanumeric_source_ton: int = Ton.ALPHANUMERIC
    alphanumeric_source_npi: int = Npi.ISDN
    numeric_source_ton: int = Ton.INTERNATIONAL
    numeric_source_npi: int = Npi.ISDN
    dest_ton: int = Ton.INTERNATIONAL
    dest_npi: int = Npi.ISDN

    def source(self, sender: str) -> tuple[int, int]:
        """(ton, npi) for a sender: digits (optionally with +) are numeric, else alphanumeric."""
        digits = sender[1:] if sender.startswith("+") else sender
        if digits.isdigit():
            return self.numeric_source_ton, self.numeric_source_npi
        return self.alphanumeric_source_ton, self.alphanumeric_source_npi


_DEFAULT_OVERRIDES: dict[int, RetryClass] = {}


@dataclass(frozen=True, slots=True)
class RetryRules:
    """What the sender does with each command_status (platform points 12-14)."""

    throttle_pause: float = 1.0
    """ESME_RTHROTTLED: the message is requeued and that connection sends nothing this long."""
    queue_full_delays: tuple[float, ...] = (5.0, 15.0, 45.0, 135.0, 405.0)
    """ESME_RMSGQFUL: the pause before the k-th resend (5 s, 15 s, 45 s, ...)."""
    queue_full_max_retries: int = 5
    """ESME_RMSGQFUL: resends before the message fails (the platform says 3 to 5)."""
    transient_delays: tuple[float, ...] = (10.0, 30.0, 90.0, 270.0)
    transient_max_retries: int = 4
    overrides: MappingProxyType[int, RetryClass] = field(
        default_factory=lambda: MappingProxyType(dict(_DEFAULT_OVERRIDES))
    )
    """command_status -> retry class, where the provider differs from the SMPP default."""

    def __post_init__(self) -> None:
        if not 3 <= self.queue_full_max_retries <= 5:
            raise ValueError(
                "queue_full_max_retries must be 3..5 (platform rule 14), "
                f"got {self.queue_full_max_retries}"
            )
        if len(self.queue_full_delays) < self.queue_full_max_retries:
            raise ValueError("queue_full_delays needs one delay per allowed retry")

    def classify(self, status: int) -> RetryClass:
        """The retry class of a command_status under this provider's rules."""
        override = self.overrides.get(status)
        if override is not None:
            return override
        return CommandStatus(status).retry

    def queue_full_delay(self, retry_number: int) -> float | None:
        """Delay before resend number ``retry_number`` (1-based); None when out of retries."""
        if retry_number > self.queue_full_max_retries:
            return None
        return self.queue_full_delays[retry_number - 1]

    def transient_delay(self, retry_number: int) -> float | None:
        if retry_number > self.transient_max_retries:
            return None
        delays = self.transient_delays
        return delays[min(retry_number, len(delays)) - 1]


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    name: str
    hosts: tuple[HostAddress, ...]
    """Primary first, then backups."""
    interface_version: int = 0x34
    system_type: str = ""
    addresses: AddressPolicy = AddressPolicy()
    max_sessions: int = 4
    reconnect_after_drop: float = 60.0
    """Platform rule 4: wait at least this long after a session drop before reconnecting."""
    reconnect_after_failure: float = 90.0
    """Platform rule 4: wait at least this long after a failed connection or bind."""
    enquire_link_idle: float = 60.0
    """Platform rule 6: enquire_link only after this long with nothing received."""
    enquire_link_timeout: float = 30.0
    response_timeout: float = 30.0
    min_validity: float = 60.0
    """Platform rule 15: a validity_period shorter than this is refused before sending."""
    max_system_id: int = 15
    max_password: int = 8
    udh_length: int = 6
    """Platform rule 9: the concatenation UDH takes 6 octets (8-bit reference)."""
    payload_receipt_first_part_only: bool = True
    """Platform rule 8: with message_payload the SMSC sends one receipt, for the first part."""
    retry: RetryRules = RetryRules()
    description: str = ""

    def with_hosts(self, hosts: tuple[HostAddress, ...]) -> ProviderProfile:
        return replace(self, hosts=hosts)


DEVINO_PROMO = ProviderProfile(
    name="devino-promo",
    hosts=(
        HostAddress("194.226.179.12", 2775, "smpp01.integrationapi.net"),
        HostAddress("194.226.179.13", 2775, "smpp02.integrationapi.net"),
    ),
    description="Devino Telecom, advertising (promo) traffic: smpp01 primary, smpp02 backup",
)
DEVINO_TRANSACTIONAL = ProviderProfile(
    name="devino-transactional",
    hosts=(
        HostAddress("194.226.179.10", 2775, "smpp03.integrationapi.net"),
        HostAddress("194.226.179.11", 2775, "smpp04.integrationapi.net"),
    ),
    description="Devino Telecom, transactional traffic: smpp03 primary, smpp04 backup",
)
SMPP34 = ProviderProfile(
    name="smpp34",
    hosts=(),
    description="Any SMPP 3.4 SMSC: Devino's conservative timers, hosts from the config",
)

PROFILES: MappingProxyType[str, ProviderProfile] = MappingProxyType(
    {p.name: p for p in (DEVINO_PROMO, DEVINO_TRANSACTIONAL, SMPP34)}
)


def get_profile(name: str) -> ProviderProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown profile {name!r}; known profiles: {known}") from None

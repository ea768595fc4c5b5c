"""The provider profile model and the built-in profiles (Devino promo / transactional / online,
and a plain SMPP 3.4 one). Source of the Devino values: shared/seed/devino-smpp-en.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from smppgate.numbers import check_sender
from smppgate.pdu import CommandId, CommandStatus, Npi, RetryClass, Ton
from smppgate.session import SessionPolicy
from smppgate.text import DefaultAlphabet


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


class SenderKind(StrEnum):
    """What a sender is, for choosing its TON/NPI."""

    ALPHANUMERIC = "alphanumeric"  # letters in it: a name such as "Devino"
    INTERNATIONAL = "international"  # digits, with a leading + or longer than a short code
    SHORT_CODE = "short_code"  # a few digits without +, such as "900"


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """TON/NPI for each kind of sender, and for destinations.

    The defaults are SMPP 3.4's usual conventions (alphanumeric 5/0, international 1/1, short
    code 3/0 network specific, destination 1/1); Devino's page makes source 5/1 mandatory for
    every sender (``DEVINO_ADDRESSES``)."""

    alphanumeric_source_ton: int = Ton.ALPHANUMERIC
    alphanumeric_source_npi: int = Npi.UNKNOWN
    numeric_source_ton: int = Ton.INTERNATIONAL
    """A numeric sender in international format (``+79161234567`` or ``79161234567``)."""
    numeric_source_npi: int = Npi.ISDN
    short_code_source_ton: int = Ton.NETWORK_SPECIFIC
    short_code_source_npi: int = Npi.UNKNOWN
    short_code_max_digits: int = 8
    """Digits without ``+`` up to this many are a short code; more are international."""
    dest_ton: int = Ton.INTERNATIONAL
    dest_npi: int = Npi.ISDN

    def kind(self, sender: str) -> SenderKind:
        digits = sender[1:] if sender.startswith("+") else sender
        if not (digits.isascii() and digits.isdigit()):
            return SenderKind.ALPHANUMERIC
        if sender.startswith("+") or len(digits) > self.short_code_max_digits:
            return SenderKind.INTERNATIONAL
        return SenderKind.SHORT_CODE

    def source(self, sender: str) -> tuple[int, int]:
        """(ton, npi) for a sender, by its kind."""
        kind = self.kind(sender)
        if kind is SenderKind.ALPHANUMERIC:
            return self.alphanumeric_source_ton, self.alphanumeric_source_npi
        if kind is SenderKind.INTERNATIONAL:
            return self.numeric_source_ton, self.numeric_source_npi
        return self.short_code_source_ton, self.short_code_source_npi

    def check_sender(self, sender: str) -> str:
        """``sender`` as it goes out (numeric: without ``+``) if the TON it gets here can
        carry it (`smppgate.numbers.check_sender`); `SenderError` saying what to fix."""
        return check_sender(sender, self.source(sender)[0])

    def with_source(self, ton: int, npi: int) -> AddressPolicy:
        """Every sender, whatever its kind, goes out as ``ton``/``npi`` (a contract's choice)."""
        return replace(
            self,
            alphanumeric_source_ton=ton,
            alphanumeric_source_npi=npi,
            numeric_source_ton=ton,
            numeric_source_npi=npi,
            short_code_source_ton=ton,
            short_code_source_npi=npi,
        )


#: The page's mandatory parameters: Src_Addr_TON 0x05 / NPI 0x01, Dest 0x01 / 0x01, for every
#: sender (a numeric sender or a short code too, unless the account's contract says otherwise)
DEVINO_ADDRESSES = AddressPolicy().with_source(Ton.ALPHANUMERIC, Npi.ISDN)


_DEFAULT_OVERRIDES: dict[int, RetryClass] = {}


@dataclass(frozen=True, slots=True)
class RetryRules:
    """What the sender does with each command_status (platform points 12-14)."""

    throttle_pause: float = 1.0
    """ESME_RTHROTTLED: the message is requeued and that connection sends nothing this long."""
    queue_full_delays: tuple[float, ...] = (5.0, 15.0, 45.0, 135.0, 405.0)
    """ESME_RMSGQFUL: the pause before the k-th resend (5 s, 15 s, 45 s, ...)."""
    queue_full_max_retries: int = 5
    """ESME_RMSGQFUL: resends before the message fails (a profile may bound it: Devino 3..5)."""
    transient_delays: tuple[float, ...] = (10.0, 30.0, 90.0, 270.0)
    transient_max_retries: int = 4
    overrides: MappingProxyType[int, RetryClass] = field(
        default_factory=lambda: MappingProxyType(dict(_DEFAULT_OVERRIDES))
    )
    """command_status -> retry class, where the provider differs from the SMPP default."""

    def __post_init__(self) -> None:
        if self.queue_full_max_retries < 0 or self.transient_max_retries < 0:
            raise ValueError("retry counts cannot be negative")
        if not self.transient_delays:
            raise ValueError("transient_delays needs at least one delay")
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


class PlatformMinimum(NamedTuple):
    """A value the platform's page sets a floor on: ``key`` (as in the config) >= ``seconds``."""

    key: str
    seconds: float
    rule: str
    """The page's words, for the error that refuses a lower value."""


class BelowPlatformMinimumError(ValueError):
    """A configured value under a minimum of the profile's platform."""

    def __init__(self, key: str, value: float, minimum: PlatformMinimum, profile: str) -> None:
        self.key = key
        self.value = value
        self.minimum = minimum
        super().__init__(
            f"{key} = {value:g} s is below the {profile} platform's minimum of "
            f"{minimum.seconds:g} s ({minimum.rule}); a test that needs short timers uses the "
            "smpp34 profile or sets unsafe_below_platform_minimums"
        )


class UnsupportedOperationError(ValueError):
    """The profile's platform does not support this operation: it is never sent."""

    def __init__(self, command_id: int, profile: str) -> None:
        self.command_id = command_id
        self.profile = profile
        name = CommandId(command_id).name.lower()
        super().__init__(f"{profile} does not support {name}: not sent")


#: Devino's page: the waits and the validity floor a client may lengthen, never shorten
DEVINO_MINIMUMS = (
    PlatformMinimum(
        "reconnect_after_drop", 60.0, "page point 4: wait at least 60 s after a session drop"
    ),
    PlatformMinimum(
        "reconnect_after_failure",
        90.0,
        "page point 4: wait at least 90 s after a failed connection attempt",
    ),
    PlatformMinimum(
        "enquire_link_idle",
        60.0,
        "page point 6: enquire_link only after 60 s with no PDU from the SMSC",
    ),
    PlatformMinimum("min_validity", 60.0, "page point 15: validity_period at least 60 s"),
)


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
    queue_full_retries: tuple[int, int] | None = None
    """(fewest, most) resends after ESME_RMSGQFUL the platform wants (Devino point 14: 3..5);
    None: any count the retry rules set."""
    minimums: tuple[PlatformMinimum, ...] = ()
    """Floors on configured values (Devino: 60 / 90 / 60 / 60 s); refused at start below them."""
    unsupported: frozenset[CommandId] = frozenset()
    """Operations the platform lacks: the client never sends them (a typed error instead)."""
    default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7
    """What data_coding 0 means to this SMSC (the page does not say; GSM 03.38 unpacked)."""
    answer_deliveries: bool = True
    """The session answers every deliver_sm / data_sm with 0 at once (Devino point 5)."""
    answer_errors: bool = False
    """The session answers bad requests with generic_nack (SMPP 3.4); Devino forbids it."""
    description: str = ""

    def __post_init__(self) -> None:
        own = {"reconnect_after_drop": self.reconnect_after_drop,
               "reconnect_after_failure": self.reconnect_after_failure,
               "enquire_link_idle": self.enquire_link_idle,
               "min_validity": self.min_validity}  # fmt: skip
        for key, value in own.items():
            self.check_minimum(key, value)
        if self.queue_full_retries is not None:
            fewest, most = self.queue_full_retries
            got = self.retry.queue_full_max_retries
            if not fewest <= got <= most:
                raise ValueError(
                    f"queue_full_max_retries must be {fewest}..{most} on {self.name} "
                    f"(page point 14: 3-5 more attempts), got {got}"
                )

    def with_hosts(self, hosts: tuple[HostAddress, ...]) -> ProviderProfile:
        return replace(self, hosts=hosts)

    def check_minimum(self, key: str, value: float | None) -> None:
        """Raise BelowPlatformMinimumError when ``value`` for ``key`` is under the platform's
        floor (None: the profile's own value, which is checked at construction)."""
        if value is None:
            return
        for minimum in self.minimums:
            if minimum.key == key and value < minimum.seconds:
                raise BelowPlatformMinimumError(key, value, minimum, self.name)

    def check_minimums(self, values: Mapping[str, float | None]) -> None:
        for key, value in values.items():
            self.check_minimum(key, value)

    def supports(self, command_id: int) -> bool:
        return command_id not in self.unsupported

    def require(self, command_id: int) -> None:
        """Raise UnsupportedOperationError when the platform lacks ``command_id``."""
        if command_id in self.unsupported:
            raise UnsupportedOperationError(command_id, self.name)

    def session_policy(self) -> SessionPolicy:
        """How this platform's sessions answer what the SMSC sends (handed to each session)."""
        return SessionPolicy(
            answer_deliveries=self.answer_deliveries, answer_errors=self.answer_errors
        )


DEVINO_PROMO = ProviderProfile(
    name="devino-promo",
    hosts=(
        HostAddress("194.226.179.12", 2775, "smpp01.integrationapi.net"),
        HostAddress("194.226.179.13", 2775, "smpp02.integrationapi.net"),
    ),
    addresses=DEVINO_ADDRESSES,
    queue_full_retries=(3, 5),
    minimums=DEVINO_MINIMUMS,
    # the page promises query_sm (point 16) and says nothing of cancel_sm: a message the
    # platform has is not asked back (DELETE /v1/messages/{id} answers 409 for it)
    unsupported=frozenset({CommandId.CANCEL_SM}),
    description="Devino Telecom, advertising (promo) traffic: smpp01 primary, smpp02 backup",
)
DEVINO_TRANSACTIONAL = replace(
    DEVINO_PROMO,
    name="devino-transactional",
    hosts=(
        HostAddress("194.226.179.10", 2775, "smpp03.integrationapi.net"),
        HostAddress("194.226.179.11", 2775, "smpp04.integrationapi.net"),
    ),
    description="Devino Telecom, transactional traffic: smpp03 primary, smpp04 backup",
)
DEVINO_ONLINE = replace(
    DEVINO_PROMO,
    name="devino-online",
    hosts=(HostAddress("smpp.devino.online", 2775, "smpp.devino.online"),),
    unsupported=frozenset(
        {CommandId.QUERY_SM, CommandId.DATA_SM, CommandId.SUBMIT_MULTI, CommandId.CANCEL_SM}
    ),
    description="Devino's newer single-host service: no query_sm, data_sm or submit_multi",
)
SMPP34 = ProviderProfile(
    name="smpp34",
    hosts=(),
    answer_errors=True,
    description="Any SMPP 3.4 SMSC: Devino's conservative timers as defaults (no floors), "
    "the usual TON/NPI conventions, generic_nack for bad requests; hosts from the config",
)

PROFILES: MappingProxyType[str, ProviderProfile] = MappingProxyType(
    {p.name: p for p in (DEVINO_PROMO, DEVINO_TRANSACTIONAL, DEVINO_ONLINE, SMPP34)}
)


def get_profile(
    name: str, declared: Mapping[str, ProviderProfile] | None = None
) -> ProviderProfile:
    """A built-in profile, or one ``declared`` (in the config) by that name."""
    known_profiles = {**PROFILES, **(declared or {})}
    try:
        return known_profiles[name]
    except KeyError:
        known = ", ".join(sorted(known_profiles))
        raise ValueError(f"unknown profile {name!r}; known profiles: {known}") from None

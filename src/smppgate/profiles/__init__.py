"""Provider profiles: the platform's rules in one declarative place.

A profile says where the SMSC is (hosts, primary first), how to bind (interface version,
system_type, address TON/NPI), the timers and cooldowns and the floors the platform sets on
them, what to do with each command_status, which operations the platform supports, what
data_coding 0 means, and how a session answers what the SMSC sends (``session_policy``). The
client, the gateway and the emulator read their defaults from here; nothing else in the code
base spells out a platform rule as a literal. Profiles can also be declared in the gateway's
TOML config on top of the built-ins (:func:`declare_profile`).
"""

from smppgate.profiles.declared import ProfileError, declare_profile
from smppgate.profiles.profile import (
    DEVINO_ADDRESSES,
    DEVINO_MINIMUMS,
    DEVINO_ONLINE,
    DEVINO_PROMO,
    DEVINO_TRANSACTIONAL,
    PROFILES,
    SMPP34,
    AddressPolicy,
    BelowPlatformMinimumError,
    HostAddress,
    PlatformMinimum,
    ProviderProfile,
    RetryRules,
    SenderKind,
    UnsupportedOperationError,
    get_profile,
)

__all__ = [
    "DEVINO_ADDRESSES",
    "DEVINO_MINIMUMS",
    "DEVINO_ONLINE",
    "DEVINO_PROMO",
    "DEVINO_TRANSACTIONAL",
    "PROFILES",
    "SMPP34",
    "AddressPolicy",
    "BelowPlatformMinimumError",
    "HostAddress",
    "PlatformMinimum",
    "ProfileError",
    "ProviderProfile",
    "RetryRules",
    "SenderKind",
    "UnsupportedOperationError",
    "declare_profile",
    "get_profile",
]

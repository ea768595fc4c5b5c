"""Provider profiles: the platform's rules in one declarative place.

A profile says where the SMSC is (hosts, primary first), how to bind (interface version,
system_type, address TON/NPI), the timers and cooldowns, and what to do with each
command_status. The client, the gateway and the emulator read their defaults from here;
nothing else in the code base spells out a platform rule as a literal.
"""

from smppgate.profiles.profile import (
    DEVINO_PROMO,
    DEVINO_TRANSACTIONAL,
    PROFILES,
    SMPP34,
    AddressPolicy,
    HostAddress,
    ProviderProfile,
    RetryRules,
    get_profile,
)

__all__ = [
    "DEVINO_PROMO",
    "DEVINO_TRANSACTIONAL",
    "PROFILES",
    "SMPP34",
    "AddressPolicy",
    "HostAddress",
    "ProviderProfile",
    "RetryRules",
    "get_profile",
]

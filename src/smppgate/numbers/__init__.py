"""Phone numbers: destinations as people type them, and senders as a profile can carry them.

Pure functions and small value types, standard library only, no I/O and no clock; it imports
no other smppgate package but ``smppgate.pdu`` (it sits beside ``smppgate.text``).

* :mod:`~smppgate.numbers.dialplan` — :class:`DialPlan` (country code, trunk and international
  prefixes, national numbers; :data:`RUSSIA` the default), :func:`normalize` (``8 900
  123-45-67`` -> ``79001234567``), :func:`international` (E.164 digits only) and
  :func:`national` (a national number, SMPP's TON 2).
* :mod:`~smppgate.numbers.countries` — the E.164 country calling codes.
* :mod:`~smppgate.numbers.senders` — :func:`check_sender`: a sender against the TON it will
  go out with (alphanumeric: 11 GSM characters; international: 15 digits).
* :mod:`~smppgate.numbers.errors` — :class:`NumberError` and :class:`SenderError`, each with
  a problem from a closed list.
"""

from smppgate.numbers.countries import COUNTRY_CODES, country_code_of
from smppgate.numbers.dialplan import (
    E164_DIGITS,
    RUSSIA,
    DialPlan,
    international,
    national,
    normalize,
)
from smppgate.numbers.errors import NumberError, NumberProblem, SenderError, SenderProblem
from smppgate.numbers.senders import (
    ALPHANUMERIC_SENDER_CHARACTERS,
    MAX_ALPHANUMERIC_SENDER,
    MAX_NUMERIC_SENDER,
    check_sender,
)

__all__ = [
    "ALPHANUMERIC_SENDER_CHARACTERS",
    "COUNTRY_CODES",
    "E164_DIGITS",
    "MAX_ALPHANUMERIC_SENDER",
    "MAX_NUMERIC_SENDER",
    "RUSSIA",
    "DialPlan",
    "NumberError",
    "NumberProblem",
    "SenderError",
    "SenderProblem",
    "check_sender",
    "country_code_of",
    "international",
    "national",
    "normalize",
]

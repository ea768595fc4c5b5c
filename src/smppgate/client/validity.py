"""validity_period (platform point 15, spec D-22): at least 60 s, written in the relative
form ``YYMMDDhhmmss000R`` so that a requeued message never carries a stale absolute time."""

from __future__ import annotations

import math

from smppgate.client.errors import ValidityError

_MAX_DAYS = 99  # years and months are left at 0: their length is ambiguous


def check_validity(seconds: float, minimum: float) -> int:
    """Whole seconds of a requested validity; ValidityError when below the minimum."""
    if math.isnan(seconds) or seconds < minimum:
        raise ValidityError(seconds, minimum)
    whole = math.ceil(seconds)
    if whole > (_MAX_DAYS + 1) * 86400 - 1:
        raise ValidityError(
            seconds, minimum, f"validity_period {seconds:g} s is beyond {_MAX_DAYS} days"
        )
    return whole


def relative_validity(seconds: float, minimum: float = 60.0) -> str:
    """The SMPP relative time for ``seconds`` (checked against ``minimum``).

    >>> relative_validity(60)
    '000000000100000R'
    """
    total = check_validity(seconds, minimum)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"

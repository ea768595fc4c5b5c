"""SMPP 3.4 time fields as a server reads them (schedule_delivery_time, validity_period:
absolute ``YYMMDDhhmmsstnn+/-`` or relative ``...R``, spec 7.1.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class TimeFormatError(ValueError):
    """validity_period is not in the SMPP 3.4 time format (A10)."""


def validity_seconds(value: str, wall_now: datetime) -> float | None:
    """Seconds from ``wall_now`` (UTC) to the end of validity; None for NULL (SMSC default).

    Raises TimeFormatError for a malformed value."""
    if not value:
        return None
    if len(value) != 16 or not value[:15].isdigit() or value[15] not in "+-R":
        raise TimeFormatError(f"{value!r} is not YYMMDDhhmmsstnnp")
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2]) for i in range(0, 12, 2))
    tenths = int(value[12])
    if value[15] == "R":
        return float(((yy * 365 + mo * 30 + dd) * 24 + hh) * 3600 + mi * 60 + ss)
    quarters = int(value[13:15])
    if quarters > 48:
        raise TimeFormatError(f"{value!r}: UTC offset over 48 quarter hours")
    try:
        local = datetime(2000 + yy if yy < 38 else 1900 + yy, mo, dd, hh, mi, ss, tenths * 100_000)
    except ValueError as exc:
        raise TimeFormatError(f"{value!r}: {exc}") from None
    offset = timedelta(minutes=15 * quarters)
    utc = (local - offset if value[15] == "+" else local + offset).replace(tzinfo=UTC)
    return (utc - wall_now).total_seconds()

"""Every time the store writes is a finite epoch: the check made before a transaction starts.

The databases refuse infinity too (migration 4: CHECK constraints on PostgreSQL, triggers on
SQLite), but SQLite silently stores NaN as NULL, and a NULL lease never runs out: so the store
checks the times it is given, once per call, before writing anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import fields, is_dataclass

from smppgate.store.errors import InvalidTime

_FLOAT_FIELDS: dict[type, tuple[str, ...]] = {}


def require_finite(**times: float | None) -> None:
    """Raise `InvalidTime` for the first named time that is infinite or NaN (None is fine)."""
    for name, value in times.items():
        if value is not None and not math.isfinite(value):
            raise InvalidTime(name, value)


def require_finite_fields(records: Iterable[object]) -> None:
    """The same for every float field of each record (outcomes, receipts, new messages)."""
    for record in records:
        kind = type(record)
        names = _FLOAT_FIELDS.get(kind)
        if names is None:
            names = _FLOAT_FIELDS[kind] = _float_fields(record)
        for name in names:
            value = getattr(record, name)
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidTime(f"{kind.__name__}.{name}", value)


def _float_fields(record: object) -> tuple[str, ...]:
    if not is_dataclass(record):
        return ()
    return tuple(f.name for f in fields(record) if "float" in str(f.type))

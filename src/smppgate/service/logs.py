"""Log output: readable text by default, one JSON object per line with ``--log-format json``.

Session events (connect, bind, drop, cooldown, failover) and errors carry their context as
``extra=`` fields (account, host, message ids); the JSON formatter keeps every such field.
Passwords never reach a log record: nothing logs them.
"""

from __future__ import annotations

import json
import logging
import sys
import time

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

#: the levels ``[log] level`` and ``--log-level`` accept (any case)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_level(value: str) -> str:
    """``value`` as one of ``LOG_LEVELS``; ``ValueError`` naming the choices otherwise."""
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"one of {', '.join(LOG_LEVELS)} (any case), got {value!r}")
    return level


class TextFormatter(logging.Formatter):
    """``2026-12-07T19:03:49.123+00:00 INFO    smppgate.x: message``: ISO 8601 with the UTC
    offset of the local time zone, so lines from several nodes and from other tools sort and
    compare without guessing the zone."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        local = time.localtime(record.created)
        offset = time.strftime("%z", local)
        return (
            time.strftime("%Y-%m-%dT%H:%M:%S", local)
            + f".{int(record.msecs):03d}{offset[:3]}:{offset[3:]}"
        )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    logging.getLogger().handlers[:] = [handler]
    set_level(level)


def set_level(level: str) -> None:
    """The root logger's level (also on a configuration reload)."""
    level = parse_level(level)
    logging.getLogger().setLevel(level)
    # aiohttp's access log is one line per request: keep it for DEBUG only
    logging.getLogger("aiohttp.access").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.WARNING
    )

"""Log line formats and the service manager's readiness notification (a real datagram socket)."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest

from smppgate.service.config import ConfigError, parse_config
from smppgate.service.logs import TextFormatter, parse_level
from smppgate.service.notify import notify

ACCOUNT = {"name": "a", "system_id": "x", "password": "y", "hosts": ["127.0.0.1:2775"]}


def test_text_log_lines_carry_an_iso_8601_time_with_its_offset() -> None:
    record = logging.makeLogRecord(
        {"name": "smppgate.x", "levelname": "INFO", "msg": "hello", "created": 1_800_000_000.25}
    )
    record.msecs = 250.0
    line = TextFormatter().format(record)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.250[+-]\d\d:\d\d INFO    smppgate\.x: hello", line
    ), line


def test_log_levels_are_checked_in_any_case() -> None:
    assert parse_level("warning") == "WARNING"
    with pytest.raises(ValueError, match="LOUD"):
        parse_level("LOUD")


def test_config_refuses_an_unknown_log_level_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"accounts": [ACCOUNT], "log": {"level": "LOUD"}}, {})
    assert err.value.key == "log.level"
    assert parse_config({"accounts": [ACCOUNT], "log": {"level": "debug"}}, {}).log_level == "DEBUG"


def test_notify_tells_the_service_manager_through_its_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(path)
        assert notify("READY=1\nSTATUS=up", {"NOTIFY_SOCKET": path}) is True
        assert manager.recv(1024) == b"READY=1\nSTATUS=up"


def test_notify_without_a_manager_does_nothing_and_a_dead_socket_is_not_fatal(
    tmp_path: Path,
) -> None:
    assert notify("READY=1", {}) is False
    assert notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) is False

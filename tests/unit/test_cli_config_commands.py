"""`smppgate check-config`, `SMPPGATE_CONFIG`, and the log-level arguments: no store, no socket."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from smppgate.cli.check_config import safe_url
from smppgate.cli.config_file import CONFIG_ENV, config_path
from smppgate.cli.main import main

GOOD = """
[store]
url = "postgresql://gate:s3cret@127.0.0.1:5432/sms"

[[accounts]]
name = "promo"
profile = "devino-promo"
system_id = "login"
password = "pw"
"""


def test_check_config_summarises_a_good_file_without_its_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"configuration OK: {path}")
    assert "account promo: profile devino-promo, system_id login" in out
    assert "s3cret" not in out
    assert "gate:***@127.0.0.1:5432" in out


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[log]\nlevel = "LOUD"\n', "log.level"),
        ('[log]\nformat = "xml"\n', "log.format"),
        ("shutdown_timeout = -1\n", "shutdown_timeout"),
    ],
)
def test_check_config_refuses_a_bad_file_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, key: str
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(extra + GOOD, encoding="utf-8")
    assert main(["check-config", "--config", str(path), "--json"]) == 2
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False
    assert body["key"] == key


QUIET = """
[[quiet_hours]]
class = "promo"
send_between = "09:00-21:00"
utc_offset = "+03:00"
"""


def test_check_config_shows_and_checks_quiet_hours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(GOOD + QUIET, encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == 0
    assert "quiet hours: class promo: sent 09:00-21:00 UTC+03:00" in capsys.readouterr().out
    path.write_text(GOOD + QUIET.replace("09:00-21:00", "9-21"), encoding="utf-8")
    assert main(["check-config", "--config", str(path), "--json"]) == 2
    body = json.loads(capsys.readouterr().out)
    assert body["key"] == "quiet_hours[0].send_between"
    assert "HH:MM-HH:MM" in body["error"]


def test_check_config_of_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--config", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_config_argument_wins_over_the_environment_which_wins_over_the_demo() -> None:
    def path(config: str | None, env: dict[str, str]) -> str | None:
        return config_path(argparse.Namespace(config=config), env)

    assert path("a.toml", {CONFIG_ENV: "b.toml"}) == "a.toml"
    assert path(None, {CONFIG_ENV: "b.toml"}) == "b.toml"
    assert path(None, {CONFIG_ENV: ""}) is None
    assert path(None, {}) is None


@pytest.mark.parametrize("command", ["serve", "smsc"])
def test_an_unknown_log_level_is_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--log-level", "LOUD"])
    assert exit_.value.code == 2
    assert "invalid choice: 'LOUD'" in capsys.readouterr().err


def test_safe_url_hides_only_the_password() -> None:
    assert safe_url("postgresql://u:p@h:1/db?pool_max=4") == "postgresql://u:***@h:1/db?pool_max=4"
    assert safe_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert safe_url("sqlite:/var/lib/x.db") == "sqlite:/var/lib/x.db"

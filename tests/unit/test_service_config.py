"""Configuration: validated at start, every error names its key, every key documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smppgate.service.config import (
    _ACCOUNT_KEYS,
    ConfigError,
    default_config,
    load_config,
    parse_config,
)
from smppgate.session import BindMode

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

BASE = {"accounts": [{"name": "a", "hosts": ["127.0.0.1:2775"], "system_id": "s", "password": "p"}]}


def account(**extra: object) -> dict[str, object]:
    return {"accounts": [{**BASE["accounts"][0], **extra}]}  # type: ignore[dict-item]


def test_default_config_is_the_demo() -> None:
    config = default_config(environ={})
    assert config.emulator.enabled
    assert config.store.url == "sqlite:data/smppgate.db"
    (acc,) = config.accounts
    assert acc.sessions == (BindMode.TRANSCEIVER, BindMode.TRANSCEIVER)
    assert str(acc.hosts[0]) == "127.0.0.1:2775"


def test_devino_profile_gives_hosts() -> None:
    data = account(profile="devino-transactional")
    del data["accounts"][0]["hosts"]  # type: ignore[index]
    config = parse_config(data, environ={})
    assert [h.host for h in config.accounts[0].hosts] == ["194.226.179.10", "194.226.179.11"]


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        (account(sessions=["trx"] * 5), "accounts[0].sessions", "at most 4"),
        (account(sessions=["tx", "bad"]), "accounts[0].sessions[1]", "tx, rx or trx"),
        (account(password="123456789"), "accounts[0].password", "at most 8"),
        (account(system_id="x" * 16), "accounts[0].system_id", "1..15"),
        (account(profile="nope"), "accounts[0].profile", "known profiles"),
        (account(hosts=["nohost:99999"]), "accounts[0].hosts[0]", "HOST:PORT"),
        (account(window=0), "accounts[0].window", "1..1000"),
        (account(split="zip"), "accounts[0].split", "udh, sar or payload"),
        (account(colour="red"), "accounts[0].colour", "unknown key"),
        ({"accounts": []}, "accounts", "at least one"),
        ({**BASE, "http": {"listen": "0.0.0.0:8080"}}, "http.api_keys", "not a loopback"),
        ({**BASE, "store": {"url": "mysql://x"}}, "store.url", "sqlite:///"),
        ({**BASE, "store": {"url": "sqlite:///:memory:"}}, "store.url", "lose every message"),
        ({**BASE, "log": {"format": "xml"}}, "log.format", "text"),
        ({**BASE, "log": {"level": "LOUD"}}, "log.level", "DEBUG, INFO"),
        # a bare host used to listen on 2775, the SMPP port
        ({**BASE, "http": {"listen": "127.0.0.1"}}, "http.listen", "HOST:PORT"),
        (account(reconnect_after_drop=-1), "accounts[0].reconnect_after_drop", "at least 0"),
        (account(reconnect_after_failure="90"), "accounts[0].reconnect_after_failure", "number"),
        (account(response_timeout=0), "accounts[0].response_timeout", "more than 0"),
    ],
)
def test_errors_name_the_key(data: dict[str, object], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert info.value.key == key
    assert fragment in str(info.value)


def test_timers_default_to_the_profile_and_can_be_set() -> None:
    (plain,) = parse_config(account(profile="devino-promo"), environ={}).accounts
    assert plain.reconnect_after_drop is None
    assert plain.reconnect_after_failure is None
    (short,) = parse_config(
        account(reconnect_after_drop=2, reconnect_after_failure=3.5, enquire_link_idle=5),
        environ={},
    ).accounts
    assert (short.reconnect_after_drop, short.reconnect_after_failure) == (2, 3.5)
    assert short.enquire_link_idle == 5
    assert short.response_timeout is None
    assert short.name == "a"


def test_secrets_from_environment() -> None:
    data = account()
    del data["accounts"][0]["password"]  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="SMPPGATE_PASSWORD_A"):
        parse_config(data, environ={})
    env = {"SMPPGATE_PASSWORD_A": "envpw", "SMPPGATE_API_KEYS": "k1, k2"}
    config = parse_config({**data, "http": {"listen": "0.0.0.0:80"}}, environ=env)
    assert config.accounts[0].password == "envpw"
    assert config.http.api_keys == ("k1", "k2")


def test_the_environment_overrides_the_file_and_the_source_is_known() -> None:
    config = parse_config(account(password="filepw"), environ={"SMPPGATE_PASSWORD_A": "envpw"})
    assert (config.accounts[0].password, config.accounts[0].password_source) == (
        "envpw",
        "env:SMPPGATE_PASSWORD_A",
    )
    config = parse_config(account(password="filepw"), environ={})
    assert (config.accounts[0].password, config.accounts[0].password_source) == (
        "filepw",
        "password",
    )
    data = account(password_env="PW_OF_A")
    del data["accounts"][0]["password"]  # type: ignore[attr-defined]
    config = parse_config(data, environ={"PW_OF_A": "x", "SMPPGATE_PASSWORD_A": "y"})
    assert (config.accounts[0].password, config.accounts[0].password_source) == ("x", "env:PW_OF_A")


def test_load_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[[accounts]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, environ={})


def test_every_key_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.MULTILINE))
    for key in _ACCOUNT_KEYS | {"url", "lease_seconds", "listen", "api_keys", "max_batch",
                                "secret", "timeout", "max_attempts", "format", "level",
                                "enabled", "dlr_delay", "node_id", "shutdown_timeout"}:  # fmt: skip
        assert key in documented, f"{key} is missing from docs/configuration.md"


def test_account_timers_reach_the_client() -> None:
    from smppgate.service.runtime import client_account

    (acc,) = parse_config(
        account(profile="devino-promo", reconnect_after_drop=2, reconnect_after_failure=3),
        environ={},
    ).accounts
    client = client_account(acc)
    assert (client.drop_cooldown, client.failure_cooldown) == (2, 3)
    (plain,) = parse_config(account(profile="devino-promo"), environ={}).accounts
    assert (client_account(plain).drop_cooldown, client_account(plain).failure_cooldown) == (60, 90)

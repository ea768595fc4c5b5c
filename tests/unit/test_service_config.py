"""Configuration: validated at start, every error names its key, every key documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smppgate.pdu import CommandId, CommandStatus, RetryClass
from smppgate.service.config import (
    _ACCOUNT_KEYS,
    _CLIENT_KEYS,
    ConfigError,
    default_config,
    load_config,
    parse_config,
)
from smppgate.session import BindMode
from smppgate.text import DefaultAlphabet

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
        # each of these started and then failed every request (or every connect)
        (account(default_sender="S" * 16), "accounts[0].default_sender", "at most 11"),
        (
            account(default_sender="Шоп"),
            "accounts[0].default_sender",
            "cannot be shown as a sender",
        ),
        (account(encoding="binary"), "accounts[0].encoding", "got 'binary'"),
        (account(ca_file="/nonexistent/ca.pem"), "accounts[0].ca_file", "no readable file"),
        (account(reconnect_after_drop=-1), "accounts[0].reconnect_after_drop", "at least 0"),
        (account(reconnect_after_failure="90"), "accounts[0].reconnect_after_failure", "number"),
        (account(response_timeout=0), "accounts[0].response_timeout", "more than 0"),
        (account(max_mo_sets=0), "accounts[0].max_mo_sets", "must be 1..1000000"),
        (account(max_mo_sets="many"), "accounts[0].max_mo_sets", "whole number"),
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
    env = {
        "SMPPGATE_PASSWORD_A": "envpw",
        "SMPPGATE_API_KEYS": "key-one-0123456789, key-two-0123456789",
    }
    config = parse_config({**data, "http": {"listen": "0.0.0.0:80"}}, environ=env)
    assert config.accounts[0].password == "envpw"
    assert config.http.api_keys == ("key-one-0123456789", "key-two-0123456789")


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


def test_retention_settings() -> None:
    config = parse_config(account(), environ={})
    assert (config.store.retention_days, config.store.redact_text_after_days) == (30.0, 0.0)
    config = parse_config(
        {"store": {"retention_days": 0, "redact_text_after_days": 2, "retention_batch": 50},
         **account()},
        environ={},
    )  # fmt: skip
    assert (config.store.retention_days, config.store.redact_text_after_days) == (0.0, 2.0)
    assert config.store.retention_batch == 50
    with pytest.raises(ConfigError, match=r"store\.redact_text_after_days.*after retention_days"):
        parse_config(
            {"store": {"retention_days": 3, "redact_text_after_days": 5}, **account()},
            environ={},
        )
    with pytest.raises(ConfigError, match=r"store\.webhook_days.*at least"):
        parse_config({"store": {"webhook_days": -1}, **account()}, environ={})


def test_every_key_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.MULTILINE))
    for key in _ACCOUNT_KEYS | _CLIENT_KEYS | {"url", "lease_seconds", "listen", "max_batch",
                                "secret", "timeout", "max_attempts", "format", "level",
                                "enabled", "dlr_delay", "node_id", "shutdown_timeout",
                                "base", "unsupported", "generic_nack", "addresses",
                                "retry", "retention_days", "unmatched_receipt_days",
                                "webhook_days", "redact_text_after_days",
                                "retention_batch", "users", "tls_cert", "tls_key",
                                "receipt_keep", "failed_binds_before_lockout",
                                "lockout_seconds", "account", "max_binds",
                                "throughput", "class", "prefix"}:  # fmt: skip
        assert key in documented, f"{key} is missing from docs/configuration.md"


def test_account_timers_reach_the_client() -> None:
    from smppgate.service.runtime import client_account

    (acc,) = parse_config(
        account(profile="devino-promo", reconnect_after_drop=61, reconnect_after_failure=93),
        environ={},
    ).accounts
    client = client_account(acc)
    assert (client.drop_cooldown, client.failure_cooldown) == (61, 93)
    (fast,) = parse_config(
        account(
            profile="devino-promo",
            reconnect_after_drop=2,
            reconnect_after_failure=3,
            unsafe_below_platform_minimums=True,
        ),
        environ={},
    ).accounts
    assert (client_account(fast).drop_cooldown, client_account(fast).failure_cooldown) == (2, 3)
    (plain,) = parse_config(account(profile="devino-promo"), environ={}).accounts
    assert (client_account(plain).drop_cooldown, client_account(plain).failure_cooldown) == (60, 90)


def test_every_shared_account_setting_reaches_the_client() -> None:
    """client_account copies every setting the two account classes share by name (a setting
    added to both reaches the client without a line more), and builds tls from the flag."""
    from dataclasses import fields

    from smppgate.service.runtime import _SHARED_FIELDS, client_account

    (acc,) = parse_config(
        account(profile="devino-promo", window=7, query_rate=3, max_submit_rate=50),
        environ={},
    ).accounts
    client = client_account(acc)
    assert {"system_id", "window", "hosts", "tcp", "write_stall_after"} <= set(_SHARED_FIELDS)
    for name in _SHARED_FIELDS:
        assert getattr(client, name) == getattr(acc, name), name
    assert client.tls is None
    assert {f.name for f in fields(client)} - set(_SHARED_FIELDS) - {"tls"} == {
        "reconnect_jitter", "enquire_link_timeout", "bind_timeout", "connect_timeout",
        "unbind_timeout", "primary_return_after", "query_window",
    }  # fmt: skip


@pytest.mark.parametrize("profile", ["devino-promo", "devino-transactional", "devino-online"])
@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("reconnect_after_drop", 59, "page point 4: wait at least 60 s after a session drop"),
        ("reconnect_after_failure", 60, "page point 4: wait at least 90 s after a failed"),
        ("enquire_link_idle", 1, "page point 6: enquire_link only after 60 s"),
    ],
)
def test_devino_floors_refused_at_start_naming_key_and_rule(
    profile: str, key: str, value: float, rule: str
) -> None:
    with pytest.raises(ConfigError, match=rule) as caught:
        parse_config(account(profile=profile, **{key: value}), environ={})
    assert caught.value.key == f"accounts[0].{key}"
    # the smpp34 profile has no floors; a Devino one takes them with the loud override
    parse_config(account(profile="smpp34", **{key: value}), environ={})
    parse_config(
        account(profile=profile, unsafe_below_platform_minimums=True, **{key: value}), environ={}
    )


def test_devino_online_refuses_query_after_and_lists_its_host() -> None:
    data = account(profile="devino-online", query_after=600)
    del data["accounts"][0]["hosts"]  # type: ignore[index]
    with pytest.raises(ConfigError, match="no query_sm") as caught:
        parse_config(data, environ={})
    assert caught.value.key == "accounts[0].query_after"
    del data["accounts"][0]["query_after"]  # type: ignore[index]
    (acc,) = parse_config(data, environ={}).accounts
    assert [str(h) for h in acc.hosts] == ["smpp.devino.online:2775"]
    # query_after stays fine where query_sm exists
    parse_config(account(profile="devino-promo", query_after=600), environ={})


def test_source_ton_npi_and_default_alphabet_per_account() -> None:
    (acc,) = parse_config(account(profile="devino-promo"), environ={}).accounts
    assert acc.profile.addresses.source("79161234567") == (5, 1)
    assert acc.default_alphabet is DefaultAlphabet.GSM7
    (acc,) = parse_config(
        account(profile="devino-promo", source_ton=1, source_npi=1, default_alphabet="ascii"),
        environ={},
    ).accounts
    assert acc.profile.addresses.source("79161234567") == (1, 1)
    assert acc.profile.addresses.source("Devino") == (1, 1)
    assert acc.default_alphabet is DefaultAlphabet.ASCII
    assert acc.profile.min_validity == 60  # the rest of the profile is untouched
    with pytest.raises(ConfigError, match="set together") as caught:
        parse_config(account(source_ton=1), environ={})
    assert caught.value.key == "accounts[0].source_npi"
    with pytest.raises(ConfigError, match="gsm7, latin1, ascii") as caught:
        parse_config(account(default_alphabet="ebcdic"), environ={})
    assert caught.value.key == "accounts[0].default_alphabet"


def test_profiles_declared_in_toml_on_top_of_the_builtins() -> None:
    data = {
        "profiles": [
            {
                "name": "acme",
                "hosts": ["smsc.acme.example:2776"],
                "reconnect_after_drop": 5,
                "unsupported": ["submit_multi", "query_sm"],
                "default_alphabet": "latin1",
                "generic_nack": False,
                "addresses": {"alphanumeric": [5, 0], "short_code": [3, 1]},
                "retry": {
                    "queue_full_max_retries": 2,
                    "statuses": {"ESME_RSYSERR": "permanent", "0x45": "transient"},
                },
            },
            {"name": "acme-2", "base": "acme", "max_sessions": 2},
        ],
        "accounts": [
            {"name": "a", "profile": "acme-2", "system_id": "s", "password": "p"},
        ],
    }
    (acc,) = parse_config(data, environ={}).accounts
    p = acc.profile
    assert (p.name, p.max_sessions) == ("acme-2", 2)
    assert [str(h) for h in acc.hosts] == ["smsc.acme.example:2776"]
    assert (p.reconnect_after_drop, p.minimums) == (5, ())
    assert (p.supports(CommandId.QUERY_SM), p.supports(CommandId.DATA_SM)) == (False, True)
    assert acc.default_alphabet is DefaultAlphabet.LATIN1
    assert p.session_policy().answer_errors is False
    assert p.addresses.source("900") == (3, 1)
    assert p.retry.queue_full_max_retries == 2
    assert p.retry.classify(CommandStatus.ESME_RSYSERR) is RetryClass.PERMANENT
    assert p.retry.classify(0x45) is RetryClass.TRANSIENT


@pytest.mark.parametrize(
    ("profile", "key", "fragment"),
    [
        ({"base": "devino-promo", "reconnect_after_drop": 10}, "profiles[0].reconnect_after_drop",
         "page point 4"),
        ({"base": "devino-promo", "retry": {"queue_full_max_retries": 2}},
         "profiles[0].retry.queue_full_max_retries", "3..5"),
        ({"base": "nope"}, "profiles[0].base", "known profiles"),
        ({"unsupported": ["bind"]}, "profiles[0].unsupported[0]", "query_sm"),
        ({"retry": {"statuses": {"ESME_NOPE": "transient"}}},
         "profiles[0].retry.statuses.ESME_NOPE", "command_status"),
        ({"retry": {"statuses": {"ESME_RSYSERR": "later"}}},
         "profiles[0].retry.statuses.ESME_RSYSERR", "transient"),
        ({"addresses": {"source": [5]}}, "profiles[0].addresses.source", "[TON, NPI]"),
        ({"colour": "red"}, "profiles[0].colour", "unknown key"),
    ],
)  # fmt: skip
def test_declared_profile_errors_name_the_key(
    profile: dict[str, object], key: str, fragment: str
) -> None:
    data = {"profiles": [{"name": "x", **profile}], **account(profile="x")}
    with pytest.raises(ConfigError, match=re.escape(fragment)) as caught:
        parse_config(data, environ={})
    assert caught.value.key == key


def _server(**server: object) -> dict[str, object]:
    user = {"system_id": "app1", "password": "pw", "account": "a"}
    return {**BASE, "smpp_server": {"listen": "127.0.0.1:2776", "users": [user], **server}}


def _user(**user: object) -> dict[str, object]:
    return _server(users=[{"system_id": "app1", "password": "pw", "account": "a", **user}])


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        (_server(listen=None), "smpp_server.listen", "HOST:PORT"),
        ({**BASE, "smpp_server": {"users": []}}, "smpp_server.listen", "required"),
        (_server(users=[]), "smpp_server.users", "at least one"),
        (_server(tls_cert="c.pem"), "smpp_server.tls_cert", "together"),
        (_server(colour="red"), "smpp_server.colour", "unknown key"),
        (_user(account="nope"), "smpp_server.users[0].account", "unknown account"),
        (_user(password="123456789"), "smpp_server.users[0].password", "1..8"),
        (_user(system_id="x" * 16), "smpp_server.users[0].system_id", "1..15"),
        (_user(password_env="UNSET_VARIABLE"), "smpp_server.users[0].password_env", "unset"),
        (_user(max_binds=0), "smpp_server.users[0].max_binds", "1..1000"),
        (_user(throughput=0), "smpp_server.users[0].throughput", "at least"),
        (
            _server(users=[{"system_id": "a1", "password": "p", "account": "a"}] * 2),
            "smpp_server.users",
            "used twice",
        ),
    ],
)
def test_smpp_server_errors_name_the_key(data: dict[str, object], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert info.value.key == key
    assert fragment in str(info.value)


def test_smpp_server_users_and_defaults() -> None:
    config = parse_config(_user(password_env="APP1_PW", throughput=50), environ={"APP1_PW": "x"})
    server = config.smpp_server
    assert server.enabled
    assert str(server.listen) == "127.0.0.1:2776"
    (user,) = server.users
    assert (user.system_id, user.password, user.password_source) == ("app1", "x", "env:APP1_PW")
    assert (user.account, user.max_binds, user.throughput) == ("a", 8, 50.0)
    assert (server.window, server.receipt_keep, server.system_id) == (10, 259200.0, "smppgate")
    assert not parse_config(BASE, environ={}).smpp_server.enabled


# ------------------------------------------------------------------------ API clients

CLIENT_KEY = "client-key-0123456789"


def clients(*entries: dict[str, object], **top: object) -> dict[str, object]:
    return {**BASE, **top, "clients": list(entries)}


def test_clients_are_read_with_their_limits_and_the_default_client_added() -> None:
    config = parse_config(
        clients(
            {"name": "shop", "api_keys": [CLIENT_KEY], "accounts": ["a"], "rate": 50,
             "daily_quota": 200000, "default_class": "transactional"},
            http={"api_keys": ["http-key-0123456789"]},
        ),
        environ={},
    )  # fmt: skip
    shop, default = config.api_clients
    assert (shop.name, shop.accounts, shop.rate, shop.burst, shop.daily_quota) == (
        "shop", ("a",), 50.0, 50, 200000,
    )  # fmt: skip
    assert shop.default_class == "transactional"
    assert not shop.operator
    assert (default.name, default.api_keys, default.accounts, default.operator) == (
        "default", ("http-key-0123456789",), None, True,
    )  # fmt: skip


def test_with_only_client_keys_there_is_no_default_client() -> None:
    config = parse_config(clients({"name": "shop", "api_keys": [CLIENT_KEY]}), environ={})
    assert [c.name for c in config.api_clients] == ["shop"]
    # and a public listen address is allowed: requests must present a client's key
    parse_config(
        clients({"name": "shop", "api_keys": [CLIENT_KEY]}, http={"listen": "0.0.0.0:8080"}),
        environ={},
    )


def test_client_keys_may_come_from_the_environment() -> None:
    config = parse_config(
        clients({"name": "shop", "api_keys_env": "SHOP_KEYS"}),
        environ={"SHOP_KEYS": f"{CLIENT_KEY}, second-key-0123456789"},
    )
    assert config.api_clients[0].api_keys == (CLIENT_KEY, "second-key-0123456789")


@pytest.mark.parametrize(
    ("entries", "key", "fragment"),
    [
        ([{"name": "shop"}], "clients[0].api_keys", "at least one key"),
        ([{"name": "shop", "api_keys": ["short"]}], "clients[0].api_keys[0]", "at least 16"),
        ([{"name": "shop", "api_keys_env": "NOPE"}], "clients[0].api_keys_env", "unset"),
        ([{"name": "default", "api_keys": [CLIENT_KEY]}], "clients[0].name", "reserved"),
        ([{"name": "x y", "api_keys": [CLIENT_KEY]}], "clients[0].name", "letters"),
        ([{"name": "s", "api_keys": [CLIENT_KEY], "accounts": ["b"]}],
         "clients[0].accounts[0]", "no account 'b'"),
        ([{"name": "s", "api_keys": [CLIENT_KEY], "accounts": []}],
         "clients[0].accounts", "at least one"),
        ([{"name": "s", "api_keys": [CLIENT_KEY], "rate": 0}], "clients[0].rate", "at least"),
        ([{"name": "s", "api_keys": [CLIENT_KEY], "daily_quota": 0}],
         "clients[0].daily_quota", "1.."),
        ([{"name": "s", "api_keys": [CLIENT_KEY], "colour": "red"}],
         "clients[0].colour", "unknown key"),
        ([{"name": "s", "api_keys": [CLIENT_KEY]}, {"name": "s", "api_keys": ["o" * 16]}],
         "clients[1].name", "used twice"),
        ([{"name": "s", "api_keys": [CLIENT_KEY]}, {"name": "t", "api_keys": [CLIENT_KEY]}],
         "clients[1].api_keys", "also a key of 's'"),
    ],
)  # fmt: skip
def test_client_errors_name_the_key(entries: list[dict[str, object]], key: str,
                                    fragment: str) -> None:  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        parse_config(clients(*entries), environ={})
    assert raised.value.key == key
    assert fragment in str(raised.value)


def test_a_key_of_http_and_of_a_client_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"http\.api_keys: a key here is also a key of client"):
        parse_config(
            clients({"name": "s", "api_keys": [CLIENT_KEY]}, http={"api_keys": [CLIENT_KEY]}),
            environ={},
        )

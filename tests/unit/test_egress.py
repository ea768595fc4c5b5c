"""The webhook URL policy (SSRF): internal addresses in every spelling are refused, public
ones and explicitly allowed receivers pass; the config checks default_callback_url with it."""

from __future__ import annotations

import ipaddress

import pytest

from smppgate.service.config import ConfigError, parse_config
from smppgate.service.egress import EgressPolicy, Target, UrlRefusedError, literal_address

REFUSED = [
    "http://127.0.0.1/hook",
    "http://localhost:8081/x",
    "http://LOCALHOST./x",
    "http://api.localhost/x",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::ffff:7f00:1]/x",
    "http://[64:ff9b::a9fe:a9fe]/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/x",
    "http://172.16.3.4/x",
    "http://192.168.1.1/x",
    "http://100.64.0.1/x",
    "http://0.0.0.0:8080/x",
    "http://0/x",
    "http://2130706433/x",
    "http://127.1/x",
    "http://0x7f.1/x",
    "http://017700000001/x",
    "http://[fe80::1]/x",
    "http://[fc00::1]/x",
    "http://224.0.0.1/x",
    "http://user:pw@example.com/x",
    "http://user@example.com/x",
    "http://example.com:99999/x",
    "http://example.com:0/x",
    "http://[::1",
    "http://[zz]/",
    "ftp://example.com/x",
    "http:///x",
    "javascript:alert(1)",
    "http://exa mple.com/",
    "http://example.com/\x00",
    "http://example.com/\ud800",
    "http://" + "a" * 2050 + ".com/",
]

ALLOWED = [
    "https://example.com/hooks/sms",
    "http://example.com:8080/x?y=1",
    "http://93.184.216.34/x",
    "http://[2606:2800:220:1:248:1893:25c8:1946]/x",
    "https://hooks.example.com./x",
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_or_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlRefusedError):
        EgressPolicy().check_url(url)


@pytest.mark.parametrize("url", ALLOWED)
def test_public_urls_pass(url: str) -> None:
    EgressPolicy().check_url(url)


def test_numeric_forms_read_as_the_address_a_resolver_would_use() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    for host in ("127.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.0.0.1"):
        assert literal_address(host) == loopback
    assert literal_address("example.com") is None
    assert literal_address("cafe") is None


def test_allowlists_let_internal_receivers_through() -> None:
    hosts = EgressPolicy.parse_hosts(["hooks.internal", "10.1.2.3", "192.168.0.0/16", "[::1]"])
    policy = EgressPolicy(allow_hosts=hosts)
    policy.check_url("http://hooks.internal:9000/x")
    policy.check_url("http://HOOKS.INTERNAL/x")
    policy.check_url("http://10.1.2.3/x")
    policy.check_url("http://192.168.7.7/x")
    policy.check_url("http://[::1]:8080/x")
    with pytest.raises(UrlRefusedError):
        policy.check_url("http://10.1.2.4/x")
    with pytest.raises(UrlRefusedError):
        policy.check_url("http://127.0.0.1/x")
    assert policy.name_allowed("hooks.internal")
    assert not policy.name_allowed("other.internal")
    lab = EgressPolicy(allow_private=True)
    lab.check_url("http://127.0.0.1:8080/x")
    lab.check_url("http://169.254.169.254/x")
    with pytest.raises(UrlRefusedError):
        lab.check_url("http://user:pw@127.0.0.1/x")  # credentials stay refused


@pytest.mark.parametrize("entry", ["", "http://x", "10.0.0.0/33", "a b"])
def test_bad_allowlist_entries_are_config_errors(entry: str) -> None:
    with pytest.raises(ConfigError, match=r"webhooks\.allow_hosts"):
        parse_config({"webhooks": {"allow_hosts": [entry]}, "accounts": [ACCOUNT]}, environ={})


ACCOUNT = {"name": "a", "system_id": "a", "password": "pw", "hosts": ["127.0.0.1:2775"]}


def test_default_callback_url_is_checked_at_load() -> None:
    account = {**ACCOUNT, "default_callback_url": "http://127.0.0.1:8081/hook"}
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.default_callback_url") as info:
        parse_config({"accounts": [account]}, environ={})
    assert "allow_hosts" in str(info.value)
    allowed = parse_config(
        {"webhooks": {"allow_hosts": ["127.0.0.1"]}, "accounts": [account]}, environ={}
    )
    assert allowed.accounts[0].default_callback_url == "http://127.0.0.1:8081/hook"
    lab = parse_config({"webhooks": {"allow_private": True}, "accounts": [account]}, environ={})
    assert lab.webhooks.policy.allow_private


def test_remembered_answers_belong_to_their_policy() -> None:
    # check_url remembers its answers (a batch checks one callback_url per message): a
    # refusal stays a refusal, raised afresh each time, and another policy gets its own answer
    strict, listed = EgressPolicy(), EgressPolicy(allow_hosts=("10.0.0.0/8",))
    url = "http://10.1.2.3:8080/hook"
    refusals = []
    for _ in range(2):
        with pytest.raises(UrlRefusedError, match="allow_hosts") as refused:
            strict.check_url(url)
        refusals.append(refused.value)
        assert listed.check_url(url) == Target("http", "10.1.2.3", 8080)
    assert refusals[0] is not refusals[1]
    assert EgressPolicy(allow_private=True).check_url(url).key == "10.1.2.3:8080"
    with pytest.raises(UrlRefusedError, match="2048"):
        listed.check_url("http://example.com/" + "a" * 2048)

"""What a configuration reload applies and what it keeps (service/reload.py)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from smppgate.service.config import ConfigError, GatewayConfig, parse_config
from smppgate.service.metrics import Metrics
from smppgate.service.reload import LiveConfig, Reloader, plan_reload

BASE: dict[str, Any] = {
    "http": {"api_keys": ["old-key-0123456789"], "max_batch": 1000},
    "webhooks": {"secret": "s1"},
    "store": {"url": "sqlite:/tmp/x.db", "retention_days": 30},
    "accounts": [
        {"name": "promo", "system_id": "promo", "password": "pw", "hosts": ["127.0.0.1:2775"],
         "default_sender": "Shop"},
        {"name": "otp", "system_id": "otp", "password": "pw", "hosts": ["127.0.0.1:2775"]},
    ],
}  # fmt: skip


def config(**changes: Any) -> GatewayConfig:
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = data
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return parse_config(data, environ={})


def test_keys_webhooks_limits_retention_and_account_defaults_apply() -> None:
    new = config(
        http__api_keys=["new-key-0123456789"],
        http__max_batch=10,
        webhooks__secret="s2",
        store__retention_days=7,
        accounts__0__default_sender="Store",
    )
    plan = plan_reload(config(), new)
    assert plan.refused == ()
    assert set(plan.applied) == {
        "http.api_keys",
        "http.max_batch",
        "webhooks.secret",
        "store.retention_days",
        "accounts[promo].default_sender",
    }
    assert plan.config == new


def test_session_settings_apply_and_name_the_rebuild() -> None:
    """The gateway rebuilds that account's sessions (tests/integration/test_reload_rebuild.py)."""
    running = config()
    new = config(
        accounts__1__hosts=["127.0.0.1:2776"],
        accounts__1__default_sender="Codes",
        http__api_keys=["new-key-0123456789"],
    )
    plan = plan_reload(running, new)
    assert plan.refused == ()
    assert set(plan.applied) == {
        "http.api_keys",
        "accounts[otp].hosts",
        "accounts[otp].default_sender",
        "accounts[otp]: sessions rebuilt",
    }
    assert plan.config == new


def test_max_submit_rate_applies_without_a_rebuild() -> None:
    plan = plan_reload(config(), config(accounts__0__max_submit_rate=50))
    assert plan.applied == ("accounts[promo].max_submit_rate",)


def test_restart_only_settings_and_account_set_changes_are_refused() -> None:
    running = config()
    data = copy.deepcopy(BASE)
    data["store"]["url"] = "sqlite:/tmp/other.db"
    data["accounts"] = [data["accounts"][0], {**data["accounts"][1], "name": "otp2"}]
    plan = plan_reload(running, parse_config(data, environ={}))
    refused = "\n".join(plan.refused)
    assert "store.url: needs a restart" in refused
    assert "accounts[otp]: removed from the file" in refused
    assert "accounts[otp2]: new account" in refused
    assert plan.config.store.url == running.store.url
    assert [a.name for a in plan.config.accounts] == ["promo", "otp"]


def test_reloader_keeps_the_running_config_when_the_file_is_bad(
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = config()
    live = LiveConfig(running)
    seen: list[GatewayConfig] = []
    metrics = Metrics()

    def bad() -> GatewayConfig:
        raise ConfigError("http.max_batch", "must be 1..1000, got 0")

    with caplog.at_level(logging.ERROR, "smppgate.reload"):
        assert Reloader(live, bad, [seen.append], metrics).reload() is None
    assert live.current is running
    assert seen == []
    assert "reload refused, the running configuration stays: http.max_batch" in caplog.text
    assert metrics.reloads_total.get("refused") == 1
    assert metrics.last_reload_ok.get() == 0

    good = config(http__api_keys=["k2-0123456789abcdef"])
    plan = Reloader(live, lambda: good, [seen.append], metrics).reload()
    assert plan is not None
    assert live.current == good
    assert seen == [good]
    assert metrics.last_reload_ok.get() == 1


def test_server_and_client_settings_built_at_start_need_a_restart() -> None:
    """Only the settings the running parts read at each use are applied: the webhook client's
    timeout and pool, the HTTP server's timeouts are built at start."""
    new = config(webhooks__timeout=3, webhooks__secret="s2")
    plan = plan_reload(config(), new)
    assert plan.refused == ("webhooks.timeout: needs a restart",)
    assert plan.applied == ("webhooks.secret",)
    assert plan.config.webhooks.timeout == config().webhooks.timeout


CLIENT = {"name": "shop", "api_keys": ["shop-key-0123456789"], "accounts": ["otp"]}


def test_clients_and_routes_apply_from_the_next_request() -> None:
    running = config()
    new = config(clients=[CLIENT], routes=[{"class": "transactional", "account": "otp"}])
    plan = plan_reload(running, new)
    assert "clients" in plan.applied
    assert "routes" in plan.applied
    assert plan.config.routes == new.routes
    assert [c.name for c in plan.config.api_clients] == ["shop", "default"]


def test_clients_and_routes_naming_an_account_not_running_are_kept() -> None:
    running = config()
    extra = {"name": "kz", "system_id": "kz", "password": "pw", "hosts": ["127.0.0.1:2775"]}
    new = config(accounts=[*BASE["accounts"], extra], routes=[{"prefix": "77", "account": "kz"}])
    plan = plan_reload(running, new)
    assert plan.config.routes == ()
    assert "routes" not in plan.applied
    assert any(line.startswith("routes: name account(s) not running (kz)") for line in plan.refused)


def test_body_timeout_and_allowed_hosts_apply() -> None:
    """Both are read per request (api/routes.py, api/app.py), so a reload applies them."""
    new = config(http__body_timeout=5, http__allowed_hosts=["gw.example.com"])
    plan = plan_reload(config(), new)
    assert plan.refused == ()
    assert set(plan.applied) == {"http.body_timeout", "http.allowed_hosts"}
    assert plan.config.http.allowed_hosts == ("gw.example.com",)


def test_opt_keywords_apply_from_the_next_mo() -> None:
    new = config(accounts__0__opt_out_keywords=["UNSUBSCRIBE"], accounts__1__opt_in_keywords=[])
    plan = plan_reload(config(), new)
    assert plan.refused == ()
    assert set(plan.applied) == {
        "accounts[promo].opt_out_keywords",
        "accounts[otp].opt_in_keywords",
    }
    assert plan.config.accounts[0].opt_out_keywords == ("UNSUBSCRIBE",)

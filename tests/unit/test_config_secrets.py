"""Secrets at rest and in errors: short API keys refused, a secrets file others can read
warned about, SQLite files created for their owner only, store credentials never printed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from smppgate.service.config import ConfigError, load_config, parse_config
from smppgate.store import StoreError, open_store, redacted_url

ACCOUNT = {"name": "a", "system_id": "a", "password": "pw", "hosts": ["127.0.0.1:2775"]}


@pytest.mark.parametrize("key", ["short", "x" * 15, "a" * 16 + "\u00e9"])
def test_short_or_odd_api_keys_are_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=r"api_keys.*at least 16"):
        parse_config({"http": {"api_keys": [key]}, "accounts": [ACCOUNT]}, environ={})
    with pytest.raises(ConfigError, match="SMPPGATE_API_KEYS"):
        parse_config({"accounts": [ACCOUNT]}, environ={"SMPPGATE_API_KEYS": key})


def test_a_key_of_16_characters_is_enough() -> None:
    config = parse_config({"http": {"api_keys": ["k" * 16]}, "accounts": [ACCOUNT]}, environ={})
    assert config.http.api_keys == ("k" * 16,)


def _write(path: Path, mode: int, secret: bool) -> Path:
    key = 'api_keys = ["0123456789abcdef"]' if secret else ""
    path.write_text(
        f'[http]\n{key}\n[[accounts]]\nname = "a"\nsystem_id = "a"\n'
        'hosts = ["127.0.0.1:2775"]\npassword_env = "PW"\n',
        encoding="utf-8",
    )
    path.chmod(mode)
    return path


def test_a_secrets_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    readable = load_config(_write(tmp_path / "open.toml", 0o644, True), {"PW": "x"})
    assert len(readable.warnings) == 1
    assert "http.api_keys" in readable.warnings[0]
    assert "chmod 600" in readable.warnings[0]
    private = load_config(_write(tmp_path / "private.toml", 0o600, True), {"PW": "x"})
    assert private.warnings == ()
    no_secrets = load_config(_write(tmp_path / "plain.toml", 0o644, False), {"PW": "x"})
    assert no_secrets.warnings == ()


async def test_sqlite_files_are_created_for_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "smppgate.db"
    async with open_store(f"sqlite://{path}") as store:
        await store.ping()
        for file in path.parent.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_store_url_credentials_are_never_printed() -> None:
    url = "postgresql://gate:s3cr%21t-pw@db.example:5432/smppgate"
    assert redacted_url(url) == "postgresql://gate:***@db.example:5432/smppgate"
    assert redacted_url("postgresql://db.example/x") == "postgresql://db.example/x"
    with pytest.raises(ConfigError) as info:
        parse_config({"store": {"url": "mysql://u:hunter2@h/db"}, "accounts": [ACCOUNT]})
    assert "hunter2" not in str(info.value)


@pytest.mark.postgres
async def test_a_failed_connect_does_not_print_the_password() -> None:
    # nothing listens on port 1 of 127.0.0.1: the connect fails at once
    url = "postgresql://gate:hunter2-secret@127.0.0.1:1/smppgate"
    with pytest.raises(StoreError) as info:
        await open_store(url)
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(info.value.__cause__ or "")

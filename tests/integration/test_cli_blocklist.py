"""`smppgate blocklist add|remove|list|import`, run in-process against a real store (SQLite
and PostgreSQL); and send-bulk's count of rows to listed numbers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from smppgate.cli.main import main
from smppgate.store import BlockEntry, BlockSource, MessageState, StoredMessage, open_store


@pytest.fixture
def config_file(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "smppgate.toml"
    account = 'system_id = "s"\npassword = "pw"\nhosts = ["127.0.0.1:2775"]\n'
    path.write_text(
        f'[store]\nurl = "{store_url}"\n\n[[accounts]]\nname = "promo"\n{account}'
        f'default_sender = "Shop"\n\n[[accounts]]\nname = "otp"\n{account}',
        encoding="utf-8",
    )
    return path


def entries(store_url: str) -> list[BlockEntry]:
    async def fetch() -> list[BlockEntry]:
        async with open_store(store_url) as store:
            return list((await store.list_blocklist(limit=1000)).items)

    return asyncio.run(fetch())


def messages(store_url: str) -> list[StoredMessage]:
    async def fetch() -> list[StoredMessage]:
        async with open_store(store_url) as store:
            return list((await store.list_messages(limit=1000)).items)

    return asyncio.run(fetch())


LIST = """number,reason
+7 900 123-45-67,asked by phone
8900abc,typo
8 (900) 123 45 68

79001234567,again
79001234569,too,many
"""


def test_import_adds_the_valid_rows_and_reports_the_others_by_line(
    config_file: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "optout.csv"
    csv_file.write_text(LIST, encoding="utf-8")
    args = ["blocklist", "import", str(csv_file), "--config", str(config_file)]
    assert main([*args, "--account", "otp", "--reason", "campaign 7", "--batch-size", "1"]) == 1
    out, err = capsys.readouterr()
    assert "added 2 number(s) to the blocklist of account otp" in out
    assert "already listed: 1" in out  # the file names +79001234567 twice
    assert "line 3: number: letters are not part of a number: 'a'" in out
    assert "line 7: expected the columns number[,reason], got 3 columns" in out
    # send-bulk's progress display: plain lines when not on a terminal
    assert "\r" not in err
    assert "blocklist import: 100% 4/4 added 2 rejected 2" in err
    assert [(e.account, e.number, e.source, e.reason, e.added_by) for e in entries(store_url)] == [
        ("otp", "79001234567", BlockSource.IMPORT, "asked by phone", "cli"),
        ("otp", "79001234568", BlockSource.IMPORT, "campaign 7", "cli"),
    ]
    # again, as JSON: nothing added twice, every rejected row listed
    assert main([*args, "--account", "otp", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert (body["account"], body["rows"], body["added"], body["already_listed"]) == (
        "otp", 5, 0, 3,
    )  # fmt: skip
    assert [r["line"] for r in body["rejected"]] == [3, 7]


def test_add_list_remove(
    config_file: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = ["--config", str(config_file)]
    assert main(["blocklist", "add", "+79001234567", "--reason", "complaint", *cfg]) == 0
    assert "added: 79001234567  account promo  cli by cli" in capsys.readouterr().out
    assert main(["blocklist", "add", "79001234567", *cfg, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "complaint"  # already listed
    assert main(["blocklist", "add", "79001234568", "--account", "otp", *cfg]) == 0
    capsys.readouterr()
    assert main(["blocklist", "list", *cfg, "--json"]) == 0
    assert [e["number"] for e in json.loads(capsys.readouterr().out)] == ["79001234567"]
    assert main(["blocklist", "list", "--all-accounts", *cfg]) == 0
    assert "2 entries" in capsys.readouterr().out
    assert main(["blocklist", "remove", "79001234567", *cfg]) == 0
    assert "removed: 79001234567" in capsys.readouterr().out
    assert main(["blocklist", "remove", "79001234567", *cfg]) == 1
    assert "79001234567 in account promo is not listed" in capsys.readouterr().err
    assert main(["blocklist", "add", "79001234567", "--account", "nope", *cfg]) == 2
    assert "unknown account 'nope'" in capsys.readouterr().err


def test_send_bulk_counts_rows_to_listed_numbers_as_blocked(
    config_file: Path, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = ["--config", str(config_file)]
    assert main(["blocklist", "add", "79001234567", *cfg]) == 0
    csv_file = tmp_path / "campaign.csv"
    csv_file.write_text("79001234567,hi\n79001234568,hi\n", encoding="utf-8")
    assert main(["send-bulk", str(csv_file), "--account", "promo", *cfg, "--json"]) == 0
    body = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (body["queued"], body["blocked"]) == (1, 1)
    states = {m.destination: m.state for m in messages(store_url)}
    assert states == {"79001234567": MessageState.BLOCKED, "79001234568": MessageState.QUEUED}

"""`smppgate migrate`, `send-bulk` and `status`, run in-process against an SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smppgate.cli.main import main
from smppgate.store import MessageState, StoredMessage, open_store


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "smppgate.toml"
    path.write_text(
        f"""
[store]
url = "sqlite://{tmp_path}/gate.db"

[[accounts]]
name = "promo"
system_id = "promo"
password = "pw"
hosts = ["127.0.0.1:2775"]
default_sender = "Shop"
max_parts = 2
""",
        encoding="utf-8",
    )
    return path


def stored(config_file: Path) -> list[StoredMessage]:
    url = f"sqlite://{config_file.parent}/gate.db"

    async def fetch() -> list[StoredMessage]:
        async with open_store(url) as store:
            return list((await store.list_messages(limit=1000)).items)

    return asyncio.run(fetch())


def test_migrate_applies_then_is_up_to_date(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--config", str(config_file)]) == 0
    assert "applied migrations 1" in capsys.readouterr().out
    assert main(["migrate", "--config", str(config_file)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_migrate_with_bad_config_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[store]\nurl = "mysql://x"\n[[accounts]]\nname = "a"\n', encoding="utf-8")
    assert main(["migrate", "--config", str(bad)]) == 2
    assert "store.url" in capsys.readouterr().err


CAMPAIGN = """to,text,from
+79001234567,Hello one,
79001234568,"Hello, two",Promo
not-a-number,Hello three,

79001234569,"{long}",
79001234570,"multi
line text",79001112233
"""


def test_send_bulk_queues_valid_rows_and_reports_the_rest(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "campaign.csv"
    csv_file.write_text(CAMPAIGN.format(long="x" * 400), encoding="utf-8")
    code = main(["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file),
                 "--batch-size", "2"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert "queued 3 message(s), 3 part(s), for account promo" in out
    assert "rejected: 2" in out
    assert (
        "line 4: to: letters are not part of a number: 'n' at position 1 of 'not-a-number'" in out
    )
    assert "line 6: text: too long" in out
    # not a terminal (captured): plain progress lines, no carriage returns
    assert "\r" not in err
    assert "send-bulk: 100% 5/5" in err
    messages = stored(config_file)
    assert [(m.destination, m.source, m.text) for m in messages] == [
        ("79001234567", "Shop", "Hello one"),
        ("79001234568", "Promo", "Hello, two"),
        ("79001234570", "79001112233", "multi\nline text"),
    ]
    assert all(m.state is MessageState.QUEUED for m in messages)

    # the same file again queues nothing twice
    code = main(["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file)])
    out, _ = capsys.readouterr()
    assert "queued 0 message(s)" in out
    assert "already queued by an earlier run: 3" in out
    assert len(stored(config_file)) == 3


def test_send_bulk_without_header_and_with_default_sender(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "plain.csv"
    csv_file.write_text("79001234567,hi\n79001234568,there\n", encoding="utf-8")
    code = main(["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file),
                 "--from", "Brand"])  # fmt: skip
    assert code == 0
    assert "queued 2 message(s)" in capsys.readouterr().out
    assert {m.source for m in stored(config_file)} == {"Brand"}


def test_send_bulk_queues_at_the_given_priority(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "plain.csv"
    csv_file.write_text("79001234567,hi\n", encoding="utf-8")
    args = ["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file)]
    assert main([*args, "--priority", "10"]) == 2
    assert "--priority must be 0..9" in capsys.readouterr().err
    assert main([*args, "--priority", "3"]) == 0
    assert [m.priority for m in stored(config_file)] == [3]


def test_send_bulk_records_the_class_and_its_client(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "plain.csv"
    csv_file.write_text("79001234567,hi\n", encoding="utf-8")
    args = ["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file)]
    assert main([*args, "--class", "spam"]) == 1  # the row is reported, nothing queued
    assert "class: unknown class 'spam'" in capsys.readouterr().out
    assert main([*args, "--class", "promo"]) == 0
    assert [(m.traffic_class, m.client) for m in stored(config_file)] == [("promo", "cli")]


def test_send_bulk_refuses_unknown_account(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "plain.csv"
    csv_file.write_text("79001234567,hi\n", encoding="utf-8")
    code = main(["send-bulk", str(csv_file), "--account", "nope", "--config", str(config_file)])
    assert code == 2
    assert "unknown account 'nope'" in capsys.readouterr().err


def test_status_shows_a_message(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "one.csv"
    csv_file.write_text("79001234567," + "y" * 200 + "\n", encoding="utf-8")
    main(["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file)])
    capsys.readouterr()
    (message,) = stored(config_file)

    assert main(["status", message.id, "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert f"message {message.id}  queued" in out
    assert "to 79001234567" in out
    assert "2 part(s)" in out
    assert "    1  planned" in out
    assert "    2  planned" in out

    assert main(["status", message.id, "--config", str(config_file), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["id"] == message.id
    assert [p["seq"] for p in body["parts"]] == [1, 2]

    assert main(["status", "01NOSUCHMESSAGE", "--config", str(config_file)]) == 1
    assert "no message 01NOSUCHMESSAGE" in capsys.readouterr().err


def test_send_bulk_json_summary_lists_every_rejected_row(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "campaign.csv"
    csv_file.write_text(CAMPAIGN.format(long="x" * 400), encoding="utf-8")
    args = ["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file)]
    assert main([*args, "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["queued"] == 3
    assert body["rows"] == 5
    assert [r["line"] for r in body["rejected"]] == [4, 6]
    assert body["rejected"][0]["reason"].startswith("to: letters are not part of a number")
    assert main([*args, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["already_queued"] == 3


def test_send_bulk_reads_numbers_as_people_type_them(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Numbers as a spreadsheet holds them are queued in international form; a row that is no
    number is reported with its line, the value as written and what is wrong with it."""
    csv_file = tmp_path / "typed.csv"
    csv_file.write_text(
        "to,text\n"
        '"8 (900) 123-45-67",one\n'
        "+7 900 123 45 68,two\n"
        "8-900-123-45-69,three\n"
        "00 44 20 7946 0958,four\n"
        "8 900 12,five\n"
        "+7 900 123 45 67 8,six\n"
        "8 9OO 123 45 67,seven\n",
        encoding="utf-8",
    )
    code = main(["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file)])
    out = capsys.readouterr().out
    assert code == 1
    assert "queued 4 message(s)" in out
    assert "line 6: to: '8 900 12' is neither the trunk prefix 8 and a national number" in out
    assert "line 7: to: 10 digits follow +7, '+7 900 123 45 67 8' has 11" in out
    assert "line 8: to: letters are not part of a number: 'O' at position 4 of '8 9OO" in out
    assert sorted(m.destination for m in stored(config_file)) == [
        "442079460958", "79001234567", "79001234568", "79001234569"
    ]  # fmt: skip


def test_commands_read_the_config_named_by_smppgate_config(
    config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMPPGATE_CONFIG", str(config_file))
    assert main(["migrate"]) == 0
    assert "applied migrations" in capsys.readouterr().out
    assert (config_file.parent / "gate.db").exists()
    assert main(["check-config", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["source"] == str(config_file)
    assert [a["name"] for a in body["accounts"]] == ["promo"]


def test_send_bulk_schedules_with_send_at(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "plain.csv"
    csv_file.write_text("79001234567,hi\n79001234568,hi\n", encoding="utf-8")
    args = ["send-bulk", str(csv_file), "--account", "promo", "--config", str(config_file)]
    for bad, says in (
        ("2030-01-01T09:00:00", "no UTC offset"),
        ("2001-01-01T09:00:00Z", "in the past"),
        ("2999-01-01T09:00:00Z", "at most 30 days ahead"),
    ):
        assert main([*args, "--send-at", bad]) == 2
        assert says in capsys.readouterr().err
    assert stored(config_file) == []
    send_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    assert main([*args, "--send-at", send_at.isoformat(), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["queued"], report["send_at"]) == (2, send_at.isoformat())
    messages = stored(config_file)
    assert {m.state for m in messages} == {MessageState.SCHEDULED}
    assert {m.next_attempt_at for m in messages} == {send_at.timestamp()}

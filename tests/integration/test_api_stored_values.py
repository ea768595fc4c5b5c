"""The API never answers 500 because of what is stored (issue 21): a message whose stored
time is no date is logged as a bug with its id and shown with null there; the other messages
of the answer render as usual. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from smppgate.store import Store

from ..raw_sql import raw_execute
from .test_api_messages import SMS, Gate, gateway_config, start

#: finite (the store's guards let it through) but beyond year 9999: no date can show it
FAR = "1e20"


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    async for g in start(store, gateway_config()):
        yield g


async def test_a_corrupted_row_is_logged_and_the_rest_still_renders(
    gate: Gate, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, healthy = await gate.post("/v1/messages", SMS)
    _, broken = await gate.post("/v1/messages", {**SMS, "to": "+79001234568"})
    bad = broken["id"]
    await raw_execute(
        store_url,
        f"UPDATE messages SET updated_at = {FAR} WHERE id = '{bad}'",
        f"UPDATE parts SET sent_at = -{FAR}, status = 'sent' WHERE message_id = '{bad}'",
        "INSERT INTO attempts (message_id, seq, at, node_id, session_id, host, outcome)"
        f" VALUES ('{bad}', 1, {FAR}, 'n', '', '', 'lease_expired')",
    )
    caplog.set_level(logging.ERROR, "smppgate.api")

    status, detail = await gate.get(f"/v1/messages/{bad}")
    assert status == 200
    assert detail["id"] == bad
    assert detail["updated_at"] is None
    assert detail["created_at"] is not None  # what can be shown is shown
    assert detail["parts"][0]["sent_at"] is None
    assert [a["at"] for a in detail["attempts"]] == [None]
    assert any(bad in r.getMessage() and "a bug" in r.getMessage() for r in caplog.records)

    status, page = await gate.get("/v1/messages")
    assert status == 200
    items = {item["id"]: item for item in page["items"]}
    assert set(items) == {healthy["id"], bad}
    assert items[bad]["updated_at"] is None
    assert items[healthy["id"]]["updated_at"] is not None

    status, good = await gate.get(f"/v1/messages/{healthy['id']}")
    assert status == 200
    assert good["updated_at"] is not None

"""send_at and DELETE /v1/messages/{id} over a real socket and a real store (SQLite and
PostgreSQL): scheduled messages show when they go, cancelling takes queued and scheduled
messages, and says why it refuses the others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from smppgate.service.config import parse_config
from smppgate.service.webhooks import WebhookOutbox
from smppgate.store import MessageState, PartAccepted, Store, SubmitContext

from .test_api_messages import AUTH, NOW, SMS, Gate, gateway_config, start

HOOK = "http://hooks.example.test/status"


async def delete(gate: Gate, message_id: str, headers: dict[str, str] = AUTH) -> tuple[int, Any]:
    async with gate.client.delete(f"/v1/messages/{message_id}", headers=headers) as r:
        return r.status, await r.json()


@pytest.fixture
async def gate(store: Store) -> AsyncIterator[Gate]:
    config = gateway_config()
    accounts = tuple(replace(a, default_callback_url=HOOK) for a in config.accounts)
    config = replace(config, accounts=accounts)
    store.notifier = WebhookOutbox(config, store, clock=lambda: NOW)
    async for g in start(store, config):
        yield g


async def test_send_at_schedules_and_the_message_says_when(gate: Gate) -> None:
    # NOW is 2027-01-15 08:00 UTC; an hour later in Moscow's offset
    status, body = await gate.post("/v1/messages", {**SMS, "send_at": "2027-01-15T12:00:00+03:00"})
    assert status == 202
    assert body["status"] == "scheduled"
    status, message = await gate.get(f"/v1/messages/{body['id']}")
    assert (message["status"], message["send_at"]) == ("scheduled", "2027-01-15T09:00:00.000Z")
    status, page = await gate.get("/v1/messages?status=scheduled")
    assert [m["id"] for m in page["items"]] == [body["id"]]
    # without send_at: queued, no send_at
    status, now = await gate.post("/v1/messages", SMS)
    status, message = await gate.get(f"/v1/messages/{now['id']}")
    assert (message["status"], message["send_at"]) == ("queued", None)


@pytest.mark.parametrize(
    ("send_at", "says"),
    [
        ("2027-01-15T12:00:00", "no UTC offset"),
        ("next tuesday", "RFC 3339"),
        ("2027-03-15T12:00:00Z", "at most 30 days ahead"),
        ("2027-01-14T12:00:00Z", "in the past"),
    ],
)
async def test_bad_send_at_is_422_saying_what_to_fix(gate: Gate, send_at: str, says: str) -> None:
    status, body = await gate.post("/v1/messages", {**SMS, "send_at": send_at})
    assert status == 422
    assert body["error"]["field"] == "send_at"
    assert says in body["error"]["message"]


async def test_batch_send_at_per_message(gate: Gate) -> None:
    later = {**SMS, "send_at": "2027-01-15T09:00:00Z"}
    status, body = await gate.post("/v1/messages/batch", {"messages": [SMS, later]})
    assert status == 202
    assert [m["status"] for m in body["messages"]] == ["queued", "scheduled"]
    status, body = await gate.post(
        "/v1/messages/batch", {"messages": [SMS, {**SMS, "send_at": "soon"}]}
    )
    assert status == 422
    assert body["error"]["field"] == "messages[1].send_at"


async def test_delete_cancels_queued_and_scheduled_messages_with_their_webhook(gate: Gate) -> None:
    ids = []
    for body in (SMS, {**SMS, "send_at": "2027-01-16T08:00:00Z"}):
        status, accepted = await gate.post("/v1/messages", body)
        ids.append(accepted["id"])
    for message_id in ids:
        status, message = await delete(gate, message_id)
        assert status == 200
        assert message["status"] == "cancelled"
        assert message["send_at"] is None
        assert [a["outcome"] for a in message["attempts"]] == ["cancelled"]
        # again: still cancelled, still 200
        status, again = await delete(gate, message_id)
        assert (status, again["status"]) == (200, "cancelled")
    jobs = await gate.store.claim_webhooks("n", 10, NOW + 1, 30)
    assert sorted(j.message_id or "" for j in jobs) == sorted(ids)
    assert all(j.event == "message.status" and j.url == HOOK for j in jobs)
    assert all('"status":"cancelled"' in j.payload for j in jobs)
    assert all('"final":true' in j.payload for j in jobs)
    # a cancelled message is never claimed
    assert await gate.store.release_scheduled(NOW + 86400) == 0
    assert await gate.store.claim("n", 10, NOW + 86400, 30) == []


async def test_delete_of_a_message_on_its_way_is_409_saying_why(gate: Gate) -> None:
    status, accepted = await gate.post("/v1/messages", SMS)
    message_id = accepted["id"]
    assert len(await gate.store.claim("n", 1, NOW, 30)) == 1
    status, body = await delete(gate, message_id)
    assert status == 409
    assert (body["code"], body["status"], body["message_status"]) == (
        "not_cancellable",
        409,
        "sending",
    )
    assert body["title"] == "Message can no longer be cancelled"
    assert body["error"]["message_status"] == "sending"  # the 0.x body too
    assert "being sent right now" in body["detail"]
    await gate.store.mark_parts_sent([(message_id, 1)], NOW)
    await gate.store.record_outcomes(
        [PartAccepted(message_id, 1, "77", frozenset({"77"}), NOW, SubmitContext())]
    )
    status, body = await delete(gate, message_id)
    assert (status, body["message_status"]) == (409, "submitted")
    assert "already submitted to the SMSC" in body["detail"]
    status, message = await gate.get(f"/v1/messages/{message_id}")
    assert message["status"] == "submitted"
    status, body = await delete(gate, "nosuchid")
    assert status == 404


async def test_a_client_cancels_only_its_own_messages(store: Store) -> None:
    data = {
        "http": {"api_keys": ["operator-key-0123456789abcdef"]},
        "accounts": [
            {"name": "promo", "system_id": "p", "password": "pw",
             "hosts": ["127.0.0.1:2775"], "default_sender": "Shop"}
        ],
        "clients": [
            {"name": "shop", "api_keys": ["shop-key-0123456789abcdef"]},
            {"name": "crm", "api_keys": ["crm-key-0123456789abcdef"]},
        ],
    }  # fmt: skip
    async for gate in start(store, parse_config(data, environ={})):
        shop = {"Authorization": "Bearer shop-key-0123456789abcdef"}
        crm = {"Authorization": "Bearer crm-key-0123456789abcdef"}
        async with gate.client.post("/v1/messages", json=SMS, headers=shop) as r:
            message_id = (await r.json())["id"]
        assert (await delete(gate, message_id, crm))[0] == 404
        assert (await gate.store.get_message(message_id)).message.state is MessageState.QUEUED
        assert (await delete(gate, message_id, shop))[0] == 200

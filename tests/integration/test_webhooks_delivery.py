"""WebhookSender against real receivers on 127.0.0.1 and a real store (SQLite file; the
PostgreSQL store too where SMPPGATE_TEST_POSTGRES_URL names a server)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.intake import Intake, MessageRequest
from smppgate.service.metrics import Metrics
from smppgate.service.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookOutbox,
    WebhookSender,
    verify,
)
from smppgate.store import NewInbound, Store, WebhookState, open_store

SECRET = "webhook-secret"


@dataclass
class Receiver:
    """A webhook endpoint: answers ``status`` and records every request."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    target: int = 1
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        if len(self.received) >= self.target:
            self.reached.set()
        return web.Response(status=self.status, text="ok")

    async def wait(self, count: int) -> None:
        self.target = count
        if len(self.received) >= count:
            return
        self.reached.clear()
        await asyncio.wait_for(self.reached.wait(), 10)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/hook", recv.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recv.url = str(server.make_url("/hook"))
    try:
        yield recv
    finally:
        await server.close()


async def settled(store: Store, job_id: int) -> None:
    """Until the job is no longer pending (the sender works in the background)."""
    while (await store.get_webhook(job_id)).state is WebhookState.PENDING:  # noqa: ASYNC110  (a store row has no event to await)
        await asyncio.sleep(0.01)


def signed(headers: dict[str, str], body: bytes) -> bool:
    return verify(
        SECRET, headers[DELIVERY_HEADER], headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER]
    )


def make_config(url: str, **webhooks: object) -> GatewayConfig:
    config = parse_config(
        {
            "webhooks": {"secret": SECRET, "allow_hosts": ["127.0.0.1"]},
            "accounts": [
                {
                    "name": "promo",
                    "system_id": "promo",
                    "password": "pw",
                    "hosts": ["127.0.0.1:2775"],
                    "default_sender": "Shop",
                    "default_callback_url": url,
                },
            ],
        },
        environ={},
    )
    settings = replace(config.webhooks, backoff=(0.01,), timeout=2.0, **webhooks)
    return replace(config, webhooks=settings)


def sender(config: GatewayConfig, store: Store, **kw: object) -> WebhookSender:
    return WebhookSender(config, store, node_id="n1", poll_interval=0.02, **kw)  # type: ignore[arg-type]


async def test_inbound_and_status_events_are_signed_and_delivered(
    store: Store, receiver: Receiver
) -> None:
    config = make_config(receiver.url)
    outbox = WebhookOutbox(config, store)
    inbound = await store.record_inbound(
        NewInbound("promo", "79001234567", "1234", "STOP", 0, 1_800_000_000.0)
    )
    mo_job = await outbox.inbound(inbound)
    accepted = await Intake(config, store).accept(
        MessageRequest(to="79001234567", text="hi", callback_url=receiver.url + "?m=1")
    )
    status_job = await outbox.message_status(accepted.id)
    assert mo_job is not None
    assert status_job is not None
    metrics = Metrics(store)
    async with sender(config, store, metrics=metrics):
        await receiver.wait(2)
    by_event = {headers[EVENT_HEADER]: (headers, body) for headers, body in receiver.received}
    headers, body = by_event["inbound.mo"]
    assert signed(headers, body)
    assert headers[DELIVERY_HEADER] == str(mo_job.id)
    assert int(headers[TIMESTAMP_HEADER]) > 0
    assert body.decode() == mo_job.payload
    payload = json.loads(body)
    assert payload["inbound"]["text"] == "STOP"
    headers, body = by_event["message.status"]
    assert signed(headers, body)
    message = json.loads(body)["message"]
    assert (message["id"], message["status"], message["parts"][0]["status"]) == (
        accepted.id, "queued", "planned",
    )  # fmt: skip
    assert (await store.get_webhook(mo_job.id)).state is WebhookState.DELIVERED
    assert (await store.get_webhook(status_job.id)).state is WebhookState.DELIVERED
    assert metrics.webhooks_total.get("delivered") == 2
    assert await store.webhook_backlog() == 0


async def test_failing_receiver_is_retried_then_given_up(store: Store, receiver: Receiver) -> None:
    receiver.status = 500
    config = make_config(receiver.url, max_attempts=3)
    job = await store.enqueue_webhook(receiver.url, '{"event":"x"}', "inbound.mo", None, 0.0)
    async with sender(config, store) as running:
        await receiver.wait(3)
        # no fourth attempt comes, however often the sender looks
        for _ in range(3):
            await running.run_once()
    assert len(receiver.received) == 3
    assert {h[DELIVERY_HEADER] for h, _ in receiver.received} == {str(job.id)}
    gave_up = await store.get_webhook(job.id)
    assert gave_up.state is WebhookState.GAVE_UP
    assert gave_up.attempts == 3
    assert gave_up.last_error == "HTTP 500"


async def test_nothing_is_lost_across_a_sender_restart(store: Store, receiver: Receiver) -> None:
    config = make_config(receiver.url, max_attempts=50)
    jobs = [
        await store.enqueue_webhook(receiver.url, f'{{"n":{i}}}', "inbound.mo", None, 0.0)
        for i in range(10)
    ]
    receiver.status = 503  # the receiver is down during the first run
    async with sender(config, store):
        await receiver.wait(10)
    receiver.status = 200
    failed = len(receiver.received)
    more = [
        await store.enqueue_webhook(receiver.url, f'{{"n":{i}}}', "inbound.mo", None, 0.0)
        for i in range(10, 15)
    ]
    async with sender(config, store):  # a new process would do the same
        await receiver.wait(failed + 15)
    delivered = {h[DELIVERY_HEADER] for h, _ in receiver.received[failed:]}
    assert delivered == {str(j.id) for j in [*jobs, *more]}
    for job in [*jobs, *more]:
        assert (await store.get_webhook(job.id)).state is WebhookState.DELIVERED


async def test_two_nodes_never_send_the_same_job_twice(
    store_url: str, store: Store, receiver: Receiver
) -> None:
    config = make_config(receiver.url)
    jobs = [
        await store.enqueue_webhook(receiver.url, f'{{"n":{i}}}', "inbound.mo", None, 0.0)
        for i in range(40)
    ]
    async with open_store(store_url) as other:
        first = WebhookSender(config, store, node_id="a", poll_interval=0.02, batch_size=5)
        second = WebhookSender(config, other, node_id="b", poll_interval=0.02, batch_size=5)
        async with first, second:
            await receiver.wait(40)
    ids = [h[DELIVERY_HEADER] for h, _ in receiver.received]
    assert sorted(ids) == sorted(str(j.id) for j in jobs)


async def test_aclose_is_idempotent_and_unsigned_without_secret(
    store: Store, receiver: Receiver
) -> None:
    config = make_config(receiver.url, secret="")
    await store.enqueue_webhook(receiver.url, "{}", "inbound.mo", None, 0.0)
    running = sender(config, store)
    async with running:
        await receiver.wait(1)
    await running.aclose()
    headers, _ = receiver.received[0]
    assert SIGNATURE_HEADER not in headers


async def test_unreachable_receiver_is_an_error_not_a_crash(store: Store) -> None:
    config = make_config("http://127.0.0.1:9/none", max_attempts=2)
    job = await store.enqueue_webhook("http://127.0.0.1:9/none", "{}", "inbound.mo", None, 0.0)
    async with sender(config, store):
        await asyncio.wait_for(settled(store, job.id), 10)
    failed = await store.get_webhook(job.id)
    assert failed.state is WebhookState.GAVE_UP
    assert failed.last_error


async def test_gateway_listeners_enqueue_events(store: Store) -> None:
    from smppgate.store import MessageState, OutcomeResult, ReceiptMatch, ReceiptState

    config = make_config("http://127.0.0.1:9/hook")
    woken: list[bool] = []
    outbox = WebhookOutbox(config, store, on_enqueue=lambda: woken.append(True))
    account = config.accounts[0]
    inbound = await store.record_inbound(
        NewInbound("promo", "79001234567", "1234", "*100#", 15, 1_800_000_000.0, ussd_service_op=1)
    )
    await outbox.on_inbound(account, inbound.id)
    accepted = await Intake(config, store).accept(MessageRequest(to="79001234567", text="hi"))
    match = ReceiptMatch(accepted.id, 1, ReceiptState.DELIVERED, MessageState.DELIVERED, True,
                         None, None)  # fmt: skip
    await outbox.on_receipt(match)
    await outbox.on_outcome(OutcomeResult(accepted.id, MessageState.SUBMITTED))  # not final
    await outbox.on_outcome(OutcomeResult(accepted.id, MessageState.FAILED))
    jobs = await store.claim_webhooks("n", 10, 1e12, 60.0)
    assert [j.event for j in jobs] == ["inbound.ussd", "message.status", "message.status"]
    assert all(j.url == "http://127.0.0.1:9/hook" for j in jobs)
    assert [j.message_id for j in jobs] == [None, accepted.id, accepted.id]
    assert len(woken) == 3


async def test_metrics_read_the_store_at_most_once_per_interval(store: Store) -> None:
    ticks = [100.0]
    metrics = Metrics(store, cache_seconds=1.0, clock=lambda: ticks[0])
    config = make_config("http://127.0.0.1:9/hook")
    await Intake(config, store).accept(MessageRequest(to="79001234567", text="hi"))
    await metrics.refresh()
    assert metrics.queue_depth.get("queued") == 1
    await Intake(config, store).accept(MessageRequest(to="79001234568", text="hi"))
    await metrics.refresh()
    assert metrics.queue_depth.get("queued") == 1  # cached
    ticks[0] += 1.5
    metrics.submitted("promo", 30)
    await metrics.refresh()
    assert metrics.queue_depth.get("queued") == 2
    assert metrics.submits_per_second() == pytest.approx(20.0)
    assert metrics.store_up.get() == 1
    # the statements the store had sent when read (the refresh's own reads come after)
    assert 0 < metrics.store_statements_total.get() <= store.statements


async def test_receipt_webhook_goes_to_the_message_url_even_without_account_defaults(
    store: Store,
) -> None:
    from smppgate.store import MessageState, ReceiptMatch, ReceiptState

    base = make_config("http://127.0.0.1:9/unused")
    no_defaults = replace(
        base, accounts=tuple(replace(a, default_callback_url=None) for a in base.accounts)
    )
    outbox = WebhookOutbox(no_defaults, store)
    intake = Intake(no_defaults, store)
    with_url = await intake.accept(
        MessageRequest(to="79001234567", text="hi", callback_url="http://127.0.0.1:9/own")
    )
    without = await intake.accept(MessageRequest(to="79001234568", text="hi"))
    for accepted, url in ((with_url, "http://127.0.0.1:9/own"), (without, None)):
        await outbox.on_receipt(
            ReceiptMatch(
                accepted.id, 1, ReceiptState.DELIVERED, MessageState.DELIVERED, True, url, None
            )
        )
    jobs = await store.claim_webhooks("n", 10, 1e12, 60.0)
    assert [(j.url, j.message_id) for j in jobs] == [("http://127.0.0.1:9/own", with_url.id)]

"""Webhooks that cannot be turned against the gateway: receivers on 127.0.0.1 only, a real
store on both backends. A hanging receiver holds its own per-host share of the workers and
nothing else; a name that resolves to an internal address is refused at connect time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from smppgate.service.config import GatewayConfig, parse_config
from smppgate.service.webhooks import DELIVERY_HEADER, WebhookSender
from smppgate.store import Store, WebhookState


@dataclass
class Hanging:
    """A receiver that holds every request until `release` is set."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    open: int = 0
    most_open: int = 0
    answered: set[str] = field(default_factory=set)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await self.release.wait()
        finally:
            self.open -= 1
        self.answered.add(request.headers[DELIVERY_HEADER])
        return web.Response(text="ok")


@dataclass
class Prompt:
    got: asyncio.Event = field(default_factory=asyncio.Event)
    hanging: Hanging | None = None
    answered_before: int = -1
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if self.hanging is not None and not self.got.is_set():
            self.answered_before = len(self.hanging.answered)
        self.got.set()
        return web.Response(text="ok")


async def serve(handler: object) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook", handler)  # type: ignore[arg-type]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/hook"))
    finally:
        await server.close()


def config(**webhooks: object) -> GatewayConfig:
    base = parse_config(
        {
            "webhooks": {"allow_hosts": ["127.0.0.1"], **webhooks},
            "accounts": [
                {"name": "promo", "system_id": "promo", "password": "pw",
                 "hosts": ["127.0.0.1:2775"], "default_sender": "Shop"},
            ],
        },
        environ={},
    )  # fmt: skip
    return replace(base, webhooks=replace(base.webhooks, backoff=(0.01,)))


async def test_a_hanging_receiver_does_not_delay_an_unrelated_webhook(store: Store) -> None:
    hanging, prompt = Hanging(), Prompt()
    prompt.hanging = hanging
    async for hanging_url in serve(hanging.handle):
        async for prompt_url in serve(prompt.handle):
            hanging.url, prompt.url = hanging_url, prompt_url
            settings = config(timeout=120.0, per_host=4, workers=32)
            jobs = [
                await store.enqueue_webhook(hanging_url, f'{{"n":{i}}}', "inbound.mo", None, 0.0)
                for i in range(128)
            ]
            unrelated = await store.enqueue_webhook(prompt_url, "{}", "inbound.mo", None, 1.0)
            sender = WebhookSender(
                settings, store, node_id="n1", poll_interval=0.02, defer_delay=0.05
            )
            async with sender:
                # the unrelated webhook arrives while every hanging request is still held
                # (before the fix it waited for the whole first batch: the receiver's timeout)
                await asyncio.wait_for(prompt.got.wait(), 20)
                assert prompt.answered_before == 0
                assert hanging.open >= 1
                assert hanging.most_open <= 4  # the per-host cap
                hanging.release.set()
                # then every one of the hanging receiver's webhooks is delivered too
                while len(hanging.answered) < len(jobs):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            assert hanging.most_open <= 4
            states = {(await store.get_webhook(j.id)).state for j in [*jobs, unrelated]}
            assert states == {WebhookState.DELIVERED}
            # deferrals for a busy receiver are not attempts
            attempts = [(await store.get_webhook(j.id)).attempts for j in jobs]
            assert max(attempts) == 1


async def test_a_busy_receiver_that_answers_gets_its_backlog_without_deferral(
    store: Store,
) -> None:
    # 40 jobs for one prompt receiver, 2 slots: the first claim takes 32, starts 2 and lines
    # up 2; the other 28 used to go back to the outbox for defer_delay (5 s by default: a
    # webhook per message then ran at ~100/s behind a receiver that answers in a millisecond)
    answered: set[str] = set()
    most_open = open_ = 0
    every = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        nonlocal most_open, open_
        open_ += 1
        most_open = max(most_open, open_)
        await asyncio.sleep(0)
        open_ -= 1
        answered.add(request.headers[DELIVERY_HEADER])
        if len(answered) == 40:
            every.set()
        return web.Response(text="ok")

    async for url in serve(handle):
        settings = config(per_host=2, workers=32)
        jobs = [
            await store.enqueue_webhook(url, f'{{"n":{i}}}', "inbound.mo", None, 0.0)
            for i in range(40)
        ]
        # a deferral (an hour) or a wait for the poll (an hour) would never end in this test
        sender = WebhookSender(
            settings, store, node_id="n1", poll_interval=3600.0, defer_delay=3600.0
        )
        async with sender:
            await asyncio.wait_for(every.wait(), 20)
        states = {(await store.get_webhook(j.id)).state for j in jobs}
        assert states == {WebhookState.DELIVERED}
        assert most_open <= 2  # the per-host cap still holds
        assert max([(await store.get_webhook(j.id)).attempts for j in jobs]) == 1


class PointsAtLoopback(AbstractResolver):
    """A DNS answer an attacker controls: every name resolves to 127.0.0.1."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host="127.0.0.1", port=port, family=socket.AF_INET,
                          proto=0, flags=socket.AI_NUMERICHOST)
        ]  # fmt: skip

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowlisted"])
async def test_a_name_resolving_to_loopback_is_refused_at_connect_time(
    store: Store, allowed: bool
) -> None:
    got: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        got.append(request.host)
        return web.Response(text="ok")

    async for url in serve(handle):
        port = url.rsplit(":", 1)[1].split("/")[0]
        # a public-looking name: accepted at intake, its address only known at connect time
        rebinding = f"http://hooks.example.com:{port}/hook"
        settings = config(allow_hosts=["127.0.0.0/8"] if allowed else [], max_attempts=1)
        settings.webhooks.policy.check_url(rebinding)  # nothing to refuse before resolving
        job = await store.enqueue_webhook(rebinding, "{}", "inbound.mo", None, 0.0)
        sender = WebhookSender(
            settings, store, node_id="n1", poll_interval=0.02, resolver=PointsAtLoopback()
        )
        async with sender:
            await sender.run_once()
        done = await store.get_webhook(job.id)
    if allowed:
        assert done.state is WebhookState.DELIVERED
        assert got == [f"hooks.example.com:{port}"]  # connected to the checked address
    else:
        assert done.state is WebhookState.GAVE_UP
        assert got == []
        assert "internal addresses" in (done.last_error or "")


async def test_a_queued_job_whose_url_is_now_refused_is_never_sent(store: Store) -> None:
    got: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        got.append(request.path)
        return web.Response(text="ok")

    async for url in serve(handle):
        # queued before the policy (an older version), or before allow_hosts was narrowed
        job = await store.enqueue_webhook(url, "{}", "inbound.mo", None, 0.0)
        sender = WebhookSender(config(allow_hosts=[]), store, node_id="n1", poll_interval=0.02)
        async with sender:
            await sender.run_once()
        done = await store.get_webhook(job.id)
    assert got == []
    assert done.state is WebhookState.GAVE_UP
    assert "allow_hosts" in (done.last_error or "")

"""The ops page in a real browser: Debian's chromium driven by Playwright (never a browser
download), a `smppgate serve` process bound to the platform emulator, messages sent through
the API. The page must show the bound sessions, the counts moving, a message found by search,
and the cooldown after the emulator drops the connections.

Screenshots go to ``artifacts/ops-page/`` (the one under load is the README's picture).
Without chromium this test fails, it never skips: ``scripts/test.sh`` installs it
(``scripts/browser.sh``) and exports ``SMPPGATE_CHROMIUM``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from smppgate.emulator import Account, Emulator, EmulatorConfig, FaultSpec, ListenerConfig

from ..esme_helpers import bound, submit
from ..gateway_helpers import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "ops-page"
KEY = "ops-page-key-0123456789abcdef"
MESSAGES = 400
#: destinations with this prefix meet ESME_RMSGQFUL once (a 5 s pause on the page)
QFULL_PREFIX = "7901"
WAIT = 30_000  # ms: Playwright's deadline for a condition on the page


def _chromium() -> str:
    for candidate in (os.environ.get("SMPPGATE_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "chromium is not installed: run `bash scripts/test.sh` (it installs Debian's "
            "chromium) or `apt-get install chromium`, or set SMPPGATE_CHROMIUM"
        )
    return found


def _config(tmp_path: Path, smsc_port: int, http_port: int, door_port: int) -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(
        f"""
node_id = "ops-e2e"

[store]
url = "sqlite:///{tmp_path}/gw.db"

[http]
listen = "127.0.0.1:{http_port}"
api_keys = ["{KEY}"]

[[accounts]]
name = "demo"
hosts = ["127.0.0.1:{smsc_port}", "127.0.0.1:{free_port()}"]
system_id = "demo"
password = "demo"
sessions = ["trx", "trx"]
window = 10

[smpp_server]
listen = "127.0.0.1:{door_port}"

[[smpp_server.users]]
system_id = "app1"
password = "app1pw"
account = "demo"
max_binds = 4
""",
        encoding="utf-8",
    )
    return path


async def _start_gateway(config: Path) -> asyncio.subprocess.Process:
    with (config.parent / "gateway.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "smppgate.cli.main", "serve", "--config", str(config),
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


async def _stop_gateway(gateway: asyncio.subprocess.Process) -> None:
    if gateway.returncode is None:
        gateway.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                await gateway.wait()
        except TimeoutError:
            gateway.kill()
            await gateway.wait()


async def _number(locator: Locator) -> int:
    return int((await locator.inner_text()).replace(",", "") or 0)


async def _until(condition: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll ``condition`` until it holds (a deadline, not a timing assertion)."""
    async with asyncio.timeout(within):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.1)


async def _send(http: aiohttp.ClientSession, base: str, count: int) -> list[dict[str, Any]]:
    messages = [
        {
            "to": f"{QFULL_PREFIX}{i:07d}" if i % 40 == 39 else f"7900{i:07d}",
            "from": "Demo",
            "text": f"ops page {i}" if i % 3 else f"ops page {i}: " + "long text " * 20,
        }
        for i in range(count)
    ]
    headers = {"X-API-Key": KEY}
    async with http.post(
        f"{base}/v1/messages/batch", json={"messages": messages}, headers=headers
    ) as response:
        assert response.status in (200, 201, 202), await response.text()
        body = await response.json()
    accepted = body["messages"]
    assert len(accepted) == count, body
    return [{**m, "id": a["id"]} for m, a in zip(messages, accepted, strict=True)]


async def _enter_key(page: Page) -> None:
    await expect(page.locator("#key-panel")).to_be_visible(timeout=WAIT)
    await page.fill("#key-input", KEY)
    await page.click("#key-form button")
    await expect(page.locator("#key-panel")).to_be_hidden(timeout=WAIT)


async def test_the_ops_page_live(tmp_path: Path) -> None:
    chromium = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    emu_config = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.8,
        faults=(
            # enough friction for the retry table: throttling and a queue-full pause
            FaultSpec("throttle", params={"rate": 60, "burst": 20}),
            FaultSpec("queue_full", prefix=QFULL_PREFIX, params={"first": 1}),
        ),
    )
    http_port, door_port = free_port(), free_port()
    base = f"http://127.0.0.1:{http_port}"
    async with Emulator(emu_config) as emu, aiohttp.ClientSession() as http:
        smsc_port = emu.address[1]
        gateway = await _start_gateway(_config(tmp_path, smsc_port, http_port, door_port))
        try:
            await wait_ready(http, base, headers={"X-API-Key": KEY})
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=chromium)
                try:
                    page = await browser.new_page(viewport={"width": 1440, "height": 1100})
                    await _run(page, http, base, emu, smsc_port, door_port)
                finally:
                    await browser.close()
        finally:
            await _stop_gateway(gateway)


async def _run(
    page: Page,
    http: aiohttp.ClientSession,
    base: str,
    emu: Emulator,
    smsc_port: int,
    door_port: int,
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # the page needs no key, the data does: the page asks for it, never puts it in the URL
    await page.goto(base + "/")
    assert page.url == base + "/ui/"
    await _enter_key(page)
    assert KEY not in page.url

    # both sessions bound to the primary
    sessions = page.locator('[data-testid="session"]')
    await expect(sessions).to_have_count(2, timeout=WAIT)
    await expect(page.locator('[data-testid="session"][data-state="bound"]')).to_have_count(
        2, timeout=WAIT
    )
    for row in await sessions.all():
        await expect(row).to_contain_text(f"127.0.0.1:{smsc_port}")
        await expect(row).to_contain_text("primary")
    await expect(page.locator("#link")).to_have_text("live")
    await expect(page.locator("#node")).to_have_text("ops-e2e")

    # a campaign through the API: the counts move
    submits = page.locator('[data-testid="total-submits"]')
    delivered = page.locator('[data-testid="queue-delivered"]')
    assert await _number(submits) == 0
    sent = await _send(http, base, MESSAGES)
    await _until(lambda: _positive(submits))
    first = await _number(delivered)

    # under load: receipts coming back, messages waiting for a retry (the last queue-full
    # ones wait 5 s after the campaign's end); the screenshot for the README
    await expect(page.locator('[data-testid="receipts-latency"]')).to_contain_text(
        "parts", timeout=WAIT
    )
    await expect(page.locator('[data-testid="retry"]').first).to_be_visible(timeout=WAIT)
    await _until(_rate_shown(page))
    await page.screenshot(path=str(ARTIFACTS / "ops-page-under-load.png"), full_page=True)

    await _until(lambda: _more_than(delivered, first))
    await _until(lambda: _at_least(delivered, MESSAGES), within=60)
    await expect(page.locator('[data-testid="receipts-match-rate"]')).to_have_text("100.0 %")
    await expect(page.locator("#responses")).to_contain_text("ESME_ROK")
    await expect(page.locator("#responses")).to_contain_text("ESME_RTHROTTLED")

    # search by id: the message with its parts, attempts and receipts
    long_one = sent[3]
    await page.fill("#search-input", long_one["id"])
    await page.click("#search-form button")
    result = page.locator(f'[data-testid="search-result"][data-id="{long_one["id"]}"]')
    await expect(result).to_be_visible(timeout=WAIT)
    await expect(result.locator('[data-testid="result-status"]')).to_have_text("delivered")
    await expect(result).to_contain_text("Parts (2)")
    await expect(result).to_contain_text("Receipts (2)")
    await expect(result).to_contain_text(long_one["to"])

    # search by number (as a person types it)
    number = sent[5]["to"]
    await page.fill("#search-input", f"+{number[0]} {number[1:4]} {number[4:]}")
    await page.click("#search-form button")
    await expect(page.locator('[data-testid="search-result"]')).to_have_count(1, timeout=WAIT)
    await expect(page.locator(f'[data-id="{sent[5]["id"]}"]')).to_be_visible()

    # the SMPP front door: an application binds and submits; its row shows it
    door_user = page.locator('[data-testid="door-user"][data-user="app1"]')
    await expect(door_user.locator('[data-testid="door-bound"]')).to_have_text("0 / 4")
    app = await bound(("127.0.0.1", door_port), "tx", system_id="app1", password="app1pw")
    try:
        for i in range(2):
            response = await app.submit(
                submit(text=f"from app1 {i}".encode(), registered_delivery=1)
            )
            assert response.command_status == 0
        await expect(door_user.locator('[data-testid="door-bound"]')).to_have_text(
            "1 / 4", timeout=WAIT
        )
        await expect(door_user.locator('[data-testid="door-submits"]')).to_have_text(
            "2", timeout=WAIT
        )
    finally:
        await app.close()
    # no receiver bound: both receipts wait in the outbox
    await expect(door_user.locator('[data-testid="door-backlog"]')).to_have_text("2", timeout=WAIT)
    # no MO routed to it: its MO backlog column says so
    await expect(door_user.locator('[data-testid="door-mo-backlog"]')).to_have_text("0")

    # the clients panel: the implicit client of [http] api_keys, its campaign counted
    client = page.locator('[data-testid="client"]')
    await expect(client).to_have_count(1)
    await expect(client).to_contain_text("default")

    # a number on the blocklist: its message ends `blocked` unsent, a state the page shows
    headers = {"X-API-Key": KEY}
    blocked_to = "79009999999"
    async with http.post(
        f"{base}/v1/blocklist", json={"number": blocked_to, "reason": "e2e"}, headers=headers
    ) as response:
        assert response.status == 201, await response.text()
    message = {"to": blocked_to, "from": "Demo", "text": "not for you"}
    async with http.post(f"{base}/v1/messages", json=message, headers=headers) as response:
        assert response.status == 202, await response.text()
        blocked = await response.json()
    assert blocked["status"] == "blocked"
    await expect(page.locator('[data-testid="queue-blocked"]')).to_have_text("1", timeout=WAIT)
    await page.fill("#search-input", blocked["id"])
    await page.click("#search-form button")
    result = page.locator(f'[data-testid="search-result"][data-id="{blocked["id"]}"]')
    await expect(result.locator('[data-testid="result-status"]')).to_have_text("blocked")

    # the emulator drops the connections: the page shows the 60 s cooldown and its countdown
    emu.drop_sessions("demo")
    cooling = page.locator('[data-testid="session"][data-state="cooling_down"]')
    await expect(cooling).to_have_count(2, timeout=WAIT)
    left = cooling.first.locator('[data-testid="cooldown-left"]')
    await expect(left).to_have_text(re.compile(r"^\d+ s$"))
    seconds = int((await left.inner_text()).split()[0])
    assert 0 < seconds <= 66  # 60 s after a drop, jitter only lengthening
    await expect(cooling.first).to_contain_text("after drop")
    await expect(cooling.first).to_contain_text(f"127.0.0.1:{smsc_port}")
    await _until(lambda: _countdown_moved(left, seconds))
    await page.screenshot(path=str(ARTIFACTS / "ops-page-cooldown.png"), full_page=True)

    assert errors == []


async def _positive(locator: Locator) -> bool:
    return await _number(locator) > 0


async def _more_than(locator: Locator, value: int) -> bool:
    return await _number(locator) > value


async def _at_least(locator: Locator, value: int) -> bool:
    return await _number(locator) >= value


async def _countdown_moved(locator: Locator, seconds: int) -> bool:
    return int((await locator.inner_text()).split()[0]) < seconds


def _rate_shown(page: Page) -> Callable[[], Awaitable[bool]]:
    async def shown() -> bool:
        return float(await page.locator("#submits-rate").inner_text()) > 0

    return shown

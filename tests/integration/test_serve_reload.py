"""SIGHUP under `smppgate serve` (its `serve` coroutine, emulator in-process): the file is read
again; a new API key works at once, a bad file is refused and the running keys stay, and the
SMPP sessions are never touched (no reconnect)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from smppgate.cli.main import main
from smppgate.cli.serve import serve
from smppgate.service.config import load_config

from ..gateway_helpers import free_port, wait_ready

CONFIG = """
[store]
url = "sqlite:///{tmp}/gw.db"
[http]
listen = "127.0.0.1:{http}"
api_keys = ["{key}"]
[emulator]
enabled = true
listen = "127.0.0.1:{smpp}"
[[accounts]]
name = "demo"
hosts = ["127.0.0.1:{smpp}"]
system_id = "demo"
password = "demo"
sessions = ["trx"]
"""


KEY_1 = "reload-key-one-0123456789"
KEY_2 = "reload-key-two-0123456789"


def _metric(text: str, name: str) -> float:
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    ]
    return sum(values)


async def _status(http: aiohttp.ClientSession, url: str, key: str) -> int:
    async with http.get(url, headers={"Authorization": f"Bearer {key}"}) as response:
        return response.status


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(10):
        while True:
            if await check():
                return
            await asyncio.sleep(0.05)


async def test_sighup_applies_keys_refuses_a_bad_file_and_keeps_sessions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    smpp, port = free_port(), free_port()
    path = tmp_path / "smppgate.toml"

    def write(key: str, extra: str = "") -> None:
        path.write_text(
            CONFIG.format(tmp=tmp_path, http=port, smpp=smpp, key=key) + extra, encoding="utf-8"
        )

    write(KEY_1)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(load_config(path), node_id="reload-test", stop=stop))
    base = f"http://127.0.0.1:{port}"
    metrics = f"{base}/metrics"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, base, headers={"Authorization": f"Bearer {KEY_1}"})

            async def bound() -> bool:
                async with http.get(metrics, headers={"X-API-Key": KEY_1}) as r:
                    return _metric(await r.text(), "smppgate_bound_sessions{") == 1

            await _until(bound)

            # the submit cap: applied to the running pool, no session rebuilt
            write(KEY_2, "max_submit_rate = 50\n")
            os.kill(os.getpid(), signal.SIGHUP)

            async def key_2_works() -> bool:
                return await _status(http, metrics, KEY_2) == 200

            await _until(key_2_works)
            assert await _status(http, metrics, KEY_1) == 401
            assert "accounts[demo].max_submit_rate" in caplog.text
            assert "sessions rebuilt" not in caplog.text

            path.write_text("[http\n", encoding="utf-8")
            os.kill(os.getpid(), signal.SIGHUP)

            async def refused() -> bool:
                async with http.get(metrics, headers={"X-API-Key": KEY_2}) as r:
                    text = await r.text()
                return _metric(text, 'smppgate_config_reloads_total{outcome="refused"}') == 1

            await _until(refused)
            assert await _status(http, metrics, KEY_2) == 200  # the running config stays
            async with http.get(metrics, headers={"X-API-Key": KEY_2}) as r:
                text = await r.text()
            assert _metric(text, "smppgate_config_last_reload_successful") == 0
            assert _metric(text, "smppgate_bound_sessions{") == 1
            assert _metric(text, "smppgate_reconnects_total{") == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def test_reload_command_checks_the_file_then_signals(tmp_path: Path) -> None:
    with subprocess.Popen(  # a stand-in for `smppgate serve`: reports the SIGHUP it gets
        [
            sys.executable,
            "-c",
            "import signal, sys, time\n"
            "signal.signal(signal.SIGHUP, lambda *_: (print('hup', flush=True), sys.exit(0)))\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        pid_file = tmp_path / "smppgate.pid"
        pid_file.write_text(f"{child.pid}\n", encoding="utf-8")
        bad = tmp_path / "bad.toml"
        bad.write_text("[http\n", encoding="utf-8")
        assert main(["reload", "--config", str(bad), "--pid-file", str(pid_file)]) == 2
        assert child.poll() is None  # not signalled
        good = tmp_path / "good.toml"
        good.write_text(
            CONFIG.format(tmp=tmp_path, http=8080, smpp=2775, key=KEY_1), encoding="utf-8"
        )
        assert main(["reload", "--config", str(good), "--pid-file", str(pid_file)]) == 0
        assert child.stdout.readline().strip() == "hup"
        assert child.wait(10) == 0
        assert main(["reload", "--pid-file", str(tmp_path / "missing.pid")]) == 1

"""`smppgate serve` runs on uvloop when it is installed (``--loop auto``, the default) and on
asyncio's own loop with ``--loop asyncio``: the same gateway end to end on either, over real
sockets on 127.0.0.1, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from smppgate.cli.serve import LoopUnavailableError, loop_factory

from ..gateway_helpers import free_port, wait_ready


def _config(folder: Path) -> Path:
    smpp, http = free_port(), free_port()
    path = folder / "gateway.toml"
    path.write_text(
        f"""
shutdown_timeout = 2

[store]
url = "sqlite:///{folder}/gw.db"

[http]
listen = "127.0.0.1:{http}"

[emulator]
enabled = true
listen = "127.0.0.1:{smpp}"
dlr_delay = 0.01

[[accounts]]
name = "demo"
hosts = ["127.0.0.1:{smpp}"]
system_id = "demo"
password = "demo"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(("choice", "loop"), [("auto", "uvloop"), ("asyncio", "asyncio")])
async def test_serve_delivers_on_the_chosen_loop(tmp_path: Path, choice: str, loop: str) -> None:
    config = _config(tmp_path)
    base = "http://" + config.read_text().split('listen = "')[1].split('"')[0]
    log = tmp_path / "gateway.log"
    with log.open("ab") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "smppgate.cli.main", "serve", "--config", str(config),
            "--log-level", "INFO", "--loop", choice,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, base, process=proc)
            body = {"to": "79001234567", "from": "Demo", "text": "on " + loop}
            async with http.post(f"{base}/v1/messages", json=body) as response:
                assert response.status == 202
                message_id = (await response.json())["id"]
            async with asyncio.timeout(30):
                while True:
                    async with http.get(f"{base}/v1/messages/{message_id}") as response:
                        if (await response.json())["status"] == "delivered":
                            break
                    await asyncio.sleep(0.05)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0
    assert f"event loop: {loop}" in log.read_text()


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if it were not installed
    assert loop_factory("auto") is None
    assert loop_factory("asyncio") is None
    with pytest.raises(LoopUnavailableError, match="not installed"):
        loop_factory("uvloop")


def test_uvloop_is_chosen_when_installed() -> None:
    import uvloop

    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("uvloop") is uvloop.new_event_loop

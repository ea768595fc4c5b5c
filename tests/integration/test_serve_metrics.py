"""`smppgate serve` as it runs (its `serve` coroutine, emulator in-process): the /metrics it
serves carries the pool figures the gateway samples, and the queue depth from the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from smppgate.cli.serve import serve
from smppgate.service.config import parse_config

from ..gateway_helpers import free_port, wait_ready


def _gauges(text: str, name: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{")
    }


async def test_served_metrics_show_bound_sessions_and_queue(tmp_path: Path) -> None:
    smpp_port, http_port = free_port(), free_port()
    config = parse_config(
        {
            "store": {"url": f"sqlite:///{tmp_path}/gw.db"},
            "http": {"listen": f"127.0.0.1:{http_port}"},
            "emulator": {"enabled": True, "listen": f"127.0.0.1:{smpp_port}", "dlr_delay": 0.01},
            "accounts": [
                {
                    "name": "demo",
                    "hosts": [f"127.0.0.1:{smpp_port}"],
                    "system_id": "demo",
                    "password": "demo",
                    "sessions": ["trx", "trx"],
                }
            ],
            "shutdown_timeout": 2,
        },
        environ={},
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, node_id="metrics-test", stop=stop))
    base = f"http://127.0.0.1:{http_port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, base)
            async with asyncio.timeout(30):
                body = {"to": "79001234567", "from": "Demo", "text": "metrics"}
                async with http.post(f"{base}/v1/messages", json=body) as response:
                    assert response.status == 202
                while True:  # the pool sampler runs about once a second
                    async with http.get(f"{base}/metrics") as response:
                        text = await response.text()
                    bound = _gauges(text, "smppgate_bound_sessions")
                    queue = _gauges(text, "smppgate_queue_messages")
                    if sum(bound.values()) == 2 and any(
                        'state="delivered"' in k and v == 1 for k, v in queue.items()
                    ):
                        break
                    await asyncio.sleep(0.1)
        assert all('account="demo"' in key for key in bound)
        # the latency histograms saw the message: queued, answered, delivered
        for histogram in ("queued", "response", "receipt"):
            assert f'smppgate_{histogram}_seconds_count{{account="demo"}} 1' in text
        assert 'smppgate_responses_total{account="demo",status="ESME_ROK"} 1' in text
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

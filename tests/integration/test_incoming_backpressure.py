"""Receipts and MO answered only once the application has them safe (issue 13): a pool with
``on_held`` leaves each deliver_sm unanswered until ``answer.send()``, and a session stops
reading at ``held_limit`` unanswered ones, so an SMSC flooding deliver_sm without regard to
any window is held back by TCP instead of filling memory."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from smppgate.client import DeliveryReport, HeldEvent, SessionPool, SmppAccount
from smppgate.profiles import SMPP34, HostAddress

from ..gateway_helpers import free_port
from .flood_smsc import FloodSmsc

TOTAL = 30_000
LIMIT = 50
#: the most deliver_sm one read can carry (asyncio reads at most 256 KiB at a time; these are
#: well over 100 bytes each)
PER_READ = 256 * 1024 // 100


async def test_a_session_stops_reading_while_its_deliver_sm_wait_for_their_answers() -> None:
    held: list[HeldEvent] = []
    answering = False
    limit_reached = asyncio.Event()

    def on_held(event: HeldEvent) -> None:
        if answering:
            event.answer.send()
            return
        held.append(event)
        if len(held) >= LIMIT:
            limit_reached.set()

    async with FloodSmsc(TOTAL) as smsc:
        account = SmppAccount(
            "login", "secret", profile=SMPP34, hosts=(HostAddress.parse(smsc.address),)
        )
        async with SessionPool(account, on_held=on_held, held_limit=LIMIT) as pool:
            await pool.wait_ready(timeout=10)
            # the client reads until LIMIT are unanswered, then stops: the SMSC's writes stall
            async with asyncio.timeout(30):
                await limit_reached.wait()
                await smsc.blocked.wait()
            assert smsc.answered == []  # nothing answered before the application said so
            assert LIMIT <= len(held) <= LIMIT + PER_READ < TOTAL
            assert all(isinstance(h.event, DeliveryReport) for h in held)
            # answering lets reading resume; every deliver_sm is then answered exactly once
            answering = True
            for event in held:
                event.answer.send()
            async with asyncio.timeout(60):
                await smsc.all_answered.wait()
            assert sorted(smsc.answered) == list(range(1, TOTAL + 1))


FLOOD_TOTAL = 300_000


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_gateway_flooded_with_300k_deliver_sm_keeps_its_memory(tmp_path: Path) -> None:
    """Issue 13: a broken or hostile SMSC sends 300,000 receipts regardless of any window. The
    node reads only as fast as it stores (sessions stop reading at 1,000 unanswered), so its
    memory stays flat (before: 45 -> 285 MB); every receipt is stored and answered once."""
    async with FloodSmsc(FLOOD_TOTAL) as smsc:
        config = tmp_path / "gw.toml"
        config.write_text(
            f"""
[store]
url = "sqlite:///{tmp_path}/gw.db"

[http]
listen = "127.0.0.1:{free_port()}"

[[accounts]]
name = "demo"
hosts = ["{smsc.address}"]
system_id = "demo"
password = "demo"
sessions = ["trx"]
""",
            encoding="utf-8",
        )
        with (tmp_path / "gateway.log").open("ab") as log:
            gateway = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "smppgate.cli.main", "serve", "--config", str(config),
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        try:
            samples: list[float] = []
            async with asyncio.timeout(800):
                while not smsc.all_answered.is_set():
                    assert gateway.returncode is None, "the gateway exited (see its log)"
                    if len(smsc.answered) >= FLOOD_TOTAL // 20:
                        samples.append(_rss_mb(gateway.pid))
                    await asyncio.sleep(0.5)
        finally:
            gateway.send_signal(signal.SIGTERM)
            await gateway.wait()
    assert sorted(smsc.answered) == list(range(1, FLOOD_TOTAL + 1))
    assert samples, "the flood went by too fast to sample"
    # flat: what the node holds is bounded by the unanswered limit, not by the flood
    grown = max(samples) - samples[0]
    assert grown < 40, f"RSS grew by {grown:.0f} MB (from {samples[0]:.0f} MB)"

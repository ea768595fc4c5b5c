"""The client and ``smppgate send`` against an independent SMSC: node's ``smpp`` package
(tests/interop/node/smsc_server.js), started as a subprocess on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from smppgate.client import (
    DeliveryReport,
    OutboundMessage,
    SessionPool,
    SmppAccount,
    send_message,
)
from smppgate.pdu import CommandStatus, RetryClass
from smppgate.profiles import DEVINO_PROMO, HostAddress, RetryRules
from smppgate.text import DeliveryState

NODE_DIR = Path(__file__).parent / "node"
SMPPGATE = Path(sys.executable).parent / "smppgate"


@pytest.fixture(autouse=True)
def _node_peer_installed() -> None:
    """The peer is a test dependency (scripts/peers.sh installs it): missing, the tests fail,
    they are never skipped."""
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "smpp").is_dir():
        pytest.fail("node and its smpp package are needed: run `bash scripts/peers.sh`")


@dataclass
class NodeSmsc:
    proc: asyncio.subprocess.Process
    port: int
    events: list[dict[str, Any]] = field(default_factory=list)

    async def read_until(self, event: str, count: int = 1, limit: float = 5.0) -> None:
        assert self.proc.stdout is not None
        async with asyncio.timeout(limit):
            while sum(1 for e in self.events if e["event"] == event) < count:
                line = await self.proc.stdout.readline()
                if not line:
                    raise AssertionError(f"node SMSC exited; saw {self.events}")
                self.events.append(json.loads(line))

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event]

    async def command(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()


async def start_node(fault: str = "none") -> NodeSmsc:
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / "smsc_server.js"),
        "--port",
        "0",
        "--fault",
        fault,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
    return NodeSmsc(proc, int(first["port"]))


async def stop_node(node: NodeSmsc) -> None:
    if node.proc.returncode is None:
        node.proc.terminate()
    if node.proc.stdin is not None:
        node.proc.stdin.close()
    await node.proc.wait()


@pytest.fixture
async def node() -> AsyncIterator[NodeSmsc]:
    server = await start_node()
    yield server
    await stop_node(server)


def account(port: int, **kwargs: Any) -> SmppAccount:
    fast = RetryRules(
        throttle_pause=0.3, queue_full_delays=(0.1, 0.2, 0.3), queue_full_max_retries=3
    )
    return SmppAccount(
        "login",
        "secret",
        profile=replace(DEVINO_PROMO, retry=fast),
        hosts=(HostAddress("127.0.0.1", port),),
        reconnect_after_drop=0.2,
        reconnect_after_failure=0.2,
        unsafe_below_platform_minimums=True,
        **kwargs,
    )


async def test_send_and_receipt_against_node(node: NodeSmsc) -> None:
    async with SessionPool(account(node.port)) as pool:
        await pool.wait_ready(5)
        result = await send_message(
            pool, OutboundMessage("Devino", "+79001234567", "Привет " * 20, validity=60)
        )
        assert result.accepted
        await node.command(f"deliver {result.message_ids[0]}")
        async with asyncio.timeout(5):
            report = await anext(aiter(pool.incoming()))
        assert isinstance(report, DeliveryReport)
        assert report.message_id == result.message_ids[0]
        assert report.state is DeliveryState.DELIVERED
        await node.read_until("deliver_sm_resp")
    await node.read_until("unbind")
    (bind,) = node.of("bind")
    assert bind["command"] == "bind_transceiver"
    assert (bind["system_id"], bind["system_type"], bind["interface_version"]) == (
        "login",
        "",
        0x34,
    )
    submits = node.of("submit_sm")
    assert len(submits) == len(result.parts) == 3
    assert all(s["esm_class"] == 0x40 for s in submits)
    assert all((s["source_addr_ton"], s["source_addr_npi"]) == (5, 1) for s in submits)
    assert all(s["destination_addr"] == "79001234567" for s in submits)
    assert all(s["validity_period"] for s in submits)
    assert node.of("deliver_sm_resp")[0]["status"] == 0
    assert node.of("generic_nack") == []


async def test_throttle_from_node_is_retried() -> None:
    node = await start_node("throttle")
    try:
        async with SessionPool(account(node.port)) as pool:
            await pool.wait_ready(5)
            result = await send_message(pool, OutboundMessage("Devino", "79001234567", "t"))
        assert result.accepted
        await node.read_until("submit_sm", 2)
    finally:
        await stop_node(node)


async def test_invalid_destination_from_node_is_final() -> None:
    node = await start_node("invdstadr")
    try:
        async with SessionPool(account(node.port)) as pool:
            await pool.wait_ready(5)
            result = await send_message(pool, OutboundMessage("Devino", "79990000000", "x"))
        assert result.parts[0].status is CommandStatus.ESME_RINVDSTADR
        assert result.parts[0].retry is RetryClass.PERMANENT
        await node.read_until("submit_sm", 1)
        await asyncio.sleep(0.1)
        assert len(node.of("submit_sm")) == 1
    finally:
        await stop_node(node)


# ------------------------------------------------------------------ the CLI


async def run_cli(*args: str) -> tuple[int, str, str]:
    env = dict(os.environ, SMPPGATE_PASSWORD="secret")
    proc = await asyncio.create_subprocess_exec(
        str(SMPPGATE),
        "send",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def cli_args(port: int, *extra: str) -> list[str]:
    return [
        "--smsc",
        f"127.0.0.1:{port}",
        "--system-id",
        "login",
        "--from",
        "Devino",
        "--to",
        "+79001234567",
        *extra,
    ]


async def test_cli_send_json_and_wait_dlr(node: NodeSmsc) -> None:
    async def deliver_when_submitted() -> None:
        await node.read_until("submit_sm", 2)
        for s in node.of("submit_sm"):
            await node.command(f"deliver node{s['n']}")

    async with asyncio.TaskGroup() as tg:
        tg.create_task(deliver_when_submitted())
        code, out, err = await run_cli(
            *cli_args(node.port, "--text", "x" * 200, "--json", "--wait-dlr", "5")
        )
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True
    assert [p["command_status"] for p in report["parts"]] == ["ESME_ROK", "ESME_ROK"]
    assert [p["message_id"] for p in report["parts"]] == ["node1", "node2"]
    assert sorted(r["state"] for r in report["receipts"]) == ["DELIVERED", "DELIVERED"]


async def test_cli_plain_output(node: NodeSmsc) -> None:
    code, out, _ = await run_cli(*cli_args(node.port, "--text", "hello", "--mode", "tx"))
    assert code == 0
    assert out.strip() == "part 1/1: accepted message_id=node1"


async def test_cli_errors_exit_non_zero() -> None:
    bad = await start_node("invdstadr")
    refuse = await start_node("refuse-bind")
    try:
        code, _, err = await run_cli(*cli_args(bad.port, "--text", "x"))
        assert code == 1
        assert "ESME_RINVDSTADR" in err
        code, _, err = await run_cli(*cli_args(refuse.port, "--text", "x"))
        assert code == 3
        assert "ESME_RINVPASWD" in err
        assert len(err.strip().splitlines()) == 1
        code, _, err = await run_cli(*cli_args(bad.port, "--text", "x", "--validity", "30"))
        assert code == 2
        assert "minimum of 60" in err
    finally:
        await stop_node(bad)
        await stop_node(refuse)
    # validity refused before connecting: the SMSC saw no bind for that run
    assert len(bad.of("bind")) <= 1


@pytest.mark.parametrize("to", ["12", "+7-900", "abc", "7900123456789012"])
async def test_cli_refuses_a_destination_the_api_would_refuse(to: str) -> None:
    node = await start_node("invdstadr")
    try:
        code, _, err = await run_cli(*cli_args(node.port, "--text", "x", "--to", to))
        assert code == 2, err
        assert repr(to) in err  # the reason quotes the value (smppgate.numbers)
    finally:
        await stop_node(node)
    assert node.of("bind") == []  # refused before connecting

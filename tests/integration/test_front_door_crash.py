"""Receipts for applications survive a crash: the gateway process is killed with SIGKILL while
receipts for an application wait (some unbound, some sent and never answered), restarted, and
on rebind every receipt arrives with the id the application was given; a duplicate only for a
receipt whose deliver_sm_resp never came."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from smppgate.emulator import Account, Emulator, EmulatorConfig, ListenerConfig
from smppgate.pdu import CommandStatus, DeliverSm, DeliverSmResp, TlvTag

from ..esme_helpers import bound, submit
from ..gateway_helpers import free_port, start_serve

MESSAGES = 30


def _config(tmp_path: Path, smsc_port: int, door_port: int) -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path}/gw.db"

[http]
listen = "127.0.0.1:{free_port()}"

[[accounts]]
name = "demo"
profile = "devino-promo"
hosts = ["127.0.0.1:{smsc_port}"]
system_id = "demo"
password = "demo"
sessions = ["trx"]
window = 10

[smpp_server]
listen = "127.0.0.1:{door_port}"
response_timeout = 60

[[smpp_server.users]]
system_id = "app1"
password = "app1pw"
account = "demo"
""",
        encoding="utf-8",
    )
    return path


async def _door_up(port: int, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while True:
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.1)


def _outbox(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "gw.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM smpp_outbox").fetchone()[0])


async def _until(condition: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


def _receipted(pdu: DeliverSm) -> str:
    value = next(t.value for t in pdu.tlvs if t.tag == TlvTag.RECEIPTED_MESSAGE_ID)
    return value.rstrip(b"\x00").decode()


async def test_receipts_survive_kill_9_while_the_application_is_unbound(tmp_path: Path) -> None:
    emulator = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.05,
    )
    async with Emulator(emulator) as emu:
        door = ("127.0.0.1", free_port())
        config = _config(tmp_path, emu.address[1], door[1])
        process = await start_serve(config)
        try:
            await _door_up(door[1])
            sender = await bound(door, "tx", system_id="app1", password="app1pw")
            ids = []
            for i in range(MESSAGES):
                response = await sender.submit(submit(text=f"m{i}".encode(), registered_delivery=1))
                assert response.command_status == CommandStatus.ESME_ROK
                ids.append(response.message_id)
            await sender.close()
            # every receipt came back from upstream and waits in the store for app1
            await _until(lambda: _outbox(tmp_path) == MESSAGES)
            # app1 binds, takes some receipts: answers a few, leaves the others unanswered
            receiver = await bound(door, "rx", system_id="app1", password="app1pw")
            answered: list[str] = []
            unanswered: list[str] = []
            for n in range(6):
                pdu = await receiver.expect(DeliverSm, within=10, ack=False)
                if n % 2:
                    unanswered.append(_receipted(pdu))
                else:
                    await receiver.send(DeliverSmResp(), pdu.sequence_number)
                    answered.append(_receipted(pdu))
            # the answered ones leave the outbox; then the crash
            await _until(lambda: _outbox(tmp_path) == MESSAGES - len(answered))
            process.send_signal(signal.SIGKILL)
            await process.wait()
            await receiver.close()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()

        process = await start_serve(config)
        try:
            await _door_up(door[1])
            receiver = await bound(door, "rx", system_id="app1", password="app1pw")
            after: list[str] = []
            async with asyncio.timeout(30):
                while len(after) < MESSAGES - len(answered):
                    pdu = await receiver.expect(DeliverSm, within=10)
                    after.append(_receipted(pdu))
            await receiver.close()
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    # every receipt, with the id app1 was given; those answered before the crash never again
    assert set(answered) | set(after) == set(ids)
    assert not set(answered) & set(after)
    assert Counter(after).most_common(1)[0][1] == 1
    assert set(unanswered) <= set(after)  # the unanswered ones came again

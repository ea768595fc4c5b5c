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
from smppgate.pdu import CommandStatus, DeliverSm, DeliverSmResp, SubmitSm, TlvTag

from ..esme_helpers import bound, submit
from ..gateway_helpers import free_port, start_serve

MESSAGES = 30


def _config(tmp_path: Path, smsc_port: int, door_port: int, extra: str = "") -> Path:
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
# the restart reconnects upstream after this (the platform's 60 s on a real account)
reconnect_after_drop = 1
unsafe_below_platform_minimums = true

[smpp_server]
listen = "127.0.0.1:{door_port}"
response_timeout = 60
{extra}

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


def _held(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "gw.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM smpp_held_parts").fetchone()[0])


def _part(reference: int, seq: int) -> SubmitSm:
    """Part ``seq`` of 2 of a UCS2 message split by the application (its own 6-octet UDH)."""
    text = ("Я" * 67 if seq == 1 else "Ж" * 5).encode("utf-16-be")
    udh = bytes((0x05, 0x00, 0x03, reference, 2, seq))
    return submit(text=udh + text, esm_class=0x40, data_coding=8, registered_delivery=1)


async def test_a_partial_set_held_survives_kill_9_and_completes_or_is_given_up(
    tmp_path: Path,
) -> None:
    """Set A: part 1 held at the crash, part 2 sent after the restart: both go upstream as one
    message, each part's receipt with its id. Set B: part 1 held at the crash and never
    completed: after parts_timeout it is rejected, its receipt says so. Nothing is lost."""
    emulator = EmulatorConfig(
        listeners=(ListenerConfig("127.0.0.1", 0),),
        accounts=(Account("demo", "demo"),),
        dlr_delay=0.05,
    )
    async with Emulator(emulator) as emu:
        door = ("127.0.0.1", free_port())
        config = _config(tmp_path, emu.address[1], door[1], "parts_timeout = 15")
        process = await start_serve(config)
        try:
            await _door_up(door[1])
            app = await bound(door, "tx", system_id="app1", password="app1pw")
            first_a = (await app.submit(_part(0x11, 1))).message_id
            first_b = (await app.submit(_part(0x22, 1))).message_id
            assert _held(tmp_path) == 2  # committed when answered
            process.send_signal(signal.SIGKILL)
            await process.wait()
            await app.close()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert not emu.records  # nothing of either set went upstream

        process = await start_serve(config)
        try:
            await _door_up(door[1])
            app = await bound(door, "trx", system_id="app1", password="app1pw")
            second_a = (await app.submit(_part(0x11, 2))).message_id
            assert second_a.rsplit("-", 1)[0] == first_a.rsplit("-", 1)[0]  # the same message
            stats: dict[str, str] = {}
            async with asyncio.timeout(40):
                while len(stats) < 3:
                    pdu = await app.expect(DeliverSm, within=40)
                    stats[_receipted(pdu)] = pdu.short_message.decode().split("stat:")[1][:7]
            await app.close()
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    assert stats == {first_a: "DELIVRD", second_a: "DELIVRD", first_b: "REJECTD"}
    assembled = emu.assembled_messages()
    assert [(m["complete"], m["total"]) for m in assembled] == [(True, 2)]
    assert _held(tmp_path) == 0

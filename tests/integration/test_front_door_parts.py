"""Parts an application split itself, through the SMPP front door to the strict emulator over
real sockets: each part is held (committed) before its answer and gets its own id and
receipt; the set goes upstream as one message of the same parts, in order, through one session,
under a reference the gateway chose; an incomplete set is given up explicitly."""

from __future__ import annotations

import asyncio
from typing import Any

from smppgate.pdu import (
    CancelSm,
    CancelSmResp,
    CommandId,
    CommandStatus,
    DeliverSm,
    QuerySm,
    QuerySmResp,
    TlvTag,
    make_tlv,
)
from smppgate.store import MessageState, parse_part_id
from smppgate.text import concatenation_udh
from tests.esme_helpers import RawEsme, bound
from tests.integration.test_front_door import _sql, app_submit, receipted_id, running

UCS2_TEXT = "Я" * 66 + "Ж" * 10  # two parts of a UCS2 message
GSM_TEXT = "A" * 153 + "B" * 20


def ucs2_parts(reference: int, *, bits: int = 8) -> list[bytes]:
    """The short_message of each part as an application splits UCS2_TEXT (its own UDH)."""
    octets = UCS2_TEXT.encode("utf-16-be")
    chunks = [octets[:132], octets[132:]]
    parts = []
    for seq, chunk in enumerate(chunks, 1):
        if bits == 8:
            udh = concatenation_udh(reference, len(chunks), seq)
        else:
            udh = bytes((0x06, 0x08, 0x04, reference >> 8, reference & 0xFF, len(chunks), seq))
        parts.append(udh + chunk)
    return parts


def udh_submit(short_message: bytes, **fields: Any) -> Any:
    return app_submit(short_message, esm_class=0x40, data_coding=8, **fields)


async def _receipts(client: RawEsme, count: int, within: float = 15.0) -> dict[str, str]:
    """receipted_message_id -> stat of the next ``count`` receipts."""
    found: dict[str, str] = {}
    async with asyncio.timeout(within):
        while len(found) < count:
            receipt = await client.expect(DeliverSm, within=within)
            text = receipt.short_message.decode()
            found[receipted_id(receipt)] = text.split("stat:")[1].split()[0]
    return found


async def test_a_self_split_ucs2_message_goes_up_as_its_parts_with_a_receipt_per_part(
    store_url: str,
) -> None:
    async with running(store_url) as (emu, gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        ids = []
        for part in ucs2_parts(0x2A):
            response = await client.submit(udh_submit(part))
            assert response.command_status == CommandStatus.ESME_ROK
            ids.append(response.message_id)
        message_ids = {parse_part_id(i) for i in ids}
        assert len(set(ids)) == 2
        assert {m for m, _ in message_ids if m} == {parse_part_id(ids[0])[0]}  # type: ignore[index]
        assert sorted(s for _, s in message_ids) == [1, 2]  # type: ignore[misc]
        receipts = await _receipts(client, 2)
        assert receipts == dict.fromkeys(ids, "DELIVRD")
        message_id = parse_part_id(ids[0])[0]  # type: ignore[index]
        detail = await gateway.store.get_message(message_id)
        assert detail.message.text == UCS2_TEXT
        assert detail.message.state is MessageState.DELIVERED
        # upstream: the same two parts, one session, a 6-octet UDH under the gateway's reference
        frames = [r for r in emu.records if r.status == CommandStatus.ESME_ROK]
        assert len(frames) == 2
        assert len({r.session for r in frames}) == 1
        pdus = [r.pdu for r in frames]
        assert [p.short_message[5] for p in pdus] == [1, 2]  # type: ignore[attr-defined]
        assert all(p.short_message[:3] == b"\x05\x00\x03" for p in pdus)  # type: ignore[attr-defined]
        assembled = emu.assembled_messages()
        assert [(m["complete"], m["text"]) for m in assembled] == [(True, UCS2_TEXT)]
        assert not [v for v in emu.violations if v.rule != "D-12"]
        # query_sm answers for each part id
        for part_id in ids:
            seq = await client.send(QuerySm(message_id=part_id, source_addr="Devino"))
            answer = await client.expect(QuerySmResp)
            assert answer.sequence_number == seq
            assert answer.command_status == CommandStatus.ESME_ROK
            assert answer.message_state == 2  # DELIVERED
        await client.close()


async def test_two_applications_on_one_reference_are_sent_under_different_ones(
    store_url: str,
) -> None:
    users = [
        {"system_id": "app1", "password": "app1pw", "account": "demo"},
        {"system_id": "app2", "password": "app2pw", "account": "demo"},
    ]
    async with running(store_url, users=users) as (emu, _gateway, door):
        first = await bound(door.address, "trx", system_id="app1", password="app1pw")
        second = await bound(door.address, "trx", system_id="app2", password="app2pw")
        parts = ucs2_parts(7)
        # interleaved, same reference, same sender and destination, one upstream account
        for part in parts:
            for client in (first, second):
                response = await client.submit(udh_submit(part))
                assert response.command_status == CommandStatus.ESME_ROK
        await _receipts(first, 2)
        await _receipts(second, 2)
        await first.close()
        await second.close()
        assembled = emu.assembled_messages()
        assert [(m["complete"], m["text"]) for m in assembled] == [(True, UCS2_TEXT)] * 2
        assert assembled[0]["reference"] != assembled[1]["reference"]
        assert not [v for v in emu.violations if v.rule != "D-12"]


async def test_sar_and_7_octet_udh_parts_and_gsm(store_url: str) -> None:
    users = [{"system_id": "app1", "password": "app1pw", "account": "demo"}]
    async with running(store_url, users=users) as (emu, _gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        ids = []
        for part in ucs2_parts(0x1234, bits=16):
            response = await client.submit(udh_submit(part))
            assert response.command_status == CommandStatus.ESME_ROK
            ids.append(response.message_id)
        gsm = GSM_TEXT.encode()
        for seq, chunk in enumerate((gsm[:153], gsm[153:]), 1):
            tlvs = [
                make_tlv(TlvTag.SAR_MSG_REF_NUM, 0x0101),
                make_tlv(TlvTag.SAR_TOTAL_SEGMENTS, 2),
                make_tlv(TlvTag.SAR_SEGMENT_SEQNUM, seq),
            ]
            response = await client.submit(app_submit(chunk, tlvs=tlvs))
            assert response.command_status == CommandStatus.ESME_ROK
            ids.append(response.message_id)
        receipts = await _receipts(client, 4)
        assert receipts == dict.fromkeys(ids, "DELIVRD")
        texts = sorted(str(m["text"]) for m in emu.assembled_messages() if m["complete"])
        assert texts == sorted([UCS2_TEXT, GSM_TEXT])
        frames = [r.pdu for r in emu.records if r.status == CommandStatus.ESME_ROK]
        udh = [f for f in frames if f.esm_class & 0x40]  # type: ignore[attr-defined]
        assert all(len(f.short_message) <= 140 and f.short_message[0] == 5 for f in udh)  # type: ignore[attr-defined]
        assert not [v for v in emu.violations if v.rule != "D-12"]
        await client.close()


async def test_bad_parts_are_refused(store_url: str) -> None:
    async with running(store_url) as (_emu, _gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        cases: list[tuple[Any, CommandStatus]] = [
            # a UDH without the concatenation element
            (udh_submit(b"\x04\x05\x02\x0b\x84" + b"\x00A"), CommandStatus.ESME_RINVESMCLASS),
            # part 3 of 2
            (udh_submit(b"\x05\x00\x03\x01\x02\x03\x00A"), CommandStatus.ESME_RINVESMCLASS),
            # a UDHL that overruns the message
            (udh_submit(b"\x09\x00\x03\x01"), CommandStatus.ESME_RINVESMCLASS),
            # 135 octets of UCS2 text after the UDH: more than one part holds
            (udh_submit(concatenation_udh(1, 2, 1) + b"\x00A" * 68), CommandStatus.ESME_RINVMSGLEN),
            # SAR incomplete
            (
                app_submit(b"x", tlvs=[make_tlv(TlvTag.SAR_MSG_REF_NUM, 1)]),
                CommandStatus.ESME_RMISSINGOPTPARAM,
            ),
        ]
        for pdu, status in cases:
            assert (await client.submit(pdu)).command_status == status
        assert not await door.store.smpp_parts_held()
        await client.close()


async def test_an_incomplete_set_is_given_up_with_a_receipt_per_part_held(store_url: str) -> None:
    async with running(store_url, parts_timeout=0.5) as (emu, gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        response = await client.submit(udh_submit(ucs2_parts(9)[0]))
        assert response.command_status == CommandStatus.ESME_ROK
        receipts = await _receipts(client, 1)
        assert receipts == {response.message_id: "REJECTD"}
        message_id = parse_part_id(response.message_id)[0]  # type: ignore[index]
        detail = await gateway.store.get_message(message_id)
        assert detail.message.state is MessageState.REJECTED
        assert detail.message.last_status_name == "incomplete_set"
        assert not emu.records  # nothing of it went upstream
        assert door.snapshot()["app1"]["sets_given_up"] == 1  # type: ignore[index]
        await client.close()


async def test_a_complete_set_left_held_is_released_at_start(store_url: str) -> None:
    """A crash between holding the last part and releasing the set: the next start sends it."""
    async with running(store_url) as (_emu, _gateway, door):
        client = await bound(door.address, "tx", system_id="app1", password="app1pw")
        parts = ucs2_parts(3)
        response = await client.submit(udh_submit(parts[0]))
        first_id = response.message_id
        await client.close()
    message_id = parse_part_id(first_id)[0]  # type: ignore[index]
    # the second part held as the crashed process left it (committed, set not yet released)
    second = parts[1][6:].hex()
    await _sql(
        store_url,
        "INSERT INTO smpp_held_parts SELECT system_id, set_key, 2, total, message_id, method,"
        " account, source, destination, data_coding, "
        + (f"x'{second}'" if store_url.startswith("sqlite") else f"'\\x{second}'::bytea")
        + ", validity_seconds, priority, not_before, registered_delivery, received_at"
        f" FROM smpp_held_parts WHERE message_id = '{message_id}'",
    )
    async with running(store_url) as (emu, gateway, door):
        async with asyncio.timeout(15):
            while True:
                if [m for m in emu.assembled_messages() if m["complete"]]:
                    break
                await asyncio.sleep(0.05)
        detail = await gateway.store.get_message(message_id)
        assert detail.message.text == UCS2_TEXT
        assert not await door.store.smpp_parts_held()


async def test_a_whole_gsm_message_of_160_septets_is_taken(store_url: str) -> None:
    """GSM comes unpacked, a septet an octet: one SMS holds 160 (140 was UCS2's limit)."""
    async with running(store_url) as (emu, _gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        response = await client.submit(app_submit(b"G" * 160))
        assert response.command_status == CommandStatus.ESME_ROK
        assert await _receipts(client, 1) == {response.message_id: "DELIVRD"}
        assert not [v for v in emu.violations if v.rule != "D-12"]
        await client.close()


async def test_cancel_sm_with_a_part_id_cancels_the_scheduled_set_it_belongs_to(
    store_url: str,
) -> None:
    async with running(store_url) as (emu, gateway, door):
        client = await bound(door.address, "trx", system_id="app1", password="app1pw")
        later = {"schedule_delivery_time": "000001000000000R"}  # in an hour
        ids = [(await client.submit(udh_submit(p, **later))).message_id for p in ucs2_parts(7)]
        held = (await client.submit(udh_submit(ucs2_parts(8)[0], **later))).message_id

        async def cancel(message_id: str) -> CommandStatus:
            seq = await client.send(CancelSm(message_id=message_id, source_addr="Devino"))
            answer = await client.expect(CancelSmResp)
            assert answer.sequence_number == seq
            return answer.command_status

        # a part of a set still held is no message yet: nothing to cancel
        assert await cancel(held) == CommandStatus.ESME_RCANCELFAIL
        message_id = parse_part_id(ids[0])[0]  # type: ignore[index]
        waiting = await gateway.store.get_message(message_id)
        assert waiting.message.state is MessageState.SCHEDULED  # the set keeps its send time
        assert await cancel(f"{message_id}-3") == CommandStatus.ESME_RCANCELFAIL  # no part 3
        # one part's id cancels its whole message (a part is never sent alone) ...
        assert await cancel(ids[1]) == CommandStatus.ESME_ROK
        detail = await gateway.store.get_message(message_id)
        assert detail.message.state is MessageState.CANCELLED
        # ... and the other part's id finds it cancelled: OK again
        assert await cancel(ids[0]) == CommandStatus.ESME_ROK
        seq = await client.send(QuerySm(message_id=ids[0], source_addr="Devino"))
        answer = await client.expect(QuerySmResp)
        assert answer.sequence_number == seq
        assert answer.message_state == 4  # DELETED
        assert not [r for r in emu.records if r.pdu.command_id == CommandId.SUBMIT_SM]
        await client.close()

"""The emulator over real sockets on 127.0.0.1, driven with raw PDUs: accounts and binds, the
session limit, submits and ids, receipts, query/cancel/replace, data_sm and submit_multi, the
platform's rules seen from the SMSC side (violation log)."""

from __future__ import annotations

import asyncio

import pytest

from smppgate.emulator import (
    Emulator,
    IdFormat,
    ListenerConfig,
    NoReceiverError,
    OutcomeMix,
    ReceiptIdFormat,
    ShortValidity,
)
from smppgate.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    CancelSm,
    CancelSmResp,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    DestAddress,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SmppMessageState,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSmResp,
    TlvTag,
    Unbind,
    UnbindResp,
    encode,
    make_tlv,
    tlv_value,
)
from smppgate.text import parse_receipt
from tests.esme_helpers import (
    LOGIN,
    RawEsme,
    bound,
    config,
    esme,
    hexbytes,
    running,
    submit,
    until,
)


def _tlv(pdu: DeliverSm, tag: int) -> object:
    for tlv in pdu.tlvs:
        if tlv.tag == tag:
            return tlv_value(tlv)
    return None


# ---------------------------------------------------------------------- accounts and binds


async def test_bind_answers_system_id_and_sc_interface_version() -> None:
    async with running() as emu, esme(emu.address) as client:
        response = await client.bind("trx")
        assert isinstance(response, BindTransceiverResp)
        assert response.command_status == 0
        assert response.system_id == "DEVINO"
        assert [(t.tag, t.value) for t in response.tlvs] == [(TlvTag.SC_INTERFACE_VERSION, b"\x34")]
        assert [s.system_id for s in emu.bound_sessions(LOGIN)] == [LOGIN]


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("nobody", "secret", 0x0F), (LOGIN, "wrong", 0x0E)],
)
async def test_bad_credentials_get_header_only_answer_then_close(
    system_id: str, password: str, status: int
) -> None:
    async with running() as emu, esme(emu.address) as client:
        await client.send(
            BindTransceiver(system_id=system_id, password=password),
            seq=1,
        )
        frame = await client.read_frame()
        assert frame == hexbytes(f"00000010 80000009 {status:08x} 00000001")
        assert await client.closed()
        assert emu.counters.bind_failures == 1
        assert emu.bound_sessions(LOGIN) == []


async def test_fifth_bind_is_refused_with_bindfail_and_logged() -> None:
    async with running() as emu:
        clients = [await bound(emu.address, mode) for mode in ("tx", "rx", "trx", "trx")]
        async with esme(emu.address) as fifth:
            await fifth.send(
                BindTransmitter(system_id=LOGIN, password="secret"),
                seq=5,
            )
            assert await fifth.read_frame() == hexbytes("00000010 80000002 0000000D 00000005")
            assert await fifth.closed()
        assert "D-06" in emu.violations.rules()
        assert len(emu.bound_sessions(LOGIN)) == 4
        for client in clients:
            await client.close()


async def test_session_limit_status_is_configurable() -> None:
    async with running(max_sessions=1, session_limit_status=CommandStatus.ESME_RALYBND) as emu:
        first = await bound(emu.address)
        async with esme(emu.address) as second:
            response = await second.bind("trx")
            assert response.command_status == CommandStatus.ESME_RALYBND
        await first.close()


async def test_submit_on_receiver_gets_invbndsts_bytes() -> None:
    async with running() as emu:
        client = await bound(emu.address, "rx")
        await client.send(submit(), seq=0x2A)
        assert await client.read_frame() == hexbytes("00000010 80000004 00000004 0000002A")
        await client.close()


async def test_submit_before_bind_gets_invbndsts() -> None:
    async with running() as emu, esme(emu.address) as client:
        response = await client.submit()
        assert response.command_status == CommandStatus.ESME_RINVBNDSTS


async def test_bind_parameters_checked_d03_and_strict_refuses() -> None:
    async with running() as emu, esme(emu.address) as client:
        response = await client.bind("trx", interface_version=0x33, system_type="VMA")
        assert response.command_status == 0
        assert emu.violations.rules() == ["D-03"]
    async with running(strict=True) as emu, esme(emu.address) as client:
        response = await client.bind("trx", interface_version=0x33)
        assert response.command_status == CommandStatus.ESME_RBINDFAIL
        assert await client.closed()


# ---------------------------------------------------------------------- submits


async def test_submit_ids_are_unique_and_decimal_by_default() -> None:
    async with running() as emu:
        client = await bound(emu.address, "tx")
        for _ in range(100):
            await client.send(submit())
        ids = [(await client.expect(SubmitSmResp)).message_id for _ in range(100)]
        assert len(set(ids)) == 100
        assert all(i.isdigit() for i in ids)
        assert len(emu.records) == 100
        assert emu.records[0].traffic_class == "promo"
        assert emu.records[0].system_id == LOGIN
        await client.close()


async def test_hex_ids_and_decimal_receipt_ids() -> None:
    async with running(
        message_id_start=10,
        message_id_format=IdFormat.HEX,
        receipt_id_format=ReceiptIdFormat.DECIMAL,
    ) as emu:
        client = await bound(emu.address)
        response = await client.submit(registered_delivery=1)
        assert response.message_id == "a"
        receipt = await client.expect(DeliverSm)
        assert _tlv(receipt, TlvTag.RECEIPTED_MESSAGE_ID) == "10"
        assert receipt.short_message.startswith(b"id:10 ")
        await client.close()


async def test_addressing_d04_logged_and_strict_statuses() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        assert (await client.submit(source_addr_ton=0)).command_status == 0
        assert emu.violations.rules() == ["D-04"]
        bad = await client.submit(destination="+79001234567")
        assert bad.command_status == CommandStatus.ESME_RINVDSTADR
        await client.close()
    async with running(strict=True) as emu:
        client = await bound(emu.address)
        for fields, status in (
            ({"source_addr_ton": 0}, 0x48),
            ({"source_addr_npi": 0}, 0x49),
            ({"dest_addr_ton": 2}, 0x50),
            ({"dest_addr_npi": 0}, 0x51),
        ):
            assert (await client.submit(**fields)).command_status == status
        await client.close()


async def test_receipt_layout_and_tlvs() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        response = await client.submit(registered_delivery=1, text=b"Hello world")
        receipt = await client.expect(DeliverSm)
        assert receipt.esm_class == 0x04
        assert receipt.source_addr == "79001234567"
        assert receipt.destination_addr == "Devino"
        assert (receipt.dest_addr_ton, receipt.dest_addr_npi) == (5, 1)
        parsed = parse_receipt(receipt.short_message)
        assert parsed.id == response.message_id
        assert parsed.stat == "DELIVRD"
        assert parsed.text == "Hello world"
        assert _tlv(receipt, TlvTag.RECEIPTED_MESSAGE_ID) == response.message_id
        assert _tlv(receipt, TlvTag.MESSAGE_STATE) == SmppMessageState.DELIVERED
        await until(lambda: emu.counters.receipts_sent == 1)
        assert emu.violations.rules() == []
        await client.close()


async def test_no_receipt_when_not_requested_or_disabled() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        await client.submit(registered_delivery=0)
        with pytest.raises(TimeoutError):
            await client.read(within=0.2)
        await client.close()
    async with running(dlr_enabled=False) as emu:
        client = await bound(emu.address)
        await client.submit(registered_delivery=1)
        with pytest.raises(TimeoutError):
            await client.read(within=0.2)
        await client.close()


async def test_outcome_mix_undeliverable() -> None:
    async with running(dlr_outcomes=OutcomeMix(delivered=0, undeliverable=1)) as emu:
        client = await bound(emu.address)
        await client.submit(registered_delivery=1)
        receipt = await client.expect(DeliverSm)
        assert b"stat:UNDELIV" in receipt.short_message
        assert _tlv(receipt, TlvTag.MESSAGE_STATE) == SmppMessageState.UNDELIVERABLE
        await client.close()


async def test_receipt_on_failure_only() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        await client.submit(registered_delivery=2)
        with pytest.raises(TimeoutError):
            await client.read(within=0.2)
        await client.close()


async def test_udh_parts_get_one_receipt_each() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        ids = []
        for part in (1, 2):
            udh = bytes((5, 0, 3, 0xA7, 2, part))
            response = await client.submit(
                esm_class=0x40, registered_delivery=1, text=udh + b"A" * 153
            )
            assert response.command_status == 0
            ids.append(response.message_id)
        receipts = [await client.expect(DeliverSm), await client.expect(DeliverSm)]
        assert sorted(str(_tlv(r, TlvTag.RECEIPTED_MESSAGE_ID)) for r in receipts) == sorted(ids)
        assert [m.complete for m in emu.assembled] == [True]
        assert emu.assembled[0].text() == "A" * 306
        assert emu.violations.rules() == []
        await client.close()


async def test_sar_parts_accepted_and_reassembled() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        for part in (1, 2):
            tlvs = (
                make_tlv(TlvTag.SAR_MSG_REF_NUM, 0x01A7),
                make_tlv(TlvTag.SAR_TOTAL_SEGMENTS, 2),
                make_tlv(TlvTag.SAR_SEGMENT_SEQNUM, part),
            )
            response = await client.submit(text=b"Hello", tlvs=tlvs)
            assert response.command_status == 0
        assert emu.assembled[0].text() == "HelloHello"
        assert emu.violations.rules() == []
        await client.close()


async def test_message_payload_bills_parts_and_sends_one_receipt() -> None:
    text = "Я" * 200
    async with running() as emu:
        client = await bound(emu.address)
        payload = text.encode("utf-16-be")
        response = await client.submit(
            text=b"",
            data_coding=8,
            registered_delivery=1,
            tlvs=(make_tlv(TlvTag.MESSAGE_PAYLOAD, payload),),
        )
        assert response.command_status == 0
        receipt = await client.expect(DeliverSm)
        assert _tlv(receipt, TlvTag.RECEIPTED_MESSAGE_ID) == response.message_id
        with pytest.raises(TimeoutError):
            await client.read(within=0.2)
        assert emu.counters.billed_segments == 3
        await client.close()


@pytest.mark.parametrize(
    ("fields", "rule", "status", "strict_status"),
    [
        # 7-octet UDH (16-bit reference): D-16, strict ESME_RSUBMITFAIL
        ({"esm_class": 0x40, "text": hexbytes("06 08 04 01 A7 02 01") + b"Hi"}, "D-16", 0, 0x45),
        # UDHI and SAR together: D-14, strict ESME_RINVESMCLASS
        (
            {
                "esm_class": 0x40,
                "text": hexbytes("05 00 03 A7 02 01") + b"Hi",
                "tlvs": (
                    make_tlv(TlvTag.SAR_MSG_REF_NUM, 1),
                    make_tlv(TlvTag.SAR_TOTAL_SEGMENTS, 2),
                    make_tlv(TlvTag.SAR_SEGMENT_SEQNUM, 1),
                ),
            },
            "D-14",
            0,
            0x43,
        ),
        # incomplete SAR triplet
        ({"tlvs": (make_tlv(TlvTag.SAR_MSG_REF_NUM, 1),)}, "D-14", 0, 0x43),
        # part 3 of 2
        ({"esm_class": 0x40, "text": hexbytes("05 00 03 A7 02 03") + b"Hi"}, "D-14", 0, 0x43),
        # a part of 154 GSM septets: D-17, ESME_RINVMSGLEN in any mode
        ({"esm_class": 0x40, "text": hexbytes("05 00 03 A7 02 01") + b"A" * 154}, "D-17", 1, 1),
        # a UCS2 part of 136 octets
        (
            {
                "esm_class": 0x40,
                "data_coding": 8,
                "text": hexbytes("050003A70201") + b"\x04\x2f" * 68,
            },
            "D-17",
            1,
            1,
        ),
    ],
)
async def test_segmentation_rules(
    fields: dict[str, object], rule: str, status: int, strict_status: int
) -> None:
    for strict, expected in ((False, status), (True, strict_status)):
        async with running(strict=strict) as emu:
            client = await bound(emu.address)
            response = await client.submit(**fields)
            assert response.command_status == expected, (strict, response)
            assert rule in emu.violations.rules()
            await client.close()


async def test_short_validity_rejected_or_expired() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        short = await client.submit(validity_period="000000000030000R")
        assert short.command_status == CommandStatus.ESME_RINVEXPIRY
        assert emu.violations.rules() == ["D-22"]
        ok = await client.submit(validity_period="000000000100000R")
        assert ok.command_status == 0
        bad = await client.submit(validity_period="991345000000000+")
        assert bad.command_status == CommandStatus.ESME_RINVEXPIRY
        await client.close()
    async with running(short_validity=ShortValidity.EXPIRE) as emu:
        client = await bound(emu.address)
        response = await client.submit(validity_period="000000000030000R", registered_delivery=1)
        assert response.command_status == 0
        receipt = await client.expect(DeliverSm)
        assert b"stat:EXPIRED" in receipt.short_message
        await client.close()


# ---------------------------------------------------------------------- query, cancel, replace


async def test_query_sm_current_state_and_unknown_id() -> None:
    async with running(dlr_delay=30.0) as emu:
        client = await bound(emu.address)
        response = await client.submit(registered_delivery=1)
        await client.send(QuerySm(message_id=response.message_id, source_addr="Devino"))
        answer = await client.expect(QuerySmResp)
        assert answer.message_state == SmppMessageState.ENROUTE
        assert answer.final_date == ""
        await client.send(QuerySm(message_id="999999"))
        unknown = await client.expect(QuerySmResp)
        assert unknown.command_status == CommandStatus.ESME_RQUERYFAIL
        # cancel while en route, then the state is DELETED and cancelling again fails
        await client.send(CancelSm(message_id=response.message_id))
        assert (await client.expect(CancelSmResp)).command_status == 0
        await client.send(QuerySm(message_id=response.message_id))
        cancelled = await client.expect(QuerySmResp)
        assert cancelled.message_state == SmppMessageState.DELETED
        assert len(cancelled.final_date) == 16
        await client.send(CancelSm(message_id=response.message_id))
        again = await client.expect(CancelSmResp)
        assert again.command_status == CommandStatus.ESME_RCANCELFAIL
        await client.close()


async def test_query_after_delivery_and_replace() -> None:
    async with running(dlr_delay=30.0) as emu:
        client = await bound(emu.address)
        response = await client.submit(text=b"old text")
        await client.send(ReplaceSm(message_id=response.message_id, short_message=b"new text"))
        assert (await client.expect(ReplaceSmResp)).command_status == 0
        await client.send(ReplaceSm(message_id="nope", short_message=b"x"))
        failed = await client.expect(ReplaceSmResp)
        assert failed.command_status == CommandStatus.ESME_RREPLACEFAIL
        await client.close()
    async with running(dlr_delay=0.0) as emu:
        client = await bound(emu.address)
        response = await client.submit()
        await client.send(QuerySm(message_id=response.message_id))
        answer = await client.expect(QuerySmResp)
        assert answer.message_state == SmppMessageState.DELIVERED
        assert answer.final_date.endswith("000+")
        await client.close()


async def test_data_sm_and_submit_multi() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        await client.send(
            DataSm(
                source_addr_ton=5,
                source_addr_npi=1,
                source_addr="Devino",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr="79001234567",
                registered_delivery=1,
                tlvs=(make_tlv(TlvTag.MESSAGE_PAYLOAD, b"hello"),),
            )
        )
        data_resp = await client.expect(DataSmResp)
        assert data_resp.command_status == 0
        assert data_resp.message_id
        await client.expect(DeliverSm)
        await client.send(
            SubmitMulti(
                source_addr_ton=5,
                source_addr_npi=1,
                source_addr="Devino",
                dest_addresses=(
                    DestAddress(1, 1, "79001234567"),
                    DestAddress(1, 1, "+7900"),
                ),
                short_message=b"hi all",
            )
        )
        multi = await client.expect(SubmitMultiResp)
        assert multi.command_status == 0
        assert multi.message_id
        assert [u.destination_addr for u in multi.unsuccess_sme] == ["+7900"]
        assert multi.unsuccess_sme[0].error_status_code == CommandStatus.ESME_RINVDSTADR
        await client.close()


# ---------------------------------------------------------------------- receipts routing


async def test_receipts_go_to_receiver_and_wait_for_one() -> None:
    async with running() as emu:
        tx = await bound(emu.address, "tx")
        response = await tx.submit(registered_delivery=1)
        await until(lambda: emu.pending_deliveries(LOGIN) == 1)
        rx = await bound(emu.address, "rx")
        receipt = await rx.expect(DeliverSm)
        assert _tlv(receipt, TlvTag.RECEIPTED_MESSAGE_ID) == response.message_id
        with pytest.raises(TimeoutError):
            await tx.read(within=0.1)
        await tx.close()
        await rx.close()


async def test_pending_receipts_are_bounded() -> None:
    async with running(receipt_queue_limit=2) as emu:
        tx = await bound(emu.address, "tx")
        for _ in range(5):
            await tx.submit(registered_delivery=1)
        await until(lambda: emu.counters.receipts_dropped == 3)
        assert emu.pending_deliveries(LOGIN) == 2
        await tx.close()


async def test_a_burst_of_receipts_fills_the_windows_in_turn_and_waits_in_order() -> None:
    # seven receipts due at once (one read of pipelined submits), two receivers with windows
    # of 2: two each go out, three wait in the account's queue in submit order and follow as
    # the windows free up
    async with running(deliver_window=2) as emu:
        receivers = [await bound(emu.address, "rx"), await bound(emu.address, "rx")]
        tx = await bound(emu.address, "tx")
        await tx.send_raw(b"".join(encode(submit(registered_delivery=1), 10 + i) for i in range(7)))
        ids = [(await tx.expect(SubmitSmResp)).message_id for _ in range(7)]
        assert [int(i) for i in ids] == sorted(int(i) for i in ids)
        first = [[await rx.read() for _ in range(2)] for rx in receivers]
        await until(lambda: emu.pending_deliveries(LOGIN) == 3)
        for rx in receivers:
            with pytest.raises(TimeoutError):
                await rx.read(within=0.1)
        sent = {str(_tlv(pdu, TlvTag.RECEIPTED_MESSAGE_ID)) for got in first for pdu in got}
        assert sent == set(ids[:4])
        a, b = receivers
        await a.send_raw(b"".join(encode(DeliverSmResp(), pdu.sequence_number) for pdu in first[0]))
        later = [await a.read(), await a.read()]
        assert [_tlv(pdu, TlvTag.RECEIPTED_MESSAGE_ID) for pdu in later] == ids[4:6]
        await b.send(DeliverSmResp(), first[1][0].sequence_number)
        last = await b.read()
        assert _tlv(last, TlvTag.RECEIPTED_MESSAGE_ID) == ids[6]
        assert emu.pending_deliveries(LOGIN) == 0
        assert emu.counters.receipts_sent == 7
        for client in (*receivers, tx):
            await client.close()


async def test_receipts_never_cross_accounts() -> None:
    from smppgate.emulator import Account

    accounts = (Account(LOGIN, "secret"), Account("other", "pw"))
    async with running(accounts=accounts) as emu:
        other = await bound(emu.address, "rx", system_id="other", password="pw")
        tx = await bound(emu.address, "tx")
        await tx.submit(registered_delivery=1)
        with pytest.raises(TimeoutError):
            await other.read(within=0.2)
        assert emu.pending_deliveries(LOGIN) == 1
        await other.close()
        await tx.close()


# ---------------------------------------------------------------------- MO and USSD


async def test_inject_mo_plain_concatenated_and_ussd() -> None:
    async with running() as emu:
        client = await bound(emu.address, "rx")
        task = asyncio.create_task(emu.inject_mo(LOGIN, "79001234567", "1234", "hello"))
        mo = await client.expect(DeliverSm)
        assert await task == [CommandStatus.ESME_ROK]
        assert (mo.esm_class, mo.short_message, mo.destination_addr) == (0, b"hello", "1234")

        task = asyncio.create_task(
            emu.inject_mo(LOGIN, "79001234567", "1234", "Привет, мир", concatenated=True)
        )
        first = await client.expect(DeliverSm)
        second = await client.expect(DeliverSm)
        assert await task == [CommandStatus.ESME_ROK] * 2
        assert first.esm_class == second.esm_class == 0x40
        assert first.short_message[:5] == second.short_message[:5] == first.short_message[:5]
        assert (first.short_message[5], second.short_message[5]) == (1, 2)
        text = (first.short_message[6:] + second.short_message[6:]).decode("utf-16-be")
        assert text == "Привет, мир"

        task = asyncio.create_task(
            emu.inject_mo(LOGIN, "79001234567", "*100#", "1", ussd_service_op=1)
        )
        ussd = await client.expect(DeliverSm)
        await task
        assert ussd.service_type == "USSD"
        assert [(t.tag, t.value) for t in ussd.tlvs] == [(TlvTag.USSD_SERVICE_OP, b"\x01")]
        await client.close()


async def test_inject_mo_without_receiver_raises() -> None:
    async with running() as emu:
        client = await bound(emu.address, "tx")
        with pytest.raises(NoReceiverError):
            await emu.inject_mo(LOGIN, "79001234567", "1234", "hello")
        await client.close()


# ---------------------------------------------------------------------- rules from the SMSC side


async def test_generic_nack_from_client_gets_unbind_then_close() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        await client.send_raw(hexbytes("00000010 80000000 00000003 00000009"))
        unbind = await client.read()
        assert isinstance(unbind, Unbind)
        await client.send(UnbindResp(), unbind.sequence_number)
        assert await client.closed()
        assert emu.violations.rules() == ["D-11"]
        await client.close()


async def test_generic_nack_unanswered_unbind_still_closes() -> None:
    async with running(unbind_timeout=0.2) as emu:
        client = await bound(emu.address)
        await client.send_raw(hexbytes("00000010 80000000 00000003 00000009"))
        assert isinstance(await client.read(), Unbind)
        assert await client.closed(within=2)
        await client.close()


async def test_deliver_sm_resp_with_error_is_a_client_fault() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        await client.submit(registered_delivery=1)
        receipt = await client.expect(DeliverSm, ack=False)
        await client.send(
            DeliverSmResp(command_status=CommandStatus.ESME_RSYSERR), receipt.sequence_number
        )
        await until(lambda: emu.counters.deliver_errors == 1)
        assert emu.violations.rules() == ["D-10"]
        await client.close()


async def test_unanswered_deliver_sm_is_d10() -> None:
    async with running(deliver_timeout=0.1) as emu:
        client = await bound(emu.address)
        await client.submit(registered_delivery=1)
        await client.expect(DeliverSm, ack=False)
        # the emulator's deliver_sm timer runs in real time (the session's deadline)
        await until(lambda: "D-10" in emu.violations.rules())
        await client.close()


async def test_early_enquire_link_is_d12() -> None:
    async with running(enquire_link_idle=60.0) as emu:
        client = await bound(emu.address)
        await client.send(EnquireLink())
        assert isinstance(await client.read(), EnquireLinkResp)
        assert emu.violations.rules() == ["D-12"]
        await client.close()
    async with running(enquire_link_idle=0.1) as emu:
        client = await bound(emu.address)
        await asyncio.sleep(0.15)  # real time: silence on the wire is the point
        await client.send(EnquireLink())
        assert isinstance(await client.read(), EnquireLinkResp)
        assert emu.violations.rules() == []
        await client.close()


async def test_early_reconnect_d08_and_strict_refusal() -> None:
    async with running(reconnect_after_drop=60.0) as emu:
        first = await bound(emu.address)
        await first.close()
        await until(lambda: emu.bound_sessions(LOGIN) == [])
        second = await bound(emu.address)
        assert emu.violations.rules() == ["D-08"]
        await second.close()
    async with running(reconnect_after_drop=60.0, strict=True) as emu:
        first = await bound(emu.address)
        await first.close()
        await until(lambda: emu.bound_sessions(LOGIN) == [])
        async with esme(emu.address) as second:
            assert (await second.bind()).command_status == CommandStatus.ESME_RBINDFAIL


async def test_early_retry_after_failed_bind_is_d09() -> None:
    async with running(reconnect_after_failure=90.0) as emu:
        async with esme(emu.address) as client:
            assert (await client.bind(password="bad")).command_status == 0x0E
        again = await bound(emu.address)
        assert "D-09" in emu.violations.rules()
        await again.close()


async def test_malformed_and_unknown_pdus() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        # unknown command id -> generic_nack ESME_RINVCMDID, session stays
        await client.send_raw(hexbytes("00000010 00000199 00000000 00000007"))
        assert await client.read_frame() == hexbytes("00000010 80000000 00000003 00000007")
        # a submit_sm whose body is cut -> submit_sm_resp with the codec's status
        frame = encode(submit(), 8)
        short = (len(frame) - 20).to_bytes(4, "big") + frame[4:-20]
        await client.send_raw(short)
        answer = await client.read()
        assert isinstance(answer, SubmitSmResp | GenericNack)
        assert answer.command_status != 0
        assert (await client.submit()).command_status == 0
        await client.close()


async def test_unframeable_stream_gets_generic_nack_and_close() -> None:
    async with running() as emu, esme(emu.address) as client:
        await client.send_raw(hexbytes("00000004 00000004 00000000 00000001"))
        assert isinstance(await client.read(), GenericNack)
        assert await client.closed()


# ---------------------------------------------------------------------- listeners and API


async def test_listeners_tag_traffic_class() -> None:
    listeners = (
        ListenerConfig("127.0.0.1", 0, "promo"),
        ListenerConfig("127.0.0.1", 0, "transactional"),
    )
    async with running(listeners=listeners) as emu:
        assert len(emu.addresses) == 2
        promo = await bound(emu.addresses[0])
        trans = await bound(emu.addresses[1])
        await promo.submit(destination="79000000001")
        await trans.submit(destination="79000000002")
        classes = {r.pdu.destination_addr: r.traffic_class for r in emu.records}  # type: ignore[union-attr]
        assert classes == {"79000000001": "promo", "79000000002": "transactional"}
        await promo.close()
        await trans.close()


async def test_drop_and_unbind_sessions() -> None:
    async with running() as emu:
        first = await bound(emu.address)
        assert emu.drop_sessions(LOGIN) == 1
        assert await first.closed()
        second = await bound(emu.address)
        assert emu.unbind_sessions(LOGIN) == 1
        unbind = await second.read()
        assert isinstance(unbind, Unbind)
        await second.send(UnbindResp(), unbind.sequence_number)
        assert await second.closed()
        await until(lambda: emu.bound_sessions(LOGIN) == [])
        kinds = [e.kind for e in emu.events]
        assert "bind" in kinds
        assert "disconnect" in kinds
        await first.close()
        await second.close()


async def test_client_unbind_closes_and_is_logged() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        await client.send(Unbind())
        assert isinstance(await client.read(), UnbindResp)
        assert await client.closed()
        await until(lambda: "unbind" in [e.kind for e in emu.events])
        await client.close()


async def test_injectable_clock_drives_timing_rules() -> None:
    now = [1000.0]
    emu = Emulator(config(reconnect_after_drop=60.0), clock=lambda: now[0])
    async with emu:
        first = await bound(emu.address)
        await first.close()
        await until(lambda: emu.bound_sessions(LOGIN) == [])
        now[0] += 61.0
        second = await bound(emu.address)
        assert emu.violations.rules() == []
        await second.close()


async def test_unbound_connection_closed_after_bind_timeout() -> None:
    async with running(bind_timeout=0.2) as emu, esme(emu.address) as client:
        assert await client.closed(within=2)


async def test_aclose_is_idempotent_and_drops_clients() -> None:
    emu = Emulator(config())
    await emu.start()
    client: RawEsme = await bound(emu.address)
    await emu.aclose()
    await emu.aclose()
    assert await client.closed()
    await client.close()

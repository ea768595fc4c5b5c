"""Claimed messages become submit_sm by the platform's addressing rules, and the SMSC's
answers become store outcomes by its error rules — checked through a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from smppgate.client.results import SubmitOutcome, SubmitResult, accepted, unknown
from smppgate.pdu import CommandStatus, RetryClass, TlvTag
from smppgate.profiles import DEVINO_PROMO
from smppgate.service.config import parse_config
from smppgate.service.dispatch import build_part_submits, outcomes_for
from smppgate.store import MessageState, NewMessage, PlannedPart, Store, open_store
from smppgate.text import SplitMethod, plan_split


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(f"sqlite:///{tmp_path}/gw.db") as s:
        yield s


@pytest.fixture
async def backend_store(store_url: str) -> AsyncIterator[Store]:
    """The store on each backend (SQLite and PostgreSQL)."""
    async with open_store(store_url) as s:
        yield s


def _message(
    text: str, method: SplitMethod = SplitMethod.UDH, validity: int | None = 60
) -> NewMessage:
    plan = plan_split(text, method=method, reference=0x42)
    parts = tuple(
        PlannedPart(
            seq=i,
            short_message=p.short_message,
            esm_class=p.esm_class,
            data_coding=plan.data_coding,
            sar_ref=p.sar.msg_ref_num if p.sar else None,
            sar_total=p.sar.total_segments if p.sar else None,
            sar_seq=p.sar.segment_seqnum if p.sar else None,
            message_payload=p.message_payload,
        )
        for i, p in enumerate(plan.parts, 1)
    )
    return NewMessage(
        account="promo",
        source="Devino",
        destination="+79001234567",
        text=text,
        parts=parts,
        validity_seconds=validity,
    )


def _failed(status: CommandStatus) -> SubmitResult:
    return SubmitResult(SubmitOutcome.FAILED, None, status, status.retry)


async def test_submits_follow_platform_addressing(store: Store) -> None:
    await store.insert_message(_message("Привет " * 20), 0.0)
    (claimed,) = await store.claim("node", 10, 0.0, 60.0)
    submits = build_part_submits(claimed, DEVINO_PROMO)
    assert [s.seq for s in submits] == [1, 2, 3]
    for s in submits:
        pdu = s.pdu
        assert (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr) == (5, 1, "Devino")
        assert (pdu.dest_addr_ton, pdu.dest_addr_npi) == (1, 1)
        assert pdu.destination_addr == "79001234567"
        assert pdu.validity_period == "000000000100000R"
        assert pdu.registered_delivery == 1
        assert pdu.esm_class == 0x40
        assert pdu.data_coding == 8
        assert pdu.short_message[:5] == bytes.fromhex("0500034203")


@pytest.mark.parametrize(
    ("sender", "account", "expected"),
    [
        ("Devino", {"profile": "devino-promo"}, (5, 1)),
        ("79161234567", {"profile": "devino-promo"}, (5, 1)),  # the page's mandatory 5/1
        ("900", {"profile": "devino-promo"}, (5, 1)),
        ("79161234567", {"profile": "devino-promo", "source_ton": 1, "source_npi": 1}, (1, 1)),
        ("Devino", {"profile": "smpp34"}, (5, 0)),
        ("+79161234567", {"profile": "smpp34"}, (1, 1)),
        ("900", {"profile": "smpp34"}, (3, 0)),
    ],
)
async def test_stored_messages_go_out_with_the_accounts_source_ton_npi(
    backend_store: Store, sender: str, account: dict[str, object], expected: tuple[int, int]
) -> None:
    (configured,) = parse_config(
        {"accounts": [{"name": "promo", "system_id": "s", "password": "p",
                       "hosts": ["127.0.0.1:2775"], **account}]},
        environ={},
    ).accounts  # fmt: skip
    message = _message("hello")
    await backend_store.insert_message(replace(message, source=sender), 0.0)
    (claimed,) = await backend_store.claim("node", 10, 0.0, 60.0)
    (submit,) = build_part_submits(claimed, configured.profile)
    pdu = submit.pdu
    assert (pdu.source_addr_ton, pdu.source_addr_npi) == expected
    assert pdu.source_addr == sender.removeprefix("+")
    assert (pdu.dest_addr_ton, pdu.dest_addr_npi) == (1, 1)


async def test_sar_parts_carry_the_triplet(store: Store) -> None:
    await store.insert_message(_message("x" * 200, SplitMethod.SAR, None), 0.0)
    (claimed,) = await store.claim("node", 10, 0.0, 60.0)
    submits = build_part_submits(claimed, DEVINO_PROMO)
    tags = [[t.tag for t in s.pdu.tlvs] for s in submits]
    assert (
        tags == [[TlvTag.SAR_MSG_REF_NUM, TlvTag.SAR_TOTAL_SEGMENTS, TlvTag.SAR_SEGMENT_SEQNUM]] * 2
    )
    assert submits[0].pdu.validity_period == ""


async def test_all_accepted_then_receipt_matches_hex_or_decimal(store: Store) -> None:
    await store.insert_message(_message("hello"), 0.0)
    (claimed,) = await store.claim("node", 10, 0.0, 60.0)
    outcomes = outcomes_for(claimed, [(1, accepted("255"))], DEVINO_PROMO, 1.0)
    (result,) = await store.record_outcomes(outcomes)
    assert result.state is MessageState.SUBMITTED
    assert "ff" in outcomes[0].match_keys  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "state", "delay"),
    [
        (CommandStatus.ESME_RTHROTTLED, MessageState.QUEUED, 1.0),
        (CommandStatus.ESME_RMSGQFUL, MessageState.QUEUED, 5.0),
        (CommandStatus.ESME_RINVDSTADR, MessageState.REJECTED, None),
    ],
)
async def test_platform_error_rules(
    store: Store, status: CommandStatus, state: MessageState, delay: float | None
) -> None:
    await store.insert_message(_message("hello"), 0.0)
    (claimed,) = await store.claim("node", 10, 0.0, 60.0)
    (outcome,) = outcomes_for(claimed, [(1, _failed(status))], DEVINO_PROMO, 10.0)
    (result,) = await store.record_outcomes([outcome])
    assert result.state is state
    detail = await store.get_message(claimed.id)
    if delay is not None:
        assert detail.message.next_attempt_at == pytest.approx(10.0 + delay)
        assert await store.claim("node", 10, 10.0 + delay - 0.01, 60.0) == []
        assert len(await store.claim("node", 10, 10.0 + delay, 60.0)) == 1


async def test_queue_full_progression_then_failure(store: Store) -> None:
    await store.insert_message(_message("hello"), 0.0)
    now = 0.0
    waits = []
    for _ in range(6):
        (claimed,) = await store.claim("node", 10, now, 60.0)
        (outcome,) = outcomes_for(
            claimed, [(1, _failed(CommandStatus.ESME_RMSGQFUL))], DEVINO_PROMO, now
        )
        (result,) = await store.record_outcomes([outcome])
        if result.state is MessageState.FAILED:
            break
        detail = await store.get_message(claimed.id)
        waits.append(detail.message.next_attempt_at - now)
        now = detail.message.next_attempt_at
    assert waits == [5.0, 15.0, 45.0, 135.0, 405.0]
    assert result.state is MessageState.FAILED


async def test_no_response_is_unknown_not_resent(store: Store) -> None:
    await store.insert_message(_message("x" * 200), 0.0)
    (claimed,) = await store.claim("node", 10, 0.0, 60.0)
    outcomes = outcomes_for(
        claimed, [(1, accepted("a1")), (2, unknown("timeout"))], DEVINO_PROMO, 1.0
    )
    results = await store.record_outcomes(outcomes)
    assert results[-1].state is MessageState.UNKNOWN
    assert await store.claim("node", 10, 1000.0, 60.0) == []
    assert RetryClass.PERMANENT is CommandStatus.ESME_RINVDSTADR.retry


async def test_ussd_message_goes_out_with_its_tlvs(store: Store) -> None:
    """A stored USSD message (its own columns) is sent with service_type USSD, the
    ussd_service_op and its_session_info TLVs; one stored by version 1 (in traffic_class) too."""
    from dataclasses import replace

    session = bytes([0x0A, 0x03])
    await store.insert_message(
        replace(_message("Balance: 10"), ussd_service_op=17, its_session_info=session), 0.0
    )
    await store.insert_message(replace(_message("Menu"), traffic_class="ussd;op=2"), 0.0)
    await store.insert_message(_message("plain SMS"), 0.0)
    claimed = await store.claim("node", 10, 0.0, 60.0)
    sent = {m.text: build_part_submits(m, DEVINO_PROMO)[0].pdu for m in claimed}
    ussd = sent["Balance: 10"]
    assert ussd.service_type == "USSD"
    assert [(t.tag, t.value) for t in ussd.tlvs] == [
        (TlvTag.USSD_SERVICE_OP, bytes([17])),
        (TlvTag.ITS_SESSION_INFO, session),
    ]
    legacy = sent["Menu"]
    assert legacy.service_type == "USSD"
    assert [(t.tag, t.value) for t in legacy.tlvs] == [(TlvTag.USSD_SERVICE_OP, bytes([2]))]
    plain = sent["plain SMS"]
    assert plain.service_type == ""
    assert not plain.tlvs

"""Webhook payloads and signatures: exact JSON text, HMAC-SHA256 as a receiver checks it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from smppgate.service.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    delivery_headers,
    inbound_payload,
    sign,
    status_payload,
    verify,
)
from smppgate.store import (
    InboundMessage,
    MessageState,
    PartStatus,
    ReceiptRecord,
    ReceiptState,
    StoredMessage,
    StoredPart,
    WebhookJob,
    WebhookState,
)


def test_signature_is_hmac_sha256_of_delivery_timestamp_and_body() -> None:
    body = '{"event":"inbound.mo","text":"привет"}'.encode()
    expected = hmac.new(b"k", b"42.1800000000." + body, hashlib.sha256).hexdigest()
    signature = sign("k", "42", "1800000000", body)
    assert signature == f"v1={expected}"
    at = 1_800_000_010.0
    assert verify("k", "42", "1800000000", body, signature, now=at)
    assert not verify("k", "42", "1800000000", body + b" ", signature, now=at)
    assert not verify("other", "42", "1800000000", body, signature, now=at)
    assert not verify("k", "43", "1800000000", body, signature, now=at)


def test_a_changed_timestamp_fails_verification() -> None:
    """The timestamp is signed: a replay with a fresh timestamp no longer matches."""
    body = b'{"event":"message.status"}'
    signature = sign("k", "7", "1800000000", body)
    assert verify("k", "7", "1800000000", body, signature, now=1_800_000_000.0)
    assert not verify("k", "7", "1800000999", body, signature, now=1_800_000_999.0)
    assert not verify("k", "7", "1800000001", body, signature, now=1_800_000_001.0)


def test_a_stale_or_malformed_timestamp_fails_verification() -> None:
    body = b"{}"
    signature = sign("k", "7", "1800000000", body)
    assert not verify("k", "7", "1800000000", body, signature, now=1_800_000_000.0 + 301)
    assert verify("k", "7", "1800000000", body, signature, now=1_800_000_000.0 + 299)
    assert not verify("k", "7", "+1800000000", body, signature, now=1_800_000_000.0)
    assert not verify("k", "7", "\uff11\uff18", body, signature, now=18.0)


def test_inbound_payload_is_compact_utf8_json() -> None:
    inbound = InboundMessage(7, "promo", "79001234567", "1234", "Да", 8, 1_800_000_000.5, 1, "")
    text = inbound_payload(inbound, 1_800_000_001.0)
    assert " " not in text.replace("Да", "")
    data = json.loads(text)
    assert data["event"] == "inbound.ussd"
    assert data["created_at"] == "2027-01-15T08:00:01.000Z"
    assert data["inbound"]["received_at"] == "2027-01-15T08:00:00.500Z"
    assert data["inbound"]["text"] == "Да"


def test_headers_carry_event_delivery_and_signature() -> None:
    job = WebhookJob(42, "http://x", "{}", "message.status", "M1", WebhookState.PENDING, 1,
                     0.0, 0.0, None)  # fmt: skip
    headers = delivery_headers(job, b"{}", "s", 1_800_000_000.0)
    assert headers[DELIVERY_HEADER] == "42"
    assert headers["X-Smppgate-Event"] == "message.status"
    assert headers["X-Smppgate-Timestamp"] == "1800000000"
    assert verify("s", "42", "1800000000", b"{}", headers[SIGNATURE_HEADER], now=1_800_000_000.0)
    assert SIGNATURE_HEADER not in delivery_headers(job, b"{}", "", 0.0)


# ------------------------------------------------------- message.status, written as text

#: times as the store holds them: seconds with a fraction, some on a millisecond's edge
TIMES = st.one_of(
    st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False),
    st.integers(min_value=0, max_value=4_102_444_800_000).map(lambda ms: ms / 1000),
    st.integers(min_value=0, max_value=4_102_444_800_000_000).map(lambda us: us / 1e6),
    st.sampled_from([0.0, 0.0005, 0.9995, 0.9999995, 1765000000.9999996, 1765000000.0004999]),
)
TEXT = st.text(max_size=12)  # every character: quotes, backslashes, controls, astral


def _reference(m: StoredMessage, receipts: tuple[ReceiptRecord, ...], at: float) -> str:
    """The payload as the documented dictionaries, written by the json module (what the
    gateway built before the payload became a template)."""

    def iso(t: float | None) -> str | None:
        if t is None:
            return None
        text = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")

    parts = [
        {
            "seq": p.seq,
            "status": p.status.value,
            "message_id": p.smsc_message_id,
            "receipt_state": None if p.receipt_state is None else p.receipt_state.value,
            "receipt_at": iso(p.receipt_at),
            "error_code": p.error_code,
            "receipts": [
                {
                    "state": r.state.value,
                    "received_at": iso(r.received_at),
                    "error_code": r.error_code,
                }
                for r in receipts
                if r.seq == p.seq
            ],
        }
        for p in m.parts
    ]
    payload = {
        "event": "message.status",
        "created_at": iso(at),
        "message": {
            "id": m.id, "account": m.account, "to": m.destination, "from": m.source,
            "status": m.state.value, "final": m.state.is_final, "reference": m.client_reference,
            "created_at": iso(m.created_at), "updated_at": iso(m.updated_at), "parts": parts,
        },
    }  # fmt: skip
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


@st.composite
def messages(draw: st.DrawFn) -> tuple[StoredMessage, tuple[ReceiptRecord, ...], float]:
    count = draw(st.integers(min_value=0, max_value=3))
    parts = tuple(
        StoredPart(
            seq=seq, short_message=b"x", esm_class=0, data_coding=0, sar_ref=None,
            sar_total=None, sar_seq=None, message_payload=None,
            status=draw(st.sampled_from(PartStatus)), attempts=1,
            smsc_message_id=draw(st.none() | TEXT), sent_at=None, submitted_at=None,
            receipt_state=draw(st.none() | st.sampled_from(ReceiptState)),
            receipt_at=draw(st.none() | TIMES), error_code=draw(st.none() | TEXT),
            last_status=None, last_status_name=None,
        )
        for seq in range(1, count + 1)
    )  # fmt: skip
    receipts = tuple(
        ReceiptRecord(
            id=i, message_id="m", seq=draw(st.integers(min_value=1, max_value=3)),
            state=draw(st.sampled_from(ReceiptState)), raw="", received_at=draw(TIMES),
            error_code=draw(st.none() | TEXT),
        )
        for i in range(draw(st.integers(min_value=0, max_value=4)))
    )  # fmt: skip
    message = StoredMessage(
        id=draw(TEXT), account=draw(TEXT), source=draw(TEXT), destination=draw(TEXT),
        text="hi", encoding="gsm7", split_method="udh", validity_seconds=None,
        callback_url=None, client_reference=draw(st.none() | TEXT), resend_unknown=False,
        traffic_class=None, priority=0, idempotency_key=None, idempotency_scope="",
        state=draw(st.sampled_from(MessageState)), created_at=draw(TIMES),
        updated_at=draw(TIMES), next_attempt_at=0.0, attempts=0, qfull_retries=0,
        throttled_retries=0, last_status=None, last_status_name=None, part_count=count,
        leased_by=None, lease_until=None, parts=parts,
    )  # fmt: skip
    return message, receipts, draw(TIMES)


@settings(max_examples=300)
@given(messages())
def test_status_payload_is_the_json_of_its_documented_shape(
    drawn: tuple[StoredMessage, tuple[ReceiptRecord, ...], float],
) -> None:
    message, receipts, at = drawn
    text = status_payload(message, receipts, at)
    assert text == _reference(message, receipts, at)
    assert json.loads(text)["message"]["id"] == message.id

"""Webhook payloads and signatures: exact JSON text, HMAC-SHA256 as a receiver checks it."""

from __future__ import annotations

import hashlib
import hmac
import json

from smppgate.service.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    delivery_headers,
    inbound_payload,
    sign,
    verify,
)
from smppgate.store import InboundMessage, WebhookJob, WebhookState


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

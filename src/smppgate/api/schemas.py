"""The API's JSON shapes: request bodies in (checked field by field, each error naming its
field), response bodies out. Separate from the store's models: what the API promises does not
change when a column does."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smppgate.api.errors import ApiError, invalid
from smppgate.service.blocklist import entry_json
from smppgate.service.intake import (
    Accepted,
    MessageRequest,
    PreviewRequest,
    UssdFields,
    UssdRequest,
    ValidationError,
    parse_send_at,
    ussd_service_op,
)
from smppgate.store import (
    Attempt,
    BlockEntry,
    InboundMessage,
    MessageDetail,
    MessageState,
    ReceiptRecord,
    StoredMessage,
    StoredPart,
)
from smppgate.text import DefaultAlphabet, Encoding, ItsSessionInfo, Preview, SplitMethod

log = logging.getLogger("smppgate.api")

SPLITS = tuple(m.value for m in SplitMethod)
ENCODINGS = ("auto", "gsm7", "latin1", "ucs2")
MESSAGE_FIELDS = frozenset(
    {"to", "from", "text", "account", "split", "encoding", "validity", "callback_url",
     "reference", "resend_unknown", "priority", "class", "send_at"}
)  # fmt: skip
USSD_FIELDS = frozenset(
    {"to", "from", "text", "op", "session", "account", "encoding", "validity", "callback_url",
     "reference", "priority", "class"}
)  # fmt: skip
PREVIEW_FIELDS = frozenset({"text", "encoding", "account", "to", "from"})
BLOCK_FIELDS = frozenset({"number", "account", "reason"})


# ------------------------------------------------------------------------- reading


class Fields:
    """Typed reads from one JSON object; errors name the field (with a prefix in lists)."""

    def __init__(self, data: object, allowed: frozenset[str], prefix: str = "") -> None:
        self.prefix = prefix
        # (a dict first: what json.loads makes, without the ABC check)
        if not isinstance(data, dict) and not isinstance(data, Mapping):
            raise invalid(prefix or "body", "must be a JSON object")
        self.data: Mapping[str, Any] = data
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise invalid(self.name(str(key)), f"unknown field (known fields: {known})")

    def name(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise invalid(self.name(key), "required")
            return None
        if not isinstance(value, str):
            raise invalid(self.name(key), f"must be a string, got {_kind(value)}")
        return clean_text(value, self.name(key))

    def required_str(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def whole(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(self.name(key), f"must be a whole number, got {_kind(value)}")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise invalid(self.name(key), f"must be true or false, got {_kind(value)}")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(key)
        if value is not None and value not in choices:
            raise invalid(self.name(key), f"must be one of {', '.join(choices)}; got {value!r}")
        return value


def clean_text(value: str, field: str) -> str:
    """A string the store can keep: no NUL (PostgreSQL TEXT refuses it) and no lone
    surrogate (not UTF-8 at all, from a JSON ``\\ud800`` or an undecodable query)."""
    if "\x00" in value:
        raise invalid(field, "must not contain NUL characters (U+0000)")
    if value.isascii():  # the usual case, and no surrogate can hide in it
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise invalid(
            field, f"not valid Unicode: a lone surrogate U+{ord(value[exc.start]):04X}"
        ) from None
    return value


def query_text(value: str | None, field: str) -> str | None:
    """A query or path value (None or empty: not given), checked like a body string."""
    if not value:
        return None
    return clean_text(value, field)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", str: "a string",
            int: "a number", float: "a number"}.get(type(value), "null")  # fmt: skip


def message_request(data: object, prefix: str = "") -> MessageRequest:
    f = Fields(data, MESSAGE_FIELDS, prefix)
    split = f.choice("split", SPLITS)
    encoding = f.choice("encoding", ENCODINGS)
    return MessageRequest(
        to=f.required_str("to"),
        text=f.required_str("text"),
        sender=f.text("from"),
        account=f.text("account"),
        split=None if split is None else SplitMethod(split),
        encoding=None if encoding is None else Encoding(encoding),
        validity=f.whole("validity"),
        callback_url=f.text("callback_url"),
        reference=f.text("reference"),
        resend_unknown=f.flag("resend_unknown"),
        priority=_priority(f),
        traffic_class=f.text("class"),
        send_at=_send_at(f),
    )


def _send_at(f: Fields) -> float | None:
    value = f.text("send_at")
    if value is None:
        return None
    try:
        return parse_send_at(value)
    except ValidationError as exc:
        raise invalid(f.name("send_at"), exc.message) from None


def _priority(f: Fields) -> int:
    value = f.whole("priority")
    return 0 if value is None else value  # its range is the intake's check


def batch_requests(data: object, max_batch: int) -> list[MessageRequest]:
    f = Fields(data, frozenset({"messages"}))
    items = f.data.get("messages")
    if not isinstance(items, list) or not items:
        raise invalid("messages", "a non-empty list of messages")
    if len(items) > max_batch:
        raise ApiError(
            413,
            "batch_too_large",
            f"{len(items)} messages in one batch; at most {max_batch}: split it",
            field="messages",
        )
    return [message_request(item, f"messages[{i}]") for i, item in enumerate(items)]


def preview_request(data: object) -> PreviewRequest:
    f = Fields(data, PREVIEW_FIELDS)
    encoding = f.choice("encoding", ENCODINGS)
    return PreviewRequest(
        text=f.required_str("text"),
        encoding=None if encoding is None else Encoding(encoding),
        account=f.text("account"),
        to=f.text("to"),
        sender=f.text("from"),
    )


@dataclass(frozen=True, slots=True)
class BlockRequest:
    """``POST /v1/blocklist``: a number to list for an account (None: the client's first)."""

    number: str
    account: str | None
    reason: str | None


def block_request(data: object) -> BlockRequest:
    f = Fields(data, BLOCK_FIELDS)
    return BlockRequest(f.required_str("number"), f.text("account"), f.text("reason"))


def block_entry(e: BlockEntry) -> dict[str, Any]:
    return _rendered("blocklist entry", e.id, lambda: entry_json(e), {"number": e.number})


def ussd_request(data: object) -> UssdRequest:
    f = Fields(data, USSD_FIELDS)
    op = f.data.get("op")
    if op is None:
        raise invalid("op", "required: the ussd_service_op, e.g. 'pssr_response' or 17")
    if isinstance(op, bool) or not isinstance(op, str | int):
        raise invalid("op", "a name such as 'pssr_response' or a number 0..255")
    if isinstance(op, int) and not 0 <= op <= 0xFF:
        raise invalid("op", f"a number is 0..255; got {op if abs(op) < 10**6 else 'more'}")
    service_op = ussd_service_op(clean_text(str(op), "op"))
    encoding = f.choice("encoding", ENCODINGS)
    return UssdRequest(
        to=f.required_str("to"),
        text=f.required_str("text"),
        service_op=service_op,
        sender=f.text("from"),
        account=f.text("account"),
        session=_session(f.data.get("session")),
        encoding=None if encoding is None else Encoding(encoding),
        validity=f.whole("validity"),
        callback_url=f.text("callback_url"),
        reference=f.text("reference"),
        priority=_priority(f),
        traffic_class=f.text("class"),
    )


def _session(data: object) -> ItsSessionInfo | None:
    if data is None:
        return None
    f = Fields(data, frozenset({"number", "sequence", "end"}), "session")
    number = f.whole("number")
    if number is None:
        raise invalid("session.number", "required (0..255)")
    sequence = f.whole("sequence") or 0
    try:
        return ItsSessionInfo(number, sequence, f.flag("end"))
    except ValueError as exc:
        raise invalid("session", str(exc)) from None


def parse_time(value: str | None, field: str) -> float | None:
    """Epoch seconds or an ISO 8601 time (UTC when no offset is given)."""
    if value is None or value == "":
        return None
    clean_text(value, field)
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or abs(number) > 1e12:
            raise invalid(field, f"epoch seconds within reach, got {value[:40]!r}")
        return number
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(
            field, f"epoch seconds or ISO 8601, e.g. 2026-01-31T12:00:00Z; got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError):
        raise invalid(field, f"a time within reach, got {value[:40]!r}") from None


def parse_limit(value: str | None, default: int = 100, maximum: int = 1000) -> int:
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdecimal() and len(value) <= 6) or not (
        1 <= int(value) <= maximum
    ):
        raise invalid("limit", f"a whole number 1..{maximum}; got {value[:40]!r}")
    return int(value)


def parse_state(value: str | None) -> MessageState | None:
    if value is None or value == "":
        return None
    try:
        return MessageState(value)
    except ValueError:
        names = ", ".join(s.value for s in MessageState)
        raise invalid("status", f"one of {names}; got {value[:40]!r}") from None


# ------------------------------------------------------------------------- writing


class UnrenderableTimeError(ValueError):
    """A stored time that is no date (infinite, NaN, beyond year 9999): a bug upstream."""


#: while set, `iso` renders a time it cannot render as null instead of raising (`_rendered`)
_LENIENT: ContextVar[bool] = ContextVar("smppgate_api_lenient_times", default=False)


def iso(at: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds, e.g. 2026-01-31T12:00:00.000Z."""
    if at is None:
        return None
    try:
        moment = datetime.fromtimestamp(at, UTC)
    except (OverflowError, ValueError, OSError) as exc:
        if _LENIENT.get():
            return None
        raise UnrenderableTimeError(f"time {at!r}: {exc}") from None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rendered(
    kind: str, key: object, build: Callable[[], dict[str, Any]], stub: dict[str, Any]
) -> dict[str, Any]:
    """One record's body. A stored value that cannot be rendered is a bug somewhere upstream:
    it is logged with the record's id, and the answer still renders — the record with null for
    each time that is no date, or, for anything else, a ``stub`` (id, and an ``error``). The
    API never answers 500 because of what is stored."""
    try:
        return build()
    except UnrenderableTimeError as exc:
        log.error("%s %s holds a time that is no date (%s): a bug; shown as null", kind, key, exc)
    except Exception:
        log.exception("%s %s cannot be rendered as stored: a bug", kind, key)
        return {**stub, "error": f"this {kind} cannot be shown as stored; see the gateway's log"}
    token = _LENIENT.set(True)
    try:
        return _rendered(kind, key, build, stub)
    finally:
        _LENIENT.reset(token)


def accepted(result: Accepted) -> dict[str, Any]:
    return {"id": result.id, "parts": result.parts, "status": result.status.value}


def message_summary(m: StoredMessage) -> dict[str, Any]:
    return _rendered("message", m.id, lambda: _summary(m), _message_stub(m))


def _message_stub(m: StoredMessage) -> dict[str, Any]:
    return {"id": m.id, "account": m.account, "status": m.state.value}


def _summary(m: StoredMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "account": m.account,
        "client": m.client,
        "class": None if UssdFields.from_legacy(m.traffic_class) else m.traffic_class,
        "to": m.destination,
        "from": m.source,
        "status": m.state.value,
        "send_at": iso(m.next_attempt_at) if m.state is MessageState.SCHEDULED else None,
        "parts": m.part_count,
        "reference": m.client_reference,
        "created_at": iso(m.created_at),
        "updated_at": iso(m.updated_at),
    }


def message_detail(detail: MessageDetail) -> dict[str, Any]:
    m = detail.message
    return _rendered("message", m.id, lambda: _detail(detail), _message_stub(m))


def _detail(detail: MessageDetail) -> dict[str, Any]:
    m = detail.message
    ussd = UssdFields.of(m)
    body = _summary(m)
    body.update(
        {
            "text": m.text,
            "encoding": m.encoding,
            "split": m.split_method,
            "validity": m.validity_seconds,
            "callback_url": m.callback_url,
            "resend_unknown": m.resend_unknown,
            "priority": m.priority,
            "next_attempt_at": iso(m.next_attempt_at) if not m.state.is_final else None,
            "attempt_count": m.attempts,
            "last_status": m.last_status_name,
            "ussd": None
            if ussd is None
            else {
                "op": ussd.service_op,
                "session": None
                if ussd.session is None
                else {
                    "number": ussd.session.session_number,
                    "sequence": ussd.session.sequence_number,
                    "end": ussd.session.end_of_session,
                },
            },
            "part_count": m.part_count,
            "parts": [part(p, detail.receipts) for p in m.parts],
            "attempts": [attempt(a) for a in detail.attempts],
        }
    )
    return body


def part(p: StoredPart, receipts: tuple[ReceiptRecord, ...]) -> dict[str, Any]:
    return {
        "seq": p.seq,
        "status": p.status.value,
        "message_id": p.smsc_message_id,
        "attempt_count": p.attempts,
        "sent_at": iso(p.sent_at),
        "submitted_at": iso(p.submitted_at),
        "last_status": p.last_status_name,
        "receipt_state": None if p.receipt_state is None else p.receipt_state.value,
        "receipt_at": iso(p.receipt_at),
        "error_code": p.error_code,
        "receipts": [receipt(r) for r in receipts if r.seq == p.seq],
    }


def receipt(r: ReceiptRecord) -> dict[str, Any]:
    return {
        "state": r.state.value,
        "received_at": iso(r.received_at),
        "error_code": r.error_code,
        "raw": r.raw,
    }


def attempt(a: Attempt) -> dict[str, Any]:
    return {
        "seq": a.seq,
        "at": iso(a.at),
        "outcome": a.outcome,
        "command_status": a.command_status,
        "status_name": a.status_name,
        "node_id": a.node_id,
        "session_id": a.session_id,
        "host": a.host,
    }


def inbound(m: InboundMessage) -> dict[str, Any]:
    return _rendered("inbound message", m.id, lambda: _inbound(m), {"id": m.id})


def _inbound(m: InboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": "sms" if m.ussd_service_op is None else "ussd",
        "account": m.account,
        "from": m.source,
        "to": m.destination,
        "text": m.text,
        "data_coding": m.data_coding,
        "ussd_service_op": m.ussd_service_op,
        "received_at": iso(m.received_at),
        "parts_info": m.parts_info,
    }


def preview(
    result: Preview, max_parts: int, default_alphabet: DefaultAlphabet = DefaultAlphabet.GSM7
) -> dict[str, Any]:
    return {
        "encoding": result.encoding.value,
        "data_coding": result.data_coding,
        "parts": result.parts,
        "units": result.units,
        "unit": result.unit.value,
        "units_left": result.units_left,
        "forcing_characters": list(result.forcing_characters),
        "max_parts": max_parts,
        "fits": result.parts <= max_parts,
        "default_alphabet": default_alphabet.value,
    }

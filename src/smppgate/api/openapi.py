"""The OpenAPI 3.1 document of the HTTP API, built once per app (a test checks that every
registered route is in it)."""

from __future__ import annotations

from typing import Any

from smppgate import __version__
from smppgate.api.errors import PROBLEM_JSON
from smppgate.api.ops import OPENAPI_SCHEMAS as OPS_SCHEMAS
from smppgate.api.ops import openapi_paths as ops_paths
from smppgate.api.schemas import ENCODINGS, SPLITS
from smppgate.service.config import GatewayConfig
from smppgate.service.intake import MAX_VALIDITY
from smppgate.store import MAX_PRIORITY, BlockSource, MessageState, PartStatus, ReceiptState
from smppgate.text import UssdServiceOp

_PRIORITY = {
    "type": "integer",
    "minimum": 0,
    "maximum": MAX_PRIORITY,
    "default": 0,
    "description": "Within the account, due messages of a higher priority are sent first "
    "(e.g. one-time codes above a campaign)",
}

JSON = "application/json"


#: a destination as people type it, read by the account's dial plan (docs/http-api.md)
_TO = {
    "type": "string",
    "description": "Destination as people type it, read by the account's dial plan (Russia by "
    "default): 8 900 123-45-67, +7 (900) 123 45 67, 00 44 20 7946 0958; sent as international "
    "digits. Not a plausible number: 422 saying why",
    "examples": ["+79001234567", "8 900 123-45-67"],
}
#: a sender as the account's profile can carry it (docs/configuration.md, "Senders")
_FROM = {
    "type": "string",
    "description": "Sender: on the Devino profiles at most 11 Latin letters, digits, spaces or "
    "!\"#$%&'()*+,-./:;<=>?@_ (numbers too); on smpp34 up to 15 digits or such a name of up "
    "to 11; default: the account's default_sender",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(name: str, example: Any | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": _ref(name)}
    if example is not None:
        content["example"] = example
    return {"required": True, "content": {JSON: content}}


def _answer(description: str, name: str | None = None) -> dict[str, Any]:
    if name is None:
        return {"description": description}
    return {"description": description, "content": {JSON: {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Malformed JSON or a bad header",
        401: "Missing or wrong API key",
        404: "No such message",
        403: "A Host or Origin the gateway does not answer to (cross-site, DNS rebinding); "
        "`account_forbidden`: an account the client may not use; `operator_only`: a path "
        "only operator clients may read",
        408: "The body did not arrive in time",
        409: "The Idempotency-Key was used for a different request",
        413: "Too many messages in one batch (or a body over 8 MiB)",
        415: "The body was not sent as application/json",
        422: "A field is invalid: `field` names it, `detail` says what to fix",
        429: "`rate_limited`: the client's request rate (`Retry-After` seconds); "
        "`quota_exceeded`: its daily quota (`resets_at`, the next UTC midnight)",
        503: "The store is unavailable; retry",
    }
    return {str(s): _problem(text[s]) for s in sorted(statuses)}


def _problem(description: str) -> dict[str, Any]:
    """An error answer: an RFC 9457 problem document."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _ref("Error")}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any string up to 200 characters. A retried POST with the same key (from the "
    "same API key) returns the first result with 200 and `Idempotent-Replayed: true` instead "
    "of sending again.",
    "schema": {"type": "string", "maxLength": 200},
}
_NULLABLE_STR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_SINCE = _query(
    "since", "Created (received) at or after: ISO 8601 or epoch seconds", {"type": "string"}
)
_LIMIT = _query("limit", "Page size", {"type": "integer", "minimum": 1, "maximum": 1000,
                                       "default": 100})  # fmt: skip


def _schemas(config: GatewayConfig) -> dict[str, Any]:
    accounts = [a.name for a in config.accounts]
    class_schema = {
        "type": "string",
        "enum": list(config.traffic_classes),
        "description": "The traffic class (default: the client's default_class): routes "
        "choose the account by it when `account` is not given",
    }
    message_request = {
        "type": "object",
        "required": ["to", "text"],
        "additionalProperties": False,
        "properties": {
            "to": _TO,
            "from": _FROM,
            "text": {"type": "string", "minLength": 1},
            "account": {"type": "string", "enum": accounts,
                        "description": "Default: chosen by [[routes]] from `class` and `to`; "
                        "without routes the first account the client may use"},
            "class": class_schema,
            "split": {"type": "string", "enum": list(SPLITS),
                      "description": "How long texts are split; default: the account's"},
            "encoding": {"type": "string", "enum": list(ENCODINGS),
                         "description": "auto picks GSM 03.38 when it can, else UCS2"},
            "validity": {"type": "integer", "minimum": 60, "maximum": MAX_VALIDITY,
                         "description": "Seconds the SMSC keeps trying"},
            "callback_url": {"type": "string", "format": "uri",
                             "description": "http(s) URL for status webhooks"},
            "reference": {"type": "string", "maxLength": 128,
                          "description": "Your reference, echoed in listings and webhooks"},
            "resend_unknown": {"type": "boolean", "default": False,
                               "description": "Resend a part whose submit_sm got no response "
                               "(may duplicate)"},
            "priority": _PRIORITY,
            "send_at": {"type": "string", "format": "date-time",
                        "examples": ["2026-12-08T09:00:00+03:00"],
                        "description": "Not sent before this time (RFC 3339 with its UTC "
                        "offset; at most 30 days ahead): the message is `scheduled` until "
                        "then, and can be cancelled. Quiet hours may move it later. Its "
                        "validity counts from when it is sent"},
        },
    }  # fmt: skip
    receipt = {
        "type": "object",
        "properties": {
            "state": {"type": "string", "enum": [s.value for s in ReceiptState]},
            "received_at": _TIME,
            "error_code": _NULLABLE_STR,
            "raw": {"type": "string"},
        },
    }
    part = {
        "type": "object",
        "properties": {
            "seq": {"type": "integer"},
            "status": {"type": "string", "enum": [s.value for s in PartStatus]},
            "message_id": {"type": ["string", "null"], "description": "The SMSC's message id"},
            "attempt_count": {"type": "integer"},
            "sent_at": _TIME,
            "submitted_at": _TIME,
            "last_status": {"type": ["string", "null"], "description": "command_status name"},
            "receipt_state": {"type": ["string", "null"]},
            "receipt_at": _TIME,
            "error_code": _NULLABLE_STR,
            "receipts": {"type": "array", "items": _ref("Receipt")},
        },
    }
    attempt = {
        "type": "object",
        "properties": {
            "seq": {"type": ["integer", "null"]},
            "at": _TIME,
            "outcome": {"type": "string"},
            "command_status": {"type": ["integer", "null"]},
            "status_name": _NULLABLE_STR,
            "node_id": {"type": "string"},
            "session_id": {"type": "string"},
            "host": {"type": "string"},
        },
    }
    summary_props: dict[str, Any] = {
        "id": {"type": "string"},
        "account": {"type": "string"},
        "class": {"type": ["string", "null"], "description": "The traffic class"},
        "client": {
            "type": ["string", "null"],
            "description": "The API client that queued it (`default`: [http] api_keys; "
            "`cli`: send-bulk; null: queued before clients were recorded)",
        },
        "to": {"type": "string"},
        "from": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in MessageState]},
        "send_at": {
            **_TIME,
            "description": "While `scheduled`: when it joins the queue (its send_at, or the "
            "end of the quiet hours it fell in); null otherwise",
        },
        "parts": {"type": "integer"},
        "reference": _NULLABLE_STR,
        "created_at": _TIME,
        "updated_at": _TIME,
    }
    message = {
        "type": "object",
        "properties": {
            **summary_props,
            "parts": {"type": "array", "items": _ref("Part")},
            "part_count": {"type": "integer"},
            "text": {"type": "string"},
            "encoding": {"type": "string"},
            "split": {"type": "string"},
            "validity": {"type": ["integer", "null"]},
            "callback_url": _NULLABLE_STR,
            "resend_unknown": {"type": "boolean"},
            "priority": {"type": "integer"},
            "next_attempt_at": _TIME,
            "attempt_count": {"type": "integer"},
            "last_status": _NULLABLE_STR,
            "ussd": {"type": ["object", "null"]},
            "attempts": {"type": "array", "items": _ref("Attempt")},
        },
    }
    return {
        "MessageRequest": message_request,
        "Accepted": {
            "type": "object",
            "required": ["id", "parts", "status"],
            "properties": {
                "id": {"type": "string", "description": "The gateway's message id"},
                "parts": {"type": "integer", "description": "SMS parts planned"},
                "status": {"type": "string", "enum": [s.value for s in MessageState]},
            },
        },
        "BatchRequest": {
            "type": "object",
            "required": ["messages"],
            "additionalProperties": False,
            "properties": {
                "messages": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": config.http.max_batch,
                    "items": _ref("MessageRequest"),
                },
            },
        },
        "BatchAccepted": {
            "type": "object",
            "properties": {"messages": {"type": "array", "items": _ref("Accepted")}},
        },
        "PreviewRequest": {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {
                "text": {"type": "string", "minLength": 1},
                "encoding": {"type": "string", "enum": list(ENCODINGS)},
                "account": {"type": "string", "enum": accounts},
                "to": {
                    **_TO,
                    "description": "Optional: shown normalized in the answer "
                    "(or a 422 on to, as sending would give)",
                },
                "from": {
                    **_FROM,
                    "description": "Optional: checked against the account's "
                    "profile and shown as it would go out (or a 422 on from)",
                },
            },
        },
        "Preview": {
            "type": "object",
            "properties": {
                "encoding": {"type": "string"},
                "data_coding": {"type": "integer"},
                "parts": {"type": "integer"},
                "units": {"type": "integer", "description": "Length in `unit`s"},
                "unit": {"type": "string", "enum": ["septet", "utf16_unit", "octet"]},
                "units_left": {"type": "integer", "description": "Room left in the last part"},
                "forcing_characters": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Characters that made auto choose UCS2",
                },
                "max_parts": {"type": "integer"},
                "fits": {"type": "boolean"},
                "default_alphabet": {
                    "type": "string",
                    "enum": ["gsm7", "latin1", "ascii"],
                    "description": "What data_coding 0 means on the account (its setting)",
                },
                "to": {
                    "type": "string",
                    "description": "The request's `to` as it would be "
                    "sent: international digits (only when the request gave one)",
                    "examples": ["79001234567"],
                },
                "from": {
                    "type": "string",
                    "description": "The request's `from` as it would "
                    "go out (only when the request gave one)",
                },
            },
        },
        "Receipt": receipt,
        "Part": part,
        "Attempt": attempt,
        "Message": message,
        "MessageSummary": {"type": "object", "properties": summary_props},
        "MessageList": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": _ref("MessageSummary")},
                "next": {"type": ["string", "null"], "description": "Pass as `after`"},
            },
        },
        "UssdRequest": {
            "type": "object",
            "required": ["to", "text", "op"],
            "additionalProperties": False,
            "properties": {
                "to": _TO,
                "from": _FROM,
                "text": {"type": "string", "minLength": 1, "description": "One part at most"},
                "op": {
                    "oneOf": [
                        {"type": "string", "enum": [o.name.lower() for o in UssdServiceOp]},
                        {"type": "integer", "minimum": 0, "maximum": 255},
                    ],
                    "description": "ussd_service_op",
                },
                "session": {
                    "type": "object",
                    "required": ["number"],
                    "properties": {
                        "number": {"type": "integer", "minimum": 0, "maximum": 255},
                        "sequence": {"type": "integer", "minimum": 0, "maximum": 127},
                        "end": {"type": "boolean"},
                    },
                    "description": "its_session_info",
                },
                "account": {"type": "string", "enum": accounts},
                "encoding": {"type": "string", "enum": list(ENCODINGS)},
                "validity": {"type": "integer", "minimum": 60, "maximum": MAX_VALIDITY},
                "callback_url": {"type": "string", "format": "uri"},
                "reference": {"type": "string", "maxLength": 128},
                "priority": _PRIORITY,
                "class": class_schema,
            },
        },
        "Inbound": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string", "enum": ["sms", "ussd"]},
                "account": {"type": "string"},
                "from": {"type": "string"},
                "to": {"type": "string"},
                "text": {"type": "string"},
                "data_coding": {"type": "integer"},
                "ussd_service_op": {"type": ["integer", "null"]},
                "received_at": _TIME,
                "parts_info": {"type": "string"},
            },
        },
        "InboundList": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": _ref("Inbound")},
                "next": {"type": ["string", "null"], "description": "Pass as `after`"},
            },
        },
        "BlockRequest": {
            "type": "object",
            "required": ["number"],
            "additionalProperties": False,
            "properties": {
                "number": {"type": "string", "description": "As a message's `to` is written"},
                "account": {
                    "type": "string",
                    "description": "Default: the first account the client may use",
                },
                "reason": {"type": "string", "maxLength": 200, "description": "Why"},
            },
        },
        "BlockEntry": {
            "type": "object",
            "properties": {
                "number": {"type": "string"},
                "account": {"type": "string"},
                "source": {
                    "type": "string",
                    "enum": [s.value for s in BlockSource],
                    "description": "`keyword`: the number sent an opt-out keyword (an opt-in "
                    "keyword removes only these); the others are an operator's block",
                },
                "reason": _NULLABLE_STR,
                "added_by": {
                    "type": ["string", "null"],
                    "description": "The API client, `cli`, or `inbound:<id>` for a keyword",
                },
                "created_at": _TIME,
            },
        },
        "BlockList": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": _ref("BlockEntry")},
                "next": {"type": ["string", "null"], "description": "Pass as `after`"},
            },
        },
        "Health": {"type": "object", "properties": {"status": {"const": "ok"}}},
        "Ready": {
            "type": "object",
            "properties": {"ready": {"type": "boolean"}, "details": {"type": "object"}},
        },
        "Error": {
            "type": "object",
            "description": "An RFC 9457 problem document (`application/problem+json`). "
            "`code`, `field` and the code's own members are extension members; `error` is "
            "the 0.x body, kept for compatibility and deprecated.",
            "required": ["type", "title", "status", "detail", "code", "error"],
            "properties": {
                "type": {
                    "type": "string",
                    "description": "`/problems/<code>` (relative to the gateway's address), "
                    "or `about:blank` for an HTTP status with no more specific code",
                    "examples": ["/problems/validation_error"],
                },
                "title": {"type": "string", "description": "The same for every answer of a code"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string", "description": "What to fix"},
                "instance": {"type": "string", "description": "The request's path"},
                "code": {"type": "string", "examples": ["validation_error"]},
                "field": {"type": "string", "description": "The field at fault"},
                "correlation_id": {"type": "string", "description": "On 500 only"},
                "message_id": {"type": "string", "description": "On 409 only"},
                "retry_after": {"type": "number", "description": "On 429 `rate_limited`"},
                "limit": {"type": "integer", "description": "On 429 `quota_exceeded`"},
                "used": {"type": "integer", "description": "On 429 `quota_exceeded`"},
                "resets_at": {"type": "string", "description": "On 429 `quota_exceeded`"},
                "error": {
                    "type": "object",
                    "deprecated": True,
                    "description": "Deprecated: the 0.x error body (`code`, `field`, "
                    "`message` = `detail`, the code's members); read the top-level members",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }


def build_document(config: GatewayConfig) -> dict[str, Any]:
    """The complete document for an app serving ``config``."""
    example = {"to": "+79001234567", "from": "Shop", "text": "Your code is 1234"}
    open_route: dict[str, Any] = {"security": []}
    paths: dict[str, Any] = {
        "/v1/messages": {
            "post": {
                "operationId": "sendMessage",
                "summary": "Queue one SMS",
                "description": "Validated, split and committed to the store before the answer.",
                "parameters": [_IDEMPOTENCY],
                "requestBody": _body("MessageRequest", example),
                "responses": {
                    "202": _answer("Queued", "Accepted"),
                    "200": _answer("Idempotent replay: the first result", "Accepted"),
                    **_errors(400, 401, 403, 408, 415, 409, 422, 503),
                },
            },
            "get": {
                "operationId": "listMessages",
                "summary": "List messages (oldest first)",
                "parameters": [
                    _query(
                        "status",
                        "Only this state",
                        {"type": "string", "enum": [s.value for s in MessageState]},
                    ),
                    _SINCE,
                    _query("account", "Only this account", {"type": "string"}),
                    _query(
                        "client",
                        "Only this client's (operators; any other client sees only its own)",
                        {"type": "string"},
                    ),
                    _query("after", "The `next` cursor of the previous page", {"type": "string"}),
                    _LIMIT,
                ],
                "responses": {"200": _answer("A page", "MessageList"), **_errors(401, 422)},
            },
        },
        "/v1/messages/batch": {
            "post": {
                "operationId": "sendBatch",
                "summary": f"Queue up to {config.http.max_batch} SMS in one transaction",
                "description": "All valid and stored, or none (the first invalid one is named "
                "as `messages[i].field`). With Idempotency-Key K, message i uses key `K#i`.",
                "parameters": [_IDEMPOTENCY],
                "requestBody": _body("BatchRequest", {"messages": [example]}),
                "responses": {
                    "202": _answer("Queued", "BatchAccepted"),
                    "200": _answer("Idempotent replay", "BatchAccepted"),
                    **_errors(400, 401, 403, 408, 415, 409, 413, 422, 503),
                },
            }
        },
        "/v1/messages/preview": {
            "post": {
                "operationId": "previewMessage",
                "summary": "Encoding, parts and room left, without sending",
                "requestBody": _body("PreviewRequest", {"text": "Привет!"}),
                "responses": {
                    "200": _answer("The cost", "Preview"),
                    **_errors(400, 401, 403, 408, 415, 422),
                },
            }
        },
        "/v1/messages/{id}": {
            "get": {
                "operationId": "getMessage",
                "summary": "One message with its parts, receipts and attempts",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": _answer("The message", "Message"), **_errors(401, 404)},
            },
            "delete": {
                "operationId": "cancelMessage",
                "summary": "Cancel a message still queued or scheduled",
                "description": "The message ends `cancelled` (final; its `message.status` "
                "webhook is queued) and nothing of it is sent. A message the dispatcher "
                "takes at the same instant is either cancelled or sent, never both. "
                "Cancelling a cancelled message again answers 200. One already on its way "
                "(`sending`, `submitted`) or final gets 409 with the reason and its `status`.",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": _answer("Cancelled (now or before)", "Message"),
                    **_errors(401, 404, 503),
                    "409": _answer(
                        "`not_cancellable`: already on its way (`sending`, `submitted`) or "
                        "final; `message_status` says which, `detail` why",
                        "Error",
                    ),
                },
            },
        },
        "/v1/ussd": {
            "post": {
                "operationId": "sendUssd",
                "summary": "Queue one USSD message (service_type USSD, ussd_service_op TLV)",
                "parameters": [_IDEMPOTENCY],
                "requestBody": _body(
                    "UssdRequest",
                    {
                        "to": "+79001234567",
                        "text": "Balance: 10",
                        "op": "pssr_response",
                        "session": {"number": 7, "sequence": 1, "end": True},
                    },
                ),
                "responses": {
                    "202": _answer("Queued", "Accepted"),
                    "200": _answer("Idempotent replay", "Accepted"),
                    **_errors(400, 401, 403, 408, 415, 409, 422, 503),
                },
            }
        },
        "/v1/inbound": {
            "get": {
                "operationId": "listInbound",
                "summary": "MO SMS and USSD received (oldest first)",
                "parameters": [
                    _SINCE,
                    _query("account", "Only this account", {"type": "string"}),
                    _query("after", "The `next` cursor of the previous page", {"type": "string"}),
                    _LIMIT,
                ],
                "responses": {"200": _answer("A page", "InboundList"), **_errors(401, 422)},
            }
        },
        "/v1/blocklist": {
            "post": {
                "operationId": "addBlock",
                "summary": "Put a number on an account's blocklist (messages to it end `blocked`)",
                "description": "Idempotent: a number listed already answers 200 with its "
                "entry (an entry an opt-out keyword made becomes this caller's block).",
                "requestBody": _body(
                    "BlockRequest", {"number": "+79001234567", "reason": "asked by phone"}
                ),
                "responses": {
                    "201": _answer("Listed", "BlockEntry"),
                    "200": _answer("Listed already: the entry as it stands", "BlockEntry"),
                    **_errors(400, 401, 403, 408, 415, 422, 503),
                },
            },
            "get": {
                "operationId": "listBlocks",
                "summary": "Blocklist entries of the accounts the client may use (oldest first)",
                "parameters": [
                    _query("account", "Only this account", {"type": "string"}),
                    _query("number", "Only this number", {"type": "string"}),
                    _query("after", "The `next` cursor of the previous page", {"type": "string"}),
                    _LIMIT,
                ],
                "responses": {
                    "200": _answer("A page", "BlockList"),
                    **_errors(401, 403, 422, 503),
                },
            },
        },
        "/v1/blocklist/{number}": {
            "delete": {
                "operationId": "removeBlock",
                "summary": "Take a number off an account's blocklist, whatever listed it",
                "parameters": [
                    {
                        "name": "number",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    _query(
                        "account",
                        "Default: the first account the client may use",
                        {"type": "string"},
                    ),
                ],
                "responses": {
                    "200": _answer("Removed: the entry it was", "BlockEntry"),
                    **_errors(401, 403, 404, 422, 503),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "The process is up (no key needed)",
                **open_route,
                "responses": {"200": _answer("Up", "Health")},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "ready",
                "summary": "Store reachable and a session bound per account",
                "responses": {
                    "200": _answer("Ready", "Ready"),
                    "503": _answer("Not ready", "Ready"),
                    **_errors(401),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus text format 0.0.4",
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(401, 403),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {}}}},
                    **_errors(401),
                },
            }
        },
        "/docs": {
            "get": {
                "operationId": "docs",
                "summary": "This document as an HTML page",
                "responses": {
                    "200": {
                        "description": "HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    **_errors(401),
                },
            }
        },
    }
    paths.update(ops_paths())
    for path in paths.values():
        for operation in path.values():
            if operation.get("security") != []:
                # every keyed request counts against its client's rate
                operation["responses"].update(_errors(429))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smppgate",
            "version": __version__,
            "description": "SMS/USSD gateway over SMPP 3.4. Every accepted message is committed "
            "to the store before the answer. Errors are RFC 9457 problem documents "
            "(`application/problem+json`: `type`, `title`, `status`, `detail`, `instance`, "
            "`code`, `field`?; the 0.x `error` object is kept in them, deprecated).",
        },
        "paths": paths,
        "components": {
            "schemas": {**_schemas(config), **OPS_SCHEMAS},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}]
        if any(c.api_keys for c in config.api_clients)
        else [],
    }

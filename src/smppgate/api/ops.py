"""The ops page: its HTML, CSS and JS (package data under ``api/static``), and the data routes
it reads — a snapshot, a stream of snapshots, and a search.

The page and its static files need no key (they carry no data); the data routes sit behind the
API keys like the rest. The page asks for the key once, keeps it in sessionStorage and sends it
as ``X-API-Key``. It reads the event stream with ``fetch`` (so it can send that header) rather
than ``EventSource`` (which cannot); no key ever travels in a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from importlib import resources
from typing import Any

from aiohttp import web

from smppgate.api import schemas
from smppgate.api.errors import PROBLEM_JSON, ApiError
from smppgate.api.keys import OPS, STREAMS_STOP
from smppgate.service.ops import OpsView, SearchError

STATIC = resources.files("smppgate.api") / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*\.(css|js|svg|png|ico)$")
_TYPES = {
    "css": "text/css",
    "js": "text/javascript",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
}
#: seconds between two snapshots on the event stream
STREAM_INTERVAL = 1.0
MAX_QUERY = 64


def _ops(request: web.Request) -> OpsView:
    ops = request.app.get(OPS)
    if ops is None:
        raise ApiError(
            503,
            "ops_unavailable",
            "this app was started without the ops view: run `smppgate serve` for the ops page",
        )
    return ops


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


async def page(request: web.Request) -> web.StreamResponse:
    if request.path == "/ui":
        raise web.HTTPFound("/ui/")
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    match = _STATIC_NAME.match(name)
    resource = STATIC / name
    if match is None or not resource.is_file():
        raise ApiError(404, "not_found", f"no static file {name!r}")
    return web.Response(
        body=resource.read_bytes(),
        content_type=_TYPES[match.group(1)],
        headers={"Cache-Control": "no-cache"},
    )


async def snapshot(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).snapshot())


async def events(request: web.Request) -> web.StreamResponse:
    """``text/event-stream``: one ``snapshot`` event per second until the client goes away
    or the app shuts down."""
    ops = _ops(request)
    stop = request.app[STREAMS_STOP]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    try:
        await response.write(b"retry: 2000\n\n")
        while not stop.is_set():
            data = json.dumps(await ops.snapshot(), separators=(",", ":"))
            await response.write(f"event: snapshot\ndata: {data}\n\n".encode())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STREAM_INTERVAL)
    except ConnectionError:
        pass  # the page went away
    return response


async def search(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()
    if not q or len(q) > MAX_QUERY:
        raise ApiError(
            422,
            "validation_error",
            f"q: a message id or a destination number (1..{MAX_QUERY} characters)",
            field="q",
        )
    account = request.query.get("account", "").strip() or None
    try:
        result = await _ops(request).search(q, account)
    except SearchError as exc:
        raise ApiError(422, "validation_error", str(exc), field=exc.field) from None
    body: dict[str, Any] = {
        "query": result.query,
        "kind": result.kind,
        "scanned": result.scanned,
        "messages": [schemas.message_detail(d) for d in result.messages],
    }
    return web.json_response(body)


def add_ops_routes(app: web.Application) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/ui", page)
    app.router.add_get("/ui/", page)
    app.router.add_get("/ui/static/{name}", static)
    app.router.add_get("/v1/ops", snapshot)
    app.router.add_get("/v1/ops/events", events)
    app.router.add_get("/v1/ops/search", search)


# ----------------------------------------------------------------------- OpenAPI

_HTML = {"text/html": {"schema": {"type": "string"}}}
_NO_KEY: dict[str, Any] = {"security": []}
_ERROR = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
_KEY_ERROR = {
    "401": {"description": "Missing or wrong API key", "content": _ERROR},
    "403": {"description": "`operator_only`: the client is not an operator", "content": _ERROR},
}
_NO_OPS = {"503": {"description": "Started without the ops view", "content": _ERROR}}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "OpsSnapshot": {
        "type": "object",
        "description": "What the ops page shows. Numbers come from the sources /metrics and "
        "the message API read; `rates` are the metrics counters sampled once a second.",
        "properties": {
            "node_id": {"type": "string"},
            "now": {"type": "number", "description": "Epoch seconds"},
            "store_up": {"type": "boolean"},
            "accounts": {
                "type": "array",
                "description": "Each account with its hosts (primary first) and sessions: "
                "`state` is bound, connecting, cooling_down (with `cooldown_left` of "
                "`cooldown_total` seconds), waiting, draining or stopped.",
                "items": {"type": "object"},
            },
            "clients": {
                "type": "array",
                "description": "Each API client: name, accounts (null: all), default_class, "
                "rate, burst, daily_quota, operator, used_today (messages queued this UTC day "
                "on every node, as the quota counts them), accepted and limited (`rate`, "
                "`daily_quota`: 429s) on this node",
                "items": {"type": "object"},
            },
            "front_door": {
                "type": ["object", "null"],
                "description": "The SMPP front door (null when off): `listen`, `window` "
                "(deliver_sm per bound receiver) and `users`, one per configured user: "
                "system_id, account, max_binds, throughput (null: no limit), `sessions` (id, "
                "mode, peer, window_used of each bound application), window_used, submits "
                "(since start), submits_per_second (last 5 s), receipts_sent, "
                "receipts_in_flight (sent, unanswered), receipt_backlog (waiting in the store's "
                "outbox, bound or not, every node), mo_backlog (routed MO and USSD waiting in "
                "the store for the application, bound or not, every node)",
            },
            "queue": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "Messages by state",
            },
            "retries": {
                "type": "object",
                "description": "Queued messages waiting for a "
                "retry: `items` (the soonest 50: id, next_attempt_at, `in` seconds, reason: "
                "throttled, queue_full, transient or scheduled, and `detail`), `waiting` and "
                "`by_reason` (counts over the queued messages scanned), `truncated`",
            },
            "rates": {
                "type": "object",
                "description": "`t`, `submits`, `receipts`: per-second "
                "series over the last minutes; `submits_per_second`, "
                "`receipts_per_second`: the last 5 s",
            },
            "totals": {"type": "object"},
            "responses": {
                "type": "array",
                "description": "submit_sm_resp by command_status",
                "items": {"type": "object"},
            },
            "receipts": {
                "type": "object",
                "description": "received; match_rate (receipts that found their "
                "message, net of those the store still keeps unmatched); "
                "match_rate_on_arrival (found it at once: the others outran their "
                "submit_sm_resp and were applied when it was stored); unmatched_stored; "
                "median_latency (seconds from submit_sm_resp to the receipt) over "
                "latency_sample parts; by_state",
            },
            "webhooks": {"type": "object", "description": "backlog and outcomes"},
            "errors": {
                "type": "array",
                "description": "The last warnings and errors, newest first",
                "items": {"type": "object"},
            },
        },
    },
    "OpsSearch": {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "kind": {"type": "string", "enum": ["id", "destination"]},
            "scanned": {"type": "integer", "description": "Messages looked at (destination)"},
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
        },
    },
}


def openapi_paths() -> dict[str, Any]:
    """The ops routes for the OpenAPI document."""
    page = {
        "get": {
            "operationId": "opsPage",
            "summary": "The ops page (HTML; no key needed, it asks for one)",
            **_NO_KEY,
            "responses": {"200": {"description": "HTML", "content": _HTML}},
        }
    }
    return {
        "/": {
            "get": {
                "operationId": "home",
                "summary": "Redirects to the ops page",
                **_NO_KEY,
                "responses": {"302": {"description": "To /ui/"}},
            }
        },
        "/ui": {
            "get": {
                **page["get"],
                "operationId": "opsPageNoSlash",
                "responses": {"302": {"description": "To /ui/"}},
            }
        },
        "/ui/": page,
        "/ui/static/{name}": {
            "get": {
                "operationId": "opsStatic",
                "summary": "The ops page's CSS and JavaScript (package data; no key needed)",
                **_NO_KEY,
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "The file"},
                    "404": {"description": "No such file", "content": _ERROR},
                },
            }
        },
        "/v1/ops": {
            "get": {
                "operationId": "opsSnapshot",
                "summary": "What the ops page shows, as JSON",
                "responses": {
                    "200": {
                        "description": "The snapshot",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OpsSnapshot"}
                            }
                        },
                    },
                    **_KEY_ERROR,
                    **_NO_OPS,
                },
            }
        },
        "/v1/ops/events": {
            "get": {
                "operationId": "opsEvents",
                "summary": "Server-sent events: a `snapshot` event (an OpsSnapshot) every second",
                "description": "Send the key as a header like every other route (read the "
                "stream with fetch; EventSource cannot send headers).",
                "responses": {
                    "200": {
                        "description": "text/event-stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_KEY_ERROR,
                    **_NO_OPS,
                },
            }
        },
        "/v1/ops/search": {
            "get": {
                "operationId": "opsSearch",
                "summary": "A message by id, or the latest messages to a destination number",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "description": "A message id (26 characters) or a destination number "
                        "as people type it (`8 900 123-45-67`, `+7 (900) 123 45 67`), read by "
                        "the dial plan of `account`, or of every account",
                        "schema": {"type": "string", "maxLength": MAX_QUERY},
                    },
                    {
                        "name": "account",
                        "in": "query",
                        "required": False,
                        "description": "Read the number by this account's dial plan and find "
                        "only its messages (422 `validation_error`, field `account`, when no "
                        "account has the name)",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Matches, newest first, with parts, attempts and receipts",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OpsSearch"}
                            }
                        },
                    },
                    "422": {
                        "description": "Neither an id nor a number, or no such account",
                        "content": _ERROR,
                    },
                    **_KEY_ERROR,
                    **_NO_OPS,
                },
            }
        },
    }

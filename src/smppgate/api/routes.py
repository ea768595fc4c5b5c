"""The routes: thin handlers that read a request, call the service, and shape the answer."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from smppgate.api import schemas
from smppgate.api.errors import ApiError
from smppgate.api.keys import (
    BLOCKLISTS,
    INTAKE,
    LIVE,
    METRICS,
    OPENAPI,
    READINESS,
    STORE,
    UPSTREAM_CANCEL,
    client_of,
    scope_of,
)
from smppgate.api.ops import add_ops_routes
from smppgate.api.reference import render_reference_page
from smppgate.service.cancel import NotCancellableError, cancel_message
from smppgate.service.intake import Accepted
from smppgate.service.metrics import CONTENT_TYPE
from smppgate.store import MessageDetail, MessageState, NotFound

log = logging.getLogger("smppgate.api")

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_IDEMPOTENCY_KEY = 200
#: the deepest JSON a request may nest (the deepest valid request nests 3: batch, list, object)
MAX_JSON_DEPTH = 32
#: inbound ids are PostgreSQL BIGINTs
MAX_INBOUND_ID = 2**63 - 1


async def read_json(request: web.Request) -> Any:
    """The body as JSON; 400 when it is not JSON at all (or absurdly deep, or a number too
    long to convert), 408 when it does not arrive within ``http.body_timeout`` seconds."""
    if request.content.is_eof():
        # the whole body came with the headers (the usual case): nothing to wait for, and no
        # timer to arm and cancel per request
        raw = await request.read()
    else:
        timeout = request.app[LIVE].current.http.body_timeout  # a reload may change it
        try:
            async with asyncio.timeout(timeout):
                raw = await request.read()
        except TimeoutError:
            raise ApiError(
                408, "request_timeout", f"the body did not arrive within {timeout:g} s"
            ) from None
    if not raw:
        raise ApiError(400, "malformed_json", "the request body is empty; send a JSON object")
    if _depth(raw) > MAX_JSON_DEPTH:
        raise ApiError(400, "malformed_json", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:
        # a number of more than 4,300 digits (int conversion limit), say
        raise ApiError(400, "malformed_json", f"the body cannot be read: {exc}") from None


def _depth(raw: bytes) -> int:
    """An upper bound of the nesting of ``raw`` (brackets inside strings count too: a cheap
    guard before parsing, never below the real depth)."""
    depth = deepest = 0
    for octet in raw.translate(None, delete=_NOT_BRACKETS):
        depth += 1 if octet in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"{IDEMPOTENCY_HEADER} must be 1..{MAX_IDEMPOTENCY_KEY} printable characters",
        )
    return key


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


# ----------------------------------------------------------------------- messages


def _count_accepted(request: web.Request, results: list[Accepted]) -> list[Accepted]:
    """The results that created a message, counted per account and per client."""
    metrics = request.app[METRICS]
    client = client_of(request).name
    created = [r for r in results if r.created]
    for result in created:
        metrics.accepted(result.account)
        if result.status is MessageState.BLOCKED:
            metrics.blocked(result.account, "intake")
    if created:
        metrics.client_accepted(client, len(created))
        log.debug("client %s queued %d message(s)", client, len(created))
    return created


async def post_message(request: web.Request) -> web.Response:
    body = schemas.message_request(await read_json(request))
    result = await request.app[INTAKE].accept(
        body,
        idempotency_key=idempotency_key(request),
        scope=scope_of(request),
        client=client_of(request),
    )
    # where the message's state will be (RFC 9110 15.3.3), on a replay too
    location = {"Location": f"/v1/messages/{result.id}"}
    if _count_accepted(request, [result]):
        return _json(schemas.accepted(result), 202, location)
    return _json(schemas.accepted(result), 200, {REPLAYED_HEADER: "true", **location})


async def post_batch(request: web.Request) -> web.Response:
    limit = request.app[LIVE].current.http.max_batch  # a reload may change it
    requests = schemas.batch_requests(await read_json(request), limit)
    results = await request.app[INTAKE].accept_batch(
        requests,
        idempotency_key=idempotency_key(request),
        scope=scope_of(request),
        client=client_of(request),
    )
    created = _count_accepted(request, results)
    body = {"messages": [schemas.accepted(r) for r in results]}
    if created:
        return _json(body, 202)
    return _json(body, 200, {REPLAYED_HEADER: "true"})


async def post_preview(request: web.Request) -> web.Response:
    body = schemas.preview_request(await read_json(request))
    intake = request.app[INTAKE]
    client = client_of(request)
    result = intake.preview(body, client)
    to, sender = intake.preview_addresses(body, client)
    account = intake.account_for(body.account, client=client)
    answer = schemas.preview(result, account.max_parts, account.default_alphabet)
    if to is not None:
        answer["to"] = to
    if sender is not None:
        answer["from"] = sender
    return _json(answer)


async def _visible_message(request: web.Request) -> MessageDetail:
    """The message the path names, if the calling client may see it (404 otherwise)."""
    message_id = schemas.query_text(request.match_info["id"], "id") or ""
    detail = await request.app[STORE].get_message(message_id)
    client = client_of(request)
    if not client.operator and detail.message.client != client.name:
        # another client's message is as absent as one that never was
        raise NotFound("message", message_id)
    return detail


async def get_message(request: web.Request) -> web.Response:
    return _json(schemas.message_detail(await _visible_message(request)))


async def delete_message(request: web.Request) -> web.Response:
    """Cancel a message still queued or scheduled: 200 with the message (``cancelled``), 409
    with the reason for one already on its way or final."""
    message_id = (await _visible_message(request)).message.id
    store = request.app[STORE]
    client = client_of(request)
    try:
        result = await cancel_message(
            store,
            message_id,
            request.app[INTAKE].now(),
            by=f"api:{client.name}",
            upstream=request.app.get(UPSTREAM_CANCEL),
        )
    except NotCancellableError as exc:
        raise ApiError(
            409, "not_cancellable", str(exc), extra={"message_status": exc.state.value}
        ) from None
    if result.cancelled:
        log.info("client %s cancelled message %s (%s)", client.name, message_id, result.account)
    return _json(schemas.message_detail(await store.get_message(message_id)))


async def list_messages(request: web.Request) -> web.Response:
    q = request.query
    client = client_of(request)
    asked = schemas.query_text(q.get("client"), "client")
    page = await request.app[STORE].list_messages(
        state=schemas.parse_state(q.get("status")),
        account=schemas.query_text(q.get("account"), "account"),
        since=schemas.parse_time(q.get("since"), "since"),
        after=schemas.query_text(q.get("after"), "after"),
        limit=schemas.parse_limit(q.get("limit")),
        client=asked if client.operator else client.name,
    )
    return _json(
        {"items": [schemas.message_summary(m) for m in page.items], "next": page.next_cursor}
    )


async def post_ussd(request: web.Request) -> web.Response:
    body = schemas.ussd_request(await read_json(request))
    result = await request.app[INTAKE].accept_ussd(
        body,
        idempotency_key=idempotency_key(request),
        scope=scope_of(request),
        client=client_of(request),
    )
    # where the message's state will be (RFC 9110 15.3.3), on a replay too
    location = {"Location": f"/v1/messages/{result.id}"}
    if _count_accepted(request, [result]):
        return _json(schemas.accepted(result), 202, location)
    return _json(schemas.accepted(result), 200, {REPLAYED_HEADER: "true", **location})


def _after_id(value: str | None) -> int:
    """An ``after`` cursor that is a store id (inbound, blocklist): 0..2^63-1."""
    after = value or "0"
    if not (after.isascii() and after.isdecimal() and len(after) <= 19) or (
        int(after) > MAX_INBOUND_ID
    ):
        raise ApiError(
            422, "validation_error", "the id of the last item seen (0..2^63-1)", field="after"
        )
    return int(after)


async def list_inbound(request: web.Request) -> web.Response:
    q = request.query
    limit = schemas.parse_limit(q.get("limit"))
    client = client_of(request)
    items = await request.app[STORE].list_inbound(
        since=schemas.parse_time(q.get("since"), "since"),
        after_id=_after_id(q.get("after")),
        account=schemas.query_text(q.get("account"), "account"),
        limit=limit,
        # a client sees the inbound of the accounts it may use (all, for an operator)
        accounts=None if client.operator else client.accounts,
    )
    next_cursor = str(items[-1].id) if len(items) == limit else None
    return _json({"items": [schemas.inbound(m) for m in items], "next": next_cursor})


# ----------------------------------------------------------------------- blocklist


async def post_blocklist(request: web.Request) -> web.Response:
    body = schemas.block_request(await read_json(request))
    result = await request.app[BLOCKLISTS].add(
        body.number, account=body.account, reason=body.reason, client=client_of(request)
    )
    # adding a listed number again is no error: 200 with the entry as it stands
    return _json(schemas.block_entry(result.entry), 201 if result.created else 200)


async def delete_blocklist(request: web.Request) -> web.Response:
    number = schemas.query_text(request.match_info["number"], "number") or ""
    removed = await request.app[BLOCKLISTS].remove(
        number,
        account=schemas.query_text(request.query.get("account"), "account"),
        client=client_of(request),
    )
    return _json(schemas.block_entry(removed))


async def list_blocklist(request: web.Request) -> web.Response:
    q = request.query
    number = schemas.query_text(q.get("number"), "number")
    page = await request.app[BLOCKLISTS].list(
        account=schemas.query_text(q.get("account"), "account"),
        number=number,
        after=_after_id(q.get("after")),
        limit=schemas.parse_limit(q.get("limit")),
        client=client_of(request),
    )
    next_cursor = None if page.next_cursor is None else str(page.next_cursor)
    return _json({"items": [schemas.block_entry(e) for e in page.items], "next": next_cursor})


# ----------------------------------------------------------------------- operations


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        ready, details = await request.app[READINESS]()
    except Exception as exc:  # noqa: BLE001  (a failing check means not ready, not a 500)
        ready, details = False, {"error": f"{type(exc).__name__}: {exc}"}
    return _json({"ready": ready, "details": details}, 200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    text = await request.app[METRICS].render()
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return _json(request.app[OPENAPI])


async def docs(request: web.Request) -> web.Response:
    page = render_reference_page(request.app[OPENAPI])
    return web.Response(text=page, content_type="text/html")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/messages", post_message)
    app.router.add_post("/v1/messages/batch", post_batch)
    app.router.add_post("/v1/messages/preview", post_preview)
    app.router.add_get("/v1/messages", list_messages)
    app.router.add_get("/v1/messages/{id}", get_message)
    # not the POST-only paths beside it: DELETE /v1/messages/batch stays a 405
    app.router.add_delete(r"/v1/messages/{id:(?!(?:batch|preview)$)[^{}/]+}", delete_message)
    app.router.add_post("/v1/ussd", post_ussd)
    app.router.add_get("/v1/inbound", list_inbound)
    app.router.add_post("/v1/blocklist", post_blocklist)
    app.router.add_get("/v1/blocklist", list_blocklist)
    app.router.add_delete("/v1/blocklist/{number}", delete_blocklist)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs)
    add_ops_routes(app)

"""The HTTP app factory: routes, API-key auth, and one error format for every failure.

Before a handler runs, a request must name an allowed host (``Host`` and, from a browser,
``Origin``: the listen address, an IP literal, ``localhost``, or ``[http] allowed_hosts``;
otherwise 403, which defeats DNS rebinding and cross-site use of a key-less loopback API) and
send a JSON body as ``application/json`` (otherwise 415: a cross-site form or ``text/plain``
POST never reaches a handler). Every answer carries security headers and no version banner.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from smppgate.api import routes
from smppgate.api.errors import GENERIC_CODE, PROBLEM_JSON, ApiError
from smppgate.api.keys import (
    BLOCKLISTS,
    CLIENT,
    CONFIG,
    INTAKE,
    LIVE,
    METRICS,
    OPENAPI,
    OPS,
    READINESS,
    STORE,
    STREAMS_STOP,
    Readiness,
    presented_key,
)
from smppgate.api.openapi import build_document
from smppgate.service.blocklist import Blocklists
from smppgate.service.clients import (
    AccountForbiddenError,
    Clients,
    QuotaExceededError,
    RateLimitedError,
)
from smppgate.service.config import GatewayConfig
from smppgate.service.intake import IdempotencyConflict, Intake, ValidationError
from smppgate.service.metrics import Metrics
from smppgate.service.ops import OpsView
from smppgate.service.reload import LiveConfig
from smppgate.store import NotFound, Store, StoreUnavailable

__all__ = ["MAX_BODY", "OPEN_PATHS", "OPEN_PREFIXES", "SECURITY_HEADERS", "create_app", "runner"]

log = logging.getLogger("smppgate.api")

#: paths answered without an API key even when keys are configured: the health check, and the
#: ops page's HTML, CSS and JS (they hold no data; the page sends the key for /v1/ops)
OPEN_PATHS = frozenset({"/healthz", "/", "/ui", "/ui/"})
OPEN_PREFIXES = ("/ui/static/",)
#: paths only an operator client may read (the default client of [http] api_keys, or a
#: [[clients]] entry with operator = true): they show every account and client
OPERATOR_PATHS = frozenset({"/metrics"})
OPERATOR_PREFIXES = ("/v1/ops",)
#: a full batch of 1,000 long messages fits comfortably
MAX_BODY = 8 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: on every answer: nothing may frame the page or load from elsewhere; no MIME sniffing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Server": "smppgate",
}
#: methods whose body must be JSON
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def create_app(
    *,
    config: GatewayConfig,
    store: Store,
    intake: Intake,
    metrics: Metrics,
    readiness: Readiness,
    ops: OpsView | None = None,
    live: LiveConfig | None = None,
) -> web.Application:
    """The API as an aiohttp application; the caller runs it (AppRunner/TCPSite) and owns the
    store, intake, metrics and ops view it is given (without ``ops`` the ops routes answer
    503). ``live``: the configuration in force, which a reload replaces (service/reload.py);
    the keys, clients and limits are read from it per request."""
    live = live or LiveConfig(config)
    app = web.Application(middlewares=[_gate(config, live)], client_max_size=MAX_BODY)
    app.on_response_prepare.append(_security_headers)
    app[CONFIG] = config
    app[LIVE] = live
    app[STORE] = store
    app[INTAKE] = intake
    app[BLOCKLISTS] = Blocklists(intake, store)
    app[METRICS] = metrics
    app[READINESS] = readiness
    if ops is not None:
        app[OPS] = ops
    app[STREAMS_STOP] = stop = asyncio.Event()

    async def end_streams(_: web.Application) -> None:
        stop.set()

    app.on_shutdown.append(end_streams)
    routes.add_routes(app)
    app[OPENAPI] = build_document(config)
    return app


def runner(app: web.Application, config: GatewayConfig) -> web.AppRunner:
    """The runner to serve ``app`` with: a client has ``http.header_timeout`` seconds to send
    a request's headers (and an idle connection is closed after as long)."""
    return _Runner(app, access_log=None, keepalive_timeout=config.http.header_timeout)


class _Protocol(RequestHandler):
    """aiohttp's connection handler, whose own error answers (a request it cannot parse:
    headers over 8 KiB, a bad request line; these never reach the app's middlewares) are
    problem documents with the security headers, like every other answer."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)  # logs; may raise
        code = _HTTP_CODES.get(status, GENERIC_CODE)
        if status == 500:
            code = "internal_error"
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "error"
        detail = exc.message if isinstance(exc, HttpProcessingError) else (message or reason)
        # (its first line: the rest quotes the bytes that could not be parsed)
        detail = detail.strip().partition("\n")[0].strip()
        # (no instance: the request line may be what could not be parsed)
        response = web.Response(
            body=ApiError(status, code, detail or reason).encode(),
            status=status,
            content_type=PROBLEM_JSON,
            headers=SECURITY_HEADERS,
        )
        if not plain.keep_alive:
            response.force_close()
        return response


class _Server(Server):
    def __call__(self) -> RequestHandler:
        return _Protocol(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = _Server  # its connections answer parse errors as problems
        return server


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def _hostname(value: str) -> str | None:
    """The host name of a ``Host`` value (``name``, ``name:port``, ``[v6]:port``)."""
    try:
        return urlsplit("//" + value).hostname
    except ValueError:
        return None


def _origin(config: GatewayConfig, live: LiveConfig) -> Callable[[web.Request], None]:
    """The check of a request's ``Host`` and ``Origin`` (403 for one not allowed). ``[http]
    allowed_hosts`` are those of the configuration in force (a reload changes them); the
    listen address is the one the server was started on."""
    listen = config.http.listen.host.lower()
    held: list[tuple[tuple[str, ...], frozenset[str]]] = []
    #: the verdict per header value as sent: a client sends the same Host on every request,
    #: so the parse is done once (bounded: emptied when full, and on every reload)
    verdicts: dict[str, bool] = {}

    def named() -> frozenset[str]:
        hosts = live.current.http.allowed_hosts
        if not held or held[0][0] is not hosts:
            held[:] = [(hosts, frozenset({listen, "localhost", *hosts}))]
            verdicts.clear()
        return held[0][1]

    def allowed(host: str | None) -> bool:
        if host is None:
            return False
        host = host.lower().rstrip(".")
        if host in named():
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True  # an address literal is never a rebinding target

    def allowed_value(value: str) -> bool:
        """Whether a ``Host`` value (``name:port``) names an allowed host."""
        named()  # first: a reload empties the verdicts
        verdict = verdicts.get(value)
        if verdict is None:
            if len(verdicts) >= _MAX_VERDICTS:
                verdicts.clear()
            verdict = verdicts[value] = allowed(_hostname(value))
        return verdict

    def check(request: web.Request) -> None:
        headers = request.headers
        host = headers.get("Host")
        if host is not None and not allowed_value(host):
            raise ApiError(
                403,
                "host_not_allowed",
                "this Host is not one the gateway answers to; add it to [http] allowed_hosts",
            )
        origin = headers.get("Origin")
        if origin is not None and not allowed_value(origin.partition("://")[2]):
            raise ApiError(
                403,
                "origin_not_allowed",
                "cross-site requests are refused; add the page's host to [http] allowed_hosts",
            )

    return check


#: the most Host/Origin values whose verdict is kept (a client sends one; a scan many)
_MAX_VERDICTS = 64


def _json_body(request: web.Request) -> None:
    if request.method in _BODY_METHODS and request.content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as 'Content-Type: application/json', not {request.content_type!r}",
        )


def _error_response(error: ApiError, request: web.BaseRequest) -> web.Response:
    """The problem document of ``error``, its ``instance`` the request's path."""
    return web.Response(
        body=error.encode(request.path),
        status=error.status,
        content_type=PROBLEM_JSON,
        headers=error.headers,
    )


def _gate(config: GatewayConfig, live: LiveConfig) -> Middleware:
    """Every request, before its handler: the allowed hosts (403), the caller's key, rate and
    operator paths (401, 429, 403), a JSON body (415). Typed errors, from these checks or the
    handler, become their status and problem document; anything unexpected becomes a 500 with
    a correlation id that is also in the log. One middleware, not one per check: each layer
    is a coroutine and a call on every request."""
    check_origin = _origin(config, live)
    authenticate = _auth(live)

    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            check_origin(request)
            authenticate(request)
            _json_body(request)
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _error_response(_http_error(request, exc), request)
        except Exception as exc:  # noqa: BLE001 - every failure gets a problem document
            return _error_response(_api_error(request, exc), request)

    return gate


def _api_error(request: web.Request, exc: Exception) -> ApiError:
    """The answer to ``exc``: an `ApiError` as it is, a service error as its code."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return ApiError(422, "validation_error", exc.message, field=exc.field)
    if isinstance(exc, IdempotencyConflict):
        return ApiError(409, "idempotency_conflict", str(exc), extra={"message_id": exc.message_id})
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", f"no {exc.kind} with id {exc.key}")
    if isinstance(exc, AccountForbiddenError):
        return ApiError(403, "account_forbidden", str(exc), field="account")
    if isinstance(exc, RateLimitedError):
        _limited(request, exc.client, "rate", str(exc))
        return ApiError(
            429,
            "rate_limited",
            str(exc),
            extra={"retry_after": round(exc.retry_after, 3)},
            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
        )
    if isinstance(exc, QuotaExceededError):
        _limited(request, exc.client, "daily_quota", str(exc))
        wait = max(1, math.ceil(exc.resets_at - time.time()))
        return ApiError(
            429,
            "quota_exceeded",
            str(exc),
            extra={"limit": exc.limit, "used": exc.used, "resets_at": _utc(exc.resets_at)},
            headers={"Retry-After": str(wait)},
        )
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable for %s %s: %s", request.method, request.path, exc)
        return ApiError(
            503,
            "store_unavailable",
            "the store is unavailable; retry later",
            headers={"Retry-After": "1"},
        )
    correlation = uuid.uuid4().hex
    log.error(
        "unexpected error %s on %s %s",
        correlation,
        request.method,
        request.path,
        exc_info=exc,
    )
    return ApiError(
        500,
        "internal_error",
        "an unexpected error; report the correlation id",
        extra={"correlation_id": correlation},
    )


#: the codes of the HTTP errors aiohttp raises itself (routing, body size)
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "body_too_large",
}


def _http_error(request: web.BaseRequest, exc: web.HTTPException) -> ApiError:
    code = _HTTP_CODES.get(exc.status, GENERIC_CODE)
    message = exc.reason if exc.status != 404 else f"no route for {request.path}"
    # a 405 says which methods the path has (RFC 9110 15.5.6): keep aiohttp's Allow
    allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return ApiError(exc.status, code, message, headers=allow)


def _utc(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _limited(request: web.Request, client: str, limit: str, why: str) -> None:
    request.app[METRICS].client_limited(client, limit)
    log.debug("%s %s refused (429): %s", request.method, request.path, why)


def _auth(live: LiveConfig) -> Callable[[web.Request], None]:
    """Name the calling client (401 without a key that names one), hold it to its request
    rate (429), and keep the operator paths to operators (403). The clients are those of the
    configuration in force: a reload that changes them is seen by the next request."""
    held = [Clients(live.current, clock=time.monotonic)]

    def auth(request: web.Request) -> None:
        if live.current is not held[0].config:
            held[0] = Clients(live.current, time.monotonic, held[0])
        clients = held[0]
        path = request.path
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return
        presented = presented_key(request) if clients.keyed else None
        client = clients.identify(presented)
        if client is None:
            what = "missing" if presented is None else "not valid"
            raise ApiError(
                401,
                "unauthorized",
                f"the API key is {what}: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not client.operator and (path in OPERATOR_PATHS or path.startswith(OPERATOR_PREFIXES)):
            raise ApiError(
                403,
                "operator_only",
                f"client {client.name!r} is not an operator: the ops page and /metrics show "
                "every client's traffic (set operator = true on the client to allow it)",
            )
        clients.admit(client)
        request[CLIENT] = client

    return auth

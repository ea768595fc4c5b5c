"""The HTTP app factory: routes, API-key auth, and one error format for every failure."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from smppgate.api import routes
from smppgate.api.errors import ApiError
from smppgate.api.keys import (
    CONFIG,
    INTAKE,
    METRICS,
    OPENAPI,
    OPS,
    READINESS,
    STORE,
    STREAMS_STOP,
    Readiness,
    key_matches,
    presented_key,
)
from smppgate.api.openapi import build_document
from smppgate.service.config import GatewayConfig
from smppgate.service.intake import IdempotencyConflict, Intake, ValidationError
from smppgate.service.metrics import Metrics
from smppgate.service.ops import OpsView
from smppgate.store import NotFound, Store, StoreUnavailable

__all__ = ["MAX_BODY", "OPEN_PATHS", "OPEN_PREFIXES", "create_app"]

log = logging.getLogger("smppgate.api")

#: paths answered without an API key even when keys are configured: the health check, and the
#: ops page's HTML, CSS and JS (they hold no data; the page sends the key for /v1/ops)
OPEN_PATHS = frozenset({"/healthz", "/", "/ui", "/ui/"})
OPEN_PREFIXES = ("/ui/static/",)
#: a full batch of 1,000 long messages fits comfortably
MAX_BODY = 8 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    *,
    config: GatewayConfig,
    store: Store,
    intake: Intake,
    metrics: Metrics,
    readiness: Readiness,
    ops: OpsView | None = None,
) -> web.Application:
    """The API as an aiohttp application; the caller runs it (AppRunner/TCPSite) and owns the
    store, intake, metrics and ops view it is given (without ``ops`` the ops routes answer
    503)."""
    app = web.Application(
        middlewares=[_errors, _auth(config.http.api_keys)], client_max_size=MAX_BODY
    )
    app[CONFIG] = config
    app[STORE] = store
    app[INTAKE] = intake
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


def _error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Typed errors become their status and JSON body; anything unexpected becomes a 500
    with a correlation id that is also in the log."""
    try:
        return await handler(request)
    except ApiError as exc:
        return _error_response(exc)
    except ValidationError as exc:
        return _error_response(ApiError(422, "validation_error", exc.message, field=exc.field))
    except IdempotencyConflict as exc:
        return _error_response(
            ApiError(409, "idempotency_conflict", str(exc), extra={"message_id": exc.message_id})
        )
    except NotFound as exc:
        return _error_response(ApiError(404, "not_found", f"no {exc.kind} with id {exc.key}"))
    except StoreUnavailable as exc:
        log.warning("store unavailable for %s %s: %s", request.method, request.path, exc)
        return _error_response(
            ApiError(
                503,
                "store_unavailable",
                "the store is unavailable; retry later",
                headers={"Retry-After": "1"},
            )
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status, "http_error"
        )
        message = exc.reason if exc.status != 404 else f"no route for {request.path}"
        return _error_response(ApiError(exc.status, code, message))
    except Exception:
        correlation = uuid.uuid4().hex
        log.exception("unexpected error %s on %s %s", correlation, request.method, request.path)
        return _error_response(
            ApiError(
                500,
                "internal_error",
                "an unexpected error; report the correlation id",
                extra={"correlation_id": correlation},
            )
        )


def _auth(keys: tuple[str, ...]) -> Middleware:
    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if keys and path not in OPEN_PATHS and not path.startswith(OPEN_PREFIXES):
            presented = presented_key(request)
            if not key_matches(presented, keys):
                what = "missing" if presented is None else "not valid"
                raise ApiError(
                    401,
                    "unauthorized",
                    f"the API key is {what}: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        return await handler(request)

    return auth

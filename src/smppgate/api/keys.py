"""What the app holds (typed application keys) and who is calling (API keys).

A request presents its key as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; the key
names its client (`smppgate.service.clients`), which the auth middleware puts on the request
(`client_of`). The idempotency scope of a caller is derived from its key (``key:`` + the first
16 hex digits of its SHA-256), never the key itself; callers without a key share the empty
scope.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from smppgate.service.blocklist import Blocklists
from smppgate.service.cancel import UpstreamCancel
from smppgate.service.config import ClientConfig, GatewayConfig
from smppgate.service.intake import Intake
from smppgate.service.metrics import Metrics
from smppgate.service.ops import OpsView
from smppgate.service.reload import LiveConfig
from smppgate.store import Store

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
"""Returns (ready, details): store reachable and a session bound per account, say."""

CONFIG = web.AppKey("config", GatewayConfig)
#: the configuration in force (a reload replaces it): read per request for keys and limits
LIVE = web.AppKey("live", LiveConfig)
STORE = web.AppKey("store", Store)
INTAKE = web.AppKey("intake", Intake)
METRICS = web.AppKey("metrics", Metrics)
BLOCKLISTS = web.AppKey("blocklists", Blocklists)
READINESS: web.AppKey[Readiness] = web.AppKey("readiness")
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
OPS = web.AppKey("ops", OpsView)
"""The ops page's data; absent when the app was built without one (the routes answer 503)."""
UPSTREAM_CANCEL: web.AppKey[UpstreamCancel] = web.AppKey("upstream_cancel")
"""cancel_sm at the SMSC for a submitted message (the gateway's); absent: a submitted message
is not cancelled (409)."""
CLIENT = web.RequestKey("client", ClientConfig)
"""The client the request's key names (set by the auth middleware on every keyed path)."""
STREAMS_STOP = web.AppKey("streams_stop", asyncio.Event)
"""Set when the app shuts down: open event streams end instead of holding the shutdown."""


def presented_key(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-API-Key") or None


def client_of(request: web.Request) -> ClientConfig:
    """The calling client (the auth middleware has identified it for every non-open path)."""
    return request[CLIENT]


def _octets(key: str) -> bytes:
    """A header value as sent: aiohttp keeps octets that are not UTF-8 as lone surrogates,
    which ``str.encode`` refuses."""
    return key.encode("utf-8", "surrogateescape")


def scope_of(request: web.Request) -> str:
    key = presented_key(request)
    if key is None:
        return ""
    return "key:" + hashlib.sha256(_octets(key)).hexdigest()[:16]

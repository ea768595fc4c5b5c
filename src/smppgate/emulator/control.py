"""The emulator's control interface: a small JSON-over-HTTP API on loopback (aiohttp) to watch
it and steer it while it runs.

    GET    /stats                       counters, sessions, pending receipts, faults
    GET    /sessions                    open connections
    GET    /violations?since=N          the violation log (entries N.. of what is kept)
    GET    /assembled                   split messages reassembled from accepted parts
    GET    /faults                      the fault rules in force
    POST   /faults                      {"fault": "throttle", "account": "demo", "rate": 5}
    DELETE /faults/{id}                 remove one rule; DELETE /faults removes all
    POST   /mo                          {"system_id", "source", "destination", "text",
                                         "concatenated": false, "ussd_service_op": null}
    POST   /sessions/{system_id}/drop   close the account's TCP connections
    POST   /sessions/{system_id}/unbind send unbind on them

It listens on loopback only. With a token (``smppgate smsc --control-token`` or
``SMPPGATE_CONTROL_TOKEN``), every request must present it as ``Authorization: Bearer TOKEN``
(else 401): other local users, or a local process tricked into a request (an SSRF), cannot
steer the emulator.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from smppgate.emulator.config import is_loopback
from smppgate.emulator.deliveries import mo_pdus
from smppgate.emulator.errors import EmulatorConfigError, NoReceiverError, UnknownFaultError
from smppgate.emulator.server import Emulator
from smppgate.lifecycle import AsyncLifecycle
from smppgate.pdu import PduError, encode

EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)


def _emulator(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return body


async def stats(request: web.Request) -> web.Response:
    return web.json_response(_emulator(request).stats())


async def sessions(request: web.Request) -> web.Response:
    return web.json_response(_emulator(request).stats()["sessions"])


async def assembled(request: web.Request) -> web.Response:
    return web.json_response(_emulator(request).assembled_messages())


async def violations(request: web.Request) -> web.Response:
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        return _error(400, "since must be an integer")
    items = list(_emulator(request).violations)[since:]
    return web.json_response(
        [
            {"rule": v.rule, "session": v.session, "system_id": v.system_id, "detail": v.detail}
            for v in items
        ]
    )


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response(_emulator(request).faults.describe())


async def add_fault(request: web.Request) -> web.Response:
    body = await _json_object(request)
    name = body.pop("fault", None)
    if not isinstance(name, str):
        return _error(400, 'missing "fault" (the behaviour name)')
    account = body.pop("account", None)
    prefix = body.pop("prefix", None)
    try:
        rule = _emulator(request).faults.add(name, account=account, prefix=prefix, **body)
    except UnknownFaultError as exc:
        return _error(400, str(exc))
    except EmulatorConfigError as exc:
        return _error(400, str(exc))
    return web.json_response(rule.describe(), status=201)


async def remove_fault(request: web.Request) -> web.Response:
    try:
        _emulator(request).faults.remove(int(request.match_info["rule_id"]))
    except (ValueError, UnknownFaultError):
        return _error(404, "no such fault rule")
    return web.json_response({"removed": int(request.match_info["rule_id"])})


async def clear_faults(request: web.Request) -> web.Response:
    _emulator(request).faults.clear()
    return web.json_response({"removed": "all"})


async def inject_mo(request: web.Request) -> web.Response:
    body = await _json_object(request)
    try:
        system_id = str(body["system_id"])
        source = str(body["source"])
        destination = str(body["destination"])
        text = str(body["text"])
    except KeyError as exc:
        return _error(400, f"missing {exc.args[0]!r}")
    ussd = body.get("ussd_service_op")
    if ussd is not None and (not isinstance(ussd, int) or not 0 <= ussd <= 255):
        return _error(400, "ussd_service_op must be 0..255")
    concatenated = bool(body.get("concatenated", False))
    try:
        # what the deliver_sm PDUs would be: an address too long for SMPP, say, is the
        # caller's mistake (400), not a failure inside the emulator
        pdus = mo_pdus(
            source=source,
            destination=destination,
            text=text,
            concatenated=concatenated,
            reference=0,
            ussd_service_op=ussd,
        )
        for pdu in pdus:
            encode(pdu, 1)
    except (PduError, ValueError) as exc:
        return _error(400, f"cannot be sent as deliver_sm: {exc}")
    try:
        statuses = await _emulator(request).inject_mo(
            system_id,
            source,
            destination,
            text,
            concatenated=concatenated,
            ussd_service_op=ussd,
        )
    except NoReceiverError as exc:
        return _error(409, str(exc))
    except TimeoutError:
        return _error(504, "the client did not answer every deliver_sm in time")
    return web.json_response({"parts": len(statuses), "statuses": [s.name for s in statuses]})


async def drop(request: web.Request) -> web.Response:
    count = _emulator(request).drop_sessions(request.match_info["system_id"])
    return web.json_response({"dropped": count})


async def unbind(request: web.Request) -> web.Response:
    count = _emulator(request).unbind_sessions(request.match_info["system_id"])
    return web.json_response({"unbound": count})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _token_check(token: str) -> Any:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            return web.json_response(
                {"error": "send the control token: 'Authorization: Bearer TOKEN'"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await handler(request)

    return check


def control_app(emulator: Emulator, token: str | None = None) -> web.Application:
    app = web.Application(middlewares=[_token_check(token)] if token else [])
    app[EMULATOR] = emulator
    app.router.add_get("/stats", stats)
    app.router.add_get("/sessions", sessions)
    app.router.add_get("/violations", violations)
    app.router.add_get("/assembled", assembled)
    app.router.add_get("/faults", list_faults)
    app.router.add_post("/faults", add_fault)
    app.router.add_delete("/faults", clear_faults)
    app.router.add_delete("/faults/{rule_id}", remove_fault)
    app.router.add_post("/mo", inject_mo)
    app.router.add_post("/sessions/{system_id}/drop", drop)
    app.router.add_post("/sessions/{system_id}/unbind", unbind)
    return app


class ControlServer(AsyncLifecycle):
    """The control API on ``host:port`` (loopback only); an async context manager."""

    def __init__(
        self,
        emulator: Emulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
    ) -> None:
        if not is_loopback(host):
            raise EmulatorConfigError("control", f"{host} is not a loopback address")
        self.emulator = emulator
        self.token = token or None
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self.address: tuple[str, int] = (host, port)

    async def start(self) -> None:
        runner = web.AppRunner(control_app(self.emulator, self.token), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        for address in runner.addresses:
            self.address = (str(address[0]), int(address[1]))
            break

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

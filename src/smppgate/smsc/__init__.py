"""The server side of SMPP, the twin of ``client/``: listeners, bind authentication by
callback, request handling, a windowed delivery queue per bound client. Built on the sans-IO
session in the SMSC role; two users: the platform emulator and the gateway's front door.

    class Handler(SmscHandler):
        def bind(self, connection, event): self.server.accept_bind(connection, event, "id", "me")
        def request(self, connection, pdu): self.server.answer(connection, pdu, ...)

    server = SmscServer(handler, SessionConfig())
    handler.server = server
    host, port = await server.listen("127.0.0.1", 0)
"""

from smppgate.smsc.admission import BindGuard, guard_key
from smppgate.smsc.connection import FastRequest, ServerConnection
from smppgate.smsc.handler import SmscHandler
from smppgate.smsc.server import Delivery, SmscServer

__all__ = [
    "BindGuard",
    "Delivery",
    "FastRequest",
    "ServerConnection",
    "SmscHandler",
    "SmscServer",
    "guard_key",
]

"""Async I/O around the sans-IO session: an asyncio protocol that drives one ``Session`` over a
TCP (or TLS) connection, client and server side, with the session's timers on the loop."""

from smppgate.transport.connection import (
    EventHandler,
    SessionConnection,
    TcpOptions,
    connect,
    serve,
)

__all__ = ["EventHandler", "SessionConnection", "TcpOptions", "connect", "serve"]

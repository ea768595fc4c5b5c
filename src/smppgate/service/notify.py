"""The service manager's readiness protocol (systemd's ``sd_notify``), without libsystemd.

With ``Type=notify`` systemd passes ``NOTIFY_SOCKET`` (a datagram socket path, or an abstract
one starting with ``@``) and waits for ``READY=1`` before it calls the unit started, so
units ordered after smppgate start only once the API answers. ``STOPPING=1`` tells it that a
graceful stop (unbind, drain) is under way. Without ``NOTIFY_SOCKET`` every call does nothing,
so the gateway behaves the same under any other supervisor.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1\\nSTATUS=..."``) to the service manager. Returns whether
    a manager was told; failures are logged, never raised (the gateway runs on regardless)."""
    env = os.environ if environ is None else environ
    path = env.get(NOTIFY_SOCKET_ENV)
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("could not notify the service manager at %s: %s", path, exc)
        return False
    return True

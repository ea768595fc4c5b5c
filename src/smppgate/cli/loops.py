"""The event loop a long-running command runs on (``--loop``): uvloop when installed, else
asyncio's own. Shared by ``smppgate serve`` and ``smppgate smsc``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: ``--loop`` choices
LOOPS = ("auto", "asyncio", "uvloop")
LOOP_HELP = (
    "event loop: uvloop when installed (auto, the default; pip install "
    "'smppgate[fast]'), asyncio's own, or uvloop (an error when it is missing)"
)


class LoopUnavailableError(RuntimeError):
    """``--loop uvloop`` without uvloop installed."""


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop to run on (None: asyncio's default). uvloop runs the same code with
    less CPU per request and per socket event: the gateway and the emulator are CPU-bound on
    one core each."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise LoopUnavailableError(
                "--loop uvloop: uvloop is not installed (pip install 'smppgate[fast]')"
            ) from None
        return None
    return uvloop.new_event_loop

"""Helpers for tests that run `smppgate serve` (in-process or as a subprocess) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(
    http: aiohttp.ClientSession,
    base: str,
    *,
    headers: Mapping[str, str] | None = None,
    process: asyncio.subprocess.Process | None = None,
    within: float = 30.0,
) -> None:
    """Until ``GET /readyz`` answers 200 (store up, a session bound per account); fails at once
    if the gateway's ``process`` exited."""
    async with asyncio.timeout(within):
        while True:
            if process is not None:
                assert process.returncode is None, "the gateway exited at start (see its log)"
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/readyz", headers=headers) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


async def start_serve(config: Path, log_name: str = "gateway.log") -> asyncio.subprocess.Process:
    """`smppgate serve --config CONFIG` as a child process, logging (INFO) to ``log_name`` next
    to the config file."""
    with (config.parent / log_name).open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "smppgate.cli.main",
            "serve",
            "--config",
            str(config),
            "--log-level",
            "INFO",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )

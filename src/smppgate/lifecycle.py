"""``async with`` for the parts that run between ``start()`` and ``aclose()``.

One small base instead of the same ``__aenter__`` / ``__aexit__`` pair in every long-lived
part (the client's pool, the emulator and its control server...). It imports nothing of the
project, so every layer may use it.
"""

from __future__ import annotations

from typing import Self


class AsyncLifecycle:
    """``async with part:`` starts it and, however the block ends, closes it."""

    __slots__ = ()

    async def start(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

"""``async with`` for the parts that run between ``start()`` and ``aclose()``.

One small base instead of the same ``__aenter__`` / ``__aexit__`` pair in every long-lived
part (the client's pool, the emulator and its control server...). It imports nothing of the
project, so every layer may use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class AsyncLifecycle(ABC):
    """``async with part:`` starts it and, however the block ends, closes it."""

    __slots__ = ()

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

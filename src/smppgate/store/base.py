"""What every part of `SqlStore` stands on: the backend, its dialect, the notifier, and the
store's lifetime (open, migrate, ping, close).

`SqlStore` is composed of one mixin per concern (`intake`, `messages`, `queue`, `outcomes`,
`receipts`, `inbound`, `smpp_outbox`, `smpp_parts`, `smpp_mo`, `webhooks`, `retention`,
`cluster`), each a subclass of `StoreBase`: a public method validates its arguments and runs
one function in one transaction (`self._backend.run`); the statements shared between concerns
are functions over a `Connection` (`rows`, `settling`, `webhooks.notify`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from smppgate.store import schema
from smppgate.store.backend import Backend, Connection, Dialect
from smppgate.store.models import MoRouter, Notifier


class StoreBase:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._dialect: Dialect = backend.dialect
        #: webhooks decided inside the transactions that record their events (see Notifier)
        self.notifier: Notifier | None = None
        #: the SMPP front door application of each MO recorded (see MoRouter)
        self.mo_router: MoRouter | None = None

    @property
    def dialect(self) -> str:
        return self._dialect.name

    @property
    def single_process(self) -> bool:
        """One process owns the database (SQLite): what a start finds leased is a dead
        process's, and session slots have nobody to be shared with."""
        return self._dialect.single_process

    @property
    def statements(self) -> int:
        """Statements this store sent to its database since it opened (`backend.Tally`)."""
        return self._backend.tally.statements

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._backend.close()

    async def migrate(self) -> list[int]:
        return await schema.apply(self._backend)

    async def schema_version(self) -> int:
        return await schema.current_version(self._backend)

    async def ping(self) -> None:
        async def ping(conn: Connection) -> None:
            await conn.fetchrow("SELECT 1 AS one")

        await self._backend.run(ping, write=False)

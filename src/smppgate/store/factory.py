"""Open a store from its URL.

- `sqlite:///abs/path/smppgate.db` (three slashes then the absolute path) or
  `sqlite:relative/path.db`; query `?synchronous=full|normal|extra` (default full).
  `:memory:` is refused: the store exists to survive restarts.
- `postgresql://user:pass@host:port/db` (or `postgres://`); query `pool_min`, `pool_max`
  size the connection pool, every other query parameter goes to asyncpg.

`open_store(url)` can be awaited (`store = await open_store(url)`, then `await
store.aclose()`) or used as `async with open_store(url) as store:`. It applies pending
migrations unless `migrate=False`, in which case a database that is not at this code's schema
version raises `SchemaOutOfDate`.
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from smppgate.store import schema
from smppgate.store.backend import Backend
from smppgate.store.errors import StoreError, UnsupportedUrl
from smppgate.store.protocol import Store
from smppgate.store.sql_store import SqlStore


def redacted_url(url: str) -> str:
    """The URL with its password (and any user:password@) replaced by ``***``: what errors
    and logs may show."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return "<an unreadable URL>"
    if "@" not in netloc:
        return url
    user_info, _, host = netloc.rpartition("@")
    if ":" not in user_info:
        return url
    user = user_info.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _without_secret(message: str, url: str) -> str:
    """An error message with the URL's password taken out (drivers may quote their DSN)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        message = message.replace(unquote(password), "***").replace(password, "***")
    return message.replace(url, redacted_url(url))


async def _connect(url: str) -> Backend:
    try:
        return await _connect_to(url)
    except StoreError as exc:
        text = _without_secret(str(exc), url)
        if text == str(exc):
            raise
        raise type(exc)(text) from None


async def _connect_to(url: str) -> Backend:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "sqlite":
        from smppgate.store.sqlite import SqliteBackend

        path = unquote(parts.netloc + parts.path)
        if path.startswith("//"):
            path = path[1:]
        if path.lstrip("/") == ":memory:" or not path:
            raise StoreError("the store needs a database file: :memory: cannot be durable")
        return await SqliteBackend.connect(path, synchronous=query.get("synchronous", "full"))
    if parts.scheme in ("postgresql", "postgres"):
        try:
            from smppgate.store.postgres import PostgresBackend
        except ModuleNotFoundError as exc:
            raise UnsupportedUrl(
                f"a postgresql: store needs {exc.name}: pip install 'smppgate[postgres]'"
            ) from None

        pool_min = int(query.pop("pool_min", "1"))
        pool_max = int(query.pop("pool_max", "10"))
        dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
        return await PostgresBackend.connect(dsn, min_size=pool_min, max_size=pool_max)
    raise UnsupportedUrl(
        f"no store backend for {parts.scheme or redacted_url(url)!r}: use sqlite: or postgresql:"
    )


async def _open(url: str, migrate: bool) -> Store:
    backend = await _connect(url)
    try:
        if migrate:
            await schema.apply(backend)
        else:
            await schema.check(backend)
    except BaseException:
        await backend.close()
        raise
    return SqlStore(backend)


class _Opening:
    """What `open_store` returns: awaitable, and an async context manager that closes."""

    __slots__ = ("_migrate", "_store", "_url")

    def __init__(self, url: str, migrate: bool) -> None:
        self._url = url
        self._migrate = migrate
        self._store: Store | None = None

    def __await__(self) -> Generator[Any, None, Store]:
        return _open(self._url, self._migrate).__await__()

    async def __aenter__(self) -> Store:
        self._store = await _open(self._url, self._migrate)
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.aclose()


def open_store(url: str, *, migrate: bool = True) -> _Opening:
    return _Opening(url, migrate)


async def migrate(url: str) -> list[int]:
    """Apply pending migrations to the database at `url` (for `smppgate migrate`)."""
    backend = await _connect(url)
    try:
        return await schema.apply(backend)
    finally:
        await backend.close()

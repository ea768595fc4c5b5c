"""Versioned migrations: ordered SQL scripts per backend, applied once each, in one transaction.

`migrations/<dialect>/NNNN_name.sql` holds version NNNN; statements are separated by a line
holding only `;`. The `schema_version` table records each applied version. `apply` takes a
lock first (SQLite: the write transaction; PostgreSQL: an advisory lock), so nodes starting
together apply each migration exactly once, and running it again is a no-op.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

from smppgate.store.backend import Backend, Connection
from smppgate.store.errors import SchemaOutOfDate

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_CREATE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {real} NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def load_migrations(dialect: str) -> tuple[Migration, ...]:
    """This backend's migrations in version order."""
    folder = resources.files("smppgate.store").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match is None:
            continue
        script = entry.read_text(encoding="utf-8")
        statements = tuple(
            s.strip() for s in re.split(r"^;\s*$", script, flags=re.MULTILINE) if _has_sql(s)
        )
        found.append(Migration(int(match.group(1)), match.group(2), statements))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"{dialect} migrations must be numbered 1..n, found {versions}")
    return tuple(found)


def _has_sql(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())


def latest_version(dialect: str) -> int:
    return len(load_migrations(dialect))


async def current_version(backend: Backend) -> int:
    async def read(conn: Connection) -> int:
        await conn.execute(_version_table(backend))
        row = await conn.fetchrow("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        return int(row["v"]) if row is not None else 0

    return await backend.run(read)


async def apply(backend: Backend) -> list[int]:
    """Apply every migration not applied yet; return the versions applied now."""
    migrations = load_migrations(backend.dialect.name)

    async def migrate(conn: Connection) -> list[int]:
        await conn.lock("smppgate.schema")
        await conn.execute(_version_table(backend))
        row = await conn.fetchrow("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        current = int(row["v"]) if row is not None else 0
        if current > len(migrations):
            raise SchemaOutOfDate(current, len(migrations))
        applied = []
        for migration in migrations[current:]:
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                migration.version,
                migration.name,
                time.time(),
            )
            applied.append(migration.version)
        return applied

    return await backend.run(migrate)


async def check(backend: Backend) -> None:
    """Raise `SchemaOutOfDate` unless the database is at this code's version."""
    current = await current_version(backend)
    expected = latest_version(backend.dialect.name)
    if current != expected:
        raise SchemaOutOfDate(current, expected)


def _version_table(backend: Backend) -> str:
    return _CREATE_VERSION_TABLE.format(real=backend.dialect.real)

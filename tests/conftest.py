"""Fixtures shared by the test suite: stores on a real SQLite file and on a fresh database of
the PostgreSQL server that scripts/postgres.sh starts (`SMPPGATE_TEST_POSTGRES_URL`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from smppgate.store import Store, open_store

POSTGRES_ENV = "SMPPGATE_TEST_POSTGRES_URL"


@asynccontextmanager
async def fresh_postgres_database(prefix: str = "smppgate_test") -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped afterwards. A test that needs PostgreSQL
    fails (never skips) when the server is not there."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: the PostgreSQL tests need a server. Run "
            "`source scripts/postgres.sh` (or scripts/test.sh), which starts one and sets it."
        )
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database."""
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A store URL on each backend: a SQLite file, a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite://{tmp_path}/smppgate.db"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with open_store(store_url) as opened:
        yield opened

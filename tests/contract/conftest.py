"""One store suite, every backend: the `store_url` fixture is parametrized over SQLite (a real
file in tmp_path) and PostgreSQL (a fresh database per test on the server named by
SMPPGATE_TEST_POSTGRES_URL, dropped afterwards). Without that variable the PostgreSQL cases
fail, never skip: CI always provides it (`source scripts/postgres.sh`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from smppgate.store import Store, open_store

POSTGRES_ENV = "SMPPGATE_TEST_POSTGRES_URL"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, tmp_path: object) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite://{tmp_path}/smppgate.db"
        return
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.fail(
            f"{POSTGRES_ENV} is not set: the PostgreSQL store tests need a server. Run "
            "`source scripts/postgres.sh` (or scripts/test.sh), which starts one and sets it."
        )
    name = f"smppgate_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(admin_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    async with open_store(store_url) as opened:
        yield opened


@pytest.fixture
def open_node(store_url: str) -> Callable[[], AbstractAsyncContextManager[Store]]:
    """Another store on the same database: what a second process or node would have."""
    return lambda: open_store(store_url)

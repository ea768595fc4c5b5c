"""One store suite, every backend: `store_url` (tests/conftest.py) is parametrized over SQLite
(a real file in tmp_path) and PostgreSQL (a fresh database per test on the server named by
SMPPGATE_TEST_POSTGRES_URL, dropped afterwards). Without that variable the PostgreSQL cases
fail, never skip: CI always provides it (`source scripts/postgres.sh`)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest

from smppgate.store import Store, open_store


@pytest.fixture
def open_node(store_url: str) -> Callable[[], AbstractAsyncContextManager[Store]]:
    """Another store on the same database: what a second process or node would have."""
    return lambda: open_store(store_url)

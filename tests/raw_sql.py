"""Plain SQL on a store's database, past the store: for tests that corrupt rows on purpose or
put a database back to an older schema version."""

from __future__ import annotations

import sqlite3
from importlib import resources
from typing import Any

import asyncpg

#: the guards migration 4 added, per backend (see store/migrations/*/0004_finite_times.sql)
TIME_TABLES = (
    "messages",
    "parts",
    "attempts",
    "receipts",
    "unmatched_receipts",
    "inbound",
    "webhooks",
    "session_slots",
    "connect_cooldowns",
)


def _sqlite_path(store_url: str) -> str:
    return store_url.removeprefix("sqlite://")


async def raw_execute(store_url: str, *statements: str) -> None:
    """Run each statement in one transaction. An infinite time is written ``{INF}`` here: the
    SQLite literal 9e999 or PostgreSQL's 'Infinity'."""
    if store_url.startswith("sqlite:"):
        db = sqlite3.connect(_sqlite_path(store_url))
        try:
            with db:
                for statement in statements:
                    db.execute(statement.replace("{INF}", "9e999"))
        finally:
            db.close()
        return
    conn = await asyncpg.connect(store_url)
    try:
        async with conn.transaction():
            for statement in statements:
                await conn.execute(statement.replace("{INF}", "'Infinity'::double precision"))
    finally:
        await conn.close()


async def raw_fetch(store_url: str, query: str) -> list[tuple[Any, ...]]:
    if store_url.startswith("sqlite:"):
        db = sqlite3.connect(_sqlite_path(store_url))
        try:
            return [tuple(row) for row in db.execute(query).fetchall()]
        finally:
            db.close()
    conn = await asyncpg.connect(store_url)
    try:
        return [tuple(row) for row in await conn.fetch(query)]
    finally:
        await conn.close()


def undo_finite_time_guards(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 3 (before the time guards)."""
    if store_url.startswith("sqlite:"):
        drops = [
            f"DROP TRIGGER {table}_times_finite_{op}"
            for table in TIME_TABLES
            for op in ("insert", "update")
        ]
    else:
        drops = [
            f"ALTER TABLE {table} DROP CONSTRAINT {table}_times_finite" for table in TIME_TABLES
        ]
    return [
        *undo_retention_counts(store_url),
        *drops,
        "DELETE FROM schema_version WHERE version >= 4",
    ]


def undo_retention_counts(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 4 (before the message counts,
    the retention indexes and the maintenance table of 0005_retention_counts.sql)."""
    triggers = ("messages_count_insert", "messages_count_update", "messages_count_delete")
    if store_url.startswith("sqlite:"):
        drops = [f"DROP TRIGGER {name}" for name in triggers]
    else:
        drops = [f"DROP TRIGGER {name} ON messages" for name in triggers]
        drops += ["DROP FUNCTION smppgate_count_row", "DROP FUNCTION smppgate_count_deleted"]
    indexes = ("messages_state", "match_keys_part", "unmatched_receipt_keys_receipt",
               "unmatched_receipts_received", "unmatched_receipts_waiting")  # fmt: skip
    tables = ("message_counts", "message_count_deltas", "maintenance")
    return [
        *undo_smpp_front_door(store_url),
        *drops,
        *(f"DROP INDEX {name}" for name in indexes),
        *(f"DROP TABLE {name}" for name in tables),
        "DELETE FROM schema_version WHERE version >= 5",
    ]


def undo_smpp_parts(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 8 (before the held parts, the
    routed MO outbox and the per-part outbox triggers of 0009_smpp_parts.sql): the version-6
    triggers are put back as they were."""
    dialect = "sqlite" if store_url.startswith("sqlite:") else "postgresql"
    folder = resources.files("smppgate.store").joinpath("migrations", dialect)
    version_6 = folder.joinpath("0006_smpp_front_door.sql").read_text(encoding="utf-8")
    statements = [s.strip() for s in version_6.split("\n;\n")]
    if dialect == "sqlite":
        triggers = ["DROP TRIGGER smpp_outbox_receipt", "DROP TRIGGER smpp_outbox_final"]
        again = [s for s in statements if "CREATE TRIGGER" in s]
    else:  # the triggers call the functions by name: putting the functions back is enough
        triggers = []
        again = [
            s.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
            for s in statements
            if "CREATE FUNCTION" in s
        ]
    return [
        *undo_blocklist(store_url),
        *triggers,
        "DROP TABLE smpp_held_parts",
        "DROP TABLE smpp_mo_outbox",
        "ALTER TABLE smpp_origins DROP COLUMN split",
        "ALTER TABLE smpp_outbox DROP COLUMN seq",
        *again,
        "DELETE FROM schema_version WHERE version >= 9",
    ]


def undo_mo_parts(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 7 (before the stored parts of
    multi-part MO of 0008_mo_parts.sql)."""
    return [
        *undo_smpp_parts(store_url),
        "DROP TABLE mo_parts",
        "DELETE FROM schema_version WHERE version >= 8",
    ]


def undo_clients(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 6 (before the message clients
    and the quota counts of 0007_message_clients.sql)."""
    return [
        *undo_mo_parts(store_url),
        "DROP INDEX messages_client",
        "ALTER TABLE messages DROP COLUMN client",
        "DROP TABLE client_usage",
        "DELETE FROM schema_version WHERE version >= 7",
    ]


def undo_blocklist(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 9 (before the blocklist of
    0010_blocklist.sql)."""
    return [
        *undo_hot_path_indexes(store_url),
        "DROP TABLE blocklist",
        "DELETE FROM schema_version WHERE version >= 10",
    ]


def undo_hot_path_indexes(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 10 (the full claim and lease
    indexes, before the partial ones of 0011_hot_path_indexes.sql)."""
    return [
        *undo_set_based_triggers(store_url),
        "CREATE INDEX messages_due_by_priority ON messages"
        " (state, priority DESC, next_attempt_at, id)",
        "CREATE INDEX messages_lease ON messages (state, lease_until)",
        "DROP INDEX messages_queued",
        "DROP INDEX messages_scheduled",
        "DROP INDEX messages_leased",
        "DELETE FROM schema_version WHERE version >= 11",
    ]


def _statements(dialect: str, name: str) -> list[str]:
    folder = resources.files("smppgate.store").joinpath("migrations", dialect)
    return [s.strip() for s in folder.joinpath(name).read_text(encoding="utf-8").split("\n;\n")]


def undo_set_based_triggers(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 11 (before PostgreSQL's
    statement-level triggers of 0012_set_based_triggers.sql): the row triggers of versions 5,
    6 and 9 put back as they were. Nothing on SQLite."""
    undo = ["DELETE FROM schema_version WHERE version >= 12"]
    if store_url.startswith("sqlite:"):
        return undo
    counts = [
        s
        for s in _statements("postgresql", "0005_retention_counts.sql")
        if "smppgate_count_row" in s and "CREATE" in s
    ]
    outbox_functions = [
        s for s in _statements("postgresql", "0009_smpp_parts.sql") if "FUNCTION smpp_outbox" in s
    ]
    outbox_triggers = [
        s for s in _statements("postgresql", "0006_smpp_front_door.sql") if "CREATE TRIGGER" in s
    ]
    return [
        "DROP TRIGGER messages_count_insert ON messages",
        "DROP TRIGGER messages_count_update ON messages",
        "DROP TRIGGER smpp_outbox_receipt ON receipts",
        "DROP TRIGGER smpp_outbox_final ON messages",
        "DROP FUNCTION smppgate_count_inserted()",
        "DROP FUNCTION smppgate_count_updated()",
        "DROP FUNCTION smpp_outbox_receipts()",
        "DROP FUNCTION smpp_outbox_finals()",
        *counts,
        *outbox_functions,
        *outbox_triggers,
        "DROP INDEX messages_client",
        "CREATE INDEX messages_client ON messages (client, id)",
        "ALTER TABLE messages RESET (fillfactor)",
        "ALTER TABLE parts RESET (fillfactor)",
        *undo,
    ]


def undo_smpp_front_door(store_url: str) -> list[str]:
    """Statements that take a database back to schema version 5 (before the SMPP front door's
    origins, outbox and triggers of 0006_smpp_front_door.sql)."""
    if store_url.startswith("sqlite:"):
        triggers = ["DROP TRIGGER smpp_outbox_receipt", "DROP TRIGGER smpp_outbox_final"]
    else:
        triggers = [
            "DROP TRIGGER smpp_outbox_receipt ON receipts",
            "DROP TRIGGER smpp_outbox_final ON messages",
            "DROP FUNCTION smpp_outbox_receipt()",
            "DROP FUNCTION smpp_outbox_final()",
        ]
    return [
        *undo_clients(store_url),
        *triggers,
        "DROP TABLE smpp_outbox",
        "DROP TABLE smpp_origins",
        "DELETE FROM schema_version WHERE version >= 6",
    ]

"""The PostgreSQL driver's rewriting of the store's SQL (pure: the statements themselves run
in the contract suite on a real server)."""

from __future__ import annotations

from smppgate.store.postgres import to_arrays, to_numbered


def test_placeholders_become_numbered() -> None:
    assert to_numbered("SELECT a FROM t WHERE b = ? AND c > ?") == (
        "SELECT a FROM t WHERE b = $1 AND c > $2"
    )


def test_an_in_list_becomes_one_array_parameter_whatever_its_length() -> None:
    """A lookup of a batch is one statement text (one prepared statement, one plan) for any
    number of values; the arguments of the list travel as one list."""
    short, spans = to_arrays("SELECT id FROM messages WHERE state = ? AND id IN (?, ?) LIMIT ?")
    assert short == "SELECT id FROM messages WHERE state = $1 AND id = ANY($2) LIMIT $3"
    assert spans == (0, 2, 0)
    long, spans = to_arrays(
        "SELECT id FROM messages WHERE state = ? AND id IN (?, ?, ?, ?, ?) LIMIT ?"
    )
    assert long == short
    assert spans == (0, 5, 0)


def test_not_in_and_several_lists() -> None:
    text, spans = to_arrays("DELETE FROM t WHERE a NOT IN (?) AND b IN (?, ?, ?)")
    assert text == "DELETE FROM t WHERE a <> ALL($1) AND b = ANY($2)"
    assert spans == (1, 3)


def test_statements_without_an_in_list_are_left_alone() -> None:
    for sql in (
        "INSERT INTO t (a, b) VALUES (?, ?)",
        "SELECT a FROM t JOIN (?) x ON true",  # JOIN is not IN
        "UPDATE t SET a = ? WHERE state IN ('queued', 'sending')",  # literals, no placeholders
    ):
        assert to_arrays(sql) == (to_numbered(sql), None)

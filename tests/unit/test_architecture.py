"""The protocol core stays sans-IO: no sockets, no event loop, no clock (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "smppgate"
FORBIDDEN = {"asyncio", "socket", "ssl", "time", "selectors", "threading", "datetime.datetime.now"}
CORE = ["pdu", "text", "session", "numbers"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"}:
            names.add(f"clock read: {ast.unparse(node)}")
    return names


@pytest.mark.parametrize("package", CORE)
def test_core_package_is_sans_io(package: str) -> None:
    folder = SRC / package
    if not folder.exists():
        pytest.fail(f"{package} is part of the core and must exist")
    for path in folder.rglob("*.py"):
        bad = {n for n in _imports(path) if n in FORBIDDEN or n.startswith("clock read")}
        assert not bad, f"{path.relative_to(SRC)} imports or reads {sorted(bad)}"


def test_pdu_uses_standard_library_only() -> None:
    allowed_roots = {"__future__", "smppgate", "struct", "enum", "typing", "collections"}
    for path in (SRC / "pdu").rglob("*.py"):
        extra = _imports(path) - allowed_roots
        assert not extra, f"{path.name} imports {sorted(extra)}"


def test_no_code_branches_on_a_store_dialect_name() -> None:
    """What the two databases differ in is data (`store.backend.Dialect`): code reads
    ``dialect.lock_rows`` or ``store.single_process``, never compares a dialect's name (a
    URL's scheme is not a dialect)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            sides = (node.left, *node.comparators) if isinstance(node, ast.Compare) else ()
            if any(
                isinstance(side, ast.Constant) and side.value in ("sqlite", "postgresql")
                for side in sides
            ) and any("dialect" in ast.unparse(side) for side in sides):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, f"dialect-name branches: {offenders}"

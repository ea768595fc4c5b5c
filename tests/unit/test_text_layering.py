"""smppgate.text is a leaf: standard library only, no other smppgate package, no I/O, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import smppgate.text

PACKAGE = Path(smppgate.text.__file__).resolve().parent
MODULES = sorted(PACKAGE.glob("*.py"))
ALLOWED_STDLIB = {
    "__future__",
    "codecs",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "re",
    "types",
    "typing",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "open"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_module_is_checked() -> None:
    assert {p.stem for p in MODULES} >= {"gsm7", "coding", "segment", "receipt", "reassembly"}


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_imports_stay_in_the_layer(path: Path) -> None:
    for name in _imports(path):
        if name.startswith("smppgate"):
            assert name == "smppgate.text" or name.startswith("smppgate.text."), name
        else:
            assert name.split(".")[0] in ALLOWED_STDLIB, name


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_no_clock_or_io_calls(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {name}"

"""The fenced code blocks of the user documentation, as examples the test suite runs.

A block's kind comes from its language, refined by an HTML comment on the line before it:

    <!-- example: KIND [ARGUMENTS] -->

- ``toml``: a gateway configuration, validated as ``serve`` would. Directives: ``emulator``
  (an ``smppgate smsc --config`` file), ``fragment`` (TOML syntax only: a table meant to be
  added to a configuration).
- ``python``: run as a script; it must exit 0.
- ``sh``: every ``smppgate`` command is parsed by the real CLI, every ``curl`` runs against a
  live demo gateway, every ``bash FILE`` names a file of this repository. Directives:
  ``emulator-control`` (curl against ``smppgate smsc --control``), ``skip REASON``.
- ``http``: a request runs against the live gateway; an ``HTTP/1.1 NNN`` block after it is the
  expected status and body shape.
- ``json``: a body, so it needs a directive: ``request METHOD PATH``, ``response [STATUS]``,
  ``response METHOD PATH`` (ask for that and compare), ``skip REASON``.
- no language, ``nginx``, ...: not run (output, diagrams, other programs' files).

`skip` needs a reason; every skipped block is listed by a test so that it stays a decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = (
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "deploy" / "README.md",
)
RUNNABLE = {"toml", "python", "sh", "http", "json"}

_FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*example:\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True, slots=True)
class Example:
    path: Path
    line: int
    """1-based line of the opening fence."""
    lang: str
    directive: tuple[str, ...]
    """The words of the ``<!-- example: ... -->`` comment before the block (may be empty)."""
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        return self.directive[0] if self.directive else ""

    @property
    def skipped(self) -> bool:
        return self.kind == "skip"


def examples(path: Path) -> list[Example]:
    """Every fenced block of ``path`` whose language is one the suite runs."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start, lang = i, fence.group(1)
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        if lang not in RUNNABLE:
            continue
        directive: tuple[str, ...] = ()
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0 and (match := _DIRECTIVE.match(lines[before])):
            directive = tuple(match.group(1).split())
        found.append(Example(path, start + 1, lang, directive, "\n".join(body) + "\n"))
    return found


def all_examples() -> list[Example]:
    return [example for path in DOCUMENTS for example in examples(path)]

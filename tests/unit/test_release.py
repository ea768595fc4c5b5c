"""The version `smppgate --version` prints is the newest release in CHANGELOG.md."""

from __future__ import annotations

import re
from pathlib import Path

from smppgate import __version__

CHANGELOG = Path(__file__).parents[2] / "CHANGELOG.md"


def test_the_version_is_the_newest_release_of_the_changelog() -> None:
    headings = re.findall(r"^## \[([^\]]+)\]", CHANGELOG.read_text(encoding="utf-8"), re.M)
    releases = [h for h in headings if h != "Unreleased"]
    assert releases, "CHANGELOG.md has no release section"
    assert releases[0] == __version__

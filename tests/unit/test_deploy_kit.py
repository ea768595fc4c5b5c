"""The systemd unit in deploy/ is checked by systemd's own tools, with ExecStart pointed at
this environment's `smppgate` (systemd-analyze refuses a unit whose program does not exist)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "deploy" / "systemd" / "smppgate.service"
INSTALLED = "/opt/smppgate/bin/smppgate"


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: scripts/test.sh installs Debian's systemd")
    smppgate = Path(sys.executable).with_name("smppgate")
    assert smppgate.exists(), smppgate
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED in text
    copy = tmp_path / "smppgate.service"
    copy.write_text(text.replace(INSTALLED, str(smppgate)), encoding="utf-8")
    return copy


def test_unit_passes_systemd_analyze_verify(unit: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # verify exits 0 on some warnings (unknown keys are only "ignored"): any line is a failure
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    assert done.stderr.strip() == "", done.stderr


def test_unit_is_hardened(unit: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    # 0 is a fully locked-down unit, 10 an unprotected one; "OK" is below 2.0
    assert float(found.group(1)) < 2.0, done.stdout


def test_unit_runs_the_readiness_protocol_and_checks_its_config_first() -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert "Type=notify" in text
    assert re.search(r"^ExecStartPre=\S+ check-config ", text, re.M)
    assert re.search(r"^User=smppgate$", text, re.M)

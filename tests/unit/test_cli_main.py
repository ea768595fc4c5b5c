"""The command line: every subcommand listed, and a command loads only its own module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from smppgate.cli.main import COMMANDS, build_parser, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name.replace("_", "-") in out


def test_unknown_command_is_an_error_naming_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sned"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_one_command_parser_parses_like_the_full_one() -> None:
    argv = ["smsc", "--listen", "127.0.0.1:2775", "--account", "a:b"]
    assert vars(build_parser("smsc").parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_a_client_command_does_not_load_the_server_stack() -> None:
    """`smppgate bench client` and `smppgate send` stay small: no aiohttp, no database driver."""
    code = (
        "import sys\n"
        "from smppgate.cli.main import main\n"
        "try:\n"
        "    main(['bench', 'client', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('aiohttp', 'asyncpg', 'sqlite3') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_tune_gc_raises_the_young_threshold_and_freezes_startup_objects() -> None:
    import gc

    from smppgate.cli.main import GC_YOUNG_THRESHOLD, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.parametrize(("command", "package", "extra"), [("serve", "aiohttp", "gateway")])
def test_a_command_whose_extra_is_missing_says_what_to_install(
    command: str, package: str, extra: str
) -> None:
    """`pip install smppgate` is the library alone: the service's command must not traceback."""
    code = (
        "import sys\n"
        f"sys.modules[{package!r}] = None  # as if the extra were not installed\n"
        "from smppgate.cli.main import main\n"
        f"sys.exit(main([{command!r}, '--config', 'x.toml']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert f"pip install 'smppgate[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
    help_text = subprocess.run(
        [sys.executable, "-c", code.replace(f"[{command!r}, '--config', 'x.toml']", "['--help']")],
        capture_output=True,
        text=True,
    ).stdout
    assert f"not installed: smppgate {command} needs {package}" in help_text


def test_the_version_is_defined_once() -> None:
    from importlib.metadata import version

    from smppgate import __version__

    assert version("smppgate") == __version__
    assert main_version_line() == f"smppgate {__version__}"


def main_version_line() -> str:
    done = subprocess.run(
        [sys.executable, "-m", "smppgate.cli.main", "--version"], capture_output=True, text=True
    )
    return done.stdout.strip()


def test_the_library_commands_need_no_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['aiohttp'] = sys.modules['asyncpg'] = None\n"
        "from smppgate.cli.main import main\n"
        "main(['--help'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    missing = {line.split()[0] for line in done.stdout.splitlines() if "not installed" in line}
    assert missing == {"serve", "status"}

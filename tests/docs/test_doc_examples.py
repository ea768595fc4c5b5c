"""Every example in README.md, docs/*.md and deploy/README.md runs as written.

How each kind of block is run: tests/docs/markdown_examples.py. HTTP examples run against a
live demo gateway (`smppgate serve` with the demo account and its in-process emulator, on free
loopback ports: `localhost:8080` in an example means that gateway); emulator control examples
against `smppgate smsc --control`. Placeholders the docs use for values only a running system
knows (`ID`, `{id}`) are replaced by the id of a message the examples created.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smppgate.cli.main import build_parser
from smppgate.cli.smsc import build_config as emulator_config
from smppgate.client import SessionPool, SmppAccount
from smppgate.profiles import SMPP34, HostAddress
from smppgate.service.config import DEMO_ACCOUNT, parse_config
from smppgate.session import BindMode

from ..gateway_helpers import free_port
from .markdown_examples import ROOT, Example, all_examples

EXAMPLES = all_examples()
SMPPGATE = Path(sys.executable).with_name("smppgate")
DOC_HTTP = re.compile(r"(?:localhost|127\.0\.0\.1):8080")
DOC_CONTROL = re.compile(r"127\.0\.0\.1:8775")


# ----------------------------------------------------------------------------- live systems


@dataclass
class Live:
    """A running demo gateway and what the examples learnt from it."""

    base: str
    message_ids: list[str] = field(default_factory=list)

    def substitute(self, text: str) -> str:
        text = DOC_HTTP.sub(self.base.removeprefix("http://"), text)
        if self.message_ids:
            last = self.message_ids[-1]
            text = re.sub(
                r"/v1/messages/(?:ID|\{id\}|01[0-9A-Z]{24})(?![0-9A-Za-z])",
                f"/v1/messages/{last}",
                text,
            )
            text = re.sub(r"(status) ID\b", rf"\1 {last}", text)
        return text

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.base + self.substitute(path), data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        value = json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
        self.learn(value)
        return status, value

    def learn(self, value: Any) -> None:
        """Message ids in an answer, for the examples that name one."""
        if isinstance(value, dict):
            if isinstance(value.get("id"), str) and len(value["id"]) == 26:
                self.message_ids.append(value["id"])
            for item in (
                value.get("messages", []) if isinstance(value.get("messages"), list) else []
            ):
                self.learn(item)


def _wait_http(url: str, process: subprocess.Popen[bytes], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, "the process exited at start"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The demo configuration (`smppgate serve` without --config), on free ports."""
    tmp = tmp_path_factory.mktemp("docs-gateway")
    smpp, http = free_port(), free_port()
    account = dict(DEMO_ACCOUNT, hosts=[f"127.0.0.1:{smpp}"])
    lines = [
        "[store]",
        f'url = "sqlite:{tmp}/demo.db"',
        "[http]",
        f'listen = "127.0.0.1:{http}"',
        "[emulator]",
        "enabled = true",
        f'listen = "127.0.0.1:{smpp}"',
        "dlr_delay = 0.2",
        "[[accounts]]",
        *(f"{key} = {json.dumps(value)}" for key, value in account.items()),
    ]
    config = tmp / "demo.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(SMPPGATE), "serve", "--config", str(config)], cwd=tmp, stdout=log, stderr=log
    )
    try:
        _wait_http(f"http://127.0.0.1:{http}/readyz", process)
        yield Live(f"http://127.0.0.1:{http}")
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="module")
def control() -> Iterator[str]:
    """`smppgate smsc --control`: the emulator's control API."""
    smpp, port = free_port(), free_port()
    process = subprocess.Popen(
        [
            str(SMPPGATE),
            "smsc",
            "--listen",
            f"127.0.0.1:{smpp}",
            "--control",
            f"127.0.0.1:{port}",
            "--stats-interval",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bound, stop = threading.Event(), threading.Event()
    # a receiver bound to the emulator: `POST /mo` needs one (409 otherwise). Our own client:
    # python-smpplib's reader dies on the ussd_service_op TLV of the USSD example
    receiver = threading.Thread(target=asyncio.run, args=(_receive(smpp, bound, stop),))
    try:
        _wait_http(f"http://127.0.0.1:{port}/stats", process)
        receiver.start()
        assert bound.wait(30), "the receiver did not bind"
        yield f"127.0.0.1:{port}"
    finally:
        stop.set()
        if receiver.is_alive():
            receiver.join(30)
        _stop(process)


async def _receive(port: int, bound: threading.Event, stop: threading.Event) -> None:
    account = SmppAccount(
        "demo", "demo", profile=SMPP34, hosts=(HostAddress("127.0.0.1", port),),
        sessions=(BindMode.RECEIVER,),
    )  # fmt: skip
    async with SessionPool(account) as pool:
        await pool.wait_ready(30)
        bound.set()
        # the fixture's stop is a thread's event: wait for it off the loop
        await asyncio.to_thread(stop.wait)


# ------------------------------------------------------------------------------ the checks


def _commands(code: str) -> list[str]:
    """Shell commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(shlex.join(words))
    return commands


def _parse_cli(words: list[str]) -> None:
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:  # argparse's way to refuse
        pytest.fail(f"`smppgate {shlex.join(words)}` is refused by the CLI (exit {exc.code})")


def _curl(words: list[str]) -> tuple[int, str]:
    done = subprocess.run(
        [*words, "-sS", "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def run_sh(example: Example, request: pytest.FixtureRequest) -> None:
    for command in _commands(example.code):
        words = shlex.split(command)
        while re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):  # VAR=value before a command
            words = words[1:]
        program = words[0]
        if program.endswith("smppgate") and "/" not in program.removeprefix(
            ".venv/bin/"
        ).removeprefix("/opt/smppgate/bin/"):
            _parse_cli(words[1:])
        elif program == "curl":
            if example.kind == "emulator-control":
                address: str = request.getfixturevalue("control")
                words = [DOC_CONTROL.sub(address, w) for w in words]
            else:
                live: Live = request.getfixturevalue("live")
                words = [live.substitute(w) for w in words]
            status, body = _curl(words)
            assert 200 <= status < 300, f"{command} -> {status} {body}"
            if example.kind != "emulator-control":
                live.learn(json.loads(body) if body.startswith("{") else None)
        elif program == "bash":
            assert (ROOT / words[1]).is_file(), f"{words[1]} does not exist"
        else:
            pytest.fail(f"{program}: not a command the suite runs; mark the block `skip REASON`")


def _password_env(data: Any) -> dict[str, str]:
    accounts = data.get("accounts", []) if isinstance(data, dict) else []
    server = data.get("smpp_server", {}) if isinstance(data, dict) else {}
    tables = [*accounts, *server.get("users", [])]
    return {a["password_env"]: "pw" for a in tables if "password_env" in a}


def run_toml(example: Example, tmp_path: Path) -> None:
    data = tomllib.loads(example.code)
    if example.kind == "fragment":
        return
    if example.kind == "emulator":
        path = tmp_path / "emulator.toml"
        path.write_text(example.code, encoding="utf-8")
        args = build_parser().parse_args(["smsc", "--config", str(path)])
        emulator_config(argparse.Namespace(**vars(args)))
        return
    parse_config(data, _password_env(data))


def run_python(example: Example, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def shape_mismatches(doc: Any, actual: Any, where: str = "$") -> list[str]:
    """Where the documented JSON and the real answer differ in shape (keys, nesting, kinds of
    value); values themselves differ by nature (ids, times). ``null`` matches anything."""
    if doc is None or actual is None:
        return []
    if isinstance(doc, dict) and isinstance(actual, dict):
        found = []
        if missing := sorted(set(doc) - set(actual)):
            found.append(f"{where}: documented but not answered: {missing}")
        if extra := sorted(set(actual) - set(doc)):
            found.append(f"{where}: answered but not documented: {extra}")
        for key in set(doc) & set(actual):
            found += shape_mismatches(doc[key], actual[key], f"{where}.{key}")
        return found
    if isinstance(doc, list) and isinstance(actual, list):
        if doc and actual:
            return shape_mismatches(doc[0], actual[0], f"{where}[0]")
        return []
    number = (int, float)
    if isinstance(doc, number) and isinstance(actual, number) and not isinstance(doc, bool):
        return []
    if type(doc) is not type(actual):
        return [f"{where}: documented {type(doc).__name__}, answered {type(actual).__name__}"]
    return []


def _next(example: Example) -> Example | None:
    same = [e for e in EXAMPLES if e.path == example.path and e.line > example.line]
    return same[0] if same else None


def _check_response(expected: Example, status: int, body: Any, live: Live) -> None:
    text = expected.code
    if expected.lang == "http":
        head, _, text = text.partition("\n\n")
        want = int(head.split()[1])
        assert status == want, f"answered {status} {body}, documented {want}"
    elif expected.directive[1:2] and expected.directive[1].isdigit():
        assert status == int(expected.directive[1]), f"answered {status} {body}"
    if text.strip():
        assert shape_mismatches(json.loads(text), body) == []


def run_http(example: Example, live: Live) -> None:
    head, _, body = example.code.partition("\n\n")
    first, *header_lines = head.splitlines()
    method, path = first.split()[:2]
    headers = dict(line.split(": ", 1) for line in header_lines)
    headers.pop("Authorization", None)  # the demo has no keys
    status, answer = live.request(method, path, body.strip().encode() or None, headers)
    following = _next(example)
    if following is not None and following.code.startswith("HTTP/"):
        _check_response(following, status, answer, live)
    else:
        assert 200 <= status < 300, answer


def run_json(example: Example, live: Live) -> None:
    assert example.kind == "request", "a JSON body needs `<!-- example: request METHOD PATH -->`"
    method, path = example.directive[1], example.directive[2]
    status, answer = live.request(
        method, path, example.code.encode(), {"Content-Type": "application/json"}
    )
    following = _next(example)
    if following is not None and following.kind == "response":
        _check_response(following, status, answer, live)
    else:
        assert 200 <= status < 300, answer


def run_query(example: Example, live: Live) -> None:
    """`response GET PATH`: what the gateway answers to that request has the documented
    shape (the ids in PATH are the examples' own messages)."""
    status, body = live.request(example.directive[1], example.directive[2], None, {})
    assert status == 200, body
    assert shape_mismatches(json.loads(example.code), body) == []


def _is_response(example: Example) -> bool:
    """A block checked by the request before it (not run on its own)."""
    if example.kind == "response":
        return len(example.directive) < 3
    return example.code.startswith("HTTP/")


RUN = [e for e in EXAMPLES if not e.skipped and not _is_response(e)]


@pytest.mark.parametrize("example", RUN, ids=[e.id for e in RUN])
def test_example_runs(example: Example, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if example.lang == "sh":
        run_sh(example, request)
    elif example.lang == "toml":
        run_toml(example, tmp_path)
    elif example.lang == "python":
        run_python(example, tmp_path)
    elif example.lang == "http":
        run_http(example, request.getfixturevalue("live"))
    elif example.kind == "response":
        run_query(example, request.getfixturevalue("live"))
    else:
        run_json(example, request.getfixturevalue("live"))


def test_every_response_follows_its_request_and_every_skip_says_why() -> None:
    for example in EXAMPLES:
        if example.skipped:
            assert len(example.directive) > 1, f"{example.id}: `skip` needs a reason"
        if _is_response(example):
            before = [e for e in EXAMPLES if e.path == example.path and e.line < example.line]
            assert before, f"{example.id}: a response with no request before it"
            assert before[-1].lang in ("http", "json"), f"{example.id}: no request before it"


def test_the_collector_finds_the_documents_examples() -> None:
    # a broken collector would make every example pass by finding none
    assert len(RUN) >= 20
    assert {e.lang for e in RUN} == {"sh", "toml", "python", "http", "json"}
    assert os.path.basename(str(EXAMPLES[0].path)) == "README.md"


def test_every_emulator_setting_is_documented() -> None:
    from dataclasses import fields

    from smppgate.emulator import EmulatorConfig

    text = (ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    table = text[text.index("## Settings file (TOML)") :]
    missing = [
        f.name
        for f in fields(EmulatorConfig)
        if f"`{f.name}`" not in table and f"`[[{f.name}]]`" not in table
    ]
    assert missing == []

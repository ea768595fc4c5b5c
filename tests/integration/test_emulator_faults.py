"""Fault injection (per account and destination prefix), the retry rules it checks (D-19, D-20,
D-21), security (failed binds slowed then locked out, no passwords in logs), TLS, the control
API and the CLI."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from smppgate.cli import smsc as smsc_cli
from smppgate.cli.main import build_parser, main
from smppgate.emulator import Account, EmulatorConfig, EmulatorConfigError, ListenerConfig
from smppgate.emulator.control import ControlServer
from smppgate.pdu import (
    CommandStatus,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    SubmitSmResp,
)
from tests.esme_helpers import (
    LOGIN,
    SECRET,
    ManualClock,
    RawEsme,
    bound,
    config,
    esme,
    running,
    submit,
)
from tests.gateway_helpers import free_port

# ---------------------------------------------------------------------- submit faults


async def test_throttle_token_bucket_and_d20_pause_check() -> None:
    clock = ManualClock()
    async with running(clock, throttle_pause=0.3, throttle_grace=0.0) as emu:
        emu.faults.add("throttle", rate=2, burst=2)
        client = await bound(emu.address)
        statuses = [(await client.submit()).command_status for _ in range(3)]
        assert statuses == [0, 0, CommandStatus.ESME_RTHROTTLED]
        # resubmitting at once breaks the 1 s pause (here 0.3 s): D-20
        await client.submit()
        assert emu.violations.rules() == ["D-20"]
        clock.advance(0.6)
        assert (await client.submit()).command_status == 0
        assert emu.violations.rules() == ["D-20"]
        await client.close()


async def test_fault_scoped_to_account_and_prefix() -> None:
    async with running() as emu:
        emu.faults.add("reject", status="ESME_RSYSERR", account=LOGIN, prefix="7999")
        emu.faults.add("reject", status="ESME_RSYSERR", account="someone-else")
        client = await bound(emu.address)
        assert (await client.submit(destination="79990000000")).command_status == 0x08
        assert (await client.submit(destination="79000000000")).command_status == 0
        emu.faults.clear()
        assert (await client.submit(destination="79990000000")).command_status == 0
        await client.close()


async def test_queue_full_first_k_and_d21_intervals() -> None:
    clock = ManualClock()
    async with running(clock, qfull_pause_scale=0.02) as emu:  # 5/15/45 s: 0.1/0.3/0.9 s
        emu.faults.add("queue_full", first=2)
        client = await bound(emu.address)
        first = await client.submit(destination="79000000014")
        assert first.command_status == CommandStatus.ESME_RMSGQFUL
        clock.advance(0.12)
        second = await client.submit(destination="79000000014")  # waited >= 0.1: fine
        assert second.command_status == CommandStatus.ESME_RMSGQFUL
        third = await client.submit(destination="79000000014")  # at once: too early
        assert third.command_status == 0
        assert emu.violations.rules() == ["D-21"]
        # another message has its own count
        other = await client.submit(destination="79000000015")
        assert other.command_status == CommandStatus.ESME_RMSGQFUL
        await client.close()


async def test_queue_full_probability() -> None:
    async with running() as emu:
        emu.faults.add("queue_full", probability=1.0)
        client = await bound(emu.address)
        assert (await client.submit()).command_status == CommandStatus.ESME_RMSGQFUL
        await client.close()


async def test_invalid_destination_pattern_and_d19_resend() -> None:
    async with running() as emu:
        emu.faults.add("invalid_destination", pattern=r"7999\d+")
        client = await bound(emu.address)
        assert (await client.submit(destination="79990000000")).command_status == 0x0B
        assert emu.violations.rules() == []
        assert (await client.submit(destination="79990000000")).command_status == 0x0B
        assert emu.violations.rules() == ["D-19"]
        assert (await client.submit(destination="79000000000")).command_status == 0
        await client.close()


async def test_response_delay() -> None:
    async with running() as emu:
        emu.faults.add("delay", seconds=0.3)
        client = await bound(emu.address)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert (await client.submit()).command_status == 0
        assert loop.time() - started >= 0.25
        await client.close()


# ---------------------------------------------------------------------- connection faults


async def test_drop_after_n_requests() -> None:
    async with running() as emu:
        emu.faults.add("drop_after", pdus=3)
        client = await bound(emu.address)
        await client.submit()
        await client.submit()
        await client.send(submit())
        assert await client.closed()
        await client.close()


async def test_refuse_connections_for_a_while() -> None:
    clock = ManualClock()
    async with running(clock) as emu:
        emu.faults.add("refuse_connections", seconds=0.3)
        async with esme(emu.address) as refused:
            assert await refused.closed()
        clock.advance(0.35)
        client = await bound(emu.address)
        assert emu.counters.refused_connections == 1
        await client.close()


async def test_silence_then_speaking_again() -> None:
    async with running() as emu:
        client = await bound(emu.address)
        rule = emu.faults.add("silence", account=LOGIN)
        await client.send(submit())
        await client.send(EnquireLink())
        with pytest.raises(TimeoutError):
            await client.read(within=0.3)
        emu.faults.remove(rule.id)
        assert (await client.submit()).command_status == 0
        await client.close()


async def test_mute_enquire_link_only() -> None:
    async with running(enquire_link_idle=0.01) as emu:
        client = await bound(emu.address)
        emu.faults.add("mute_enquire_link")
        await client.send(EnquireLink())
        assert (await client.submit()).command_status == 0  # the submit is answered
        with pytest.raises(TimeoutError):
            await client.expect(EnquireLinkResp, within=0.3)
        emu.faults.clear()
        await client.send(EnquireLink())
        assert isinstance(await client.read(), EnquireLinkResp)
        assert "enquire_link_muted" in [e.kind for e in emu.events]
        await client.close()


async def test_reject_bind_fault() -> None:
    async with running() as emu:
        emu.faults.add("reject_bind", status="ESME_RBINDFAIL", account=LOGIN)
        async with esme(emu.address) as client:
            assert (await client.bind()).command_status == CommandStatus.ESME_RBINDFAIL


# ---------------------------------------------------------------------- security


async def test_failed_binds_slowed_then_locked_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="smppgate")
    clock = ManualClock()
    async with running(
        clock,
        failed_binds_before_delay=2,
        failed_bind_delay=0.2,
        failed_binds_before_lockout=3,
        lockout_seconds=0.6,
    ) as emu:
        loop = asyncio.get_running_loop()
        for attempt in range(3):
            async with esme(emu.address) as client:
                started = loop.time()
                assert (await client.bind(password="bad-pw")).command_status == 0x0E
                if attempt == 2:  # after 2 failures the answer is held (a real timer)
                    assert loop.time() - started >= 0.15
        # locked out: even the right password is refused
        async with esme(emu.address) as client:
            response = await client.bind()
            assert response.command_status == CommandStatus.ESME_RBINDFAIL
        clock.advance(0.65)
        good = await bound(emu.address)
        await good.close()
    assert "bad-pw" not in caplog.text
    assert "secret" not in caplog.text
    assert "locked out" in caplog.text


def test_password_never_in_repr() -> None:
    text = repr(config())
    assert "secret" not in text
    assert LOGIN in text


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.fail(
            "the openssl command is needed to make a test certificate (apt-get install openssl)"
        )
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_listener(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    listener = ListenerConfig("127.0.0.1", 0, tls_cert=str(cert), tls_key=str(key))
    async with running(listeners=(listener,)) as emu:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        client = await RawEsme.connect(emu.address, context)
        assert (await client.bind()).command_status == 0
        assert (await client.submit()).command_status == 0
        await client.close()


async def test_connection_limit() -> None:
    async with running(max_connections=1) as emu:
        first = await bound(emu.address)
        async with esme(emu.address) as second:
            assert await second.closed()
        await first.close()


# ---------------------------------------------------------------------- control API


async def test_control_api_faults_mo_stats_and_sessions() -> None:
    async with running() as emu, ControlServer(emu) as control:
        base = f"http://{control.address[0]}:{control.address[1]}"
        client = await bound(emu.address)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/faults", json={"fault": "reject", "status": 8}) as r:
                assert r.status == 201
                rule = await r.json()
            assert (await client.submit()).command_status == 8
            async with http.get(f"{base}/faults") as r:
                assert [f["fault"] for f in await r.json()] == ["reject"]
            async with http.delete(f"{base}/faults/{rule['id']}") as r:
                assert r.status == 200
            assert (await client.submit()).command_status == 0
            async with http.post(f"{base}/faults", json={"fault": "nope"}) as r:
                assert r.status == 400

            mo = asyncio.create_task(
                http.post(
                    f"{base}/mo",
                    json={
                        "system_id": LOGIN,
                        "source": "79001234567",
                        "destination": "1234",
                        "text": "hi there",
                    },
                )
            )
            delivered = await client.expect(DeliverSm)
            assert delivered.short_message == b"hi there"
            async with await mo as r:
                assert r.status == 200
                assert (await r.json())["statuses"] == ["ESME_ROK"]
            async with http.post(
                f"{base}/mo",
                json={"system_id": "nobody", "source": "1", "destination": "2", "text": "x"},
            ) as r:
                assert r.status == 409

            async with http.get(f"{base}/stats") as r:
                stats = await r.json()
                assert stats["counters"]["submits"] == 2
                assert stats["sessions"][0]["system_id"] == LOGIN
            async with http.get(f"{base}/violations") as r:
                assert await r.json() == []
            async with http.post(f"{base}/sessions/{LOGIN}/drop") as r:
                assert (await r.json())["dropped"] == 1
        assert await client.closed()
        await client.close()


def test_control_refuses_non_loopback() -> None:
    from smppgate.emulator import Emulator

    with pytest.raises(EmulatorConfigError):
        ControlServer(Emulator(config()), "0.0.0.0", 0)


# ---------------------------------------------------------------------- CLI and config


def test_cli_defaults_demo_account_and_port() -> None:
    args = build_parser().parse_args(["smsc"])
    cfg = smsc_cli.build_config(args)
    assert [(a.system_id, a.password) for a in cfg.accounts] == [("demo", "demo")]
    assert (cfg.listeners[0].host, cfg.listeners[0].port) == ("127.0.0.1", 2775)
    assert cfg.dlr_enabled


def test_cli_options_build_config() -> None:
    args = build_parser().parse_args(
        [
            "smsc",
            "--listen",
            "127.0.0.1:3000",
            "--listen",
            "127.0.0.1:3001/transactional",
            "--account",
            "bench:bench",
            "--no-dlr",
            "--dlr-delay",
            "0.5",
            "--dlr-outcome",
            "delivered=0.9,undeliverable=0.1",
            "--throttle",
            "50",
            "--fault",
            "queue_full:first=2,account=bench,prefix=7999",
            "--strict",
        ]
    )
    cfg = smsc_cli.build_config(args)
    assert [str(item.traffic_class) for item in cfg.listeners] == ["promo", "transactional"]
    assert [a.system_id for a in cfg.accounts] == ["bench"]
    assert not cfg.dlr_enabled
    assert cfg.dlr_delay == 0.5
    assert cfg.strict
    assert cfg.dlr_outcomes.undeliverable == 0.1
    assert [(f.fault, f.account, f.prefix) for f in cfg.faults] == [
        ("throttle", None, None),
        ("queue_full", "bench", "7999"),
    ]


def test_toml_config_and_errors_name_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "emu.toml"
    good.write_text(
        "dlr_delay = 2.5\nstrict = true\n"
        "[dlr_outcomes]\ndelivered = 0.5\nexpired = 0.5\n"
        '[[listeners]]\nhost = "127.0.0.1"\nport = 4000\ntraffic_class = "transactional"\n'
        '[[accounts]]\nsystem_id = "a1"\npassword = "p1"\nmax_sessions = 2\n'
        '[[faults]]\nfault = "throttle"\nrate = 10\naccount = "a1"\n'
    )
    cfg = smsc_cli.build_config(build_parser().parse_args(["smsc", "--config", str(good)]))
    assert cfg.dlr_delay == 2.5
    assert cfg.strict
    assert cfg.accounts[0].max_sessions == 2
    assert cfg.faults[0].params == {"rate": 10}
    bad = tmp_path / "bad.toml"
    bad.write_text("dlr_delay = 'soon'\n")
    assert main(["smsc", "--config", str(bad)]) == 2
    assert "dlr_delay" in capsys.readouterr().err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("no_such_key = 1\n")
    assert main(["smsc", "--config", str(unknown)]) == 2
    assert "no_such_key" in capsys.readouterr().err
    # an unknown fault was a traceback (exit 1): now a configuration error naming the key
    no_fault = tmp_path / "no_fault.toml"
    no_fault.write_text('[[faults]]\nfault = "nope"\n')
    assert main(["smsc", "--config", str(no_fault)]) == 2
    err = capsys.readouterr().err
    assert "faults[0].fault: unknown fault 'nope' (known: delay," in err
    assert "Traceback" not in err
    assert main(["smsc", "--account", "nocolon"]) == 2
    assert main(["smsc", "--control", "10.0.0.1:80"]) == 2


def test_config_validation() -> None:
    with pytest.raises(EmulatorConfigError, match="max_sessions"):
        EmulatorConfig(max_sessions=0)
    with pytest.raises(EmulatorConfigError, match="short_validity"):
        EmulatorConfig(short_validity="sometimes")


async def test_cli_serve_runs_and_stops() -> None:
    stop = asyncio.Event()
    cfg = config()
    task = asyncio.create_task(smsc_cli.serve(cfg, ("127.0.0.1", 0), 0.05, stop))
    await asyncio.sleep(0.2)  # real time: the CLI's server runs a while (its stats tick)
    stop.set()
    await asyncio.wait_for(task, 5)


@pytest.mark.parametrize(("choice", "loop"), [("auto", "uvloop"), ("asyncio", "asyncio")])
async def test_cli_runs_on_the_chosen_loop(tmp_path: Path, choice: str, loop: str) -> None:
    # `smppgate smsc` on uvloop when installed (as `serve`): a submit answered, a clean stop
    port = free_port()
    log = tmp_path / "smsc.log"
    with log.open("ab") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "smppgate.cli.main", "smsc",
            "--listen", f"127.0.0.1:{port}", "--account", f"{LOGIN}:{SECRET}",
            "--stats-interval", "0", "--log-level", "INFO", "--loop", choice,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        for _ in range(500):
            try:
                client = await bound(("127.0.0.1", port), "trx")
                break
            except OSError:
                await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"the emulator does not listen: {log.read_text()}")
        response = await client.submit(registered_delivery=1)
        assert response.command_status == 0
        await client.expect(DeliverSm)
        await client.close()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0
    assert f"event loop: {loop}" in log.read_text()


def test_cli_loop_uvloop_missing_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if it were not installed
    assert main(["smsc", "--loop", "uvloop", "--listen", "127.0.0.1:0"]) == 2
    assert "uvloop is not installed" in capsys.readouterr().err


async def test_submit_records_are_bounded() -> None:
    async with running(record_limit=5) as emu:
        client = await bound(emu.address, "tx")
        for _ in range(20):
            await client.send(submit())
        for _ in range(20):
            await client.expect(SubmitSmResp)
        assert len(emu.records) == 5
        assert emu.records.dropped == 15
        await client.close()


async def test_control_token_is_required_when_set() -> None:
    async with running() as emu, ControlServer(emu, token="control-secret") as control:
        base = f"http://{control.address[0]}:{control.address[1]}"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"Authorization": "Bearer wrong"},
                            {"Authorization": "Bearer control-secret\u00e9"}):  # fmt: skip
                async with http.get(f"{base}/stats", headers=headers) as r:
                    assert r.status == 401
                async with http.post(f"{base}/sessions/{LOGIN}/drop", headers=headers) as r:
                    assert r.status == 401
            good = {"Authorization": "Bearer control-secret"}
            async with http.get(f"{base}/stats", headers=good) as r:
                assert r.status == 200


async def test_control_mo_with_an_address_too_long_for_smpp_is_400() -> None:
    async with running() as emu, ControlServer(emu) as control:
        base = f"http://{control.address[0]}:{control.address[1]}"
        client = await bound(emu.address)
        async with aiohttp.ClientSession() as http:
            for field in ("source", "destination"):
                body = {"system_id": LOGIN, "source": "79001234567", "destination": "1234",
                        "text": "x", field: "7" * 28}  # fmt: skip
                async with http.post(f"{base}/mo", json=body) as r:
                    assert r.status == 400
                    assert field + "_addr" in (await r.json())["error"]
        await client.close()


async def test_a_password_guess_locks_out_that_account_not_the_address() -> None:
    accounts = (Account(LOGIN, SECRET), Account("other", "other-pw"))
    async with running(
        accounts=accounts, failed_binds_before_delay=10, failed_binds_before_lockout=2,
        lockout_seconds=60.0,
    ) as emu:  # fmt: skip
        for _ in range(2):
            async with esme(emu.address) as client:
                response = await client.bind(system_id="other", password="guess")
                assert response.command_status == CommandStatus.ESME_RINVPASWD
        async with esme(emu.address) as client:  # "other" from 127.0.0.1 is locked out
            response = await client.bind(system_id="other", password="other-pw")
            assert response.command_status == CommandStatus.ESME_RBINDFAIL
        # the legitimate gateway on the same address still binds
        good = await bound(emu.address)
        await good.close()

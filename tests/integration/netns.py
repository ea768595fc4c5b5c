"""Network namespaces joined by veth pairs, for the dark-link tests (issue 20).

The test creates ``<name>-gw``, ``<name>-r`` (a router) and ``<name>-smsc``, two veth pairs
and addresses inside them only (10.200.x.0/29); nothing outside those namespaces changes.
The test's own thread enters a namespace (``setns``) to open sockets there: the emulator's
listener in the SMSC's, the gateway's connections in the gateway's; sockets stay where they
were created. ``dark`` makes the router drop everything both ways: no RST, nothing passes,
nobody is told.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=10)


def unavailable() -> str | None:
    """Why this machine cannot run the namespace tests (None: it can)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"sgprobe{secrets.token_hex(3)}"
    try:
        _run("ip", "netns", "add", probe)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"`ip netns add` failed here: {exc}"
    _run("ip", "netns", "del", probe)
    return None


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({path})")
    finally:
        os.close(fd)


@dataclass
class VethPair:
    """The gateway's and the SMSC's namespaces, joined through a router namespace by two
    veth pairs (gw 10.200.N.1 - .2 router .5 - .6 smsc)."""

    gw_ns: str
    router_ns: str
    smsc_ns: str
    gw_address: str
    smsc_address: str

    @contextlib.contextmanager
    def inside(self, ns: str) -> Iterator[None]:
        """Sockets opened by this thread meanwhile belong to namespace ``ns``."""
        saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(f"/var/run/netns/{ns}")
            yield
        finally:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.setns(saved, CLONE_NEWNET)
            os.close(saved)

    def dark(self) -> None:
        """The router drops everything between the two, silently (blackhole routes): no RST,
        no ICMP, and both ends' own sends succeed — as when a link in the path goes down.
        (Dropping at an end instead, by taking its veth down or giving it a queue of length
        0, is seen by that end's TCP as a local failure: its keepalive probes never count.)"""
        for address in (self.gw_address, self.smsc_address):
            _run("ip", "-n", self.router_ns, "route", "add", "blackhole", f"{address}/32")

    def light(self) -> None:
        for address in (self.gw_address, self.smsc_address):
            _run("ip", "-n", self.router_ns, "route", "del", "blackhole", f"{address}/32")


@contextlib.contextmanager
def veth_pair() -> Iterator[VethPair]:
    tag = secrets.token_hex(3)
    net = f"10.200.{1 + secrets.randbelow(250)}"
    pair = VethPair(f"sg{tag}-gw", f"sg{tag}-r", f"sg{tag}-smsc", f"{net}.1", f"{net}.6")
    made: list[str] = []
    try:
        for ns in (pair.gw_ns, pair.router_ns, pair.smsc_ns):
            _run("ip", "netns", "add", ns)
            made.append(ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        for ns, ifname, address, peer_ifname, peer_address in (
            (pair.gw_ns, f"sg{tag}g", f"{net}.1", f"sg{tag}rg", f"{net}.2"),
            (pair.smsc_ns, f"sg{tag}s", f"{net}.6", f"sg{tag}rs", f"{net}.5"),
        ):
            _run("ip", "link", "add", ifname, "netns", ns, "type", "veth",
                 "peer", "name", peer_ifname, "netns", pair.router_ns)  # fmt: skip
            _run("ip", "-n", ns, "addr", "add", f"{address}/30", "dev", ifname)
            _run("ip", "-n", ns, "link", "set", ifname, "up")
            _run("ip", "-n", pair.router_ns, "addr", "add", f"{peer_address}/30", "dev",
                 peer_ifname)  # fmt: skip
            _run("ip", "-n", pair.router_ns, "link", "set", peer_ifname, "up")
            _run("ip", "-n", ns, "route", "add", "default", "via", peer_address)
        _run("ip", "netns", "exec", pair.router_ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        yield pair
    finally:
        for ns in reversed(made):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                _run("ip", "netns", "del", ns)

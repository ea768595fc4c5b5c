"""Where webhooks may go: a URL policy against server-side request forgery (SSRF).

A callback URL comes from whoever may call the API, so it must not turn the gateway into a
proxy into its own network: the emulator's control API, a database, a cloud metadata service
(169.254.169.254). `EgressPolicy.check_url` refuses, before anything is stored, a URL that is
not http(s), carries credentials, has a bad port, or names a host that is not public: a
loopback, private, link-local, shared, multicast or unspecified address however it is
written (``127.1``, ``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``, ``[::1]``) and
``localhost``. A host *name* cannot be judged before it is resolved, and may resolve
differently later (DNS rebinding), so the webhook sender checks every resolved address again
with `EgressPolicy.address_allowed` and connects only to the addresses it checked.

Receivers inside the network are allowed explicitly: ``[webhooks] allow_hosts`` lists host
names (exact, case-insensitive) and addresses or networks (``10.1.2.3``, ``10.0.0.0/8``);
``allow_private = true`` (labs, tests) lets every address through.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["MAX_URL_LENGTH", "EgressPolicy", "Target", "UrlRefusedError", "literal_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
#: what a numeric IPv4 host may look like in the forms inet_aton accepts (127.1, 0x7f.0.0.1,
#: 017700000001, 2130706433): read as an address, never as a name
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.]+$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UrlRefusedError(ValueError):
    """A URL the gateway will not call; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL's scheme, host (lower case, as written) and port."""

    scheme: str
    host: str
    port: int

    @property
    def key(self) -> str:
        """Per-host limits count by this (host and port)."""
        return f"{self.host}:{self.port}"


def literal_address(host: str) -> IPAddress | None:
    """The address a host stands for when it is written as one, in any form a resolver would
    accept (``127.1`` and ``2130706433`` are 127.0.0.1); None for a name."""
    try:
        return ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """Which webhook URLs and addresses are allowed (see the module's docstring)."""

    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()

    @classmethod
    def parse_hosts(cls, entries: list[str]) -> tuple[str, ...]:
        """``allow_hosts`` entries as kept: names in lower case, networks normalised; a
        ValueError names an entry that is neither."""
        out: list[str] = []
        for entry in entries:
            text = entry.strip().lower().strip("[]")
            if not text:
                raise ValueError("an empty entry")
            if "/" in text or literal_address(text) is not None:
                address = literal_address(text)
                try:
                    network = (
                        ipaddress.ip_network(text, strict=False) if address is None else address
                    )
                except ValueError:
                    raise ValueError(f"{entry!r} is not an address or network") from None
                out.append(str(network))
            elif not re.fullmatch(r"[a-z0-9_.-]+", text):
                raise ValueError(f"{entry!r} is not a host name, address or network")
            else:
                out.append(text)
        return tuple(out)

    @property
    def _names(self) -> frozenset[str]:
        return _allowed(self.allow_hosts)[0]

    @property
    def _networks(self) -> tuple[IPNetwork, ...]:
        return _allowed(self.allow_hosts)[1]

    def name_allowed(self, host: str) -> bool:
        """A host name listed in ``allow_hosts``: whatever it resolves to is allowed."""
        return host.lower().rstrip(".") in self._names

    def address_allowed(self, address: IPAddress) -> bool:
        """May the gateway connect to this (resolved) address?"""
        if self.allow_private or _is_public(address):
            return True
        return any(address in network for network in self._networks)

    def check_url(self, url: str) -> Target:
        """The URL's target when the gateway may call it; `UrlRefusedError` says why not.

        The answer depends on the policy and the URL alone (a name is judged when it is
        resolved, not here), so the last answers are remembered: a batch of messages with
        the same ``callback_url`` checks it once, not once per message."""
        if len(url) > MAX_URL_LENGTH:
            raise UrlRefusedError(f"at most {MAX_URL_LENGTH} characters")
        checked = _check_url(self, url)
        if isinstance(checked, str):
            raise UrlRefusedError(checked)
        return checked

    def _check_url(self, url: str) -> Target:
        if len(url) > MAX_URL_LENGTH:
            raise UrlRefusedError(f"at most {MAX_URL_LENGTH} characters")
        if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
            raise UrlRefusedError("only printable ASCII without spaces (percent-encode the rest)")
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port
        except ValueError as exc:
            raise UrlRefusedError(f"not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not host:
            raise UrlRefusedError("an http:// or https:// URL with a host")
        if "@" in parts.netloc:
            raise UrlRefusedError("credentials in the URL are not allowed (user:password@)")
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        if not 1 <= port <= 65535:
            raise UrlRefusedError(f"port {port} is not 1..65535")
        host = host.rstrip(".")
        address = literal_address(host)
        if self.name_allowed(host):
            return Target(parts.scheme, host, port)
        if address is None and (host == "localhost" or host.endswith(".localhost")):
            address = ipaddress.IPv4Address("127.0.0.1")
        if address is not None and not self.address_allowed(address):
            raise UrlRefusedError(
                f"{host} is a loopback, private or otherwise internal address ({address}); "
                "a receiver inside the network must be listed in [webhooks] allow_hosts"
            )
        return Target(parts.scheme, host, port)


@functools.lru_cache(maxsize=64)
def _allowed(allow_hosts: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """``allow_hosts`` read once: the host names, and the addresses and networks."""
    names = frozenset(h for h in allow_hosts if literal_address(h) is None and "/" not in h)
    networks = tuple(
        ipaddress.ip_network(h, strict=False)
        for h in allow_hosts
        if "/" in h or literal_address(h) is not None
    )
    return names, networks


@functools.lru_cache(maxsize=4096)
def _check_url(policy: EgressPolicy, url: str) -> Target | str:
    """`EgressPolicy.check_url`'s answer (a refusal as its message: the exception is made
    afresh each time, never one kept with an old traceback)."""
    try:
        return policy._check_url(url)  # the uncached check
    except UrlRefusedError as exc:
        return str(exc)

"""Opt-in, SSRF-guarded fetching of document and image URLs named in messages.

Only ``http``/``https`` URLs are fetched, the host name is resolved and *every* address it
resolves to must be public (no loopback, private, link-local, multicast, reserved or
unspecified ranges), redirects are followed by hand so each hop is checked the same way,
and the body is read under a byte cap and a time limit. Tests that need a local server
widen the allowed set only through :func:`mnemoweave.testing.allow_fetch_from`.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from .errors import FetchRefusedError, ValidationError

__all__ = ["Fetched", "check_url", "fetch", "widened"]

_MAX_REDIRECTS = 5
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Networks a test has explicitly allowed (see mnemoweave.testing.allow_fetch_from); empty
# for every normal program, so only public addresses can ever be fetched.
_ALLOWED: list[IPNetwork] = []


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched body with the final URL (after redirects) and its declared content type."""

    url: str
    content_type: str
    body: bytes


@contextmanager
def widened(*networks: str) -> Iterator[None]:
    """Allow fetching from ``networks`` (CIDR strings) inside the block; for tests only."""
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]
    _ALLOWED.extend(nets)
    try:
        yield
    finally:
        for net in nets:
            _ALLOWED.remove(net)


def _public(address: IPAddress) -> bool:
    if any(address in net for net in _ALLOWED):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def check_url(url: str) -> None:
    """Raise ``FetchRefusedError`` unless ``url`` is http(s) and all its addresses are public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefusedError(
            f"only http and https URLs are fetched, not {parts.scheme or url!r}"
        )
    host = parts.hostname
    if not host:
        raise FetchRefusedError(f"URL {url!r} has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise FetchRefusedError(f"cannot resolve the host of {url!r}: {exc}") from None
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    bad = sorted(str(a) for a in addresses if not _public(a))
    if bad or not addresses:
        raise FetchRefusedError(
            f"refusing to fetch {url!r}: {host} resolves to non-public address(es) {bad} "
            "(loopback, private, link-local and reserved ranges are never fetched)"
        )


def fetch(url: str, *, timeout: float, max_bytes: int) -> Fetched:
    """GET ``url`` with every hop checked by :func:`check_url`, under size and time limits."""
    deadline = time.monotonic() + timeout
    with httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False) as client:
        for _ in range(_MAX_REDIRECTS + 1):
            check_url(url)
            try:
                with client.stream("GET", url) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        url = urljoin(url, resp.headers["location"])
                        continue
                    if resp.status_code != 200:
                        raise ValidationError(f"fetching {url!r} answered HTTP {resp.status_code}")
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise ValidationError(_too_big(url, max_bytes))
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise ValidationError(_too_big(url, max_bytes))
                        if time.monotonic() > deadline:
                            raise ValidationError(f"fetching {url!r} took over {timeout:g} s")
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    return Fetched(url=url, content_type=ctype, body=bytes(body))
            except httpx.HTTPError as exc:
                raise ValidationError(f"could not fetch {url!r}: {exc}") from None
    raise ValidationError(f"fetching stopped after {_MAX_REDIRECTS} redirects")


def _too_big(url: str, max_bytes: int) -> str:
    return (
        f"{url!r} is larger than max_fetch_bytes={max_bytes:,}; raise it in Memory(...) "
        "if the document is wanted"
    )

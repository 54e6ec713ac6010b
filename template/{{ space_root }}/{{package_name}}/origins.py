# Owned by the template: `copier update` keeps this file current; don't edit it.
"""CORS origins as a browser sends them: the one home of these rules. The settings apply them
at startup, and the template loads this file to check its answers at render time."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

DEFAULT_PORTS = {"http": "80", "https": "443"}
HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
ORIGIN_HINT = "write scheme://host[:port] with http or https, e.g. https://myapp.vercel.app"


def browser_origin(origin: str) -> str:
    """`origin` as a browser sends it (lowercase, punycode, no default port), else ValueError."""
    if "*" in origin:
        raise ValueError(f"a wildcard is no origin; use CORS_ORIGIN_REGEX; {ORIGIN_HINT}")
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", origin, re.DOTALL)
    if not match or match[1].lower() not in DEFAULT_PORTS:
        raise ValueError(f"it has no http:// or https:// scheme; {ORIGIN_HINT}")
    scheme, authority = match[1].lower(), match[2]
    if match[3] or "@" in authority:
        what = "a trailing slash" if match[3] == "/" else "a path, query or user name"
        raise ValueError(f"it has {what}, which no Origin has; {ORIGIN_HINT}")
    host, port = authority, None
    if ipv6 := re.fullmatch(r"\[([^\]]*)\](?::(.*))?", authority, re.DOTALL):
        host, port = f"[{_ip(ipaddress.IPv6Address, ipv6[1])}]", ipv6[2]
    elif ":" in authority:
        host, port = authority.split(":", 1)
    if not ipv6:
        host = _browser_host(host)
    if port is not None and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"it has an invalid port; {ORIGIN_HINT}")
    port = str(int(port)) if port else None
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[scheme] else "")


def _ip(kind: Any, text: str) -> str:
    try:
        return kind(text).compressed
    except ValueError:
        raise ValueError(f"it has an invalid IP address; {ORIGIN_HINT}") from None


def _browser_host(host: str) -> str:
    try:
        host = host.encode("idna").decode("ascii").lower().removesuffix(".")
    except UnicodeError:
        raise ValueError(f"its host is not a valid domain name; {ORIGIN_HINT}") from None
    labels = host.split(".")
    if not host or len(host) > 253 or not all(HOST_LABEL.fullmatch(part) for part in labels):
        raise ValueError(f"its host has characters or labels a host cannot have; {ORIGIN_HINT}")
    # A browser reads a host ending in a number as an IPv4 address.
    return _ip(ipaddress.IPv4Address, host) if labels[-1].isdigit() else host


def check_origin(origin: str) -> str:
    expected = browser_origin(origin)
    if expected != origin:
        raise ValueError(f"a browser never sends an origin written so; use {expected}")
    return origin


def check_origins(origins: list[str]) -> list[str]:
    if not origins:  # " , " would block every browser without a word; unset keeps the default
        raise ValueError("it lists no origin; give at least one, or unset it for the default")
    return [check_origin(origin) for origin in origins]

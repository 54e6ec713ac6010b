# Owned by the template: `copier update` keeps this file current; don't edit it.
"""CORS origins as a browser sends them, and the CORS_ORIGIN_REGEX no stranger can pass.

The one home of these rules: the settings apply them at startup, and the template loads this
file to check its answers at render time. RE2 matches in linear time, so the pattern rules are
about who can pass a pattern, never how fast it runs.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from re import _constants as sre  # the stdlib's own parser yields an origin a pattern matches
from re import _parser as sre_parser
from typing import Any

ORIGIN_MAX_LENGTH = 270  # longer than any Origin a browser sends (a host has <= 253 characters)
DEFAULT_PORTS = {"http": "80", "https": "443"}
HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
ORIGIN_HINT = "write scheme://host[:port] with http or https, e.g. https://myapp.vercel.app"
REGEX_HINT = r"e.g. https://[a-z0-9-]+\.preview\.example\.com for previews on your own domain"


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


def origin_pattern(pattern: str) -> Any:
    """`pattern` compiled by RE2, which never backtracks: no Origin header can stall a worker."""
    import re2  # here, not at the top: the template's answer checks load this file without RE2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own line to stderr besides ours
    return re2.compile(pattern, options)


def check_origin_regex(pattern: str, compiler: Any = origin_pattern) -> str:
    """`pattern` when it matches an origin a browser sends and none a stranger can; else ValueError.

    Strangers send "null", other schemes, and hosts they name: so every character from the
    site's own name (the label left of its Public Suffix List suffix) to the host's end is fixed.
    """
    if not pattern:
        return pattern  # no pattern: exact origins only
    try:
        compiled = compiler(pattern)
        example, varies = _example(sre_parser.parse(pattern))
    except RecursionError:
        raise ValueError(f"it nests groups too deeply; {REGEX_HINT}") from None
    except ValueError:
        raise  # _example's own refusal, which says why
    except Exception:  # re.error, re2.error
        raise ValueError(f"it is not a regular expression RE2 accepts; {REGEX_HINT}") from None
    hostport = example.partition("://")[2]
    if not compiled.fullmatch(example) or _origin_or_none(example) != example:
        raise ValueError(f"it matches no origin a browser sends (e.g. {example!r}); {REGEX_HINT}")
    schemes = ("", "//", "ftp://", "ws://", "wss://", "file://", "chrome-extension://")
    for probe in ["null", *(scheme + hostport for scheme in schemes)]:
        if compiled.fullmatch(probe):
            raise ValueError(f"it also matches {probe!r}, which anyone can send; {REGEX_HINT}")
    if suffix := _stranger_suffix(example, varies):
        raise ValueError(
            f"a stranger can create a site under {suffix} that it matches ({suffix} is a public "
            f"suffix: each name under it has its own owner); list exact origins, or {REGEX_HINT}"
        )
    return pattern


def _origin_or_none(text: str) -> str | None:
    try:
        return browser_origin(text)
    except ValueError:
        return None


def _example(nodes: Any) -> tuple[str, list[bool]]:
    """A short string the parsed pattern matches, and for each character whether it can vary."""
    text, varies = "", []
    for op, arg in nodes:
        if op is sre.LITERAL:
            part, open_ = chr(arg), [False]
        elif op is sre.IN:
            part, open_ = _pick(arg), [len(arg) > 1 or arg[0][0] is not sre.LITERAL]
        elif op is sre.AT:  # ^ $ \A \Z: fullmatch anchors anyway
            part, open_ = "", []
        elif op is sre.SUBPATTERN:
            part, open_ = _example(arg[3])
        elif op is sre.BRANCH:
            branches = [_example(branch) for branch in arg[1]]
            opened = [branch for branch in branches if any(branch[1])]
            part = (opened or branches)[0][0]  # an open branch, so the example shows it
            open_ = [bool(opened)] * len(part)  # one open branch opens them all
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, body = arg
            part, open_ = _example(body)
            count = low or (1 if high > 1 or any(open_) else 0)  # show what can vary
            part, open_ = part * count, [o or low != high for o in open_] * count
        else:
            raise ValueError(
                f"it has '.', a negated class, a lookaround or a backreference ({op}), which no "
                rf"origin pattern needs; write a dot as \. and list characters, {REGEX_HINT}"
            )
        text, varies = text + part, varies + open_
    return text, varies


def _pick(items: Any) -> str:
    """A character a [...] set matches: a letter, else a digit from 1 ("0000" is no port)."""
    codes: list[int] = []
    for op, arg in items:
        if op is sre.LITERAL:
            codes.append(arg)
        elif op is sre.RANGE:
            codes += range(arg[0], min(arg[1], 127) + 1) or [arg[0]]
        elif op is sre.CATEGORY and arg in (sre.CATEGORY_DIGIT, sre.CATEGORY_WORD):
            codes.append(ord("1" if arg is sre.CATEGORY_DIGIT else "a"))
        else:  # [^...], \W, \S, \D, \s
            raise ValueError(f"it has a negated class, which matches almost anything; {REGEX_HINT}")
    return chr(min(codes, key=lambda code: (not chr(code).isalpha(), code == 48, code)))


@cache
def _suffix_list() -> Any:
    from publicsuffixlist import PublicSuffixList  # ships the list: nothing is fetched

    return PublicSuffixList()


def _stranger_suffix(example: str, varies: list[bool]) -> str:
    """The host's public suffix when a character from the site's name to the host's end varies."""
    start = example.index("://") + 3
    host = example[start:].rsplit(":", 1)[0] if example.count(":") > 1 else example[start:]
    if host.startswith("[") or host.replace(".", "").isdigit():
        return ""  # an IP address names no site a stranger can create
    suffix = _suffix_list().publicsuffix(host) or host
    site = host.removesuffix(suffix).rstrip(".").rpartition(".")[2]
    first = start + len(host) - len(suffix) - (len(site) + 1 if site else 0)
    return suffix if any(varies[first : start + len(host)]) else ""

"""Jinja extensions for hf-space-template: the service catalogue, answer checks, derived values.

Loaded by copier-template-extensions from copier.yml. Everything computed here
(the Space URL, the chosen services' variables, requirements) lives in the render
context only, never in the user's answers file. The module has no import-time
side effects beyond reading services.yml, so the template's tests import it too.
"""

from __future__ import annotations

import ipaddress
import keyword
import re
import re._constants as _sre
import re._parser as _sre_parser
import string
import sys
import unicodedata
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import yaml
from copier.errors import UserMessageError
from copier_template_extensions import ContextHook
from jinja2.ext import Extension

CATALOGUE_PATH = Path(__file__).with_name("services.yml")

SPACE_NAME_MAX = 96
SHORT_DESCRIPTION_MAX = 60
# Ports a Space may open outbound connections on (Spaces overview, "Networking").
SPACE_OUTBOUND_PORTS = (80, 443, 8080)


@cache
def load_catalogue() -> dict[str, Any]:
    """The parsed services.yml, with each variable tagged by its service."""
    data = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    for variable in data["app"]["variables"]:
        variable["service"] = "app"
    for name, part in [*data["services"].items(), *data.get("features", {}).items()]:
        part["name"] = name
        for variable in part["variables"]:
            # A feature's variables go by its readiness check's name (e.g. both auth modes: auth).
            variable["service"] = part.get("check", name)
    return data


def service_names() -> list[str]:
    return list(load_catalogue()["services"])


# --- answer checks: each returns "" when the value is fine, else what is wrong and what is allowed

# Characters no one-line answer may hold: they break the line they are written on (YAML,
# Markdown, a docstring) or make the text display differently from what it is.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def text_problem(value: str) -> str:
    """Why `value` cannot be one line of text in the generated files, or ""."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            return f"{value!r} has a line break or control character ({char!r}); write one line"
        if category == "Cs" or char in BIDI_CONTROLS or char == "\ufeff" or _noncharacter(char):
            return f"{value!r} has an invisible or invalid character ({char!r}); remove it"
    if value != value.strip():
        return f"{value!r} starts or ends with a space; remove it"
    return ""


def _noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def project_name_problem(value: str) -> str:
    if not value.strip():
        return "it is empty; give the Space a title, e.g. My RAG API"
    return text_problem(value)


def short_description_problem(value: str) -> str:
    if len(value) > SHORT_DESCRIPTION_MAX:
        return (
            f"it has {len(value)} characters; Hugging Face allows at most "
            f"{SHORT_DESCRIPTION_MAX}, shorten it"
        )
    return text_problem(value)


# An emoji is a sequence of pictographs joined by these: zero-width joiner, variation
# selectors, keycap, skin tones and the tag characters of subdivision flags.
EMOJI_JOINERS = frozenset("\u200d\ufe0e\ufe0f\u20e3" + "".join(map(chr, range(0x1F3FB, 0x1F400))))
EMOJI_TAGS = range(0xE0020, 0xE0080)
KEYCAP_BASES = frozenset("#*0123456789")
EMOJI_MAX = 16  # code points; the longest emoji sequences (families, flags) have about 10


def emoji_problem(value: str) -> str:
    """An emoji is symbols (Unicode S*), and non-ASCII punctuation such as ‼, plus joiners.

    No letters or digits (except a keycap's base), no spaces: the card shows one emoji.
    The README writes it YAML-quoted, so any text that passes is written safely.
    """
    hint = "give one emoji, e.g. 🚀"
    if not value:
        return f"it is empty; {hint}"
    if problem := text_problem(value):
        return problem
    if len(value) > EMOJI_MAX:
        return f"{value!r} is {len(value)} characters long; {hint}"
    pictographs = 0
    for index, char in enumerate(value):
        following = value[index + 1 : index + 2]
        if char in EMOJI_JOINERS or ord(char) in EMOJI_TAGS:
            continue
        if char in KEYCAP_BASES and following in ("\ufe0f", "\u20e3"):
            pictographs += 1
            continue
        category = unicodedata.category(char)
        if char.isascii() or not (category.startswith("S") or category in ("Po", "Pd")):
            return f"{value!r} is not an emoji ({char!r} is text); {hint}"
        pictographs += 1
    if not pictographs:
        return f"{value!r} has no visible emoji; {hint}"
    return ""


HOST_LABEL_MAX = 63  # DNS (RFC 1035): one label of a host name


def space_name_problem(value: str, owner: str = "") -> str:
    """The Hub's repo-name rules, and the Space's host label (see space_host_problem)."""
    allowed = (
        "use letters, digits, '-', '_' and '.', at most 96 characters, "
        "not starting or ending with '-' or '.', and no '--' or '..'"
    )
    if not value:
        return f"it is empty; {allowed}"
    if len(value) > SPACE_NAME_MAX:
        return f"it has {len(value)} characters; {allowed}"
    if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
        return f"{value!r} has characters Hugging Face does not allow; {allowed}"
    if value[0] in "-." or value[-1] in "-.":
        return f"{value!r} starts or ends with '-' or '.'; {allowed}"
    if "--" in value or ".." in value:
        return f"{value!r} contains '--' or '..'; {allowed}"
    # The README names the Docker image after the Space, and the host label is
    # <owner>-<name> with '_' and '.' as '-': separators between letters or digits only.
    if not re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-)[a-z0-9]+)*", value.lower()):
        return (
            f"{value!r} has '_' at an end or '-', '_', '.' next to each other, which its "
            f"Docker image name and host name cannot hold; {allowed}"
        )
    return space_host_problem(owner, value) if owner and not owner_problem(owner) else ""


def space_host_problem(owner: str, space_name: str) -> str:
    """Refuse owner/name pairs whose host label `<owner>-<name>` is not a valid DNS label.

    The Hub serves a Space at https://<label>.hf.space and reports the label as the
    Space's `subdomain` (huggingface_hub SpaceInfo.subdomain); neither its API docs
    nor huggingface_hub say how it names the host when `<owner>-<name>` has more than
    63 characters, so the template refuses those names instead of writing a host
    that cannot exist.
    """
    label = space_subdomain(owner, space_name)
    if len(label) > HOST_LABEL_MAX:
        room = HOST_LABEL_MAX - len(owner) - 1
        return (
            f"the Space's host would be {label}.hf.space, whose first part has {len(label)} "
            f"characters, over DNS's {HOST_LABEL_MAX}; shorten the name to at most {room} "
            "characters"
        )
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", label):
        return f"the Space's host would be {label}.hf.space, which is not a valid host name"
    return ""


def owner_problem(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*", value or "") or len(value) > 42:
        return (
            f"{value!r} is not a Hugging Face user or organization name; use letters, digits "
            "and single '-' between them, at most 42 characters, e.g. my-org"
        )
    return ""


# What the generated app imports at run time, besides the chosen services' SDKs
# (services.yml `imports`): a package with one of these names would shadow it.
FRAMEWORK_IMPORTS = frozenset(
    {
        # the frameworks, their servers and settings, the tests' client, the deploy script
        *("fastapi", "flask", "uvicorn", "gunicorn", "starlette", "pydantic", "pydantic_settings"),
        *("httpx", "huggingface_hub", "pytest"),
        # what those import in turn
        *("pydantic_core", "werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker"),
        *("anyio", "sniffio", "h11", "idna", "certifi", "httpcore", "typing_extensions"),
        *("annotated_types", "dotenv", "yaml"),
    }
)
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "template"
# The Space's files: at the repo root, or in the `space_dir` folder of a monorepo.
SPACE_TEMPLATE_DIR = TEMPLATE_DIR / "{{ space_root }}"


@cache
def dependency_imports() -> frozenset[str]:
    """Top-level import names of the framework and of every service and flavor SDK."""
    names = set(FRAMEWORK_IMPORTS)
    for service in load_catalogue()["services"].values():
        imports = [*service.get("imports", [])]
        for flavor in service.get("flavors", {}).values():
            imports += flavor.get("imports", [])
        names.update(name.split(".")[0] for name in imports)
    return frozenset(names)


@cache
def repo_top_level_names() -> frozenset[str]:
    """Names at the root of a generated Space, from its template folder (`x.jinja` gives `x`).

    Lowercased: on a case-insensitive file system a package `dockerfile/` collides too.
    A name that is all Jinja (`{{package_name}}`) is the package itself and skipped;
    a conditional name (`{% if x %}name{% endif %}`) counts as `name`.
    """
    names = set()
    for path in SPACE_TEMPLATE_DIR.iterdir():
        name = re.sub(r"\{%.*?%\}", "", path.name).removesuffix(".jinja")
        if name and "{{" not in name:
            names.add(name.lower())
    return frozenset(names)


def package_name_problem(value: str) -> str:
    if not value.isidentifier() or not value.isascii():
        return (
            f"{value!r} is not a Python identifier; use lowercase letters, digits and '_', e.g. app"
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{value!r} is a Python keyword; pick another name, e.g. app"
    if value != value.lower():
        return f"{value!r} has capitals; Python package names are lowercase, e.g. {value.lower()}"
    if value in sys.stdlib_module_names:
        return f"{value!r} would shadow Python's standard library module; pick another, e.g. app"
    if value in dependency_imports():
        return f"{value!r} would shadow the {value} package the app uses; pick another, e.g. app"
    if value in repo_top_level_names():
        return f"{value!r} is already a name at the root of the Space repo; pick another, e.g. app"
    return ""


# --- origins: exactly as a browser sends the Origin header (WHATWG URL serialisation)

DEFAULT_PORTS = {"http": "80", "https": "443"}
HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# An Origin longer than this is never one a browser sends (host <= 253, port <= 5 digits).
# The app must refuse longer ones before matching CORS_ORIGIN_REGEX: the regex rule's cost
# bound (COMPETING_REPEATS_MAX) assumes it.
ORIGIN_MAX_LENGTH = 270


def canonical_origin(origin: str) -> tuple[str, str]:
    """(origin as a browser serialises it, "") or ("", why it is no http(s) origin)."""
    hint = "write it as scheme://host[:port] with http or https, e.g. https://myapp.vercel.app"
    if "*" in origin:
        return "", (
            f"{origin!r} has a wildcard, which CORS with credentials never matches; "
            f"list exact origins and use cors_origin_regex for patterns; {hint}"
        )
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)", origin, re.DOTALL)
    if not match or match[1].lower() not in DEFAULT_PORTS:
        return "", f"{origin!r} has no http:// or https:// scheme; {hint}"
    scheme, authority, rest = match[1].lower(), match[2], match[3]
    if rest:
        what = "a trailing slash" if rest == "/" else "a path, query or fragment"
        return "", f"{origin!r} has {what}, but a browser's Origin never does; {hint}"
    if "@" in authority:
        return "", f"{origin!r} has a user name or password, which an Origin never has; {hint}"
    ipv6 = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", authority, re.DOTALL)
    if ipv6:
        host, port = ipv6[1], ipv6[2]
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return "", f"{origin!r} has an invalid IPv6 address; {hint}"
    else:
        host, _, port = authority.partition(":") if ":" in authority else (authority, "", None)
        host, problem = _canonical_host(host)
        if problem:
            return "", f"{origin!r} {problem}; {hint}"
    if port is not None:
        if not port.isascii() or not port.isdigit() or not 0 < int(port) <= 65535:
            return "", f"{origin!r} has an invalid port; {hint}"
        port = str(int(port))
    suffix = f":{port}" if port and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{suffix}", ""


def _canonical_host(host: str) -> tuple[str, str]:
    """(host as a browser sends it: lowercase, punycode, no trailing dot, "") or ("", why not)."""
    if not host:
        return "", "has no host"
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return "", "has a host that is not a valid internationalised domain name"
    host = host.lower().removesuffix(".")
    labels = host.split(".")
    if len(host) > 253 or not all(HOST_LABEL.fullmatch(label) for label in labels):
        return "", "has characters or labels not allowed in a host name"
    if labels[-1].isdigit():  # a browser reads a host ending in a number as an IPv4 address
        try:
            host = str(ipaddress.IPv4Address(host))
        except ValueError:
            return "", "has an invalid IPv4 address"
    return host, ""


def origin_problem(origin: str) -> str:
    """Why one CORS origin is not exactly what a browser sends, or ""."""
    canonical, problem = canonical_origin(origin)
    if problem:
        return problem
    if canonical != origin:
        return f"{origin!r} is not what a browser sends; did you mean {canonical}?"
    return ""


def split_origins(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def origins_problem(value: str) -> str:
    origins = split_origins(value)
    if not origins:
        return "it is empty; give at least one origin, e.g. http://localhost:3000"
    return "; ".join(problem for problem in map(origin_problem, origins) if problem)


# --- cors_origin_regex: safe to match against any Origin header
#
# The app matches the pattern with Python's `re` (Starlette: fullmatch; the Flask
# variant too), a backtracking engine. Accepting only RE2 syntax would not help:
# RE2 accepts `(a+)+`, which is linear in RE2 but exponential in `re`. So the rule
# walks the pattern `re` itself parsed and refuses the shapes that make `re`
# backtrack badly, and tries the pattern on origins an attacker controls. It is a
# pure function of the pattern (stdlib only), so the app can run the same rule.

REGEX_EXAMPLE = r"e.g. https://myapp-[a-z0-9-]+\.vercel\.app"
REGEX_CHARS = frozenset(string.ascii_letters + string.digits + r".-_:/\[](){}?*+,|^$")
# How many unbounded repeats may compete for one character: with an Origin of at most
# ORIGIN_MAX_LENGTH characters, k of them cost about n**k / k! steps; 3 stays under 4e6.
COMPETING_REPEATS_MAX = 3
LONG_REPEAT = 8  # a repeat with a larger maximum counts as unbounded
NON_ASCII = "\x80"  # stands for "some non-ASCII character" in char sets
_CATEGORY_CHARS = {
    _sre.CATEGORY_DIGIT: frozenset("0123456789") | {NON_ASCII},
    _sre.CATEGORY_WORD: frozenset(string.ascii_letters + string.digits + "_") | {NON_ASCII},
    _sre.CATEGORY_SPACE: frozenset(" \t\n\r\f\v") | {NON_ASCII},
}
_ANCHORS = (_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING, _sre.AT_END, _sre.AT_END_STRING)
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT)


class UnsafePattern(Exception):
    """A construct the origin-regex rule refuses; the message says which and why."""


def _chars(op: Any, av: Any, fold: bool) -> frozenset[str]:
    """The characters one LITERAL or IN node matches (non-ASCII collapsed to a sentinel)."""
    if op is _sre.LITERAL:
        items = [(op, av)]
    elif op is _sre.IN:
        items = av
    else:
        raise AssertionError(op)
    chars: set[str] = set()
    for kind, value in items:
        if kind is _sre.LITERAL:
            chars.add(chr(value) if value < 0x80 else NON_ASCII)
        elif kind is _sre.RANGE:
            low, high = value
            chars.update(chr(code) for code in range(low, min(high, 0x7F) + 1))
            if high >= 0x80:
                chars.add(NON_ASCII)
        elif kind is _sre.CATEGORY and value in _CATEGORY_CHARS:
            chars |= _CATEGORY_CHARS[value]
        else:  # NEGATE, \D, \W, \S
            raise UnsafePattern(
                "has a negated class such as [^...] or \\W, which matches almost anything; "
                "list the allowed characters, e.g. [a-z0-9-]"
            )
    if fold:
        chars |= {char.swapcase() for char in chars}
    return frozenset(chars)


class _PatternWalk:
    """One pass over a parsed pattern: refuses unsafe nodes, collects what the rules need."""

    def __init__(self, fold: bool) -> None:
        self.fold = fold
        self.long_repeats: list[frozenset[str]] = []  # char sets of unbounded repeats

    def sequence(self, nodes: Any, in_repeat: bool = False) -> tuple[str, bool, frozenset[str]]:
        """(a short string the nodes match, whether they can match "", their first chars)."""
        example, nullable, first = "", True, frozenset()
        for op, av in nodes:
            part, part_nullable, part_first = self.node(op, av, in_repeat)
            example += part
            if nullable:
                first |= part_first
            nullable = nullable and part_nullable
        return example, nullable, first

    def node(self, op: Any, av: Any, in_repeat: bool) -> tuple[str, bool, frozenset[str]]:
        if op in (_sre.LITERAL, _sre.IN):
            chars = _chars(op, av, self.fold)
            return _pick(chars, op, av), False, chars
        if op is _sre.AT and av in _ANCHORS:
            return "", True, frozenset()
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            if (add_flags | del_flags) & ~(re.IGNORECASE | re.UNICODE):
                raise UnsafePattern("uses inline flags other than (?i)")
            return self.sequence(body, in_repeat)
        if op is _sre.BRANCH:
            return self.branch(av[1], in_repeat)
        if op in _REPEATS:
            return self.repeat(*av, in_repeat=in_repeat)
        if op is _sre.ANY:
            raise UnsafePattern(
                "has '.', which matches any character (a letter as well as a dot); "
                "write a dot as \\. and other characters as a class, e.g. [a-z0-9-]"
            )
        if op is _sre.NOT_LITERAL:
            return self.node(_sre.IN, [(_sre.NEGATE, None)], in_repeat)
        name = str(av if op is _sre.AT else op).lower()
        raise UnsafePattern(f"uses {name}, which an origin pattern does not need")

    def branch(self, alternatives: Any, in_repeat: bool) -> tuple[str, bool, frozenset[str]]:
        results = [self.sequence(alternative, in_repeat) for alternative in alternatives]
        if in_repeat:
            seen: frozenset[str] = frozenset()
            for _example, nullable, first in results:
                if nullable or seen & first:
                    raise UnsafePattern(
                        "repeats alternatives that can start with the same character, "
                        "which can take exponential time to reject an origin; "
                        "make them start differently or list them without repeating"
                    )
                seen |= first
        nullable = any(result[1] for result in results)
        return results[0][0], nullable, frozenset().union(*(result[2] for result in results))

    def repeat(
        self, low: int, high: int, body: Any, in_repeat: bool
    ) -> tuple[str, bool, frozenset[str]]:
        if high > 1 and in_repeat:
            raise UnsafePattern(
                "repeats something that itself repeats, like (a+)+, which can take "
                "exponential time to reject an origin; use one class instead, e.g. [a-z0-9-]+"
            )
        inner_in_repeat = in_repeat or high > 1
        example, nullable, first = self.sequence(body, inner_in_repeat)
        if high > 1 and nullable:
            raise UnsafePattern("repeats something that can match nothing, like (a?)*")
        if in_repeat and high == 1 and low == 0:
            raise UnsafePattern(
                "has an optional part inside a repeat, like (ab?)+, which can take "
                "exponential time to reject an origin; use one class instead, e.g. [a-z0-9-]+"
            )
        if high > LONG_REPEAT:
            self.long_repeats.append(_all_chars(body, self.fold))
        count = low or (1 if high > LONG_REPEAT else 0)
        return example * count, low == 0 or nullable, first


def _all_chars(nodes: Any, fold: bool) -> frozenset[str]:
    """Every character a (repeat-free, or already checked) sequence can contain."""
    chars: frozenset[str] = frozenset()
    for op, av in nodes:
        if op in (_sre.LITERAL, _sre.IN):
            chars |= _chars(op, av, fold)
        elif op is _sre.SUBPATTERN:
            chars |= _all_chars(av[3], fold)
        elif op is _sre.BRANCH:
            for alternative in av[1]:
                chars |= _all_chars(alternative, fold)
        elif op in _REPEATS:
            chars |= _all_chars(av[2], fold)
    return chars


def _pick(chars: frozenset[str], op: Any, av: Any) -> str:
    """A representative character: a literal itself, else a letter, else a digit from 1."""
    if op is _sre.LITERAL:
        return chr(av)
    for preferred in ("a", *string.ascii_lowercase, "1", *string.digits, *sorted(chars)):
        if preferred in chars and preferred != NON_ASCII:
            return preferred
    return "\u00e9"


def origin_regex_probes(example: str) -> list[str]:
    """Origins an attacker can make a browser send, derived from one origin the pattern matches.

    Fixed: a foreign site, the `null` origin (sandboxed iframes, file: pages). Derived:
    the matched host with a foreign domain after it (myapp.vercel.app.evil.example), the
    foreign domain on the same scheme and port, and the host without a scheme or with
    another one. When the matched host has two labels (myapp.com), also a look-alike
    domain that ends with it (evilmyapp.com).
    """
    scheme, _, hostport = example.partition("://")
    host, _, port = hostport.partition(":")
    port_part = f":{port}" if port else ""
    probes = [
        "null",
        "https://evil.example",
        "http://evil.example",
        "https://evil.example:8443",
        f"{scheme}://evil.example{port_part}",
        hostport,
        f"//{hostport}",
        *(f"{other}://{hostport}" for other in ("ftp", "ws", "wss", "file", "chrome-extension")),
    ]
    for suffix in (".evil.example", "-evil.example", "evil.example"):
        probes += [f"{scheme}://{host}{suffix}{port_part}", f"{example}{suffix}"]
    if host.count(".") == 1:
        probes.append(f"{scheme}://evil{host}{port_part}")
    return probes


def cors_origin_regex_problem(value: str) -> str:
    """Why `value` is not a safe CORS_ORIGIN_REGEX, or "" (empty means no regex).

    Safe means: it compiles; it cannot backtrack catastrophically in Python's `re`
    (no repeat inside a repeat, no repeated alternatives that start alike, at most
    COMPETING_REPEATS_MAX unbounded repeats competing for one character); it has no
    construct that matches arbitrary text ('.', negated classes, lookarounds,
    backreferences); it matches some origin a browser sends; and it matches none of
    origin_regex_probes.
    """
    if not value:
        return ""
    # What origins and their patterns are made of; nothing that quoting in .env, YAML,
    # Markdown or a shell would have to protect (quotes, '#', spaces, '$'...).
    if stray := sorted(set(value) - REGEX_CHARS):
        return (
            f"{value!r} has {', '.join(map(repr, stray))}, which no origin pattern needs; "
            f"{REGEX_EXAMPLE}"
        )
    try:
        compiled = re.compile(value)
        parsed = _sre_parser.parse(value)
    except re.error as error:
        return f"{value!r} is not a valid regular expression ({error}); {REGEX_EXAMPLE}"
    # (?i) scoped to a group is not in compiled.flags; any (?i makes the char sets fold.
    walk = _PatternWalk(fold=bool(compiled.flags & re.IGNORECASE) or "(?i" in value)
    try:
        example, _nullable, _first = walk.sequence(parsed)
    except UnsafePattern as unsafe:
        return f"{value!r} {unsafe}; {REGEX_EXAMPLE}"
    for char in sorted(set().union(*walk.long_repeats)) if walk.long_repeats else []:
        competing = sum(char in chars for chars in walk.long_repeats)
        if competing > COMPETING_REPEATS_MAX:
            return (
                f"{value!r} has {competing} unbounded repeats that can all match {char!r}, which "
                f"can take long to reject an origin; use at most {COMPETING_REPEATS_MAX}"
            )
    if not compiled.fullmatch(example) or origin_problem(example):
        return (
            f"{value!r} does not match an origin a browser sends (scheme://host[:port], "
            f"lowercase, no path), e.g. it matches {example!r}; {REGEX_EXAMPLE}"
        )
    for probe in origin_regex_probes(example):
        if compiled.fullmatch(probe):
            return (
                f"{value!r} also matches {probe!r}, an origin anyone can use; anchor the "
                f"host, escape dots and avoid open classes; {REGEX_EXAMPLE}"
            )
    return ""


# --- api_prefix

# Paths the app serves outside the prefix; a prefix equal to one, or under one, collides.
RESERVED_PATHS = ("/health", "/docs", "/redoc", "/openapi.json")


def api_prefix_problem(value: str) -> str:
    """'' (routes at the root) or /segment[/segment...]: no dot segments, no reserved path."""
    if not value:
        return ""
    hint = "start with '/', no trailing slash, e.g. /api/v1, or leave it empty for the root"
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", value):
        return f"{value!r} is not a path prefix; {hint}"
    if any(segment in (".", "..") for segment in value.split("/")):
        return f"{value!r} has a '.' or '..' segment, which browsers remove from URLs; {hint}"
    for reserved in RESERVED_PATHS:
        if value == reserved or value.startswith(f"{reserved}/"):
            return f"{value!r} collides with the app's own {reserved}; pick another, e.g. /api"
    return ""


SPACE_DIR_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9._-]*"


def space_dir_problem(value: str) -> str:
    """'' (the repo root is the Space) or a relative folder: no dot segments, nothing hidden."""
    if not value:
        return ""
    hint = "a folder of this repository such as backend or apps/api, or empty for the root"
    if not re.fullmatch(rf"{SPACE_DIR_SEGMENT}(/{SPACE_DIR_SEGMENT})*", value):
        return (
            f"{value!r} is not a relative folder of letters, digits, '.', '_' and '-' (no leading"
            f" '.', '/' between folders, none at either end); use {hint}"
        )
    if len(value) > 100:
        return f"{value!r} is longer than 100 characters; use {hint}"
    return ""


# --- models: Hub models baked into the image (README.md's preload_from_hub)

MODELS_EXAMPLE = "e.g. sentence-transformers/all-MiniLM-L6-v2, BAAI/bge-small-en-v1.5"
# huggingface_hub's validate_repo_id: ASCII letters, digits, '-', '_', '.'; each part 1-96
# long, starting and ending with a letter, digit or '_'; no '--' or '..'; not ending in .git.
HUB_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?")
# A file of the repository, as preload_from_hub lists it: a relative path, no '..' or spaces.
HUB_FILE = re.compile(r"[A-Za-z0-9_.+=@-]+(?:/[A-Za-z0-9_.+=@-]+)*")
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
# CPU-only torch (installed from PyTorch's CPU index in the Dockerfile) and what loads the
# models; sentence-transformers 6 needs huggingface_hub 1.3 or later.
TORCH_REQUIREMENT = "torch>=2.2,<3"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
MODEL_REQUIREMENTS = {
    "files": ["huggingface_hub>=1.3,<3"],
    "sentence_transformers": [
        "huggingface_hub>=1.3,<3",
        "sentence-transformers>=6,<7",
        TORCH_REQUIREMENT,
    ],
}


def repo_id_problem(repo_id: str) -> str:
    """Why `repo_id` is not an `owner/name` model id the Hub accepts, or ""."""
    rules = (
        "write owner/name with letters, digits, '-', '_' and '.', each part at most 96 "
        "characters, not starting or ending with '-' or '.'"
    )
    parts = repo_id.split("/")
    if len(parts) != 2:
        return f"{repo_id!r} is not an owner/name model id; {rules}, {MODELS_EXAMPLE}"
    if not all(HUB_NAME.fullmatch(part) for part in parts):
        return f"{repo_id!r} is not a Hub model id; {rules}"
    if "--" in repo_id or ".." in repo_id or repo_id.endswith(".git"):
        return f"{repo_id!r} has '--' or '..' or ends in .git, which the Hub refuses; {rules}"
    return ""


def _parts(item: str) -> list[str]:
    """An entry's id, files and commit, separated by spaces (ASCII only: any other is refused)."""
    return [part for part in item.split(" ") if part]


def split_models(value: str) -> list[str]:
    """The answer's models: separated by ';' when any lists several files, else by ','."""
    separator = ";" if ";" in value else ","
    return [item.strip() for item in value.split(separator)] if value.strip() else []


def model_specs(value: str) -> list[dict[str, Any]]:
    """Each model of a valid `models` answer: its id, files (None: all), revision (None: main)
    and its preload_from_hub line. Assumes models_problem(value) == ""."""
    specs = []
    for item in split_models(str(value)):
        repo_id, *rest = _parts(item)
        files = rest[0].split(",") if rest else None
        revision = rest[1] if len(rest) > 1 else None
        specs.append(
            {"id": repo_id, "files": files, "revision": revision, "preload": " ".join(_parts(item))}
        )
    return specs


def _model_item_problem(item: str) -> str:
    how = (
        "give owner/name, optionally followed by files (a,b) and a commit (40 hex digits) "
        "as preload_from_hub takes them; separate models with ';' when one lists several files"
    )
    if not item:
        return f"an entry is empty (a stray separator); {MODELS_EXAMPLE}"
    repo_id, *rest = _parts(item)
    if problem := repo_id_problem(repo_id):
        return problem
    if len(rest) > 2:
        return f"{item!r} has {len(rest) + 1} parts; {how}"
    files = rest[0].split(",") if rest else []
    for file in files:
        if not HUB_FILE.fullmatch(file) or file in (".", "..") or "/../" in f"/{file}/":
            return f"{item!r}: {file!r} is not a file path of the repository; {how}"
    if len(set(files)) != len(files):
        return f"{item!r} lists a file twice; name each once"
    if len(rest) == 2 and not COMMIT_SHA.fullmatch(rest[1]):
        return f"{item!r}: {rest[1]!r} is not a commit (40 lowercase hex digits); {how}"
    return ""


def models_problem(value: str) -> str:
    """'' (no models), or comma-separated Hub model ids, each once, as preload_from_hub takes
    them: `owner/name [file1,file2 [commit]]`."""
    if problem := text_problem(value):
        return problem
    seen: set[str] = set()
    items = split_models(value)
    for item in items:
        if problem := _model_item_problem(item):
            if "';'" not in problem and ";" not in value and any(" " in i for i in items):
                problem += "; separate models with ';' when one lists several files"
            return problem
        repo_id = _parts(item)[0]
        if repo_id.lower() in seen:
            return f"{repo_id!r} is listed twice; name each model once"
        seen.add(repo_id.lower())
    return ""


ANSWER_CHECKS: dict[str, Callable[[str], str]] = {
    "project_name": project_name_problem,
    "hf_owner": owner_problem,
    "space_name": space_name_problem,
    "package_name": package_name_problem,
    "short_description": short_description_problem,
    "emoji": emoji_problem,
    "frontend_origins": origins_problem,
    "cors_origin_regex": cors_origin_regex_problem,
    "api_prefix": api_prefix_problem,
    "space_dir": space_dir_problem,
    "models": models_problem,
}

# --- every answer given up front, checked against copier.yml itself

COPIER_YML = Path(__file__).resolve().parents[1] / "copier.yml"
BOOL_WORDS = frozenset({"true", "false", "yes", "no", "y", "n", "t", "f", "on", "off", "1", "0"})


@cache
def load_questions() -> dict[str, dict[str, Any]]:
    """copier.yml's questions (its keys not starting with '_')."""
    data = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {
        name: spec
        for name, spec in data.items()
        if not name.startswith("_") and isinstance(spec, dict)
    }


def choice_values(spec: dict[str, Any], answers: dict[str, Any]) -> list[str]:
    """The values a question offers, rendered like copier does when they are Jinja."""
    choices = spec["choices"]
    if isinstance(choices, str):
        services = answers.get("services") or []
        if isinstance(services, str):
            with suppress(yaml.YAMLError):
                services = yaml.safe_load(services)
        flavor = answers.get("elasticsearch_flavor")
        context = choice_context(
            services if isinstance(services, list) else [], str(flavor) if flavor else None
        )
        rendered = jinja2.Environment().from_string(choices).render(context)
        choices = yaml.safe_load(rendered)
    if isinstance(choices, dict):
        choices = list(choices.values())
    return [str(item["value"] if isinstance(item, dict) else item) for item in choices]


def answer_problem(name: str, value: Any, answers: dict[str, Any]) -> str:
    """Why `value` is no valid answer to question `name` of copier.yml, or ""."""
    spec = load_questions()[name]
    if spec.get("type") == "bool":
        if isinstance(value, bool) or str(value).strip().lower() in BOOL_WORDS:
            return ""
        return f"{value!r} is not a yes/no answer; use true or false"
    if "choices" in spec:
        offered = choice_values(spec, answers)
        if spec.get("multiselect"):
            try:
                items = yaml.safe_load(value) if isinstance(value, str) else value
            except yaml.YAMLError:
                items = None
            if not isinstance(items, list):
                return f"{value!r} is not a list; write [{value}] (or [] for none)"
            unknown = [str(item) for item in items if str(item) not in offered]
            if unknown:
                return f"{', '.join(unknown)}: not offered; choose from {', '.join(offered)}"
            return ""
        if str(value) not in offered:
            quote = " (YAML read a number: quote the value)" if isinstance(value, float) else ""
            return f"{str(value)!r} is not offered{quote}; choose one of {', '.join(offered)}"
        return ""
    if name == "space_name":
        return space_name_problem(str(value), str(answers.get("hf_owner", "")))
    check = ANSWER_CHECKS.get(name)
    return check(str(value)) if check else ""


def check_answers(data: dict[str, Any], user_defaults: dict[str, Any] | None = None) -> str:
    """Validate answers given up front (--data, --data-file, user defaults); raise one message.

    Copier turns a bad choice or a failing validator on such data into a traceback;
    raising UserMessageError here instead makes the CLI print one line per problem
    and exit 1 before any file is written. Interactive answers go through each
    question's validator, which uses the same checks.
    """
    answers = {**(user_defaults or {}), **data}
    if "hf_owner" not in answers:
        answers["hf_owner"] = load_questions()["hf_owner"].get("default", "")
    problems = [
        f"{name}: {problem}"
        for name in load_questions()
        if name in answers and (problem := answer_problem(name, answers[name], answers))
    ]
    services = answers.get("services") or []
    if isinstance(services, str):  # as --data gives it: YAML text
        with suppress(yaml.YAMLError):
            services = yaml.safe_load(services) or []
    if isinstance(services, list):  # a bare string is refused above
        chosen = [str(s) for s in services]
        # One line per question: a choice refused above is not explained twice.
        refused = {problem.split(":")[0] for problem in problems}
        problems += [
            problem
            for problem in chat_problems(answers, chosen) + retrieval_problems(answers, chosen)
            if problem.split(":")[0] not in refused
        ]
    if problems:
        raise UserMessageError("\n".join(problems))
    return ""


def chat_problems(data: dict[str, Any], services: list[str]) -> list[str]:
    """The chat route needs an LLM service, and its provider must be one of those chosen."""
    llms = [name for name in llm_service_names() if name in services]
    names = " or ".join(llm_service_names())
    chat = data.get("chat")
    problems = []
    if (chat is True or str(chat).lower() in ("true", "yes", "1")) and not llms:
        problems.append(f"chat: the chat route needs an LLM service; add {names} to services")
    provider = data.get("chat_provider")
    if provider not in (None, "") and str(provider) not in llms:
        chosen = ", ".join(llms) or f"none is chosen; add {names} to services"
        problems.append(
            f"chat_provider: {provider!r} is not a chosen LLM service; choose from {chosen}"
        )
    return problems


def _yes(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "y", "t", "on", "1")


def retrieval_problems(data: dict[str, Any], services: list[str]) -> list[str]:
    """Retrieval needs the chat route and a store it can search; rerank needs Cohere and
    Elasticsearch."""
    if not _yes(data.get("retrieval")):
        return []
    problems = []
    if not _yes(data.get("chat")):
        problems.append("retrieval: it adds passages to the chat route; answer chat=true too")
    flavor = data.get("elasticsearch_flavor")
    stores = retrieval_stores(services, str(flavor) if flavor else None)
    if not stores:
        embedders = " or ".join(embedding_service_names())
        problems.append(
            "retrieval: it needs qdrant with an embedding service "
            f"({embedders}) or elasticsearch (not the opensearch flavor) in services"
        )
        return problems
    store = str(data.get("retrieval_store") or stores[0])
    if _yes(data.get("rerank")) and (store != "elasticsearch" or "cohere" not in services):
        problems.append(
            "rerank: Cohere reranks Elasticsearch hits; choose retrieval_store=elasticsearch "
            "and add cohere to services, or answer rerank=false"
        )
    return problems


# --- derived values


def slugify(value: str, owner: str = "") -> str:
    """A Space name from a title: 'My RAG API!' -> 'my-rag-api', short enough for its host."""
    room = SPACE_NAME_MAX
    if owner and not owner_problem(owner):
        room = min(room, HOST_LABEL_MAX - len(owner) - 1)
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return slug[:room].strip("-") or "my-space"


def space_subdomain(owner: str, space_name: str) -> str:
    """The *.hf.space host label: lowercase, '.' and '_' become '-'."""
    return re.sub(r"[^a-z0-9-]", "-", f"{owner}-{space_name}".lower())


def url_port(url: str, default_port: int | None = None) -> int | None:
    """The port a URL connects to: explicit, else the client's default, else the scheme's."""
    parts = urlsplit(url)
    scheme_ports = {"https": 443, "http": 80}
    return parts.port or default_port or scheme_ports.get(parts.scheme)


def chosen_services(services: list[str] | None) -> list[dict[str, Any]]:
    catalogue = load_catalogue()["services"]
    wanted = set(services or [])
    return [service for name, service in catalogue.items() if name in wanted]


def llm_service_names() -> list[str]:
    """The services that can serve the chat route: those naming a default chat model."""
    return [name for name, s in load_catalogue()["services"].items() if s.get("chat_model")]


def embedding_service_names() -> list[str]:
    """The services that can embed a question: those naming a default embedding model."""
    return [name for name, s in load_catalogue()["services"].items() if s.get("embedding_model")]


# Stores retrieval can search. OpenSearch is left out: its async client needs aiohttp, and
# its query API differs; an `elasticsearch_flavor: opensearch` Space has no retrieval yet.
RETRIEVAL_STORES = ("qdrant", "elasticsearch")


def retrieval_stores(services: list[str], flavor: str | None) -> list[str]:
    """The chosen services retrieval can search: Qdrant when a chosen service can embed the
    question, Elasticsearch unless it is the OpenSearch flavor."""
    embedders = [name for name in embedding_service_names() if name in services]
    stores = []
    if "qdrant" in services and embedders:
        stores.append("qdrant")
    if "elasticsearch" in services and flavor != "opensearch":
        stores.append("elasticsearch")
    return stores


def _when_holds(when: dict[str, Any], answers: dict[str, Any]) -> bool:
    return all(answers.get(question) == value for question, value in when.items())


def chosen_features(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The optional parts of the app the answers turn on, e.g. `auth: jwt` -> the jwt feature.

    A feature keeps the variables whose own `when` holds too, and a `provider_default`
    variable gets the chosen provider's value as its default."""
    features = load_catalogue().get("features", {}).values()
    chosen = [f for f in features if _when_holds(f["when"], answers)]
    services = load_catalogue()["services"]
    providers = {
        "chat_model": services.get(str(answers.get("chat_provider") or ""), {}),
        "embedding_model": services.get(str(answers.get("embedding_provider") or ""), {}),
        "embedding_dimensions": services.get(str(answers.get("embedding_provider") or ""), {}),
    }

    def with_default(variable: dict[str, Any]) -> dict[str, Any]:
        key = variable.get("provider_default")
        value = providers[key].get(key) if key else None
        return {**variable, "default": value, "example": str(value)} if value else variable

    picked = []
    for feature in chosen:
        variables = [
            with_default(v) for v in feature["variables"] if _when_holds(v.get("when", {}), answers)
        ]
        extra = {"forms": retrieval_forms(answers)} if feature["name"] == "retrieval" else {}
        picked.append({**feature, "variables": variables, **extra})
    return picked


def retrieval_forms(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """What configures retrieval: its store (any one of the store's own forms), and for Qdrant
    QDRANT_COLLECTION and the embedding provider's key, for Elasticsearch ELASTICSEARCH_INDEX
    and, with rerank, Cohere's key."""
    services = load_catalogue()["services"]
    store = str(answers.get("retrieval_store") or "")
    if store not in services:
        return []
    if store == "qdrant":
        embedder = services.get(str(answers.get("embedding_provider") or ""))
        extra = ["QDRANT_COLLECTION", *(required_sets(embedder)[0] if embedder else [])]
    else:
        extra = ["ELASTICSEARCH_INDEX"]
        if answers.get("rerank") is True:
            extra += required_sets(services["cohere"])[0]
    titles = [f["title"] for f in services[store].get("forms", [])] or [""]
    return [
        {
            "title": services[store]["title"] + (f", {title}" if title else ""),
            "variables": [*names, *extra],
        }
        for title, names in zip(titles, required_sets(services[store]), strict=True)
    ]


def service_requirements(service: dict[str, Any], flavor: str) -> list[str]:
    flavors = service.get("flavors")
    return list(flavors[flavor]["requirements"]) if flavors else list(service["requirements"])


def required_sets(service: dict[str, Any]) -> list[list[str]]:
    """The alternative sets of variables that make a service configured."""
    if "forms" in service:
        return [list(form["variables"]) for form in service["forms"]]
    return [[v["name"] for v in service["variables"] if v.get("required")]]


def choice_context(chosen: list[str] | None = None, flavor: str | None = None) -> dict[str, Any]:
    """The catalogue-derived choices copier.yml renders: services, the flavor, and the chat
    providers, retrieval stores and embedding providers among the `chosen` services."""
    services = load_catalogue()["services"]
    llms = [name for name in llm_service_names() if name in (chosen or [])]
    embedders = [name for name in embedding_service_names() if name in (chosen or [])]
    stores = retrieval_stores(chosen or [], flavor)
    return {
        "service_choices": {f"{s['title']}: {s['summary']}": s["name"] for s in services.values()},
        "elasticsearch_default_flavor": services["elasticsearch"]["default_flavor"],
        "elasticsearch_flavor_choices": {
            flavor["title"]: key for key, flavor in services["elasticsearch"]["flavors"].items()
        },
        "llm_services": llms,
        "chat_provider_choices": {services[name]["title"]: name for name in llms},
        "retrieval_stores": stores,
        "retrieval_store_choices": {
            f"{services[name]['title']}: {RETRIEVAL_SEARCH[name]}": name for name in stores
        },
        "embedding_services": embedders,
        "embedding_provider_choices": {services[name]["title"]: name for name in embedders},
    }


RETRIEVAL_SEARCH = {
    "qdrant": "vector search on the question's embedding",
    "elasticsearch": "keyword (match) search, optionally reranked by Cohere",
}


class ContextUpdater(ContextHook):
    """Adds the catalogue and the values derived from the answers to every render."""

    def hook(self, context: dict[str, Any]) -> None:
        catalogue = load_catalogue()
        chosen = chosen_services(context.get("services"))
        default_flavor = catalogue["services"]["elasticsearch"]["default_flavor"]
        flavor = context.get("elasticsearch_flavor") or default_flavor
        context.update(choice_context(context.get("services"), flavor))
        owner, name = context.get("hf_owner", ""), context.get("space_name", "")
        context["chosen_services"] = chosen
        # The SDK each chosen service's check imports (the first of its `imports`).
        context["sdk_modules"] = {
            s["name"]: (s["flavors"][flavor] if "flavors" in s else s)["imports"][0] for s in chosen
        }
        context["chat_service"] = catalogue["services"].get(context.get("chat_provider") or "")
        framework = context.get("framework") or "fastapi"
        context["app_variables"] = [
            v
            for v in catalogue["app"]["variables"]
            if framework in v.get("frameworks", [framework])
        ]
        features = chosen_features(context)
        context["chosen_features"] = features
        context["service_variables"] = [v for s in chosen for v in s["variables"]]
        # What readiness checks and reports "unconfigured": the services, then the features
        # with a check, under the check's name.
        context["checked_parts"] = chosen + [
            {**f, "name": f["check"]} for f in features if f.get("check")
        ]
        context["checked_variables"] = [v for s in context["checked_parts"] for v in s["variables"]]
        context["all_variables"] = [
            *context["app_variables"],
            *context["service_variables"],
            *(v for f in features for v in f["variables"]),
        ]
        context["service_requirements"] = [
            r for s in chosen for r in service_requirements(s, flavor)
        ] + [r for f in features for r in f["requirements"]]
        parts = [*catalogue["services"].values(), *catalogue.get("features", {}).values()]
        context["template_variable_names"] = sorted(
            {v["name"] for v in catalogue["app"]["variables"]}
            | {v["name"] for part in parts for v in part["variables"]}
            | set(catalogue.get("retired_variables", []))
        )
        context["space_id"] = f"{owner}/{name}"
        context["space_url"] = f"https://{space_subdomain(owner, name)}.hf.space"
        context["space_repo_url"] = f"https://huggingface.co/spaces/{owner}/{name}"
        context["origins_list"] = split_origins(context.get("frontend_origins", ""))
        # A monorepo's Space folder: its files go there, its workflows to the root's
        # .github/workflows/ under the folder's name, beside the repo's own.
        space_dir = context.get("space_dir") or ""
        context["space_root"] = space_dir or "."
        context["space_prefix"] = f"{space_dir}/" if space_dir else ""
        context["workflow_prefix"] = f"{space_dir.replace('/', '-')}-" if space_dir else ""
        models = model_specs(context.get("models") or "")
        context["model_specs"] = models
        runtime = context.get("model_runtime") or "files"
        context["model_requirements"] = MODEL_REQUIREMENTS[runtime] if models else []
        context["torch_requirement"] = (
            TORCH_REQUIREMENT if TORCH_REQUIREMENT in context["model_requirements"] else ""
        )
        context["torch_cpu_index"] = TORCH_CPU_INDEX


class SpaceFilters(Extension):
    """Filters used by copier.yml validators and by the templates."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals["py_assign"] = py_assign
        environment.filters.update(
            {f"{name}_problem": check for name, check in ANSWER_CHECKS.items()}
            | {
                "yaml_scalar": yaml_scalar,
                "markdown_text": markdown_text,
                "py_docstring": py_docstring,
                "docstring_text": docstring_text,
                "check_answers": check_answers,
                "slugify_space": slugify,
                "required_sets": required_sets,
                "env_quote": env_quote,
                "py_repr": py_literal,
                "py_tuple": py_tuple,
                "field_extra": field_extra,
                "py_kwarg": py_kwarg,
            }
        )


def expected_format(variable: dict[str, Any]) -> str:
    """What a variable must look like, for the settings module's error messages."""
    kind = variable["kind"]
    if kind == "url":
        schemes = " or ".join(f"{scheme}://" for scheme in variable["schemes"])
        return f"a URL starting with {schemes} with a host"
    if variable.get("choices"):
        return "one of " + ", ".join(str(choice) for choice in variable["choices"])
    return {
        "host": "a host name only, without scheme, port or path",
        "port": "a port number from 1 to 65535",
        "count": "a whole number from 1 to 64",
        "dimensions": "a whole number from 1 to 65536",
        "service_names": "comma-separated names of this Space's services",
        "float": "a positive number of seconds",
        "bool": "true or false",
        "origins": "comma-separated origins like https://myapp.vercel.app, no path or *",
        "regex": "a valid regular expression, matched against the whole origin",
    }.get(kind, "text")


def py_literal(value: Any) -> str:
    """A Python literal as ruff format writes it, ASCII only (see py_string)."""
    if isinstance(value, str):
        return py_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def field_extra(variable: dict[str, Any]) -> dict[str, Any]:
    """What a settings field records beyond its type and help, for the deploy and error messages."""
    extra: dict[str, Any] = {"service": variable["service"], "expected": expected_format(variable)}
    if variable.get("on_space") is False:
        extra["on_space"] = False
    return extra


def _py_escape(text: str, quote: str) -> str:
    """`text` as the inside of a Python string literal delimited by `quote`.

    Anything not printable ASCII is written as an escape (\\xe9, \\u2013, \\U0001f680):
    the value is the same, and the generated code never trips ruff's confusable-character
    rules (RUF001/RUF002) nor depends on the file's encoding.
    """
    escaped = []
    for char in text:
        if char in ("\\", quote):
            escaped.append("\\" + char)
        elif char.isascii() and char.isprintable():
            escaped.append(char)
        else:
            escaped.append(ascii(char)[1:-1])
    return "".join(escaped)


def py_string(value: str) -> str:
    """A string literal as ruff format writes it: double quotes unless the text has more
    double than single quotes (then single quotes, which need fewer escapes)."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    return quote + _py_escape(value, quote) + quote


def docstring_text(title: str, description: str) -> str:
    """The generated package's one-line docstring: 'Title: description.'"""
    description = description.rstrip(".")
    return f"{title}: {description}." if description else f"{title}."


def py_docstring(text: str) -> str:
    """`text` as a triple-quoted docstring literal; every '"' is escaped, so no quote in
    the text can close it or end it next to the closing quotes."""
    return '"""' + _py_escape(text, '"') + '"""'


def yaml_scalar(value: Any) -> str:
    """`value` as one quoted YAML scalar, written by PyYAML: single-quoted when printable
    (emoji stay readable), else double-quoted, where every other character is escaped.
    Always quoted, so YAML never reads it as a number, bool, key or anchor."""
    text = str(value)
    style = "'" if text.isprintable() else '"'
    dumped = yaml.safe_dump(text, allow_unicode=True, default_style=style, width=2**30)
    return dumped.removesuffix("\n")


def markdown_text(value: str) -> str:
    """`value` as literal Markdown text: CommonMark lets any ASCII punctuation be
    backslash-escaped, which stops emphasis, links, headings, entities and raw HTML."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(value))


def py_tuple(value: Any) -> str:
    """Nested lists as a tuple literal ruff format leaves alone: (("A",), ("B", "C"))."""
    if isinstance(value, list | tuple):
        items = [py_tuple(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    return py_literal(value)


LINE_LENGTH = 100  # the generated project's ruff line-length


def py_assign(prefix: str, value: Any) -> str:
    """`prefix` + a literal of `value`, laid out as ruff format would lay it out.

    Answers are inlined into generated code; a long one must not make `ruff format
    --check` fail. Flat when the line fits; else a list or dict is exploded one item
    per line, and a string is wrapped in parentheses when that makes it fit.
    """
    indent = " " * (len(prefix) - len(prefix.lstrip(" ")))
    flat = prefix + py_literal(value)
    if len(flat) <= LINE_LENGTH:
        return flat
    inner = indent + "    "
    if isinstance(value, list | tuple):
        items = "".join(f"{inner}{py_literal(item)},\n" for item in value)
        return f"{prefix}[\n{items}{indent}]"
    if isinstance(value, dict):
        pairs = "".join(f"{inner}{py_literal(k)}: {py_literal(v)},\n" for k, v in value.items())
        return f"{prefix}{{\n{pairs}{indent}}}"
    if len(inner) + len(py_literal(value)) <= LINE_LENGTH:
        return f"{prefix}(\n{inner}{py_literal(value)}\n{indent})"
    return flat


def py_kwarg(name: str, value: Any, indent: str = "        ") -> str:
    """One `name=value,` argument line as ruff format lays it out in an exploded call.

    A dict too long for the line is exploded one item per line; a string is never split.
    """
    flat = f"{indent}{name}={py_literal(value)},"
    if len(flat) <= LINE_LENGTH or not isinstance(value, dict):
        return flat
    items = "".join(f"{indent}    {py_literal(k)}: {py_literal(v)},\n" for k, v in value.items())
    return f"{indent}{name}={{\n{items}{indent}}},"


def env_quote(value: Any) -> str:
    """A value as a .env line reads back unchanged: single-quoted (taken literally) when needed."""
    text = str(value)
    if re.search(r"[\s#'\"\\$]", text) and "'" not in text:
        return f"'{text}'"
    return text

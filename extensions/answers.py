"""Checks of the one-line answers: each returns "" when the value is fine, else what is wrong
and what is allowed; and the Space names derived from them."""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from functools import cache
from pathlib import Path

from .catalogue import load_catalogue

SPACE_NAME_MAX = 96
SHORT_DESCRIPTION_MAX = 60


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
        # the frameworks, their servers and settings, the tests' client, hf-space-tools
        *("fastapi", "flask", "uvicorn", "gunicorn", "starlette", "pydantic", "pydantic_settings"),
        *("httpx", "huggingface_hub", "pytest", "hf_space_tools", "docker", "pathspec"),
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

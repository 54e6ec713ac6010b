"""The `frontend_origins` and `cors_origin_regex` answers, checked by the app's own rules.

The rules live once, in the generated app's origins.py (a plain module), which this file loads
by path: a render refuses exactly what the Space would refuse at startup.
"""

from __future__ import annotations

import importlib.util
import re
import string
from functools import cache
from pathlib import Path
from types import ModuleType

APP_ORIGINS = (
    Path(__file__).resolve().parents[1] / "template" / "{{ space_root }}" / "{{package_name}}"
).joinpath("origins.py")
# Origins and their patterns are made of these; any other character (a quote, '#', a space)
# can only ever match nothing, and would need quoting in .env.example and the README.
REGEX_CHARS = frozenset(string.ascii_letters + string.digits + r".-_:/\[](){}?*+,|^$")


@cache
def rules() -> ModuleType:
    """The app's origins.py, loaded by path (it imports only the standard library at the top)."""
    spec = importlib.util.spec_from_file_location("hfst_app_origins", APP_ORIGINS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def origin_problem(origin: str) -> str:
    """Why one CORS origin is not exactly what a browser sends, or ""."""
    try:
        rules().check_origin(origin)
    except ValueError as error:
        return f"{origin!r}: {error}"
    return ""


def split_origins(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def origins_problem(value: str) -> str:
    origins = split_origins(value)
    if not origins:
        return "it is empty; give at least one origin, e.g. http://localhost:3000"
    return "; ".join(problem for problem in map(origin_problem, origins) if problem)


def cors_origin_regex_problem(value: str) -> str:
    """Why `value` is no safe CORS_ORIGIN_REGEX, or "" (empty: no regex).

    The app's rule, run with Python's `re` (RE2 need not be installed where copier runs; the
    rule only allows constructs both engines read alike).
    """
    if stray := sorted(set(value) - REGEX_CHARS):
        return (
            f"{value!r} has {', '.join(map(repr, stray))}, which no origin pattern needs; "
            f"{rules().REGEX_HINT}"
        )
    try:
        rules().check_origin_regex(value, compiler=re.compile)
    except ValueError as error:
        return f"{value!r}: {error}"
    except ImportError:  # the Public Suffix List is needed only for a pattern
        return (
            "checking it needs the publicsuffixlist package beside copier "
            "(pipx inject copier publicsuffixlist; scripts/new-space installs it)"
        )
    return ""

"""The `frontend_origins` and `cors_origin_regex` answers, checked by the app's own rules.

The rules live once, in the generated app's origins.py and origin_regex.py (plain modules),
which this file loads by path as a package: a render refuses exactly what the Space would
refuse at startup.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import string
import sys
from functools import cache
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

APP_PACKAGE = (
    Path(__file__).resolve().parents[1].joinpath("template", "{{ space_root }}", "{{package_name}}")
)
# Origins and their patterns are made of these; any other character (a quote, '#', a space)
# can only ever match nothing, and would need quoting in .env.example and the README.
REGEX_CHARS = frozenset(string.ascii_letters + string.digits + r".-_:/\[](){}?*+,|^$")


# Per checkout: `copier update` renders two checkouts of the template in one process.
APP_NAME = "hfst_app_" + hashlib.sha256(str(APP_PACKAGE).encode()).hexdigest()[:12]


def _load(name: str, path: Path) -> ModuleType:
    loader = SourceFileLoader(f"{APP_NAME}.{name}", str(path))  # a conditional name: no .py
    spec = importlib.util.spec_from_file_location(loader.name, path, loader=loader)
    assert spec and spec.loader
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _app_modules() -> dict[str, ModuleType]:
    """The app's origins.py and origin_regex.py (which imports it), loaded by path as the package
    APP_NAME: only the standard library at their tops; RE2 is imported when matching."""
    sys.modules[APP_NAME] = ModuleType(APP_NAME)
    origins = _load("origins", APP_PACKAGE / "origins.py")
    regex = _load("origin_regex", APP_PACKAGE / "{% if origin_regex %}origin_regex.py{% endif %}")
    return {"origins": origins, "regex": regex}


def rules() -> ModuleType:
    """The app's origin rules (origins.py)."""
    return _app_modules()["origins"]


def regex_rules() -> ModuleType:
    """The app's CORS_ORIGIN_REGEX rules (origin_regex.py)."""
    return _app_modules()["regex"]


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
            f"{regex_rules().REGEX_HINT}"
        )
    try:
        regex_rules().check_origin_regex(value, compiler=re.compile)
    except ValueError as error:
        return f"{value!r}: {error}"
    except ImportError:  # the Public Suffix List is needed only for a pattern
        return (
            "checking it needs the publicsuffixlist package beside copier "
            "(pipx inject copier publicsuffixlist; scripts/new-space installs it)"
        )
    return ""

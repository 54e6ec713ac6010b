"""Carry a 0.1.x Space's settings module over to the settings.py that its user owns.

Up to 0.1.x, `<package>/settings.py` belonged to the template: it held every field plus the
loading code, and users who needed a variable of their own added a field to it. From 0.2.0
the template's fields live in `config.py` and `settings.py` is the user's: `class
Settings(AppSettings)` with only their fields. Copier runs this after such an update
(copier.yml `_migrations`); it rewrites settings.py in the new form and moves over every
field the template never declared, with the comments just above it. The old module stays
in git history; the summary printed says which fields moved.

Only the standard library and PyYAML (a dependency of copier) are used.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import yaml

CATALOGUE = Path(__file__).with_name("services.yml")
SPACE_TEMPLATE = Path(__file__).parents[1] / "template" / "{{ space_root }}"
NEW_SETTINGS = SPACE_TEMPLATE / "{{package_name}}" / "settings.py"
OLD_FORM_MARKER = "ENV_VARS"  # the 0.1.x module defined the variable table itself


def template_fields() -> set[str]:
    """Every field name the template has declared: the catalogue's variables, lower-cased."""
    catalogue = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    names = {v["name"] for v in catalogue["app"]["variables"]}
    parts = [*catalogue["services"].values(), *catalogue.get("features", {}).values()]
    names |= {v["name"] for part in parts for v in part["variables"]}
    names |= set(catalogue.get("retired_variables", []))
    return {name.lower() for name in names}


def user_fields(source: str) -> tuple[dict[str, str], set[str]]:
    """Each field of `class Settings` the template never declared (name -> source, with the
    comments just above it), and the names its annotations and defaults use."""
    lines = source.splitlines()
    tree = ast.parse(source)
    settings = next(
        node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Settings"
    )
    ours = template_fields()
    found, used = {}, set()
    for node in settings.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        if node.target.id in ours:
            continue
        start = node.lineno - 1
        while start > 0 and lines[start - 1].strip().startswith("#"):
            start -= 1
        found[node.target.id] = "\n".join(lines[start : node.end_lineno])
        used |= {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}
    return found, used


def top_level_names(path: Path) -> set[str]:
    """The classes, functions and assigned names a module defines, e.g. config.py's types."""
    if not path.is_file():
        return set()
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def new_module(fields: list[str], used: set[str], config_names: set[str]) -> str:
    """The new user-owned settings.py with `fields` in class Settings and what they import."""
    text = NEW_SETTINGS.read_text(encoding="utf-8")
    from_config = sorted((used & config_names) - {"AppSettings"})
    if from_config:
        text = text.replace(
            "from .config import AppSettings",
            "from .config import " + ", ".join(["AppSettings", *from_config]),
        )
    typing_names = sorted(used & {"Annotated", "Any", "Literal"})
    if typing_names:
        text = text.replace(
            "from pydantic import",
            f"from typing import {', '.join(typing_names)}\n\nfrom pydantic import",
        )
    if fields:
        text = text.rstrip("\n") + "\n\n" + "\n".join(fields) + "\n"
    return text


def migrate(package_dir: Path) -> list[str]:
    """Rewrite package_dir/settings.py when it is in the 0.1.x form; return the fields kept."""
    settings = package_dir / "settings.py"
    if not settings.is_file():
        return []
    source = settings.read_text(encoding="utf-8")
    if OLD_FORM_MARKER not in source:
        return []  # already the user's module
    fields, used = user_fields(source)
    config_names = top_level_names(package_dir / "config.py")
    settings.write_text(new_module(list(fields.values()), used, config_names), encoding="utf-8")
    return list(fields)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the Space's package directory, e.g. app")
    options = parser.parse_args(argv)
    try:
        moved = migrate(Path(options.package))
    except (SyntaxError, StopIteration, UnicodeDecodeError) as error:
        print(
            f"migrate settings: {options.package}/settings.py could not be read ({error}); "
            "move your own fields into class Settings by hand (see its docstring)",
            file=sys.stderr,
        )
        return 0  # the update itself went through; the user finishes the move
    if moved:
        print(f"migrated {options.package}/settings.py: kept your fields {', '.join(moved)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

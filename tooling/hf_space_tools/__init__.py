"""hf-space-tools: deploy, watch, roll back and run locally a Space made by hf-space-template.

A Space's requirements-dev.txt installs it from the template at the commit the Space was
rendered from, so `copier update` moves it with the rest of the template's files. The Space
repo names itself in pyproject.toml's [tool.hf-space] table (space-id, package).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class NotASpace(ValueError):
    """No pyproject.toml with a [tool.hf-space] table here or above."""


def project_root(start: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The Space repo holding `start` (the current folder) and its [tool.hf-space] table."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            if "hf-space" in table.get("tool", {}):
                return folder, table["tool"]["hf-space"]
    raise NotASpace(f"no pyproject.toml with [tool.hf-space] in {here} or above: run hf-space "
                    "in the Space's repository")  # fmt: skip

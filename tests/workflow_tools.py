"""Helpers for the tests that read, lint and edit workflow files and rendered trees."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml
from engines import unavailable
from support import run


def tool(name: str) -> str:
    """A command-line tool of the `test` group (the venv's first), or unavailable."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    return found or unavailable(f"{name} is not installed (pip install --group test)")


def hub_step_env(python: Path, home: Path, hub: Any) -> dict[str, str]:
    """A workflow step's environment for `hf-space` against the Hub stand-in: the project's
    virtualenv first on PATH, a home of its own (no cached login), secrets.HF_TOKEN."""
    return {
        "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
    }


def load_workflow(path: Path) -> dict[str, Any]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in workflow:  # YAML 1.1 reads the bare key `on` as True
        workflow["on"] = workflow.pop(True)
    return workflow


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file, which must hold it."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def assert_workflow_lints_clean(path: Path) -> None:
    """zizmor (regular and pedantic personas) finds nothing, and GitHub's schema accepts it."""
    for persona in ("regular", "pedantic"):
        result = run(
            tool("zizmor"), "--offline", "--no-progress", "--persona", persona, path.name,
            cwd=path.parent,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No findings" in result.stdout + result.stderr
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", path,
        cwd=path.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

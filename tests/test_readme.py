"""README.md's two commands stay true: the render works and CI runs the very test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from support import ROOT, run

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_command(comment: str) -> str:
    match = re.search(rf"# {re.escape(comment)}.*\n(.+)\n", README)
    assert match, f"README lost its '{comment}' command"
    return match.group(1).strip()


def test_render_command_renders_a_space(tmp_path: Path) -> None:
    command = shlex.split(readme_command("1. render"))
    destination = tmp_path / "my-space"
    command[-1] = str(destination)  # the README writes to ../my-space
    result = run(*command, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert (destination / "Dockerfile").is_file()
    assert (destination / ".copier-answers.yml").is_file()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = readme_command("2. run the whole test suite")
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines

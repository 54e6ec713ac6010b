"""The template repo's own Python is ruff-clean, like the code it generates."""

from __future__ import annotations

import sys

from support import ROOT, run

# Extensionless Python scripts, which ruff does not find on its own.
SCRIPTS = [
    path
    for folder in ("scripts", "bench")
    for path in sorted((ROOT / folder).iterdir())
    if path.is_file() and path.read_text(encoding="utf-8").startswith("#!/usr/bin/env python")
]

# docs/ is left out: ruff would reformat the illustrative snippets in its Markdown.
PYTHON = ["extensions", "tests", "tooling", *SCRIPTS]


def test_ruff_check_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "check", "--no-cache", *PYTHON, cwd=ROOT)
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_clean() -> None:
    result = run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *PYTHON, cwd=ROOT)
    assert result.returncode == 0, result.stdout


def test_scripts_are_found() -> None:
    assert {path.relative_to(ROOT).as_posix() for path in SCRIPTS} >= {
        "bench/run",
        "scripts/new-space",
        "scripts/mutation-check",
    }


def test_every_mutation_of_the_mutation_check_still_applies() -> None:
    """scripts/mutation-check patches the safety features by their text: keep it in step."""
    result = run(sys.executable, ROOT / "scripts" / "mutation-check", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mutations apply to this tree" in result.stdout

"""Fixtures for the template's tests. Helpers live in support.py, engines in engines.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support import ProjectVenvs, render


@pytest.fixture
def render_project(tmp_path: Path) -> Callable[..., Path]:
    """render_project(framework="flask", services=[...]) -> the rendered Space repo."""
    count = 0

    def make(**answers: Any) -> Path:
        nonlocal count
        count += 1
        return render(tmp_path / f"space{count}", **answers)

    return make


@pytest.fixture(scope="session")
def project_venvs(tmp_path_factory: pytest.TempPathFactory) -> ProjectVenvs:
    return ProjectVenvs(tmp_path_factory.mktemp("venvs"))


@pytest.fixture(scope="session")
def full_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """full_project(framework) -> a render with every service, made once a session."""
    made: dict[str, Path] = {}

    def get(framework: str) -> Path:
        if framework not in made:
            from support import SERVICES

            destination = tmp_path_factory.mktemp(f"full-{framework}") / "space"
            made[framework] = render(destination, framework=framework, services=SERVICES)
        return made[framework]

    return get

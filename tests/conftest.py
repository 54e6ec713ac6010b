"""Fixtures for the template's tests. Helpers live in support.py, engines in engines.py.

Tiers: `pytest --quick` leaves out the tests marked docker, engine or slow (image builds,
PostgreSQL and Redis servers, virtualenv installs) and fails any unmarked test that tries
one of those (support.refuse_in_quick_tier). Tests that use `project_venvs` are marked slow
here, so a new one cannot slip into the quick tier.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_copie.plugin import Copie
from support import QUICK_TIER_ENV, ProjectVenvs, render, run_shared_dir, template_snapshot

QUICK_LEAVES_OUT = ("docker", "engine", "slow")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        help="the quick tier: leave out tests marked " + ", ".join(QUICK_LEAVES_OUT),
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--quick"):
        expression = " and ".join(f"not {marker}" for marker in QUICK_LEAVES_OUT)
        if config.option.markexpr:
            expression = f"({config.option.markexpr}) and {expression}"
        config.option.markexpr = expression
        os.environ[QUICK_TIER_ENV] = "1"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "project_venvs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    # Heavy modules first, so that with xdist (--dist loadfile) the longest ones start at
    # once and the quick ones fill in around them instead of leaving one worker idle at the end.
    heavy = {
        item.path
        for item in items
        if any(item.get_closest_marker(marker) for marker in QUICK_LEAVES_OUT)
    }
    items.sort(key=lambda item: item.path not in heavy)


@pytest.fixture(scope="session")
def copie_session(tmp_path_factory: pytest.TempPathFactory, _copier_config_file: Path) -> Copie:
    """pytest-copie's session renderer, on this checkout's files as they are now (see
    support.template_snapshot) instead of a clone of its last commit."""
    return Copie(template_snapshot(), tmp_path_factory.mktemp("copie"), _copier_config_file)


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
    return ProjectVenvs(run_shared_dir(tmp_path_factory, "venvs"))


@pytest.fixture(scope="session")
def full_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """full_project(framework) -> a render with every service and a CORS origin pattern, made
    once a session."""
    made: dict[str, Path] = {}

    def get(framework: str) -> Path:
        if framework not in made:
            from support import SERVICES

            destination = tmp_path_factory.mktemp(f"full-{framework}") / "space"
            made[framework] = render(
                destination, framework=framework, services=SERVICES,
                cors_origin_regex=r"https://[a-z0-9-]+\.preview\.example\.com",
            )  # fmt: skip
        return made[framework]

    return get

"""The quick tier (`pytest --quick`, `bash .ci/run --quick`) leaves out what it promises to and
catches a test that was not marked: run on a small test file with this suite's conftest."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from support import ROOT, run

SAMPLE = """
import pytest
from engines import RedisServer, docker_client
from support import build_venv


def test_plain():
    pass


def test_uses_project_venvs(project_venvs):
    pass


@pytest.mark.engine
def test_marked_engine():
    RedisServer()


@pytest.mark.docker
def test_marked_docker():
    docker_client()


def test_unmarked_engine():
    RedisServer()


def test_unmarked_docker():
    docker_client()


def test_unmarked_venv(tmp_path):
    build_venv(tmp_path / "venv", ["pytest"])
"""


def pytest_on_sample(tmp_path: Path, *args: str):
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HFST_"))}
    environment["PYTHONPATH"] = str(ROOT / "tests")
    return run(
        sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", "-rA",
        "--rootdir", tmp_path, "-c", ROOT / "pyproject.toml", *args, tmp_path / "test_sample.py",
        cwd=tmp_path, env=environment, timeout=300,
    )  # fmt: skip


def test_quick_tier_deselects_marked_and_venv_tests_and_fails_unmarked_ones(
    tmp_path: Path,
) -> None:
    result = pytest_on_sample(tmp_path, "--quick")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "PASSED test_sample.py::test_plain" in output
    for name in ("test_uses_project_venvs", "test_marked_engine", "test_marked_docker"):
        assert name not in output, output  # deselected, not skipped or failed
    for name, marker in (
        ("test_unmarked_engine", "engine"),
        ("test_unmarked_docker", "docker"),
        ("test_unmarked_venv", "slow"),
    ):
        assert f"FAILED test_sample.py::{name} - Failed: the quick tier does not" in output
        assert f"mark this test @pytest.mark.{marker}" in output
    assert "3 failed, 1 passed, 3 deselected" in output, output

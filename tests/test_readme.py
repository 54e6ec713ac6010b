"""README.md's two commands stay true.

1. `python3 scripts/new-space ../my-space` renders a Space on a machine with only Python and
   git: it builds its own copier virtualenv the first time (tested once, in a copy of the
   checkout) and reuses it after.
2. `bash .ci/run` is the set-up plus the whole test suite, as CI runs it; `bash .ci/run --quick`
   is the quick tier, which needs no set-up.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml
from support import ROOT, git, run

README = (ROOT / "README.md").read_text(encoding="utf-8")
NEW_SPACE = ROOT / "scripts" / "new-space"


def readme_command(comment: str) -> list[str]:
    match = re.search(rf"^# {re.escape(comment)}.*\n(.+)\n", README, re.MULTILINE)
    assert match, f"README lost its '{comment}' command"
    return shlex.split(match.group(1))


def after_copy_greeting() -> str:
    """The fixed start of copier.yml's message after copy, which copier prints itself."""
    message = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    first_line = message["_message_after_copy"].strip().splitlines()[0]
    return first_line.split("{{")[0].strip()


def without_override() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "NEW_SPACE_PYTHON"}


def assert_rendered(destination: Path, output: str, **answers: str) -> None:
    recorded = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (destination / "Dockerfile").is_file()
    assert (destination / "app" / "__main__.py").is_file()
    for name, value in answers.items():
        assert recorded[name] == value
    assert after_copy_greeting() in output  # copier's own next steps reached the user


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone-like copy of this checkout (its files as they are now, committed)."""
    clone = tmp_path_factory.mktemp("clone") / "hf-space-template"
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet staged is still listed
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    git(clone, "init", "-q")
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "snapshot")
    return clone


@pytest.mark.slow  # builds new-space's copier virtualenv
def test_first_command_bootstraps_copier_then_reuses_it(checkout: Path, tmp_path: Path) -> None:
    command = readme_command("1. render")
    assert command[:2] == ["python3", "scripts/new-space"]
    command[0] = shutil.which("python3") or sys.executable
    first, second = tmp_path / "first", tmp_path / "second"

    # The README's command, answering with the defaults, in a checkout with no render venv.
    result = run(*command[:2], first, "--defaults", cwd=checkout, env=without_override())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing copier" in result.stderr
    assert_rendered(first, result.stdout + result.stderr, framework="fastapi")
    venv = checkout / ".cache" / "render-venv"
    stamp = venv / "requirements.txt"
    assert re.search(r"^copier>=", stamp.read_text(encoding="utf-8"), re.MULTILINE)
    built = stamp.stat().st_mtime_ns

    # A second run reuses the venv and passes copier's options through.
    started = time.monotonic()
    result = run(
        *command[:2], second, "--defaults", "--data", "framework=flask",
        cwd=checkout, env=without_override(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing" not in result.stderr
    assert stamp.stat().st_mtime_ns == built
    assert time.monotonic() - started < 60  # a render, not a pip install
    assert_rendered(second, result.stdout + result.stderr, framework="flask")


@pytest.mark.slow  # builds new-space's copier virtualenv
def test_render_venv_follows_pyproject(checkout: Path, tmp_path: Path) -> None:
    """A changed range in the test group rebuilds the venv (runs after the bootstrap test).

    The new range matches nothing, so the rebuild fails fast: one clear line, exit 1, and the
    stamp is left alone so the next run tries again.
    """
    stamp = checkout / ".cache" / "render-venv" / "requirements.txt"
    if not stamp.is_file():
        pytest.skip("the bootstrap test did not run, so there is no venv to rebuild")
    pyproject = checkout / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert '"copier>=9.10,<10"' in text, "update this test with pyproject's copier range"
    pyproject.write_text(text.replace('"copier>=9.10,<10"', '"copier>=9.10,<9.10"'), "utf-8")
    try:
        result = run(
            sys.executable, "scripts/new-space", tmp_path / "space", "--defaults",
            cwd=checkout, env=without_override(),
        )  # fmt: skip
    finally:
        pyproject.write_text(text, "utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "installing copier>=9.10,<9.10" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("new-space: building ")
    assert "Traceback" not in result.stderr
    assert not stamp.exists()  # the venv was cleared and not finished: rebuilt next time
    assert not (tmp_path / "space").exists()


def test_new_space_uses_the_python_it_is_given(tmp_path: Path) -> None:
    destination = tmp_path / "space"
    result = run(
        sys.executable, NEW_SPACE, destination, "--defaults", "--data", "package_name=myapi",
        cwd=tmp_path, env={**os.environ, "NEW_SPACE_PYTHON": sys.executable},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing" not in result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["package_name"] == "myapi"
    assert (destination / "myapi" / "__main__.py").is_file()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ([], {}, "give the destination first"),
        (["--defaults", "x"], {}, "give the destination first"),
        (["x"], {"NEW_SPACE_PYTHON": "/nonexistent/python"}, "NEW_SPACE_PYTHON=/nonexistent"),
    ],
)
def test_new_space_refuses_bad_usage_in_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = run(sys.executable, NEW_SPACE, *args, cwd=tmp_path, env={**os.environ, **env})
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_second_command_is_ci_run_which_sets_up_then_runs_pytest() -> None:
    assert readme_command("2. run the whole test suite") == ["bash", ".ci/run"]
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    full = '.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "${xdist[@]}" "$@"'
    assert lines.index(".ci/setup") < lines.index(full)
    assert lines[-1] == full  # its exit status is the script's


def test_quick_tier_runs_before_any_set_up() -> None:
    assert readme_command("the quick tier") == ["bash", ".ci/run", "--quick"]
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    quick = [i for i, line in enumerate(lines) if line.startswith("exec ") and " --quick " in line]
    assert len(quick) == 1 and quick[0] < lines.index(".ci/setup"), lines


def test_ci_workflow_runs_the_same_pytest() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    runs = [step.get("run", "") for step in workflow["jobs"]["suite"]["steps"]]
    assert any(run.strip() == "python -m pytest" for run in runs)


def test_readme_links_point_at_files_that_exist() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if "://" not in link]
    assert "docs/quickstart.md" in local
    for link in local:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"

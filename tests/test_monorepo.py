"""A Space in a monorepo's folder (`space_dir`), rendered into the root of the repository.

The frontend and the repository's own files stay untouched; the Space's files go to the
folder; its workflows go to the root's .github/workflows/, named after the folder, run only
for changes in it and work in it. `copier update` from the root is tested in
test_update_services.py, the sync workflow's deploy from the folder in test_sync_workflow.py.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import SERVICES, copier_cli, extension, render, run
from workflow_tools import load_workflow, tool

FRONTEND = {
    "frontend/package.json": '{"name": "web"}\n',
    "README.md": "# Our monorepo\n",
    ".gitignore": "node_modules/\n",
    ".github/workflows/ci.yml": "name: web\n",
}


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def mono(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monorepo") / "repo"
    for name, text in FRONTEND.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    # Every service, as the chat and readiness tests: their virtualenv serves here too.
    return render(root, space_dir="apps/api", services=SERVICES)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same answers without space_dir: the repository is the Space."""
    return render(tmp_path_factory.mktemp("monorepo") / "single", services=SERVICES)


def test_the_space_goes_to_its_folder_and_the_repository_stays_as_it_was(
    mono: Path, single: Path
) -> None:
    for name, text in FRONTEND.items():
        assert (mono / name).read_text() == text, name
    at_the_root = {".copier-answers.yml", ".github/workflows/sync-to-hub.yml",
                   ".github/workflows/ci.yml", ".github/workflows/update.yml"}  # fmt: skip
    space = files_under(mono / "apps" / "api")
    assert space == files_under(single) - at_the_root
    assert files_under(mono) - {f"apps/api/{name}" for name in space} - set(FRONTEND) == {
        ".copier-answers.yml",
        ".github/workflows/apps-api-ci.yml",
        ".github/workflows/apps-api-sync-to-hub.yml",
        ".github/workflows/apps-api-update.yml",
    }
    readme = (mono / "apps" / "api" / "README.md").read_text()
    assert "- Folder: `apps/api/` of its repository" in readme
    assert "`.github/workflows/apps-api-sync-to-hub.yml`" in readme


def test_the_workflows_run_for_the_folder_only_and_work_in_it(mono: Path) -> None:
    workflows = mono / ".github" / "workflows"
    ci = load_workflow(workflows / "apps-api-ci.yml")
    for event in ("push", "pull_request"):
        assert ci["on"][event]["paths"] == ["apps/api/**", ".github/workflows/apps-api-ci.yml"]
    assert ci["defaults"] == {"run": {"working-directory": "apps/api"}}
    sync = load_workflow(workflows / "apps-api-sync-to-hub.yml")
    assert sync["on"]["push"]["paths"] == [
        "apps/api/**",
        ".github/workflows/apps-api-sync-to-hub.yml",
    ]
    assert sync["jobs"]["deploy"]["defaults"] == {"run": {"working-directory": "apps/api"}}
    # Every relative path a job's step reads exists in the folder it works in.
    for needed in ("requirements-dev.txt", "Dockerfile", "pyproject.toml"):
        assert (mono / "apps" / "api" / needed).is_file(), needed

    ours = [workflows / "apps-api-ci.yml", workflows / "apps-api-sync-to-hub.yml"]
    for persona in ("regular", "pedantic"):
        result = run(
            tool("zizmor"), "--offline", "--no-progress", "--persona", persona, *ours,
            cwd=mono,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *ours, cwd=mono
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_generated_tests_and_lint_pass_in_the_folder(mono: Path, project_venvs) -> None:
    space = mono / "apps" / "api"
    python = project_venvs.python_for(space)
    for command in (("-m", "ruff", "check", "."), ("-m", "ruff", "format", "--check", ".")):
        result = run(python, *command, cwd=space)
        assert result.returncode == 0, result.stdout + result.stderr
    result = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=space)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the answer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    ["../up", "/abs/path", "backend/", "./backend", ".github", "apps/.hidden", "a//b", "a\\b",
     "back end", "apps/../..", "~/api", "x" * 101],
)  # fmt: skip
def test_a_folder_outside_or_hidden_is_refused(answer: str) -> None:
    problem = extension.space_dir_problem(answer)
    assert problem and "\n" not in problem
    assert "backend" in problem  # names a folder that would do


@pytest.mark.parametrize("answer", ["", "backend", "apps/api", "services/my_api-2.0"])
def test_a_plain_folder_is_accepted(answer: str) -> None:
    assert extension.space_dir_problem(answer) == ""


# Path-like text: the characters that make a path escape, hide or break.
PATHISH = st.text(alphabet="ab_-./\\~ :", max_size=24)


@given(st.one_of(PATHISH, st.text(max_size=24)))
def test_an_accepted_folder_stays_inside_the_repository(answer: str) -> None:
    if extension.space_dir_problem(answer) or not answer:
        return  # refused (tested above) or the root
    path = PurePosixPath(answer)
    assert not path.is_absolute() and path.as_posix() == answer
    assert all(part and not part.startswith(".") for part in answer.split("/"))
    root = Path("/repo")
    assert (root / answer).resolve().is_relative_to(root)


def test_a_bad_folder_given_with_data_stops_before_writing(tmp_path: Path) -> None:
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", "space_dir=../outside",
        str(Path(__file__).resolve().parents[1]), str(tmp_path / "repo"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "space_dir: '../outside' is not a relative folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "outside").exists() and not (tmp_path / "repo").exists()

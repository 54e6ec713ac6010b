"""Template releases made in a temp repository, Spaces rendered from them and `copier update`
run on those, with the real copier CLI: shared by test_update.py and test_update_services.py.

A temp copy of this template gets two releases made here: 0.1.0 (this tree) and 0.2.0
(a fix in two template files, the very lines users edit in their own files changed, and the
`pinned` question renamed to `pin_space` with a `_migrations` entry). A second pair of
releases is the real 0.1.0 (its commit in this repository's history) and this tree.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support import NOT_TEMPLATE, ROOT, copier_cli, git, render
from workflow_tools import edit

MIGRATION = """_migrations:
  - version: "0.2.0"
    when: "{{ _stage == 'before' }}"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/extensions/migrate_answers.py",
              "--rename", "pinned=pin_space"]
"""
# Release 0.1.0, before settings.py became the user's; a clone of main has its history.
RELEASE_0_1_0 = "ed11438e8b6682770aa80006dbcd7a1495b25b09"
# The main that landed before hf-space-tools left the render (it copied scripts/*.py into every
# Space) and before the CORS pattern's rules came only with an answer.
LANDED_BEFORE_TOOLING = "d680ced91ec520e0ce54abb67bc597c3980afd3a"
SPACE = "template/{{ space_root }}"  # the Space's files in the template repo
PACKAGE = SPACE + "/{{package_name}}"
# Lines of the user-owned files that release 0.2.0 changes; the test user edits the same lines.
USER_FILE_CHANGES = {
    PACKAGE + "/{% if framework == 'fastapi' %}api.py{% endif %}.jinja": (
        'return {"message": f"Hello, {name}!"}',
        'return {"message": f"Hi, {name}!"}',
    ),
    PACKAGE + "/{% if framework == 'flask' %}api.py{% endif %}.jinja": (
        "jsonify(message=f\"Hello, {request.args.get('name', 'world')}!\")",
        "jsonify(message=f\"Hi, {request.args.get('name', 'world')}!\")",
    ),
    PACKAGE + "/settings.py": (
        '    """Every variable the app reads. Examples:',
        '    """Every variable the app reads, yours and the template\'s. Examples:',
    ),
    PACKAGE + "/hooks.py.jinja": (
        "Make hooks idempotent: every worker runs them.",
        "Make hooks idempotent: each worker runs them.",
    ),
}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repo tagged 0.1.0 (this tree) and 0.2.0 (a fix and a renamed question)."""
    repo = tmp_path_factory.mktemp("releases") / "template"
    shutil.copytree(ROOT, repo, ignore=NOT_TEMPLATE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 0.1.0")
    git(repo, "tag", "0.1.0")
    edit(repo / PACKAGE / "healthcheck.py", "timeout=3", "timeout=2")
    edit(repo / SPACE / ".dockerignore", ".ruff_cache\n", ".ruff_cache\n*.log\n")
    edit(repo / "copier.yml", "\npinned:\n", "\npin_space:\n")
    edit(repo / "copier.yml", "_migrations:\n", MIGRATION)
    for path, (old, new) in USER_FILE_CHANGES.items():
        edit(repo / path, old, new)
    edit(repo / SPACE / "README.md.jinja", "{{ pinned | lower }}", "{{ pin_space | lower }}")
    git(repo, "commit", "-qam", "release 0.2.0: shorter probe timeout, pinned -> pin_space")
    git(repo, "tag", "0.2.0")
    return repo


@pytest.fixture(scope="module")
def from_0_1_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repo tagged 0.1.0 (the real release) and 0.2.0 (this tree)."""
    return from_commit(tmp_path_factory.mktemp("from-0.1.0"), RELEASE_0_1_0)


@pytest.fixture(scope="module")
def from_landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repo tagged 0.1.0 (main as it landed before this tree) and 0.2.0 (this tree)."""
    return from_commit(tmp_path_factory.mktemp("from-landed"), LANDED_BEFORE_TOOLING)


def from_commit(folder: Path, commit: str) -> Path:
    """A template repo tagged 0.1.0 (`commit` of this repository) and 0.2.0 (this tree)."""
    repo = folder / "template"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
    )
    subprocess.run(["tar", "x"], input=archive.stdout, cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 0.1.0")
    git(repo, "tag", "0.1.0")
    git(repo, "rm", "-rq", ".")
    shutil.copytree(ROOT, repo, ignore=NOT_TEMPLATE, dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "this release")
    git(repo, "tag", "0.2.0")
    return repo


def render_committed(template: Path, ref: str, destination: Path, *data: str) -> Path:
    """The Space at release `ref` with answers given as the CLI's --data ("services=[redis]"),
    committed: what a user has before they run `copier update`."""
    render(destination, template, ref, **dict(item.split("=", 1) for item in data))
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "generated")
    return destination


def update(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return copier_cli("update", "--trust", "--defaults", "--vcs-ref", "0.2.0", *args, cwd=project)


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def conflict_leftovers(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej" or "<<<<<<<" in path.read_text(encoding="utf-8", errors="ignore"):
            found.append(str(path.relative_to(project)))
    return found

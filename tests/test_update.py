"""`copier update` carries template fixes into a generated Space and keeps the user's edits.

A temp copy of this template gets two releases made here: 0.1.0 (this tree) and 0.2.0
(a fix in two template files, and the `pinned` question renamed to `pin_space` with a
`_migrations` entry). Spaces rendered at 0.1.0 are committed, edited like a user would,
then updated with the real copier CLI.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support import FRAMEWORKS, ROOT, copier_cli, git

IGNORED = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache")
MIGRATION = """_migrations:
  - version: "0.2.0"
    when: "{{ _stage == 'before' }}"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/extensions/migrate_answers.py",
              "--rename", "pinned=pin_space"]
"""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repo tagged 0.1.0 (this tree) and 0.2.0 (a fix and a renamed question)."""
    repo = tmp_path_factory.mktemp("releases") / "template"
    shutil.copytree(ROOT, repo, ignore=IGNORED)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 0.1.0")
    git(repo, "tag", "0.1.0")
    edit(repo / "template/{{package_name}}/healthcheck.py", "timeout=3", "timeout=2")
    edit(repo / "template/.dockerignore", ".ruff_cache\n", ".ruff_cache\n*.log\n")
    edit(repo / "copier.yml", "\npinned:\n", "\npin_space:\n")
    edit(repo / "copier.yml", "_migrations: []\n", MIGRATION)
    edit(repo / "template/README.md.jinja", "{{ pinned | lower }}", "{{ pin_space | lower }}")
    git(repo, "commit", "-qam", "release 0.2.0: shorter probe timeout, pinned -> pin_space")
    git(repo, "tag", "0.2.0")
    return repo


def render_committed(template: Path, ref: str, destination: Path, *data: str) -> Path:
    data_args = [arg for item in data for arg in ("--data", item)]
    result = copier_cli(
        "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", ref,
        *data_args, str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
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


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_update_brings_the_fix_and_keeps_user_edits(
    releases: Path, tmp_path: Path, framework: str
) -> None:
    project = render_committed(
        releases, "0.1.0", tmp_path / "space", f"framework={framework}", "pinned=true"
    )
    # What a user does after generating: a route module, notes, a requirement, a route.
    (project / "app" / "search_routes.py").write_text("ROUTES = ['/api/search']\n")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes: deploy on Fridays only.\n")
    requirements = project / "requirements.txt"
    requirements.write_text(requirements.read_text() + "numpy>=1.26\n")
    api = project / "app" / "api.py"
    api.write_text(api.read_text() + "\n# our own route goes here\n")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "our changes")

    result = update(project)

    assert result.returncode == 0, result.stderr
    assert conflict_leftovers(project) == []
    assert (project / "app" / "search_routes.py").read_text() == "ROUTES = ['/api/search']\n"
    assert readme.read_text().endswith("Our team's notes: deploy on Fridays only.\n")
    assert "numpy>=1.26" in requirements.read_text().splitlines()
    assert api.read_text().endswith("# our own route goes here\n")
    # The template's fix arrived and the answers file points at the new release.
    assert "timeout=2" in (project / "app" / "healthcheck.py").read_text()
    assert "*.log" in (project / ".dockerignore").read_text().splitlines()
    recorded = answers(project)
    assert recorded["_commit"] == "0.2.0"
    # The migration carried the renamed question's answer.
    assert recorded["pin_space"] is True
    assert "pinned" not in recorded
    assert "\npinned: true\n" in readme.read_text()


@pytest.mark.parametrize(
    ("mode", "evidence"), [("inline", "markers"), ("rej", "reject file")], ids=["inline", "rej"]
)
def test_overlapping_edit_gives_the_documented_conflict(
    releases: Path, tmp_path: Path, mode: str, evidence: str
) -> None:
    project = render_committed(releases, "0.1.0", tmp_path / "space")
    edit(project / "app" / "healthcheck.py", "timeout=3", "timeout=10")
    git(project, "commit", "-qam", "a longer probe timeout")

    result = update(project, "--conflict", mode)

    assert result.returncode == 0, result.stderr
    probe = project / "app" / "healthcheck.py"
    if mode == "inline":
        text = probe.read_text()
        assert "<<<<<<<" in text and ">>>>>>>" in text
        assert "timeout=10" in text and "timeout=2" in text
    else:
        # The file takes the template's version; the user's hunk waits in the .rej file.
        rejected = project / "app" / "healthcheck.py.rej"
        assert rejected.exists(), evidence
        assert "+        with urllib.request.urlopen(url, timeout=10)" in rejected.read_text()
        assert "timeout=2" in probe.read_text()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_adding_then_removing_a_service(releases: Path, tmp_path: Path, framework: str) -> None:
    project = render_committed(releases, "0.2.0", tmp_path / "space", f"framework={framework}")
    module = project / "app" / "services" / "redis.py"
    assert not module.exists()

    added = update(project, "--data", "services=[redis]")

    assert added.returncode == 0, added.stderr
    assert module.exists()
    assert any(line.startswith("redis") for line in (project / "requirements.txt").open())
    assert "\nREDIS_URL=" in (project / ".env.example").read_text()
    assert "`REDIS_URL`" in (project / "SECRETS.md").read_text()
    assert answers(project)["services"] == ["redis"]
    git(project, "add", "-A")
    git(project, "commit", "-qm", "add redis")

    removed = update(project, "--data", "services=[]")

    assert removed.returncode == 0, removed.stderr
    assert not module.exists()
    assert not any(line.startswith("redis") for line in (project / "requirements.txt").open())
    assert "REDIS_URL" not in (project / ".env.example").read_text()
    assert "REDIS_URL" not in (project / "SECRETS.md").read_text()
    assert conflict_leftovers(project) == []

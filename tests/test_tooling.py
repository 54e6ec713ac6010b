"""hf-space-tools (tooling/): the one line of a Space's requirements-dev.txt that installs it
at the template's commit, where its commands find the Space, and their dispatch."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hf_space_tools import NotASpace, project_root, source
from support import HF_SPACE, TOOLING_ENV, git, render

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SUFFIX = f"@{COMMIT}#subdirectory=tooling"


@pytest.mark.parametrize(
    ("named", "installed"),
    [
        ("gh:org/hf-space-template", "git+https://github.com/org/hf-space-template"),
        ("gl:org/hf-space-template", "git+https://gitlab.com/org/hf-space-template"),
        ("https://example.org/t.git", "git+https://example.org/t.git"),
        ("git+https://example.org/t.git", "git+https://example.org/t.git"),
        ("git@github.com:org/t.git", "git+ssh://git@github.com/org/t.git"),
        ("ssh://git@example.org/t.git", "git+ssh://git@example.org/t.git"),
    ],
)
def test_a_remote_template_is_pinned_at_its_commit(named: str, installed: str) -> None:
    line = source.requirement(named, "/tmp/copier-clone-gone-after", COMMIT)
    assert line == f"hf-space-tools @ {installed}{SUFFIX}"


def test_a_local_template_is_named_by_its_own_folder(tmp_path: Path) -> None:
    # copier reads a local git template from a clone it deletes: the pin names the folder
    clone = tmp_path / "clone"
    line = source.requirement(str(tmp_path / "template"), str(clone), COMMIT)
    assert line == f"hf-space-tools @ git+{(tmp_path / 'template').as_uri()}{SUFFIX}"
    plain = source.requirement(str(tmp_path / "template"), str(tmp_path / "template"), None)
    assert plain == f"hf-space-tools @ {(tmp_path / 'template' / 'tooling').as_uri()}"


def test_a_clone_of_the_template_pins_its_origin_where_ci_can_fetch_it(tmp_path: Path) -> None:
    # scripts/new-space renders from a clone: a pin to that folder would fail in GitHub Actions
    clone = tmp_path / "hf-space-template"
    git(tmp_path, "init", "-q", str(clone))
    git(clone, "remote", "add", "origin", "git@github.com:someone/hf-space-template.git")
    line = source.requirement(str(clone), str(tmp_path / "copier-clone"), COMMIT)
    assert (
        line == f"hf-space-tools @ git+ssh://git@github.com/someone/hf-space-template.git{SUFFIX}"
    )
    git(clone, "remote", "set-url", "origin", str(tmp_path / "elsewhere"))  # a folder: kept
    line = source.requirement(str(clone), str(tmp_path / "copier-clone"), COMMIT)
    assert line == f"hf-space-tools @ git+{clone.as_uri()}{SUFFIX}"


def test_a_render_pins_the_tooling_it_was_made_with(tmp_path: Path) -> None:
    project = render(tmp_path / "space")
    (line,) = [
        line
        for line in (project / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("hf-space-tools")
    ]
    folder = Path(line.split(" @ file://", 1)[1])
    assert (folder / "hf_space_tools" / "deploy.py").is_file()  # the very files of the render
    assert not (project / "scripts").exists()


def test_commands_find_the_space_from_a_folder_inside_it(tmp_path: Path) -> None:
    project = render(tmp_path / "space", space_name="found-me")
    root, table = project_root(project / "app" / "services")
    assert root == project.resolve() and table["space-id"].endswith("/found-me")
    with pytest.raises(NotASpace, match="run hf-space in the Space's repository"):
        project_root(tmp_path)


def test_hf_space_dispatches_each_command_and_names_a_folder_that_is_no_space(
    tmp_path: Path,
) -> None:
    def hf_space(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*HF_SPACE, *arguments], cwd=tmp_path, env=TOOLING_ENV, capture_output=True,
            text=True, timeout=60, check=False,
        )  # fmt: skip

    assert "usage: hf-space local" in hf_space("local", "--help").stdout
    assert "usage: hf-space update-pr" in hf_space("update-pr", "--help").stdout
    deploy = hf_space("check")
    assert deploy.returncode == 1 and "Traceback" not in deploy.stderr
    assert "no pyproject.toml with [tool.hf-space]" in deploy.stderr

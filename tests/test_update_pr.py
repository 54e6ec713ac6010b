"""The generated update workflow: `copier update` arrives as one pull request.

Linted offline with zizmor (regular and pedantic) and check-jsonschema's GitHub workflow schema,
in a single-Space and a monorepo render. Then its steps run for real, in order, with bash, as
GitHub runs them (`if:` conditions, step outputs, env), against local git repositories: a copy
of this template tagged 0.2.0, 0.2.1 and 0.3.0, a Space rendered at 0.2.0 and edited as a user
would, and a bare repository standing in for the GitHub remote. Only the `gh pr` step needs
GitHub itself: it is read, not run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import GIT_ENV, HF_SPACE, NOT_TEMPLATE, ROOT, TOOLING_ENV, copier_cli, git, render, run
from workflow_tools import assert_workflow_lints_clean, edit, load_workflow

BOT = "41898282+github-actions[bot]@users.noreply.github.com"
SPACE = "template/{{ space_root }}"
# What release 0.2.1 and 0.3.0 of the copied template change, and say in their changelog.
CHANGELOG_0_2_1 = "## 0.2.1\n\n- The probe's timeout is 2 s.\n\n"
CHANGELOG_0_3_0 = "## 0.3.0\n\n- CI runs the tests with -q.\n\n"
# In the body, a level below its own headings.
NOTES = "### 0.3.0\n\n- CI runs the tests with -q.\n\n### 0.2.1\n\n- The probe's timeout is 2 s.\n"
GITHUB_ONLY = {"Open or refresh the pull request"}  # needs GitHub's API: read, not run
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This template tagged 0.2.0; 0.2.1 a fix; 0.3.0 a change to a workflow file."""
    repo = tmp_path_factory.mktemp("releases") / "template"
    shutil.copytree(
        ROOT, repo,
        ignore=NOT_TEMPLATE,
    )  # fmt: skip
    # A changelog of the test's own: the real one may hold an unreleased section of any version.
    changelog = repo / "CHANGELOG.md"
    changelog.write_text("# Changelog\n\n## 0.2.0\n\n- Day two.\n\n## 0.1.0\n\n- First.\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 0.2.0")
    git(repo, "tag", "0.2.0")
    edit(repo / SPACE / "{{package_name}}" / "healthcheck.py", "timeout=3", "timeout=2")
    edit(changelog, "## 0.2.0", CHANGELOG_0_2_1 + "## 0.2.0")
    git(repo, "commit", "-qam", "release 0.2.1")
    git(repo, "tag", "0.2.1")
    ci = repo / "template" / ".github" / "workflows" / "{{ workflow_prefix }}ci.yml.jinja"
    edit(ci, "run: python -m pytest\n", "run: python -m pytest -q\n")
    edit(changelog, "## 0.2.1", CHANGELOG_0_3_0 + "## 0.2.1")
    git(repo, "commit", "-qam", "release 0.3.0")
    git(repo, "tag", "0.3.0")
    return repo


class Remote:
    """A bare repository standing in for the GitHub repository of a Space."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def branch(self, name: str) -> str:
        """The commit `name` points at ("" when there is no such branch)."""
        found = run("git", "rev-parse", "--verify", "--quiet", f"refs/heads/{name}",
                    cwd=self.path, env=GIT_ENV)  # fmt: skip
        return found.stdout.strip()

    def show(self, ref: str, path: str) -> str:
        return git(self.path, "show", f"{ref}:{path}")


def space_repo(template: Path, base: Path, ref: str, edits: bool = True) -> Remote:
    """A Space rendered at `ref`, edited and committed as a user would, pushed to a bare remote."""
    work = base / "work"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", ref, str(template), str(work)
    )
    assert result.returncode == 0, result.stderr
    if edits:
        # The user's own route, a new module, and the very line release 0.2.1 changes.
        edit(work / "app" / "api.py", "Hello, ", "Howdy, ")
        edit(work / "tests" / "test_api.py", "Hello, Space!", "Howdy, Space!")
        (work / "app" / "search.py").write_text("ROUTES = ['/api/search']\n")
        edit(work / "app" / "healthcheck.py", "timeout=3", "timeout=10")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "generated, then ours")
    remote = base / "origin.git"
    git(base, "clone", "-q", "--bare", str(work), str(remote))
    return Remote(remote)


class Run:
    """One run of the workflow's job: a fresh checkout of the remote, its steps in order."""

    def __init__(self, workflow: dict[str, Any], remote: Remote, base: Path, python: Path) -> None:
        self.job = workflow["jobs"]["update"]
        self.checkout = base / "checkout"
        self.temp = base / "runner-temp"
        self.temp.mkdir(parents=True)
        git(base, "clone", "-q", "--depth", "1", f"file://{remote.path}", str(self.checkout))
        self.python = python  # the Space's tests run with it (its requirements installed)
        self.outputs: dict[str, dict[str, str]] = {}
        self.outcomes: dict[str, str] = {}
        self.logs: dict[str, subprocess.CompletedProcess[str]] = {}

    def value(self, expression: str) -> str:
        parts = expression.split(".")
        if parts[0] == "steps" and parts[2] == "outputs":
            return self.outputs.get(parts[1], {}).get(parts[3], "")
        if parts[0] == "steps" and parts[2] == "outcome":
            return self.outcomes.get(parts[1], "")
        known = {"github.token": "gh-test-token", "github.repository": "standin/space"}
        assert expression in known, f"the test cannot evaluate ${{{{ {expression} }}}}"
        return known[expression]

    def holds(self, condition: str | None) -> bool:
        """The `if:` forms the workflow uses: `<value> != ''` and `<value> == 'true'`."""
        if condition is None:
            return True
        match = re.fullmatch(r"(\S+) (==|!=) '(.*)'", condition)
        assert match, f"the test cannot evaluate if: {condition}"
        equal = self.value(match[1]) == match[3]
        return equal if match[2] == "==" else not equal

    def step(self, step: dict[str, Any], python_bin: Path) -> subprocess.CompletedProcess[str]:
        output = self.temp / f"output-{len(self.logs)}"
        output.write_text("")
        env = {
            **GIT_ENV,
            "PATH": f"{python_bin}{os.pathsep}{os.environ['PATH']}",
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REF_NAME": "main",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **self.job["env"],
        }
        for name, value in step.get("env", {}).items():
            env[name] = EXPRESSION.sub(lambda m: self.value(m[1]), str(value))
        cwd = self.checkout / step.get("working-directory", ".")
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        self.logs[step["name"]] = result
        if "id" in step:
            self.outcomes[step["id"]] = "success" if result.returncode == 0 else "failure"
            pairs = [line.split("=", 1) for line in output.read_text().splitlines() if line]
            self.outputs[step["id"]] = dict(pairs)
        return result

    def all(self, tests: bool = True) -> Run:
        template_bin = Path(sys.executable).parent  # copier, pyyaml and packaging, as installed
        for step in self.job["steps"]:
            name = step.get("name", step.get("uses"))
            if "uses" in step or name == "Install copier" or name in GITHUB_ONLY:
                continue
            if not self.holds(step.get("if")):
                continue
            testing = step.get("id") == "tests"
            if testing and not tests:
                continue
            # On GitHub one Python runs every step: the Space's (its tests install its
            # requirements-dev.txt, hf-space-tools too) is the one that writes the body.
            space_step = testing or name == "Pull request body"
            result = self.step(step, self.python.parent if space_step else template_bin)
            failed = result.returncode != 0 and not step.get("continue-on-error")
            assert not failed, (step["name"], result.stdout + result.stderr)
        return self

    def body(self) -> str:
        return (self.temp / "body.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def workflow(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = render(tmp_path_factory.mktemp("lint") / "space", template=template, vcs_ref="0.2.0")
    return load_workflow(project / ".github" / "workflows" / "update.yml")


@pytest.fixture(scope="module")
def space_python(template: Path, tmp_path_factory: pytest.TempPathFactory, project_venvs) -> Path:
    project = render(tmp_path_factory.mktemp("venv") / "space", template=template, vcs_ref="0.3.0")
    return project_venvs.python_for(project)


# --- lint ------------------------------------------------------------------------------------


@pytest.mark.parametrize("space_dir", ["", "apps/api"])
def test_zizmor_and_githubs_schema_find_nothing(tmp_path: Path, space_dir: str) -> None:
    project = render(tmp_path / "repo", space_dir=space_dir)
    name = f"{space_dir.replace('/', '-')}-update.yml" if space_dir else "update.yml"
    path = project / ".github" / "workflows" / name
    assert_workflow_lints_clean(path)
    workflow = load_workflow(path)
    job = workflow["jobs"]["update"]
    # Weekly and by hand; the job alone may write, and only what the pull request needs.
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert job["env"]["BRANCH"] == (f"{space_dir.replace('/', '-')}-" if space_dir else "") + (
        "template-update"
    )
    tests = next(step for step in job["steps"] if step.get("id") == "tests")
    assert tests["working-directory"] == (space_dir or ".")
    body = next(step for step in job["steps"] if step.get("name") == "Pull request body")
    assert "\nhf-space update-pr --tests" in body["run"]  # hf-space-tools at the new commit:
    requirements = f"{space_dir + '/' if space_dir else ''}requirements-dev.txt"
    assert f"'^hf-space-tools' {requirements}" in body["run"]
    # Only the workflow's own token, through env, never a stored secret.
    text = path.read_text(encoding="utf-8")
    assert "secrets." not in text
    assert set(re.findall(r"\$\{\{ (github\.\w+) \}\}", text)) <= {
        "github.token", "github.repository", "github.workflow",
    }  # fmt: skip


def test_turned_off_it_is_not_rendered(tmp_path: Path) -> None:
    project = render(tmp_path / "space", update_pr=False)
    assert not (project / ".github" / "workflows" / "update.yml").exists()
    assert (project / ".github" / "workflows" / "ci.yml").is_file()


def test_the_pull_request_step_opens_or_edits_one_pull_request(workflow: dict[str, Any]) -> None:
    (step,) = [s for s in workflow["jobs"]["update"]["steps"] if s.get("name") in GITHUB_ONLY]
    assert step["if"] == "steps.push.outputs.pushed == 'true'"
    shell = [line.strip() for line in step["run"].splitlines()]
    listing = 'number=$(gh pr list --head "$BRANCH" --state open --json number --jq \'.[0].number'
    assert listing + " // empty')" in shell
    assert 'gh pr edit "$number" --title "$title" --body-file "$RUNNER_TEMP/body.md"' in shell
    create = next(line for line in shell if "gh pr create" in line)
    assert '--head "$BRANCH" --base "$GITHUB_REF_NAME"' in create
    assert '--body-file "$RUNNER_TEMP/body.md"' in create


# --- the steps, run ---------------------------------------------------------------------------


def test_an_update_becomes_one_branch_with_its_notes_and_conflicts(
    template: Path, workflow: dict[str, Any], space_python: Path, tmp_path: Path
) -> None:
    remote = space_repo(template, tmp_path, "0.2.0")
    main = remote.branch("main")

    first = Run(workflow, remote, tmp_path / "run1", space_python).all()

    assert first.outputs["update"] == {"from": "0.2.0", "to": "0.3.0"}
    tested = first.logs["Space tests on the updated tree"]
    assert first.outcomes["tests"] == "success", tested.stdout[-3000:] + tested.stderr[-2000:]
    branch = remote.branch("template-update")
    assert branch and remote.branch("main") == main  # main itself is never pushed to
    assert git(remote.path, "log", "-1", "--format=%ae %s", branch).strip() == (
        f"{BOT} Template update: 0.2.0 -> 0.3.0"
    )
    assert git(remote.path, "rev-parse", f"{branch}~1").strip() == main
    assert "\n_commit: 0.3.0\n" in remote.show(branch, ".copier-answers.yml")
    # The user's files as copier update leaves them: theirs kept, the conflict inline.
    assert 'f"Howdy, {name}!"' in remote.show(branch, "app/api.py")
    assert remote.show(branch, "app/search.py") == "ROUTES = ['/api/search']\n"
    probe = remote.show(branch, "app/healthcheck.py")
    assert "<<<<<<< before updating" in probe and "timeout=10" in probe and "timeout=2" in probe
    # The token may not push workflow files: 0.3.0's change to ci.yml stays out of the branch.
    ci = ".github/workflows/ci.yml"
    assert remote.show(branch, ci) == remote.show(main, ci)
    assert "run: python -m pytest\n" in remote.show(branch, ci)

    body = first.body()
    made_by = "`copier update --trust --defaults` from template release 0.2.0 to 0.3.0"
    assert body.startswith(made_by)
    assert "The Space's tests pass on the updated tree." in body
    assert "## Conflicts (1)\n" in body and "\n- `app/healthcheck.py`" in body
    notes = body.split("## Changes in the template\n", 1)[1]
    assert notes == NOTES  # not 0.2.0's, nor 0.1.0's
    patch = body.split("```diff\n", 1)[1].split("```", 1)[0]
    assert "--- a/.github/workflows/ci.yml" in patch
    assert "+        run: python -m pytest -q" in patch
    # The patch applies on the branch, as the body says.
    check = tmp_path / "apply"
    git(tmp_path, "clone", "-q", "--branch", "template-update", str(remote.path), str(check))
    (check / "workflows.patch").write_text(patch)
    git(check, "apply", "--check", "workflows.patch")

    # A second run finds the same update: the branch stays as it is (no new commit).
    second = Run(workflow, remote, tmp_path / "run2", space_python).all(tests=False)
    assert (
        "template-update already holds this update."
        in second.logs["Commit and push the update branch"].stdout
    )
    assert second.outputs["push"] == {"pushed": "true"}  # so its pull request is refreshed
    assert remote.branch("template-update") == branch

    # Once the user pushes to the branch, it is theirs: never overwritten, no pull request edit.
    resolve = tmp_path / "resolve"
    git(tmp_path, "clone", "-q", "--branch", "template-update", str(remote.path), str(resolve))
    (resolve / "app" / "healthcheck.py").write_text(probe.split("<<<<<<<")[0])
    git(resolve, "commit", "-qam", "resolved")
    git(resolve, "push", "-q", "origin", "template-update")
    theirs = remote.branch("template-update")
    third = Run(workflow, remote, tmp_path / "run3", space_python).all(tests=False)
    log = third.logs["Commit and push the update branch"].stdout
    assert "::warning::template-update has commits that are not this workflow's" in log
    assert third.outputs["push"] == {}
    assert remote.branch("template-update") == theirs


def test_the_body_says_when_the_tests_fail_and_lists_rej_files(
    template: Path, tmp_path: Path
) -> None:
    remote = space_repo(template, tmp_path, "0.2.0")
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(remote.path), str(work))
    result = copier_cli("update", "--trust", "--defaults", "--conflict", "rej", cwd=work)
    assert result.returncode == 0, result.stderr
    git(work, "add", "-A")  # as the workflow stages the update before the body step
    env = {**GIT_ENV, "PYTHONPATH": TOOLING_ENV["PYTHONPATH"]}
    made = run(*HF_SPACE, "update-pr", "--tests", "failure", cwd=work, env=env)
    assert made.returncode == 0, made.stderr
    assert "**The Space's tests fail on the updated tree**" in made.stdout
    assert "## Conflicts (1)\n" in made.stdout
    assert "\n- `app/healthcheck.py.rej`" in made.stdout
    assert "Workflow files to update by hand" not in made.stdout  # none held back here


def test_no_newer_release_means_no_branch(template: Path, workflow, tmp_path: Path) -> None:
    remote = space_repo(template, tmp_path, "0.3.0", edits=False)
    done = Run(workflow, remote, tmp_path / "run", Path(sys.executable)).all()
    assert (
        "Already on the newest template release, 0.3.0."
        in done.logs["copier update, when a newer release is out"].stdout
    )
    assert list(done.logs) == ["copier update, when a newer release is out"]
    assert remote.branch("template-update") == ""


def test_a_template_it_cannot_reach_is_named(template: Path, workflow, tmp_path: Path) -> None:
    """A Space rendered from a local clone records a folder as _src_path: CI cannot read it."""
    remote = space_repo(template, tmp_path, "0.2.0", edits=False)
    change = tmp_path / "change"
    git(tmp_path, "clone", "-q", str(remote.path), str(change))
    edit(change / ".copier-answers.yml", f"_src_path: {template}", "_src_path: /home/me/template")
    git(change, "commit", "-qam", "as rendered on a laptop")
    git(change, "push", "-q", "origin", "main")
    job = Run(workflow, remote, tmp_path / "run", Path(sys.executable))
    step = next(s for s in job.job["steps"] if s.get("id") == "update")
    result = job.step(step, Path(sys.executable).parent)
    assert result.returncode == 1
    assert (
        "::error file=.copier-answers.yml::copier check-update could not read the template: "
        "_src_path in .copier-answers.yml must be a git URL this runner can clone"
    ) in result.stdout
    assert "Traceback" not in result.stdout + result.stderr

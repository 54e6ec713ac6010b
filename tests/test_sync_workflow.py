"""The generated Space's GitHub sync workflow: one deploy path, the same command as a local deploy.

Linted offline with zizmor (default and pedantic personas) and check-jsonschema's vendored
GitHub workflow schema, read as parsed YAML, and run for real: the env-file guard with bash
and git against throwaway repositories, the deploy step with bash against the Hub stand-in,
from a monorepo's subfolder.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from standins.hub import HubStandIn
from support import GIT_ENV, ProjectVenvs, git, render
from workflow_tools import assert_workflow_lints_clean, hub_step_env

OWNER, NAME = "standin-user", "sync-demo"
SPACE = f"{OWNER}/{NAME}"
SERVICES = ["neon", "redis", "groq"]  # as tests/test_deploy.py: one project virtualenv for both
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
ON_THE_SPACE = {"GROQ_API_KEY": "gsk_set_by_a_local_deploy_0123"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Space in a monorepo's backend/ folder, next to a frontend that is not the Space's."""
    mono = tmp_path_factory.mktemp("sync") / "mono"
    (mono / "frontend").mkdir(parents=True)
    (mono / "frontend" / "package.json").write_text('{"name": "frontend"}\n')
    render(
        mono, services=SERVICES, hf_owner=OWNER, space_name=NAME, github_sync=True,
        space_dir="backend",
    )  # fmt: skip
    return mono / "backend"


@pytest.fixture(scope="module")
def path(project: Path) -> Path:
    return project.parent / ".github" / "workflows" / "backend-sync-to-hub.yml"


@pytest.fixture(scope="module")
def workflow(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    loaded["on"] = loaded.pop(True)  # YAML 1.1 reads the bare key `on` as True
    return loaded


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [step for step in job["steps"] if step.get("name") == name]
    return step


def test_zizmor_and_githubs_schema_find_nothing(path: Path) -> None:
    assert_workflow_lints_clean(path)


def test_the_deploy_job_runs_the_deploy_command_and_never_pushes(
    workflow: dict[str, Any],
) -> None:
    assert workflow["on"]["push"] == {
        "branches": ["main"],
        "paths": ["backend/**", ".github/workflows/backend-sync-to-hub.yml"],
    }
    assert "pull_request" in workflow["on"] and "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert "env" not in workflow
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    for step in steps:
        assert not re.search(r"\bgit\s+push\b", step.get("run", "")), step
        if "uses" in step:
            assert SHA_PIN.match(step["uses"]), step["uses"]
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False

    job = workflow["jobs"]["deploy"]
    assert job["needs"] == "file-sizes"
    assert job["if"] == "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
    assert "permissions" not in job  # the workflow's contents: read; OIDC adds id-token: write
    assert job["defaults"]["run"]["working-directory"] == "backend"
    assert job["steps"][0]["with"]["lfs"] is True
    assert step_named(job, "Install")["run"] == "python -m pip install -r requirements-dev.txt"
    deploy = step_named(job, "Deploy")
    assert deploy["run"].split()[:2] == ["hf-space", "--code-only"]  # from requirements-dev.txt
    assert deploy["env"] == {
        "HF_TOKEN": "${{ secrets.HF_TOKEN }}",
        "HF_OIDC_RESOURCE": "${{ vars.HF_OIDC_RESOURCE }}",
    }
    assert job["steps"][-1] is deploy


@pytest.fixture(scope="module")
def env_guard(workflow: dict[str, Any]) -> str:
    step = step_named(workflow["jobs"]["file-sizes"], "Refuse env files tracked by git")
    assert step["shell"] == "bash"
    return step["run"]


def guard_in_repo(repo: Path, files: list[str], script: str) -> subprocess.CompletedProcess[str]:
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name in files:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("X=1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "files")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=repo, env=GIT_ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_env_file_guard_refuses_tracked_env_files(tmp_path: Path, env_guard: str) -> None:
    fine = [".env.example", "app/.env.example", "app/environment.py", "docs/env.md", "envrc"]
    result = guard_in_repo(tmp_path / "fine", fine, env_guard)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No env file is tracked." in result.stdout
    for bad in (".env", "app/.env.local", "config/prod.env", ".envrc"):
        result = guard_in_repo(tmp_path / bad.replace("/", "_"), [*fine, bad], env_guard)
        assert result.returncode == 1, (bad, result.stdout + result.stderr)
        errors = re.findall(r"^::error file=([^:]+)::", result.stdout, re.MULTILINE)
        assert errors == [bad]


def run_deploy_step(
    workflow: dict[str, Any], project: Path, python: Path, hub: HubStandIn
) -> subprocess.CompletedProcess[str]:
    """The Deploy step's shell, as GitHub runs it in its working-directory, backend/."""
    job = workflow["jobs"]["deploy"]
    step = step_named(job, "Deploy")
    here = project.parent / job["defaults"]["run"]["working-directory"]  # the checkout's folder
    home = project.parent.parent / "home"
    env = {
        **hub_step_env(python, home, hub),
        "HF_OIDC_RESOURCE": "",  # vars.HF_OIDC_RESOURCE, unset
        "DEPLOY_POLL_INTERVAL": "0.02",
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=here, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "Traceback" not in output and hub.token not in output, output
    assert ON_THE_SPACE["GROQ_API_KEY"] not in output
    return result


def test_the_deploy_step_uploads_waits_and_keeps_the_spaces_secrets(
    workflow: dict[str, Any], project: Path, project_venvs: ProjectVenvs
) -> None:
    python = project_venvs.python_for(project)
    with HubStandIn(stages=["BUILDING", "RUNNING"]) as hub:
        hub.add_repo(SPACE, secrets=ON_THE_SPACE, variables={"LOG_LEVEL": "INFO"})
        result = run_deploy_step(workflow, project, python, hub)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "kept as set on the Space (--code-only)" in result.stdout
        assert (hub.secrets, hub.variables) == (ON_THE_SPACE, {"LOG_LEVEL": "INFO"})
        assert not [c for c in hub.calls() if c[1].endswith(("/secrets", "/variables"))]
        assert len(hub.commits) == 1 and "Dockerfile" in hub.files
        assert not [name for name in hub.files if name.startswith(("frontend", "../"))]
        assert [r.path for r in hub.space_requests] == ["/health"]

    with HubStandIn() as empty:  # no Space yet: the first deploy is the local one
        result = run_deploy_step(workflow, project, python, empty)
        assert result.returncode == 1
        assert f"{SPACE} does not exist: deploy once from your machine" in result.stderr
        assert empty.created == {} and empty.commits == []

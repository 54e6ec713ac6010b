"""GitHub Actions workflows: the template repo's CI and those every generated Space gets.

Linted with real tools, offline: zizmor (security audits) and check-jsonschema with its
vendored GitHub workflow schema. Everything else is read from the parsed YAML (jobs,
steps, `uses` pins, permissions, env) and, for shell, from whole `run` lines, never
from substrings of the file (`"healthy"` is also in `unhealthy`). The Space's file-size
guard is run for real with bash and git against throwaway repositories.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import FRAMEWORKS, GIT_ENV, ROOT, SERVICES, extension, git, render, run
from workflow_tools import load_workflow, tool

TEMPLATE_WORKFLOWS = ROOT / ".github" / "workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
GUARD_STEP = "Refuse files over 10 MB that Git LFS does not track"
MAIN_ONLY = "github.event_name != 'pull_request' && github.ref == 'refs/heads/main'"
# The only jobs given more than read access, and exactly what they get.
WIDER_PERMISSIONS = {
    ("docs.yml", "deploy"): {"pages": "write", "id-token": "write"},
    ("update.yml", "update"): {"contents": "write", "pull-requests": "write"},  # its branch, PR
    ("preview.yml", "comment"): {"pull-requests": "write"},  # its one comment; no code, no secret
}
MB = 1024 * 1024


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def lines(*items: dict[str, Any]) -> list[str]:
    """The shell lines of steps (or of all steps of jobs), stripped, comments dropped."""
    found = []
    for item in items:
        for step in item.get("steps", [item]):
            for line in str(step.get("run", "")).splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    found.append(line)
    return found


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [step for step in job["steps"] if step.get("name") == name]
    assert len(matches) == 1, f"{len(matches)} steps named {name!r}"
    return matches[0]


def action(step: dict[str, Any]) -> str:
    """``owner/repo`` of a ``uses`` step ("" for a ``run`` step)."""
    return str(step.get("uses", "")).split("@")[0]


def index_of(job: dict[str, Any], line: str) -> int:
    """Index of the step that runs exactly ``line``; fails when none does."""
    for index, step in enumerate(job["steps"]):
        if line in lines(step):
            return index
    raise AssertionError(f"no step runs the line {line!r}: {lines(job)}")


def assert_healthy_wait(step: dict[str, Any]) -> None:
    """A step that polls the Docker health status, exits 0 only on exactly "healthy"
    and fails after the loop."""
    shell = lines(step)
    assert any(re.search(r"\.State\.Health\.Status", line) for line in shell), shell
    assert [line for line in shell if re.search(r'\[ "\$status" = healthy \]', line)], shell
    assert shell[-1] == "exit 1", shell


@pytest.fixture(scope="session")
def spaces(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Rendered Spaces by github_sync answer, preview_spaces the same (Python 3.12, to see the
    version carried over)."""
    base = tmp_path_factory.mktemp("workflows")
    return {
        sync: render(
            base / f"sync-{sync}", github_sync=sync, preview_spaces=sync, python_version="3.12"
        )
        for sync in (True, False)
    }


def all_workflow_files(spaces: dict[bool, Path]) -> list[Path]:
    files = sorted(TEMPLATE_WORKFLOWS.glob("*.yml"))
    for project in spaces.values():
        files += sorted((project / ".github" / "workflows").glob("*.yml"))
    return files


# --- linters -----------------------------------------------------------------------------------


def test_zizmor_finds_nothing(spaces: dict[bool, Path]) -> None:
    zizmor = tool("zizmor")
    for directory in [TEMPLATE_WORKFLOWS] + [p / ".github" / "workflows" for p in spaces.values()]:
        result = run(zizmor, "--offline", "--no-progress", str(directory), cwd=directory)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No findings" in result.stdout + result.stderr


def test_template_ci_passes_zizmor_pedantic() -> None:
    result = run(
        tool("zizmor"), "--offline", "--no-progress", "--persona", "pedantic",
        str(TEMPLATE_WORKFLOWS), cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_match_githubs_schema(spaces: dict[bool, Path]) -> None:
    files = all_workflow_files(spaces)
    assert sorted(p.name for p in TEMPLATE_WORKFLOWS.glob("*.yml")) == ["ci.yml", "docs.yml"]
    assert len(files) == 8  # the template's two; the Spaces' ci.yml, update.yml twice; one
    # sync-to-hub.yml and one preview.yml
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
        *map(str, files), cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_actions_pinned_and_credentials_not_kept(spaces: dict[bool, Path]) -> None:
    for path in all_workflow_files(spaces):
        workflow = load_workflow(path)
        assert workflow["permissions"] == {"contents": "read"}, path
        text = path.read_text(encoding="utf-8")
        for name, job in workflow["jobs"].items():
            wanted = WIDER_PERMISSIONS.get((path.name, name), {"contents": "read"})
            assert job.get("permissions", {"contents": "read"}) == wanted, (path, name)
            assert isinstance(job["timeout-minutes"], int), (path, name)  # no 6-hour hang
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), (path, name, step)
                # No ${{ }} inside shell: values reach scripts through env only.
                assert "${{" not in step.get("run", ""), (path, name, step.get("name"))
                if "uses" not in step:
                    continue
                assert SHA_PIN.match(step["uses"]), (path, step["uses"])
                # A version comment beside every SHA, for humans and update bots.
                assert re.search(re.escape(step["uses"]) + r" # v\d", text), (path, step["uses"])
                if action(step) == "actions/checkout":
                    assert step["with"]["persist-credentials"] is False, path


# --- the generated Space's workflows ---------------------------------------------------------


def test_sync_workflow_only_when_asked(spaces: dict[bool, Path]) -> None:
    assert (spaces[True] / ".github" / "workflows" / "sync-to-hub.yml").is_file()
    assert not (spaces[False] / ".github" / "workflows" / "sync-to-hub.yml").exists()
    workflows = sorted(p.name for p in (spaces[False] / ".github" / "workflows").iterdir())
    assert workflows == ["ci.yml", "update.yml"]


def test_space_ci_tests_lints_builds_and_probes(spaces: dict[bool, Path]) -> None:
    for project in spaces.values():
        workflow = load_workflow(project / ".github" / "workflows" / "ci.yml")
        assert workflow["on"]["push"]["branches"] == ["main"]
        assert "pull_request" in workflow["on"]
        assert set(workflow["jobs"]) == {"test", "docker"}
        test_job, docker_job = workflow["jobs"]["test"], workflow["jobs"]["docker"]

        assert action(test_job["steps"][0]) == "actions/checkout"
        (setup,) = [s for s in test_job["steps"] if action(s) == "actions/setup-python"]
        assert setup["with"]["python-version"] == "3.12"  # the answer, carried over
        order = [
            index_of(test_job, line)
            for line in (
                "python -m pip install -r requirements-dev.txt",
                "ruff check .",
                "ruff format --check .",
                "python -m pytest",
            )
        ]
        assert test_job["steps"].index(setup) < order[0]
        assert order == sorted(order), "install, then lint, then test"

        assert action(docker_job["steps"][0]) == "actions/checkout"
        build = index_of(docker_job, "docker build --tag space:ci .")
        probe = step_named(docker_job, "Run as a Space does and probe /health/live")
        shell = lines(probe)
        run_line = next(line for line in shell if line.startswith("docker run "))
        assert "--publish 127.0.0.1:7860:7860" in run_line  # the Space's port, local only
        live = "curl --silent --fail --max-time 2 http://127.0.0.1:7860/health/live"
        assert shell.count(live) == 1, "after the wait loop, one check that must pass"
        assert 'test "$(docker exec space id -u)" = 1000' in shell  # runs as the Space's uid
        assert build < docker_job["steps"].index(probe)
        assert_healthy_wait(step_named(docker_job, "Docker HEALTHCHECK reports healthy"))
        logs = step_named(docker_job, "Container log")
        assert logs["if"] == "always()"


# --- the file-size guard, run for real -------------------------------------------------------


@pytest.fixture(scope="module")
def guard_script(spaces: dict[bool, Path]) -> str:
    workflow = load_workflow(spaces[True] / ".github" / "workflows" / "sync-to-hub.yml")
    step = next(s for s in steps(workflow) if s.get("name") == GUARD_STEP)
    assert step["shell"] == "bash"
    return step["run"]


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> None:
        git(self.path, *args)

    def commit(self, files: dict[str, bytes], remove: tuple[str, ...] = ()) -> None:
        for name, content in files.items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_bytes(content)
        for name in remove:
            self.git("rm", "-q", name)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "change")

    def guard(self, script: str) -> subprocess.CompletedProcess[str]:
        # As GitHub runs a `shell: bash` step.
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.path, env=GIT_ENV, capture_output=True, text=True, check=False,
        )  # fmt: skip


def test_size_guard_passes_small_files_and_lfs_pointers(tmp_path: Path, guard_script) -> None:
    repo = Repo(tmp_path)
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\n"
    repo.commit(
        {
            "app/main.py": b"print('hi')\n",
            "data/exactly-10-MiB.bin": b"\0" * (10 * MB),
            ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
            "model.safetensors": pointer + b"size 52428800\n",
        }
    )
    result = repo.guard(guard_script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No file over 10 MB" in result.stdout


def test_size_guard_names_a_big_file_outside_lfs(tmp_path: Path, guard_script) -> None:
    repo = Repo(tmp_path)
    repo.commit({"app/main.py": b"x = 1\n", "data/big file.bin": os.urandom(10 * MB + 1)})
    result = repo.guard(guard_script)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"::error file=data/big file.bin::data/big file.bin is {10 * MB + 1} bytes" in (
        result.stdout
    )


def test_size_guard_sees_a_big_file_left_in_history(tmp_path: Path, guard_script) -> None:
    repo = Repo(tmp_path)
    repo.commit({"weights.bin": os.urandom(11 * MB)})
    repo.commit({"app/main.py": b"x = 1\n"}, remove=("weights.bin",))
    result = repo.guard(guard_script)
    assert result.returncode == 1
    assert "weights.bin" in result.stdout


# --- the template repository's CI matrix -----------------------------------------------------


def copier_choices(question: str) -> list[str]:
    return list(
        yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))[question]["choices"]
    )


def test_template_ci_matrix_covers_the_variants() -> None:
    workflow = load_workflow(TEMPLATE_WORKFLOWS / "ci.yml")
    jobs = workflow["jobs"]
    assert {"lint", "render", "docker"} <= set(jobs)
    pythons = copier_choices("python_version")

    render_matrix = jobs["render"]["strategy"]["matrix"]
    assert render_matrix["framework"] == list(FRAMEWORKS)
    assert render_matrix["python"] == pythons
    sets = render_matrix["services"]
    assert {"none", "all"} <= set(sets) and len(sets) >= 4
    assert set(sets) - {"none", "all"} <= set(SERVICES)
    assert jobs["render"]["env"]["PYTHON_VERSION"] == "${{ matrix.python }}"
    render_runs = lines(jobs["render"])
    copier = [line for line in render_runs if re.match(r'"?\S*copier"? copy ', line)]
    assert len(copier) == 1 and "--vcs-ref HEAD" in copier[0], render_runs
    assert '--data "python_version=$PYTHON_VERSION" . "$RUNNER_TEMP/space"' in render_runs
    for line in ("python -m pip install -r requirements-dev.txt", "python -m pytest -q"):
        assert line in render_runs

    docker_matrix = jobs["docker"]["strategy"]["matrix"]
    assert docker_matrix["framework"] == list(FRAMEWORKS)
    assert docker_matrix["services"] == ["none", "all"]
    assert docker_matrix["python"] == pythons
    docker_runs = lines(jobs["docker"])
    assert (
        'docker build --build-arg "PYTHON_IMAGE=python:$PYTHON_VERSION-slim" --tag space:ci .'
        in docker_runs
    )
    probe = lines(step_named(jobs["docker"], "Run as a Space does and probe /health/live"))
    assert probe.count("curl --silent --fail --max-time 2 http://127.0.0.1:7860/health/live") == 1
    assert 'if [ "$SERVICE_SET" = none ]; then test "$code" = 200; else test "$code" = 503; fi' in (
        probe
    )
    assert_healthy_wait(step_named(jobs["docker"], "Docker HEALTHCHECK reports healthy"))

    lint_runs = lines(jobs["lint"])
    assert [line for line in lint_runs if line.startswith("ruff check extensions tests")]
    assert [line for line in lint_runs if line.startswith("ruff format --check extensions tests")]
    assert 'hadolint --failure-threshold warning "$RUNNER_TEMP/$framework/Dockerfile"' in lint_runs
    assert "zizmor --offline .github/workflows" in lint_runs

    suite = jobs["suite"]
    assert step_named(suite, "pytest")["env"] == {"CI": "true"}  # a missing engine fails
    assert lines(step_named(suite, "pytest")) == ["python -m pytest"]


def test_template_ci_renders_every_optional_part(tmp_path: Path) -> None:
    """The `features` job turns on every part of the catalogue, models and the monorepo
    folder; each variant's answers pass the template's checks and render."""
    job = load_workflow(TEMPLATE_WORKFLOWS / "ci.yml")["jobs"]["features"]
    matrix = job["strategy"]["matrix"]
    assert matrix["framework"] == list(FRAMEWORKS)
    variants = {entry["variant"]: entry for entry in matrix["include"]}
    assert sorted(variants) == sorted(matrix["variant"])
    answers = {
        name: dict(item.split("=", 1) for item in entry["answers"].split())  # as `read -ra`
        for name, entry in variants.items()
    }

    def holds(given: dict[str, str], question: str, value: Any) -> bool:
        answer = str(given.get(question, "")).lower()
        return answer not in ("", "false") if value is True else answer == str(value).lower()

    def turned_on(when: dict[str, Any]) -> bool:
        return any(all(holds(given, q, v) for q, v in when.items()) for given in answers.values())

    features = extension.load_catalogue()["features"]
    for name, feature in features.items():
        assert turned_on(feature["when"]), f"no variant turns on {name}"
        for variable in feature["variables"]:
            assert turned_on({**feature["when"], **variable.get("when", {})}), variable["name"]
    assert turned_on({"model_runtime": "files"}) and turned_on({"space_dir": "backend"})
    for name, given in answers.items():
        extension.check_answers(given)  # raises with the problem
        folder = variants[name].get("folder", "")
        project = render(tmp_path / name, framework="flask", **given)
        assert (project / folder / "requirements-dev.txt").is_file(), name
        assert not folder or not (project / "requirements-dev.txt").exists()
    steps = lines(job)
    assert 'for answer in "${answers[@]}"; do data+=(--data "$answer"); done' in steps
    for step in job["steps"][-2:]:
        assert step["working-directory"] == "${{ runner.temp }}/repo/${{ matrix.folder }}"
    assert lines(job["steps"][-1]) == [
        "ruff check .",
        "ruff format --check .",
        "python -m pytest -q",
    ]


def test_docs_site_is_built_strictly_and_published_from_main_only() -> None:
    workflow = load_workflow(TEMPLATE_WORKFLOWS / "docs.yml")
    assert set(workflow["jobs"]) == {"build", "deploy"}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert 'mkdocs build --strict --site-dir "$RUNNER_TEMP/site"' in lines(build)
    (upload,) = [s for s in build["steps"] if action(s) == "actions/upload-pages-artifact"]
    assert upload["if"] == MAIN_ONLY
    assert deploy["needs"] == "build" and deploy["if"] == MAIN_ONLY
    assert [action(s) for s in deploy["steps"]] == [
        "actions/configure-pages",
        "actions/deploy-pages",
    ]
    assert workflow["concurrency"]["cancel-in-progress"] is False  # a deploy is never cut off

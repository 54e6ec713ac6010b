"""Helpers shared by the template's tests: rendering, the catalogue, project virtualenvs."""

from __future__ import annotations

import atexit
import functools
import hashlib
import http.client
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The Space's files inside template/ (the folder `space_dir` names, "." by default).
SPACE_TEMPLATE = ROOT / "template" / "{{ space_root }}"
FRAMEWORKS = ("fastapi", "flask")
# `hf-space` from this checkout's tooling/, for tests that run it with this interpreter (a
# rendered Space's own venv installs it from requirements-dev.txt instead).
HF_SPACE = [sys.executable, "-m", "hf_space_tools"]
TOOLING_ENV = {**os.environ, "PYTHONPATH": str(ROOT / "tooling")}
#: Set by ``pytest --quick`` (tests/conftest.py): the tier that builds no virtualenv or image
#: and starts no engine. A test that tries to anyway was left unmarked, and fails saying so.
QUICK_TIER_ENV = "HFST_QUICK_TIER"
#: What a copy of this checkout leaves out: git's and tools' folders, caches, the docs build.
NOT_TEMPLATE = shutil.ignore_patterns(
    ".git", ".venv", ".cache", "__pycache__", "*_cache", "site", "*.pyc"
)


def refuse_in_quick_tier(what: str, marker: str) -> None:
    """Fail a test of the quick tier that `what`s: it needs the `marker` marker."""
    if os.environ.get(QUICK_TIER_ENV) == "1":
        import pytest

        pytest.fail(
            f"the quick tier does not {what}: mark this test @pytest.mark.{marker}", pytrace=False
        )


def _load_extension() -> ModuleType:
    """extensions/context.py, imported the way copier-template-extensions does: by path."""
    spec = importlib.util.spec_from_file_location(
        "hfst_context", ROOT / "extensions" / "context.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


extension = _load_extension()
CATALOGUE: dict[str, Any] = extension.load_catalogue()
SERVICES: list[str] = list(CATALOGUE["services"])


def copier_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real copier command line, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "copier", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@functools.cache
def template_snapshot() -> Path:
    """This checkout's files, uncommitted edits included, in a plain folder made once per test
    process. Copier renders a plain folder as it is; a git checkout it clones first, which
    took half of a render's time. Tests of what a git template does (`copier update`,
    `_commit`) pass `template=` a repository of their own."""
    folder = Path(tempfile.mkdtemp(prefix="hfst-template-"))
    atexit.register(shutil.rmtree, folder, True)
    shutil.copytree(ROOT, folder / "template", ignore=NOT_TEMPLATE)
    return folder / "template"


def render(
    destination: Path, template: Path | None = None, vcs_ref: str | None = None, **answers: Any
) -> Path:
    """A Space rendered with `--defaults` and `answers`, by copier's own API (the copier CLI
    is tested on its own in test_answers.py and test_update.py); fails the test on error.
    Without `template`, this checkout's files as they are now."""
    import copier

    copier.run_copy(
        str(template or template_snapshot()), str(destination), data=answers, defaults=True,
        unsafe=True, quiet=True, vcs_ref=vcs_ref,
    )  # fmt: skip
    return destination


def features_of(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The catalogue features the answers turn on (e.g. auth=jwt), defaults filled in."""
    return extension.chosen_features({"auth": "none", **answers})


def variables_of(
    services: list[str], framework: str = "fastapi", answers: dict[str, Any] | None = None
) -> set[str]:
    """Every env var the app (in `framework`), the services and the features of `answers` read."""
    names = {
        v["name"]
        for v in CATALOGUE["app"]["variables"]
        if framework in v.get("frameworks", [framework])
    }
    for service in services:
        names |= {v["name"] for v in CATALOGUE["services"][service]["variables"]}
    for feature in features_of(answers or {}):
        names |= {v["name"] for v in feature["variables"]}
    return names


def requirements_of(
    services: list[str], flavor: str = "elasticsearch9", answers: dict[str, Any] | None = None
) -> set[str]:
    return {
        requirement
        for service in services
        for requirement in extension.service_requirements(CATALOGUE["services"][service], flavor)
    } | {r for feature in features_of(answers or {}) for r in feature["requirements"]}


def http_get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    """(status, body) of a plain GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_app(
    python: Path, project: Path, env: dict[str, str], log_path: Path, port: int
) -> tuple[subprocess.Popen[bytes], float]:
    """`python -m app` in `project`, its output in `log_path`: the process and the seconds until
    /health/live on `port` first answered 200. Fails the test if it exits or takes over 60 s."""
    with log_path.open("wb") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [str(python), "-m", "app"],
            cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    while True:
        if process.poll() is not None:
            raise AssertionError(f"the app exited:\n{log_path.read_text(errors='replace')}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/health/live")
            if connection.getresponse().status == 200:
                return process, time.monotonic() - started
        except OSError:
            pass
        finally:
            connection.close()
        elapsed = time.monotonic() - started
        assert elapsed < 60, f"the app never went live:\n{log_path.read_text(errors='replace')}"
        time.sleep(0.05)


def health_past_imports(port: int, within: float = 60) -> tuple[int, bytes]:
    """GET /health, again while FastAPI says it is still importing the SDKs (the "starting" it
    answers for a second or more after a cold start): (status, body)."""
    deadline = time.monotonic() + within
    while True:
        status, body = http_get(f"http://127.0.0.1:{port}/health", timeout=20)
        if b'"importing the SDKs"' not in body or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def generated_tests_passed(python: Path, project: Path, module: str) -> list[str]:
    """Run a rendered project's own tests (all must pass); the names of those of
    tests/<module> that passed."""
    result = run(python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests/", cwd=project,
                 timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return re.findall(rf"^tests/{re.escape(module)}::(\w+)\S* PASSED", result.stdout, re.M)


# Commits in throwaway repos need an identity; the machine's git config may have none.
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(cwd: Path, *args: str) -> str:
    """`git *args` in `cwd`; its stdout, or the test fails with git's stderr."""
    result = run("git", *args, cwd=cwd, env=GIT_ENV, timeout=120)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def build_venv(location: Path, requirements: list[str], cwd: Path | None = None) -> Path:
    """A new virtualenv at `location` with `requirements` (pip args) installed; its python.

    uv (a test dependency) installs in a few seconds what pip took half a minute for, a venv
    at a time, which was a third of the full run; users' own installs (README, Dockerfile)
    stay pip's and are tested as such."""
    refuse_in_quick_tier("install a virtualenv", "slow")
    uv = (sys.executable, "-m", "uv")
    made = run(*uv, "venv", "--quiet", "--seed", "--python", sys.executable, location, cwd=ROOT)
    assert made.returncode == 0, made.stdout + made.stderr
    python = location / "bin" / "python"
    result = run(
        *uv, "pip", "install", "--quiet", "--python", python, *pip_settings_for_uv(),
        *requirements, cwd=cwd or location, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return python


@functools.cache
def pip_settings_for_uv() -> tuple[str, ...]:
    """This machine's pip configuration (pip.conf, PIP_* variables: indexes, local wheels,
    constraints) as uv arguments, since uv reads neither; and pip's choice of the best
    version across every index rather than uv's first index that has the package."""
    listed = run(sys.executable, "-m", "pip", "config", "list", cwd=ROOT).stdout
    settings: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        settings[key.rpartition(".")[2]] = value.strip().strip("'\"")
    arguments = ["--index-strategy", "unsafe-best-match"]
    if settings.get("cert"):  # a CA bundle of its own: the system's store has it
        arguments.append("--native-tls")
    for name, option in (
        ("index-url", "--index-url"),
        ("extra-index-url", "--extra-index-url"),
        ("find-links", "--find-links"),
        ("constraint", "--constraint"),
    ):
        for value in settings.get(name, "").split():
            arguments += [option, value]
    return tuple(arguments)


def shared_venv(base: Path, key: str, requirements: list[str], cwd: Path | None = None) -> Path:
    """The python of the virtualenv `base`/`key`, built with `requirements` unless it is there.

    `base` is shared by every pytest process of a run (xdist workers included): a file lock
    lets the first one build while the others wait, then all use the same venv. A build that
    failed or was cut short left no ".ready" mark, so the next caller starts it over.
    """
    from filelock import FileLock

    location, ready = base / key, base / key / ".ready"
    with FileLock(base / f"{key}.lock", timeout=1800):
        if not ready.exists():
            shutil.rmtree(location, ignore_errors=True)
            build_venv(location, requirements, cwd=cwd)
            ready.touch()
    return location / "bin" / "python"


class ProjectVenvs:
    """One virtualenv per distinct set of a rendered project's requirements, built once a run.

    Keyed by the bytes of requirements.txt and requirements-dev.txt: projects rendered with
    the same answers share a venv, across test modules and xdist workers (shared_venv).
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self._built: dict[str, Path] = {}

    def python_for(self, project: Path) -> Path:
        requirements = (project / "requirements.txt").read_bytes() + (
            project / "requirements-dev.txt"
        ).read_bytes()
        # hf-space-tools from this process's copy of the checkout (template_snapshot): the
        # same files in every process, so it does not make another venv.
        snapshot = rb"(?m)^hf-space-tools @ file://\S*/hfst-template-[^/]+/template/tooling$"
        requirements = re.sub(snapshot, b"", requirements)
        key = hashlib.sha256(requirements).hexdigest()[:16]
        if key not in self._built:
            requirements = ["-r", "requirements-dev.txt"]
            self._built[key] = shared_venv(self.base, key, requirements, cwd=project)
        return self._built[key]


def run_shared_dir(tmp_path_factory: Any, name: str) -> Path:
    """A folder every pytest process of this run shares: under the basetemp root, which
    xdist workers have as the parent of their own basetemp."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / name
    folder.mkdir(exist_ok=True)
    return folder

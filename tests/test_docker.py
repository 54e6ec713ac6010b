"""Every variant's image, built and run with a real Docker engine through the Docker SDK.

Variants: FastAPI and Flask x (no services, all services). Each is rendered, given a
`.env`, a `.git` and its `tests/` in the build context, built once a session with the
classic builder (FROM the local python:3.11-slim stand-in, or the real image when it is
present), run, and probed from outside. Images and containers are removed at the end.

Figures (image size, cold start, code-only rebuild) are printed, never asserted:
bench/run measures them side by side (docs/benchmarks.md).

The all-services images also run under `hf-space local`, as on a Space, with every
service on 443 (space_sandbox.py): each Space gets a name of its own, as the command tags
its image by it.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from engines import base_image, docker_client
from space_sandbox import (
    Backends,
    check_a_database_on_5432_fails,
    check_every_service_on_443,
    serve_every_service,
)
from support import FRAMEWORKS, SERVICES, render

pytestmark = pytest.mark.docker

PACKAGE = "app"
HOME = "/home/user"
HEALTHCHECK_TEST = ["CMD", "python", "-m", f"{PACKAGE}.healthcheck"]
SERVICE_SETS: dict[str, list[str]] = {"none": [], "all": SERVICES}
VARIANTS = [
    pytest.param((framework, label), id=f"{framework}-{label}")
    for framework in FRAMEWORKS
    for label in SERVICE_SETS
]
SESSION = uuid.uuid4().hex[:10]
LABELS = {"hf-space-template.test": SESSION}
LIVE_WITHIN = 30.0
# Put in the build context on purpose: none of them may reach the image.
DOTENV = "GROQ_API_KEY=gsk_from_a_local_dotenv_never_in_the_image\n"
NEVER_IN_IMAGE = (
    ".env",
    ".git",
    "tests",
    "Dockerfile",
    ".dockerignore",
    "requirements-dev.txt",
)
# World-writable sticky scratch dirs every Debian-based python image ships besides /tmp.
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/run/lock")
SECOND = 1_000_000_000  # the Docker API counts healthcheck durations in nanoseconds


@dataclass
class Space:
    """A rendered variant and its built image."""

    framework: str
    label: str
    project: Path
    image: Any
    build_seconds: float
    extra_images: list[str] = field(default_factory=list)

    @property
    def services(self) -> list[str]:
        return SERVICE_SETS[self.label]


@dataclass
class Running:
    container: Any
    started: float

    def host_port(self, container_port: int) -> int:
        self.container.reload()
        bindings = self.container.ports.get(f"{container_port}/tcp") or []
        assert bindings, f"{container_port}/tcp is not published: {self.container.ports}"
        return int(bindings[0]["HostPort"])

    def sh(self, script: str, user: str = "1000") -> tuple[int, str]:
        code, output = self.container.exec_run(["sh", "-c", script], user=user)
        return code, output.decode(errors="replace")

    def python(self, code: str, user: str = "1000") -> Any:
        """Runs `code` in the container's python; it must print one JSON document."""
        exit_code, output = self.container.exec_run(["python", "-c", code], user=user)
        text = output.decode(errors="replace")
        assert exit_code == 0, text
        return json.loads(text)

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")[-3000:]


# --- engine, figures, images ---------------------------------------------------------------


@pytest.fixture(scope="session")
def engine() -> Iterator[tuple[Any, str]]:
    """(Docker client, base image for FROM); removes this session's leftover containers."""
    client = docker_client()
    base = base_image(client, "3.11")
    yield client, base
    label = "hf-space-template.test=" + SESSION
    for container in client.containers.list(all=True, filters={"label": label}):
        with suppress(Exception):
            container.remove(force=True)


@pytest.fixture(scope="session")
def figures(request: pytest.FixtureRequest) -> Iterator[dict[str, dict[str, float]]]:
    """Measurements per variant, printed to the test log at the end of the session."""
    table: dict[str, dict[str, float]] = {}
    yield table
    if not table:
        return
    columns = ("size_mb", "build_s", "cold_start_s", "rebuild_s")
    lines = ["", "docker image figures (bench/run measures them side by side):"]
    lines.append(f"  {'variant':<14}" + "".join(f"{c:>14}" for c in columns))
    for variant, values in sorted(table.items()):
        cells = "".join(f"{values[c]:>14.1f}" if c in values else f"{'-':>14}" for c in columns)
        lines.append(f"  {variant:<14}{cells}")
    text = "\n".join(lines)
    print(text)
    # Shown in the terminal even when output is captured (the default).
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(text)


def build(client: Any, project: Path, base: str, tag: str) -> tuple[Any, str, float]:
    """(image, build log text, seconds) of a classic-builder build of `project`."""
    import docker

    started = time.perf_counter()
    try:
        image, stream = client.images.build(
            path=str(project),
            tag=tag,
            buildargs={"PYTHON_IMAGE": base},
            labels=LABELS,
            rm=True,
            forcerm=True,
        )
    except docker.errors.BuildError as error:
        log = "".join(chunk.get("stream", "") for chunk in error.build_log)
        pytest.fail(f"docker build of {project} failed: {error}\n{log[-4000:]}", pytrace=False)
    log = "".join(chunk.get("stream", "") for chunk in stream)
    return image, log, time.perf_counter() - started


def prepare_context(project: Path) -> None:
    """Local files a developer has next to the code: a .env, a git checkout, the tests."""
    (project / ".env").write_text(DOTENV, encoding="utf-8")
    result = subprocess.run(
        ["git", "init", "-q", str(project)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (project / ".git").is_dir() and (project / "tests").is_dir()


@pytest.fixture(scope="session", params=VARIANTS)
def space(request: pytest.FixtureRequest, engine, figures, tmp_path_factory) -> Iterator[Space]:
    """One variant, rendered and built once a session; its images are removed afterwards."""
    client, base = engine
    framework, label = request.param
    project = render(
        tmp_path_factory.mktemp(f"docker-{framework}-{label}") / "space",
        framework=framework,
        services=SERVICE_SETS[label],
        space_name=f"docker-{framework}-{label}-{SESSION}",
    )
    prepare_context(project)
    tag = f"hf-space-template-test/{framework}-{label}:{SESSION}"
    image, _, seconds = build(client, project, base, tag)
    result = Space(framework, label, project, image, seconds)
    size_mb = image.attrs["Size"] / 1e6
    figures.setdefault(f"{framework}/{label}", {}).update(size_mb=size_mb, build_s=seconds)
    yield result
    for image_id in [*result.extra_images, image.id]:
        with suppress(Exception):
            client.images.remove(image_id, force=True)


# --- containers --------------------------------------------------------------------------------


@contextmanager
def run_container(client: Any, space: Space, ports: tuple[int, ...] = (7860,), **options: Any):
    """The image running detached, given ports published on 127.0.0.1; always removed."""
    started = time.monotonic()
    container = client.containers.run(
        space.image.id,
        detach=True,
        labels=LABELS,
        ports={f"{port}/tcp": ("127.0.0.1", None) for port in ports},
        **options,
    )
    try:
        yield Running(container, started)
    finally:
        with suppress(Exception):
            container.remove(force=True)


def http_get(url: str, timeout: float = 5) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_live(running: Running, port: int, within: float = LIVE_WITHIN) -> float:
    """Seconds from `docker run` to the first 200 from /health/live; fails after `within`."""
    url = f"http://127.0.0.1:{running.host_port(port)}/health/live"
    deadline = running.started + within
    last: object = None
    while time.monotonic() < deadline:
        try:
            status, body = http_get(url, timeout=2)
            if status == 200:
                assert body == {"status": "ok"}
                return time.monotonic() - running.started
            last = status
        except (OSError, ValueError) as error:  # not listening yet; proxy resets
            last = error
        running.container.reload()
        if running.container.status == "exited":
            break
        time.sleep(0.1)
    pytest.fail(
        f"/health/live gave no 200 within {within:g} s (last: {last!r})\n{running.logs()}",
        pytrace=False,
    )


def wait_health_status(running: Running, wanted: str, within: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        running.container.reload()
        health = running.container.attrs["State"].get("Health") or {}
        if health.get("Status") == wanted:
            return health
        time.sleep(0.2)
    pytest.fail(f"health status is not {wanted!r} after {within:g} s: {health}", pytrace=False)


@pytest.fixture(scope="session")
def running(space: Space, engine, figures) -> Iterator[Running]:
    """The variant's image started once with no environment, as a fresh Space starts it."""
    client, _ = engine
    with run_container(client, space) as started:
        cold_start = wait_live(started, 7860)
        figures[f"{space.framework}/{space.label}"]["cold_start_s"] = cold_start
        print(f"{space.framework}/{space.label}: cold start {cold_start:.2f} s")
        yield started


# --- the image ---------------------------------------------------------------------------------


def test_image_metadata_matches_the_template(space: Space) -> None:
    config = space.image.attrs["Config"]
    print(f"{space.framework}/{space.label}: {space.image.attrs['Size'] / 1e6:.0f} MB")
    assert config["User"] == "user"
    assert "7860/tcp" in config["ExposedPorts"]
    assert config["Cmd"] == ["python", "-m", PACKAGE]
    assert config["WorkingDir"] == f"{HOME}/app"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["HOME"] == HOME
    assert env["PATH"].startswith(f"{HOME}/.local/bin:")
    assert env["HF_HOME"].startswith(HOME + "/")
    # Docker's HEALTHCHECK is the template's command, no curl.
    assert config["Healthcheck"]["Test"] == HEALTHCHECK_TEST
    dockerfile = (space.project / "Dockerfile").read_text(encoding="utf-8")
    assert f'CMD ["python", "-m", "{PACKAGE}.healthcheck"]' in dockerfile


def test_image_holds_no_local_files(space: Space, running: Running) -> None:
    for name in (".env", ".git", "tests"):
        assert (space.project / name).exists(), f"{name} should sit in the build context"
    code, listing = running.sh(f"ls -A {HOME}/app")
    assert code == 0, listing
    present = set(listing.split())
    assert {PACKAGE, "requirements.txt"} <= present
    assert not present & set(NEVER_IN_IMAGE), present
    code, found = running.sh(
        "find / -xdev \\( -name .env -o -name .git -o -name test_health.py \\) -print",
        user="root",
    )
    assert found.strip() == "", found


# --- a running container -----------------------------------------------------------------------


def test_live_within_30_s_on_7860_as_uid_1000(space: Space, running: Running) -> None:
    status, body = http_get(f"http://127.0.0.1:{running.host_port(7860)}/health/live")
    assert (status, body) == (200, {"status": "ok"})
    # PID 1 is the app itself, and every process in the container runs as uid 1000.
    code, cmdline = running.sh("tr '\\0' ' ' < /proc/1/cmdline")
    assert cmdline.split() == ["python", "-m", PACKAGE], cmdline
    code, uids = running.sh("grep -h '^Uid:' /proc/[0-9]*/status")
    assert code == 0, uids
    for line in uids.splitlines():
        assert line.split()[1:] == ["1000"] * 4, uids
    code, default_user = running.container.exec_run("id -u")
    assert default_user.decode().strip() == "1000"
    listening = running.python(
        "import json, socket\n"
        "s = socket.create_connection(('127.0.0.1', 7860), 2)\n"
        "print(json.dumps(s.getpeername()[1]))"
    )
    assert listening == 7860


def test_only_home_and_tmp_are_writable(running: Running) -> None:
    result = running.python(
        "import json, os, sysconfig\n"
        "def writable(d):\n"
        "    try:\n"
        "        os.makedirs(d, exist_ok=True)\n"
        "        p = os.path.join(d, '.write-probe')\n"
        "        open(p, 'x').close(); os.remove(p)\n"
        "        return True\n"
        "    except OSError:\n"
        "        return False\n"
        "dirs = ['/', '/usr', '/usr/local', '/usr/lib', '/etc', '/var', '/opt', '/root',\n"
        "        '/home', '/srv', '/app', '/bin', sysconfig.get_paths()['stdlib'],\n"
        "        sysconfig.get_paths()['purelib'], os.environ['HOME'],\n"
        "        os.environ['HOME'] + '/app', os.environ['HF_HOME'], '/tmp']\n"
        "print(json.dumps({'home': os.environ['HOME'], 'hf_home': os.environ['HF_HOME'],\n"
        "                  'writable': {d: writable(d) for d in dirs}}))"
    )
    writable = {path for path, ok in result["writable"].items() if ok}
    assert result["home"] == HOME
    assert writable == {HOME, f"{HOME}/app", result["hf_home"], "/tmp"}, result
    # Nothing else in the image's filesystem is writable, bar the sticky scratch dirs.
    _, found = running.sh("find / -xdev -writable -type d 2>/dev/null")
    others = {
        path
        for path in found.split()
        if path != HOME and not path.startswith(HOME + "/") and path not in SCRATCH_DIRS
    }
    assert others == set(), found
    _, modes = running.sh("stat -L -c '%a %n' " + " ".join(SCRATCH_DIRS))
    assert all(line.startswith("1777 ") for line in modes.splitlines()), modes


def test_listens_on_port_from_env_and_becomes_healthy(engine, space: Space) -> None:
    client, _ = engine
    fast = {"interval": SECOND, "start_period": 20 * SECOND}
    options = {"environment": {"PORT": "8080"}, "healthcheck": fast}
    with run_container(client, space, ports=(8080,), **options) as started:
        wait_live(started, 8080)
        refused = started.python(
            "import json, socket\n"
            "try:\n"
            "    socket.create_connection(('127.0.0.1', 7860), 2)\n"
            "    print(json.dumps(False))\n"
            "except OSError:\n"
            "    print(json.dumps(True))"
        )
        assert refused, "still listening on 7860 with PORT=8080"
        # The image's own healthcheck command follows PORT too.
        wait_health_status(started, "healthy")


def test_docker_healthcheck_reaches_healthy(engine, space: Space) -> None:
    client, _ = engine
    # Only the timing is overridden: the engine keeps the image's test command.
    fast = {"interval": SECOND, "start_period": 20 * SECOND, "timeout": 5 * SECOND}
    with run_container(client, space, healthcheck=fast) as started:
        config = started.container.attrs["Config"]["Healthcheck"]
        assert config["Test"] == HEALTHCHECK_TEST
        assert config["Interval"] == SECOND
        health = wait_health_status(started, "healthy")
        assert health["Log"][-1]["ExitCode"] == 0


# --- readiness ---------------------------------------------------------------------------------


def test_readiness_reports_the_given_services(engine, space: Space, running: Running) -> None:
    status, body = http_get(f"http://127.0.0.1:{running.host_port(7860)}/health", timeout=15)
    if not space.services:
        assert (status, body) == (200, {"status": "ok", "services": {}, "startup": {}})
        return
    # Nothing set (the .env in the build context stayed out): every service says what to set.
    assert status == 503, body
    assert body["status"] == "error"
    assert sorted(body["services"]) == sorted(space.services)
    for name, result in body["services"].items():
        assert result["status"] == "unconfigured", (name, result)
        assert result["detail"].startswith("set "), (name, result)

    # One service configured but unreachable: it alone is an error, with a reason.
    client, _ = engine
    environment = {
        "GROQ_API_KEY": "gsk_test_key_not_real",
        "GROQ_BASE_URL": "http://127.0.0.1:9",  # nothing listens there
        "HEALTH_CHECK_TIMEOUT": "3",
    }
    with run_container(client, space, environment=environment) as started:
        wait_live(started, 7860)
        port = started.host_port(7860)
        status, body = http_get(f"http://127.0.0.1:{port}/health", timeout=15)
    assert status == 503, body
    groq = body["services"]["groq"]
    assert groq["status"] == "error" and groq["detail"], groq
    others = {name: r["status"] for name, r in body["services"].items() if name != "groq"}
    assert set(others.values()) == {"unconfigured"}, others


# --- rebuilds ----------------------------------------------------------------------------------


def pip_step_output(log: str) -> str:
    """The build output of the `RUN pip install` step, up to the next step."""
    for step in re.split(r"^Step \d+/\d+ : ", log, flags=re.MULTILINE):
        if step.startswith("RUN pip install"):
            return step
    pytest.fail("no RUN pip install step in the build log:\n" + log[-3000:], pytrace=False)


def layer_ids(client: Any, image_id: str) -> dict[str, str]:
    """Layer id by the instruction that made it, for the image's own history."""
    return {
        entry["CreatedBy"]: entry["Id"]
        for entry in client.api.history(image_id)
        if entry["Id"] != "<missing>"
    }


def test_code_only_change_reuses_the_dependency_layer(
    engine, space: Space, figures: dict[str, dict[str, float]]
) -> None:
    client, base = engine
    module: Path = space.project / PACKAGE / "__init__.py"
    original = module.read_text(encoding="utf-8")
    module.write_text(original + "\n# a code-only change\n", encoding="utf-8")
    try:
        tag = f"hf-space-template-test/{space.framework}-{space.label}:{SESSION}-rebuilt"
        image, log, seconds = build(client, space.project, base, tag)
        space.extra_images.append(image.id)
    finally:
        module.write_text(original, encoding="utf-8")
    figures[f"{space.framework}/{space.label}"]["rebuild_s"] = seconds
    print(f"{space.framework}/{space.label}: code-only rebuild {seconds:.1f} s")
    pip_output = pip_step_output(log)
    assert "Using cache" in pip_output, pip_output
    assert "Collecting" not in log and "Successfully installed" not in log, log[-3000:]
    assert image.id != space.image.id  # the code layer did change
    before, after = layer_ids(client, space.image.id), layer_ids(client, image.id)
    pip_layers = [created for created in before if "pip install" in created]
    assert pip_layers and all(before[c] == after.get(c) for c in pip_layers)


# --- run as on a Space: hf-space local, every service on 443 ------------------------------------

ALL_SERVICES = [variant for variant in VARIANTS if variant.values[0][1] == "all"]


def local_run_tag(space: Space) -> str:
    """The tag `hf-space local` gives the image it builds, removed with the space's images."""
    return f"docker-{space.framework}-{space.label}-{SESSION}:space-local"


@pytest.fixture(scope="module")
def space_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    yield from serve_every_service(tmp_path_factory)


@pytest.mark.engine
@pytest.mark.parametrize("space", ALL_SERVICES, indirect=True)
def test_space_local_run_has_every_service_ok_on_443(
    engine, space: Space, space_backends: Backends
) -> None:
    client, base = engine
    space.extra_images.append(local_run_tag(space))
    check_every_service_on_443(client, space.project, base, space_backends)


@pytest.mark.engine
@pytest.mark.parametrize("space", ALL_SERVICES, indirect=True)
def test_space_local_run_shows_a_database_on_5432_blocked(
    engine, space: Space, space_backends: Backends
) -> None:
    client, base = engine
    space.extra_images.append(local_run_tag(space))
    check_a_database_on_5432_fails(client, space.project, base, space_backends)

"""`hf-space local` (tooling/hf_space_tools/local.py): a local run that behaves like a Space.

A Redis Space is rendered for each framework and its image built once a session (the
command's own builds then come from the cache). Each test runs the real command, which creates
its network, iptables rules, volume and container with the real Docker engine, against real
redis-servers on this machine, reached from the container as host.docker.internal:
- on a port a Space may use (8080, 80 or 443, whichever is free) Redis is ok;
- on any other port it fails as on a Space, and without the rule (--no-egress-rule) the same
  server is reached, so the rule is what blocks;
- the container runs as a Space's does, and after --once, SIGINT or SIGTERM (also while the app
  starts) nothing of the run is left: no container, network, volume or iptables rule.
Each run is looked at, and swept, by its own sandbox's name: other modules' runs (xdist) and
other sessions' may be running meanwhile.
The outbound rule needs root and iptables: without them these tests fail in CI and skip loudly
elsewhere (tests/engines.py), except the one that checks the command's refusal.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from engines import PortInUse, RedisServer, base_image, docker_client, unavailable
from support import FRAMEWORKS, HF_SPACE, TOOLING_ENV, extension, render

pytestmark = pytest.mark.docker

LABEL = "hf-space-local"
ALLOWED = extension.SPACE_OUTBOUND_PORTS[::-1]  # the ports a Space connects out on, 8080 first
RUN_WITHIN = 600  # seconds for one run of the command, build from the cache included
GIB = 1024**3
SESSION = uuid.uuid4().hex[:10]
SANDBOX = re.compile(r"^run: (hfs-[0-9a-f]{8}) ", re.MULTILINE)
RUNS: set[str] = set()  # the sandboxes of this session's runs: the sweep removes only those


@pytest.fixture(scope="session")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """renders(framework) -> a Redis Space, rendered once a session."""
    made: dict[str, Path] = {}

    def get(framework: str) -> Path:
        if framework not in made:
            folder = tmp_path_factory.mktemp(f"space-local-{framework}") / "space"
            name = f"space-local-{framework}-{SESSION}"  # the command tags its image by it
            made[framework] = render(
                folder, framework=framework, services=["redis"], space_name=name
            )
        return made[framework]

    return get


@pytest.fixture(scope="session")
def engine() -> Iterator[tuple[Any, str, list[str]]]:
    """(Docker client, base image, tags to remove at the end)."""
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        unavailable("the Space's outbound rule needs root and iptables (.ci/run runs as root)")
    client = docker_client()
    tags: list[str] = []
    yield client, base_image(client, "3.11"), tags
    sweep(client)
    for tag in tags:
        with suppress(Exception):
            client.images.remove(tag, force=True)


@pytest.fixture(scope="session")
def spaces(engine, renders) -> Callable[[str], Path]:
    """spaces(framework) -> the rendered Space, its image built once (the command's builds then
    come from the cache)."""
    import docker

    client, base, tags = engine
    built: set[str] = set()

    def get(framework: str) -> Path:
        project = renders(framework)
        if framework not in built:
            table = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["hf-space"]
            tags.append(table["space-id"].split("/")[1].lower() + ":space-local")  # the command's
            tags.append(tag := f"hf-space-template-test/space-local-{framework}:{SESSION}")
            try:
                client.images.build(
                    path=str(project), tag=tag, buildargs={"PYTHON_IMAGE": base}, rm=True
                )
            except docker.errors.BuildError as error:
                pytest.fail(f"docker build of {project} failed: {error}", pytrace=False)
            built.add(framework)
        return project

    return get


def sandbox_of(output: str) -> str:
    """The name of the run's sandbox, as the command printed it; remembered for the sweep."""
    found = SANDBOX.search(output)
    assert found, output
    RUNS.add(found[1])
    return found[1]


def sweep(client: Any) -> None:
    """Remove what a run killed before its clean-up left behind (a failed test's, never a pass)."""
    for name in RUNS:
        left = leftovers(client, name)
        for container in client.containers.list(all=True, filters={"label": f"{LABEL}={name}"}):
            with suppress(Exception):
                container.remove(force=True)
        for made in [
            *map(client.networks.get, left["networks"]),
            *map(client.volumes.get, left["volumes"]),
        ]:
            with suppress(Exception):
                made.remove()
        for rule in left["rules"]:  # "-A CHAIN spec" -> "-D CHAIN spec"
            subprocess.run(["iptables", "-w", "-D", *shlex.split(rule)[1:]], check=False)


def start_redis(port: int | None = None) -> RedisServer:
    """A real redis-server listening on every address, so the container reaches it."""
    server = RedisServer()
    server.host = "0.0.0.0"
    if port is None:
        return server.start()
    server.port = port  # a fixed port: start() then launches on it without picking another
    try:
        return server.start()
    except (PortInUse, RuntimeError):
        server.close()
        raise


@pytest.fixture(scope="session")
def allowed_redis() -> Iterator[tuple[RedisServer, int]]:
    for port in ALLOWED:
        with suppress(PortInUse, RuntimeError):
            server = start_redis(port)
            break
    else:
        pytest.fail(f"none of the ports {ALLOWED} is free on this machine", pytrace=False)
    yield server, port
    server.close()


@pytest.fixture(scope="session")
def blocked_redis() -> Iterator[tuple[RedisServer, int]]:
    server = start_redis()
    assert server.port not in ALLOWED
    yield server, server.port
    server.close()


def write_env(project: Path, redis: tuple[RedisServer, int]) -> None:
    server, port = redis
    url = f"redis://:{server.password}@host.docker.internal:{port}/0"
    (project / ".env").write_text(f"REDIS_URL={url}\nHEALTH_CHECK_TIMEOUT=3\n", encoding="utf-8")


def command(base: str, *flags: str) -> list[str]:
    return [*HF_SPACE, "local", "--port", "0", "--build-arg", f"PYTHON_IMAGE={base}", *flags]


def leftovers(client: Any, name: str) -> dict[str, list[str]]:
    """Everything the run with sandbox `name` made that still exists (all of it carries the
    label hf-space-local=<name>, its rules the comment "hf-space-local <name>")."""
    ours = {"label": f"{LABEL}={name}"}
    rules = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True, check=True)
    return {
        "containers": [c.name for c in client.containers.list(all=True, filters=ours)],
        "networks": [n.name for n in client.networks.list(filters=ours)],
        "volumes": [v.name for v in client.volumes.list(filters=ours)],
        "rules": [line for line in rules.stdout.splitlines() if f'"{LABEL} {name}"' in line],
    }


NOTHING_LEFT = {"containers": [], "networks": [], "volumes": [], "rules": []}


def run_once(project: Path, base: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(base, "--once", *flags), cwd=project, env=TOOLING_ENV,
        capture_output=True, text=True, timeout=RUN_WITHIN, check=False,
    )  # fmt: skip


def service_line(output: str, name: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith(name + " ")]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_service_on_an_allowed_port_is_ok(engine, spaces, framework: str, allowed_redis) -> None:
    client, base, _ = engine
    project = spaces(framework)
    write_env(project, allowed_redis)
    result = run_once(project, base)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\s+status\s+200$", result.stdout, re.MULTILINE), result.stdout
    assert service_line(result.stdout, "redis").split()[1] == "ok", result.stdout
    assert leftovers(client, sandbox_of(result.stdout)) == NOTHING_LEFT


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_service_on_a_blocked_port_fails_as_on_a_space(
    engine, spaces, framework: str, blocked_redis
) -> None:
    client, base, _ = engine
    project = spaces(framework)
    write_env(project, blocked_redis)
    result = run_once(project, base)
    assert result.returncode == 1, result.stdout + result.stderr
    line = service_line(result.stdout, "redis")
    assert line.split()[1] == "error", result.stdout
    # A dropped connection times out, and the app (SPACE_ID set) names the port as the cause.
    assert "timeout" in line, line
    assert f"REDIS_URL uses port {blocked_redis[1]}, which a Space cannot reach" in line, line
    assert blocked_redis[0].password not in result.stdout + result.stderr
    assert leftovers(client, sandbox_of(result.stdout)) == NOTHING_LEFT


def test_without_the_rule_the_same_port_is_reached(engine, spaces, blocked_redis) -> None:
    client, base, _ = engine
    project = spaces("fastapi")
    write_env(project, blocked_redis)
    result = run_once(project, base, "--no-egress-rule")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--no-egress-rule" in result.stdout  # it says the run is unlike a Space
    assert service_line(result.stdout, "redis").split()[1] == "ok", result.stdout
    assert leftovers(client, sandbox_of(result.stdout)) == NOTHING_LEFT


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's output lines as they come; None once it ends."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue[str | None], start: str, within: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with suppress(queue.Empty):
            line = lines.get(timeout=1)
            if line is None:
                break
            seen.append(line)
            if line.startswith(start):
                return seen
    pytest.fail(f"no line starting {start!r} within {within:g} s:\n{''.join(seen)}", pytrace=False)


def check_runs_like_a_space(client: Any, container: Any) -> None:
    attrs = container.attrs
    assert attrs["Config"]["User"] == "1000"
    host = attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert (host["NanoCpus"], host["Memory"]) == (min(2, os.cpu_count() or 2) * 10**9, 16 * GIB)
    env = dict(item.split("=", 1) for item in attrs["Config"]["Env"])
    space_id = env["SPACE_ID"]
    assert space_id == f"{env['SPACE_AUTHOR_NAME']}/{env['SPACE_REPO_NAME']}"
    assert env["SPACE_HOST"].endswith(".hf.space") and env["REDIS_URL"].startswith("redis://")
    # Writable only where a Space is, even for root: home (with the image's files) and /tmp.
    script = (
        "for d in /home/user /home/user/app /tmp /usr /etc /; do "
        "touch $d/.probe 2>/dev/null && echo $d; done; test -f /home/user/app/requirements.txt"
    )
    code, output = container.exec_run(["sh", "-c", script], user="root")
    assert code == 0, output
    assert output.decode().split() == ["/home/user", "/home/user/app", "/tmp"]
    # The rules name the run's own bridge, and only it.
    rules = leftovers(client, container.name)["rules"]
    assert len(rules) == 4 and all(f"-i {container.name} " in rule for rule in rules), rules


STOPS = [
    pytest.param(signal.SIGINT, "running;", id="SIGINT-running"),
    pytest.param(signal.SIGTERM, "running;", id="SIGTERM-running"),
    pytest.param(signal.SIGINT, "run:", id="SIGINT-starting"),  # before /health was answered
]


@pytest.mark.parametrize(("stop", "after"), STOPS)
def test_runs_like_a_space_and_a_signal_removes_everything(
    engine, spaces, allowed_redis, stop: signal.Signals, after: str
) -> None:
    client, base, _ = engine
    project = spaces("fastapi")
    write_env(project, allowed_redis)
    process = subprocess.Popen(
        command(base), cwd=project, env=TOOLING_ENV, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        seen = wait_for_line(lines_of(process), after, RUN_WITHIN)
        name = sandbox_of("".join(seen))
        container = client.containers.get(name)
        if after == "running;":
            assert any(line.split()[:2] == ["redis", "ok"] for line in seen), seen
            check_runs_like_a_space(client, container)
        process.send_signal(stop)
        assert process.wait(timeout=120) == 130
    finally:
        if process.poll() is None:  # a failed check above: let the command clean up first
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert leftovers(client, name) == NOTHING_LEFT


def test_without_iptables_it_stops_and_names_the_fix(renders) -> None:
    project = renders("fastapi")
    result = subprocess.run(
        [*HF_SPACE, "local", "--once"],
        cwd=project, capture_output=True, text=True, timeout=60, check=False,
        env={**TOOLING_ENV, "PATH": str(project / "no-such-dir")},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""  # stopped before building or creating anything
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: cannot set a Space's outbound rule (TCP 80,443,8080): ")
    assert "--no-egress-rule" in line and "Traceback" not in line


BAD_ARGUMENTS = [
    (["--hardware", "cpu-huge"], "--hardware: invalid choice: 'cpu-huge'"),
    (["--build-arg", "PYTHON_IMAGE"], "--build-arg: expected NAME=VALUE"),
    (["--env-file", "no-such.env"], "--env-file no-such.env: no such file"),
    (["--ca-file", "no-such.pem"], "--ca-file no-such.pem: no such file"),
]


@pytest.mark.parametrize(("arguments", "said"), BAD_ARGUMENTS, ids=["hardware", "arg", "env", "ca"])
def test_bad_arguments_are_named_before_anything_runs(
    renders, arguments: list[str], said: str
) -> None:
    result = subprocess.run(
        [*HF_SPACE, "local", *arguments],
        cwd=renders("fastapi"), capture_output=True, text=True, timeout=60, check=False,
        env=TOOLING_ENV,
    )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert said in result.stderr.splitlines()[-1], result.stderr
    assert "Traceback" not in result.stderr

"""Local development as users run it, in both frameworks (issue 18, "the Space's own quirks").

The Space with every service, served by the framework's own reloading dev server
(`uvicorn app.main:app --reload`, `flask --app app.main run --debug`): `/` names the app,
HEAD answers, and a route added to api.py is served without a restart. And
REQUIRE_CONFIGURED=true stops `python -m app` at startup with one line naming what to set.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standins.checking import free_port
from support import FRAMEWORKS

pytestmark = pytest.mark.slow

NEW_ROUTE = {
    "fastapi": '\n\n@router.get("/reloaded")\ndef reloaded() -> dict[str, str]:\n'
    '    return {"reloaded": "yes"}\n',
    "flask": '\n\n@blueprint.get("/reloaded")\ndef reloaded() -> Response:\n'
    '    return jsonify(reloaded="yes")\n',
}


def dev_command(framework: str, python: Path, port: int) -> list[str]:
    if framework == "fastapi":
        return [str(python), "-m", "uvicorn", "app.main:app", "--reload", "--port", str(port)]
    return [str(python), "-m", "flask", "--app", "app.main", "run", "--debug", "--port", str(port)]


def request(port: int, method: str, path: str) -> tuple[int, bytes]:
    """(status, body); 0 when nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        connection.close()


def wait_for(port: int, path: str, within: float, log: Path) -> bytes:
    deadline = time.monotonic() + within
    while (answer := request(port, "GET", path))[0] != 200:
        assert time.monotonic() < deadline, f"GET {path} never answered 200:\n{log.read_text()}"
        time.sleep(0.25)
    return answer[1]


@pytest.fixture(params=FRAMEWORKS)
def project(request, full_project, project_venvs, tmp_path: Path) -> tuple[str, Path, Path]:
    """(framework, a copy of the full render, its venv's python)."""
    source = full_project(request.param)
    python = project_venvs.python_for(source)
    copy = tmp_path / "space"
    shutil.copytree(source, copy)
    return request.param, copy, python


def environment(project: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(project), "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture
def dev_server(project, tmp_path: Path) -> Iterator[tuple[str, Path, int, Path]]:
    """The framework's reloading dev server on a free port: (framework, project, port, log)."""
    framework, copy, python = project
    port = free_port()
    log = tmp_path / "dev.log"
    with log.open("wb") as output:
        # A session of its own: the reloader's worker process is stopped with it.
        process = subprocess.Popen(
            dev_command(framework, python, port),
            cwd=copy,
            env=environment(copy),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield framework, copy, port, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_dev_server_serves_main_app_and_reloads_a_new_route(dev_server) -> None:
    framework, project, port, log = dev_server
    home = json.loads(wait_for(port, "/", within=90, log=log))
    assert home["name"] == "My RAG API" and home["health"] == "/health"
    for path in ("/", "/health/live"):
        assert request(port, "HEAD", path) == (200, b""), path
    assert request(port, "GET", "/api/reloaded")[0] == 404
    with (project / "app" / "api.py").open("a") as api:
        api.write(NEW_ROUTE[framework])
    assert json.loads(wait_for(port, "/api/reloaded", within=60, log=log)) == {"reloaded": "yes"}


def test_require_configured_stops_startup_with_one_line(project) -> None:
    framework, copy, python = project
    env = environment(copy, PORT=str(free_port()), REQUIRE_CONFIGURED="true")
    # The dev server without its reloader, which would wait for a change instead of exiting.
    dev = [part for part in dev_command(framework, python, free_port()) if part[2:] != "reload"]
    for command in ([str(python), "-m", "app"], [part for part in dev if part != "--debug"]):
        result = subprocess.run(
            command, cwd=copy, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode != 0, command
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("REQUIRE_CONFIGURED is true and these are unconfigured: "), (
            result.stderr
        )
        assert "neon (set DATABASE_URL)" in last and "REQUIRE_CONFIGURED=false" in last
        assert "Traceback" not in result.stderr, result.stderr

"""A rendered Space with every service passes its own tests and serves on $PORT.

Each framework's render gets a virtualenv with exactly its requirements-dev.txt
(real pip installs of every service SDK), shared with the other full-stack tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from engines import free_port
from support import FRAMEWORKS, http_get, run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_generated_tests_pass(framework: str, full_project, project_venvs) -> None:
    project = full_project(framework)
    python = project_venvs.python_for(project)
    result = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def wait_for_http(url: str, process: subprocess.Popen, within: float = 30) -> tuple[int, bytes]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            return http_get(url)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer from {url} within {within} s")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_python_m_package_serves_on_port(framework: str, full_project, project_venvs) -> None:
    project = full_project(framework)
    python = project_venvs.python_for(project)
    port = free_port()
    environment = {"PATH": os.environ["PATH"], "PORT": str(port), "HOME": str(project)}
    process = subprocess.Popen(
        [str(python), "-m", "app"],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        status, body = wait_for_http(f"http://127.0.0.1:{port}/health/live", process)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, _ = http_get(f"http://127.0.0.1:{port}/health")
        assert status == 503  # nothing configured: every service says "unconfigured"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    # The startup log names what is missing, by variable.
    assert b"DATABASE_URL" in output
    assert b"Traceback" not in output

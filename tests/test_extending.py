"""Day two: the user extends a rendered Space through the files it owns, in both frameworks.

Their own settings (a SecretStr and a plain field) are read from .env and classified; their
startup hooks run once per worker, under gunicorn with several workers too, and a failing
one shows in readiness without its message; an empty api_prefix serves their routes at the
root beside /health. Each app runs as `python -m app` in the project's own virtualenv.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from engines import free_port, stop_process
from support import FRAMEWORKS, http_get, render, run

pytestmark = pytest.mark.slow

SECRET = "sentinel-Hook-Secret-4d2c"
USER_SETTINGS = """
    signing_key: SecretStr | None = Field(None, description="Signs our session tokens")
    collection_name: str = Field("documents", description="Collection our search reads")
"""
USER_HOOKS = f'''

@on_startup
def record_worker(settings: Settings) -> None:
    """Leaves one line per run, so the test can count runs per process."""
    import os

    with open(os.environ["HOOK_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{{os.getpid()}} {{settings.collection_name}}\\n")


@on_startup
def warm_index(settings: Settings) -> None:
    raise ConnectionRefusedError("could not reach https://user:{SECRET}@index.example")
'''


@pytest.fixture(scope="module", params=FRAMEWORKS)
def extended(request: pytest.FixtureRequest, tmp_path_factory, project_venvs) -> tuple[Path, Path]:
    """(project, python): a root-routed render with the user's settings and hooks added."""
    project = render(
        tmp_path_factory.mktemp(f"extended-{request.param}") / "space",
        framework=request.param,
        api_prefix="",
    )
    settings = project / "app" / "settings.py"
    settings.write_text(settings.read_text() + USER_SETTINGS)
    hooks = project / "app" / "hooks.py"
    hooks.write_text(
        hooks.read_text().replace("  # noqa: F401 - the argument every hook receives", "")
        + USER_HOOKS
    )
    return project, project_venvs.python_for(project)


@contextmanager
def serving(project: Path, python: Path, **environment: str) -> Iterator[tuple[str, list[str]]]:
    """`python -m app` on a free port: (base URL, the output lines once it has stopped)."""
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(project), "PORT": str(port), **environment}
    process = subprocess.Popen(
        [str(python), "-m", "app"], cwd=project, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output: list[str] = []
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if http_get(f"{base}/health/live")[0] == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "no answer within 30 s"
                time.sleep(0.2)
        yield base, output
    finally:
        stop_process(process, within=20)
        output += (process.stdout.read() if process.stdout else "").splitlines()


def test_user_fields_are_read_from_dotenv_and_classified(extended) -> None:
    project, python = extended
    (project / ".env").write_text(f"SIGNING_KEY={SECRET}\nCOLLECTION_NAME=papers\n")
    probe = (
        "import json\n"
        "from app.variables import env_vars, load_settings\n"
        "s = load_settings()\n"
        "print(s.collection_name, s.signing_key.get_secret_value() == " + repr(SECRET) + ")\n"
        "print(json.dumps({v.name: [v.secret, v.help] for v in env_vars()}))\n"
    )
    try:
        result = run(python, "-c", probe, cwd=project)
    finally:
        (project / ".env").unlink()
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == "papers True"
    found = json.loads(second)
    assert found["SIGNING_KEY"] == [True, "Signs our session tokens"]
    assert found["COLLECTION_NAME"] == [False, "Collection our search reads"]


def test_malformed_user_field_stops_startup_by_name(extended) -> None:
    project, python = extended
    (project / "app" / "settings.py").write_text(
        (project / "app" / "settings.py").read_text() + "    max_results: int = 5\n"
    )
    try:
        result = run(python, "-m", "app", cwd=project, env={**os.environ, "MAX_RESULTS": "many"})
    finally:
        settings = project / "app" / "settings.py"
        settings.write_text(settings.read_text().replace("    max_results: int = 5\n", ""))
    assert result.returncode == 2
    assert "MAX_RESULTS is malformed" in result.stderr and "a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_routes_at_the_root_beside_health(extended) -> None:
    project, python = extended
    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout[-3000:]
    with serving(project, python, HOOK_LOG=str(project / "hooks.log")) as (base, _):
        assert json.loads(http_get(f"{base}/hello?name=root")[1]) == {"message": "Hello, root!"}
        assert http_get(f"{base}/health")[0] == 503  # the failing hook
        assert http_get(f"{base}/api/hello")[0] == 404


def test_startup_hooks_run_once_per_worker_and_failures_show(extended) -> None:
    project, python = extended
    # gunicorn (Flask) forks WEB_CONCURRENCY workers; uvicorn (FastAPI) serves from one.
    workers = 3 if (project / "app" / "cors.py").exists() else 1
    log = project / f"hooks-{workers}.log"
    environment = {"HOOK_LOG": str(log), "WEB_CONCURRENCY": str(workers), "COLLECTION_NAME": "x"}
    with serving(project, python, **environment) as (base, output):
        status, body = http_get(f"{base}/health")
    lines = log.read_text().splitlines()
    assert len(lines) == workers and len({line.split()[0] for line in lines}) == workers
    assert all(line.endswith(" x") for line in lines)  # hooks get the settings
    assert status == 503
    startup = json.loads(body)["startup"]
    assert startup["record_worker"] == {"status": "ok", "detail": None}
    assert startup["warm_index"]["status"] == "error"
    assert startup["warm_index"]["detail"] == "connection refused (ConnectionRefusedError)"
    logged = "\n".join(output)
    assert "startup hook warm_index failed" in logged
    assert SECRET not in logged and SECRET not in body.decode()

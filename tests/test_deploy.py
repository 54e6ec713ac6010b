"""The generated `python scripts/deploy.py`, run as a user runs it, against the Hub stand-in.

A project rendered with neon, redis (a service with alternative forms) and groq is copied per
test and given a .env; the script runs in the project's own virtualenv (its
requirements-dev.txt brings huggingface_hub) with HF_ENDPOINT/HF_TOKEN pointing at
tests/standins/hub.py, never at huggingface.co. Every run is checked for tracebacks and for
secret values in its output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from standins.hub import HubStandIn
from support import CATALOGUE, ProjectVenvs, render

OWNER, NAME = "standin-user", "deploy-demo"
SPACE = f"{OWNER}/{NAME}"
SERVICES = ["neon", "redis", "groq"]
SECRETS = {
    "DATABASE_URL": (
        "postgresql://neondb_owner:npg_Deploy0Secret@ep-test-123.us-east-2.aws.neon.tech"
        "/neondb?sslmode=require"
    ),
    "UPSTASH_REDIS_REST_URL": "https://us1-deploy-test.upstash.io",
    "UPSTASH_REDIS_REST_TOKEN": "AXdeployRestToken0123456789",
    "GROQ_API_KEY": "gsk_deploy_secret_0123456789",
}
VARIABLES = {
    "CORS_ORIGINS": "https://myapp.vercel.app",
    "LOG_LEVEL": "DEBUG",
    "HEALTH_CHECK_TIMEOUT": "3",
    "GROQ_BASE_URL": "https://api.groq.com",
}
LOCAL_ONLY = {"PORT": "7860"}
NEVER_SHOWN = [*SECRETS.values(), "npg_Deploy0Secret"]
HEALTH = {
    "status": "ok",
    "services": {
        "groq": {"status": "ok", "latency_ms": 80, "detail": None},
        "neon": {"status": "ok", "latency_ms": 12, "detail": None},
        "redis": {"status": "ok", "latency_ms": 3, "detail": None},
    },
}


def env_text(values: dict[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in values.items())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("deploy") / "space"
    return render(destination, services=SERVICES, hf_owner=OWNER, space_name=NAME)


@pytest.fixture(scope="module")
def python(rendered: Path, project_venvs: ProjectVenvs) -> Path:
    return project_venvs.python_for(rendered)


@pytest.fixture
def project(rendered: Path, tmp_path: Path) -> Path:
    """A fresh copy with a full .env, plus files that must never leave the machine."""
    copy = shutil.copytree(rendered, tmp_path / "space")
    (copy / ".env").write_text(env_text({**SECRETS, **VARIABLES, **LOCAL_ONLY}))
    (copy / "app" / ".env").write_text(f"GROQ_API_KEY={SECRETS['GROQ_API_KEY']}\n")
    (copy / ".env.local").write_text(f"DATABASE_URL={SECRETS['DATABASE_URL']}\n")
    (copy / ".git").mkdir()
    (copy / ".git" / "config").write_text("[core]\n")
    (copy / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return copy


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(stages=["BUILDING", "BUILDING", "RUNNING"], health_body=HEALTH) as server:
        yield server


def deploy(
    python: Path, project: Path, hub: HubStandIn, *args: str, token: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the script; fail the test on a traceback or a secret value in the output."""
    home = project.parent / "home"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),  # no cached login from this machine
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DEPLOY_POLL_INTERVAL": "0.02",
    }
    if token:
        env["HF_TOKEN"] = hub.token
    command = [str(python), "scripts/deploy.py", "--space-url", hub.space_url, *args]
    result = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    for secret in [*NEVER_SHOWN, hub.token]:
        assert secret not in output, f"a secret value was printed:\n{output}"
    return result


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def test_deploy_creates_sets_uploads_waits_and_smoke_tests(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    hub.health_status = [503, 200]  # readiness still warming up on the first request
    result = deploy(python, project, hub)
    out = output_of(result)
    assert result.returncode == 0, out

    created = hub.created[SPACE]
    assert (created.sdk, created.visibility) == ("docker", "public")
    assert hub.secrets == SECRETS
    assert hub.variables == VARIABLES
    catalogue = {v["name"]: v for v in CATALOGUE["app"]["variables"]}
    catalogue |= {v["name"]: v for s in SERVICES for v in CATALOGUE["services"][s]["variables"]}
    assert {n for n in {**SECRETS, **VARIABLES} if catalogue[n]["secret"]} == set(SECRETS)
    assert catalogue["PORT"]["on_space"] is False and "PORT" not in hub.variables

    files = hub.files
    assert {"Dockerfile", "README.md", "app/settings.py", "scripts/deploy.py"} <= set(files)
    assert ".env.example" in files
    for never in (".env", "app/.env", ".env.local"):
        assert never not in files
    assert not [path for path in files if path == ".git" or path.startswith(".git/")]
    assert not [
        path for path, body in files.items() if any(s.encode() in body for s in SECRETS.values())
    ]

    commit = next(i for i, r in enumerate(hub.requests) if r.path.endswith("/commit/main"))
    first_secret = next(i for i, r in enumerate(hub.requests) if r.path.endswith("/secrets"))
    assert first_secret < commit  # the first build already has its secrets

    for name in [*SECRETS, *VARIABLES]:
        assert name in out
    assert re.search(r"BUILDING.*RUNNING", out, re.DOTALL)
    assert "Build Queued" in out  # the build log, as it comes
    assert "DATABASE_URL uses port 5432" in out  # a port a Space cannot reach
    assert re.search(r"neon\s+ok\s+12 ms", out) and re.search(r"redis\s+ok\s+3 ms", out)
    assert [r.path for r in hub.space_requests] == ["/health", "/health"]


def test_second_run_is_idempotent(python: Path, project: Path, hub: HubStandIn) -> None:
    assert deploy(python, project, hub).returncode == 0
    state = (hub.secrets, hub.variables, hub.files, len(hub.commits))
    before = len(hub.requests)

    again = deploy(python, project, hub)

    assert again.returncode == 0, output_of(again)
    assert again.stderr == ""
    assert (hub.secrets, hub.variables, hub.files, len(hub.commits)) == state
    later = hub.requests[before:]
    assert hub.calls("POST").count(("POST", "/api/repos/create")) == 1
    assert not [r for r in later if r.method == "POST" and r.path.endswith("/variables")]
    assert "exists" in again.stdout and "unchanged" in again.stdout


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(
            {"DATABASE_URL": SECRETS["DATABASE_URL"], "LOG_LEVEL": "INFO"},
            [
                "GROQ_API_KEY",
                "REDIS_URL",
                "REDIS_HOST",
                "UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN",
            ],
            id="missing",
        ),
        pytest.param(
            {**SECRETS, "DATABASE_URL": "mysql://root:npg_Deploy0Secret@db.example.com/app"},
            ["DATABASE_URL is malformed", "postgresql://"],
            id="malformed",
        ),
    ],
)
def test_bad_configuration_stops_before_any_request(
    python: Path, project: Path, hub: HubStandIn, values: dict[str, str], expected: list[str]
) -> None:
    (project / ".env").write_text(env_text(values))
    for command in ([], ["check"], ["--dry-run"]):
        result = deploy(python, project, hub, *command)
        out = output_of(result)
        assert result.returncode == 1, out
        for text in expected:
            assert text in out
        assert "nothing was sent" in result.stderr
    assert hub.requests == [] and hub.space_requests == []


def test_check_alone_validates_and_sends_nothing(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    result = deploy(python, project, hub, "check")
    assert result.returncode == 0, output_of(result)
    assert re.search(r"ok\s+redis: UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN", result.stdout)
    assert "secrets:   " + ", ".join(SECRETS) in result.stdout
    assert hub.requests == []


def test_dry_run_prints_the_plan_and_sends_nothing(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    result = deploy(python, project, hub, "--dry-run", "--prune")
    out = result.stdout
    assert result.returncode == 0, output_of(result)
    assert hub.requests == [] and hub.space_requests == []
    assert SPACE in out
    kinds = re.findall(r"^\s+(secret|variable)\s+(\w+)$", out, re.MULTILINE)
    assert {name for kind, name in kinds if kind == "secret"} == set(SECRETS)
    assert {name for kind, name in kinds if kind == "variable"} == set(VARIABLES)
    files = re.findall(r"^\s+(\S+)  \(\d", out, re.MULTILINE)
    assert {"scripts/deploy.py", "app/settings.py", "Dockerfile"} <= set(files)
    assert not {".env", "app/.env", ".env.local"} & set(files)
    assert not [f for f in files if f.startswith(".git/")]


def test_env_file_option_is_read_and_never_uploaded(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    (project / ".env").unlink()
    (project / "config").mkdir()
    (project / "config" / "production.values").write_text(env_text({**SECRETS, **VARIABLES}))
    result = deploy(python, project, hub, "--dry-run", "--env-file", "config/production.values")
    assert result.returncode == 0, output_of(result)
    assert "secret   GROQ_API_KEY" in result.stdout
    files = re.findall(r"^\s+(\S+)  \(\d", result.stdout, re.MULTILINE)
    assert "config/production.values" not in files and "app/__init__.py" in files
    assert hub.requests == []


@pytest.mark.parametrize(
    ("stage", "logs", "cause"),
    [
        (
            "BUILD_ERROR",
            ["Step 4/9 : RUN pip install", "ERROR: No matching distribution found for groq==99"],
            "a requirement cannot be installed",
        ),
        (
            "RUNTIME_ERROR",
            ["PermissionError: [Errno 13] Permission denied: '/data/cache'"],
            "may write only",
        ),
    ],
)
def test_failed_build_shows_the_log_tail_and_the_likely_cause(
    python: Path, project: Path, hub: HubStandIn, stage: str, logs: list[str], cause: str
) -> None:
    hub.stages = ["BUILDING", stage]
    if stage == "BUILD_ERROR":
        hub.build_logs = logs
    else:
        hub.run_logs = logs
    result = deploy(python, project, hub)
    out = output_of(result)
    assert result.returncode == 1, out
    assert stage in result.stderr
    assert logs[-1] in out
    assert re.search(rf"likely cause: .*{re.escape(cause)}", out)
    assert hub.space_requests == []  # no smoke test of a failed Space


@pytest.mark.parametrize("status", [402, 403])
def test_plan_refusal_is_a_plain_message(
    python: Path, project: Path, hub: HubStandIn, status: int
) -> None:
    hub.refuse_space_creation = status
    result = deploy(python, project, hub)
    assert result.returncode == 1
    assert str(status) in result.stderr and "PRO" in result.stderr
    assert result.stderr.count("\n") == 1  # one message, no traceback
    assert hub.created == {}
    assert not [r for r in hub.requests if "/secrets" in r.path or "/commit/" in r.path]


def test_prune_removes_what_the_app_no_longer_reads(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    hub.add_repo(
        SPACE,
        secrets={"OLD_API_KEY": "old-secret-value-123"},
        variables={"OLD_FLAG": "1", "PORT": "8000", "GROQ_API_KEY": "gsk_was_public_by_mistake"},
    )
    kept = deploy(python, project, hub)
    assert kept.returncode == 0, output_of(kept)
    assert "OLD_API_KEY" in hub.secrets and {"OLD_FLAG", "PORT"} <= set(hub.variables)
    assert "--prune" in kept.stdout
    assert "GROQ_API_KEY" not in hub.variables  # a secret never stays public
    assert hub.secrets["GROQ_API_KEY"] == SECRETS["GROQ_API_KEY"]

    pruned = deploy(python, project, hub, "--prune")
    assert pruned.returncode == 0, output_of(pruned)
    assert hub.secrets == SECRETS
    assert hub.variables == VARIABLES
    assert SPACE not in hub.created  # it existed: never created again


def test_unready_space_fails_with_the_health_table(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    hub.health_status = 503
    hub.health_body = {
        "status": "error",
        "services": {
            **HEALTH["services"],
            "redis": {"status": "error", "latency_ms": 2001, "detail": "timeout"},
        },
    }
    result = deploy(python, project, hub)
    assert result.returncode == 1
    assert re.search(r"redis\s+error\s+2001 ms\s+timeout", result.stdout)
    assert "503" in result.stderr


def test_large_file_is_refused_before_sending(python: Path, project: Path, hub: HubStandIn) -> None:
    (project / "data").mkdir()
    (project / "data" / "index.bin").write_bytes(b"\0" * (10 * 1024 * 1024 + 1))
    result = deploy(python, project, hub)
    assert result.returncode == 1
    assert "data/index.bin" in result.stderr and "10 MiB" in result.stderr
    assert hub.requests == []


def test_no_token_is_a_plain_message(python: Path, project: Path, hub: HubStandIn) -> None:
    result = deploy(python, project, hub, token=False)
    assert result.returncode == 1
    assert "HF_TOKEN" in result.stderr
    assert hub.requests == []


def test_space_override_and_private(python: Path, project: Path, hub: HubStandIn) -> None:
    result = deploy(python, project, hub, "--space", "standin-org/other-api", "--private")
    assert result.returncode == 0, output_of(result)
    created = hub.created["standin-org/other-api"]
    assert created.private and created.sdk == "docker"
    assert SPACE not in hub.repos

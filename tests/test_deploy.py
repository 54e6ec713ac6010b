"""The deploy (`hf-space` from tooling/), run as a user runs it, against the Hub stand-in.

A project rendered with neon, redis (a service with alternative forms) and groq is copied per
test and given a .env; the script runs in the project's own virtualenv (its
requirements-dev.txt brings hf-space-tools) with HF_ENDPOINT/HF_TOKEN pointing at
tests/standins/hub.py, never at huggingface.co. Every run is checked for tracebacks and for
secret values in its output.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from engines import base_image, docker_client, free_port
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standins.hub import HubStandIn
from support import CATALOGUE, ProjectVenvs, git, render, run

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
    python: Path,
    project: Path,
    hub: HubStandIn,
    *args: str,
    token: bool = True,
    space_url: str | None = "",
) -> subprocess.CompletedProcess[str]:
    """Run the script; fail the test on a traceback or a secret value in the output.

    `space_url`: --space-url, by default the stand-in's Space app; None: the host the Hub
    names for the Space.
    """
    home = project.parent / "home"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "HF_HOME": str(home / "hf"),  # no cached login from this machine
        "HF_ENDPOINT": hub.url,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DEPLOY_POLL_INTERVAL": "0.02",
    }
    env |= hub.proxy_env()  # http://<space>.hf.space reaches the Space app; the Hub is direct
    if token:
        env["HF_TOKEN"] = hub.token
    url = ["--space-url", space_url or hub.space_url] if space_url is not None else []
    command = [str(python.parent / "hf-space"), *url, *args]
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


def assert_nothing_written(hub: HubStandIn) -> None:
    """A dry run may read the Space; it never writes to the Hub or calls the Space's app."""
    assert [call for call in hub.calls() if call[0] != "GET"] == []
    assert hub.created == {} and hub.commits == [] and hub.space_requests == []


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
    assert {"Dockerfile", "README.md", "app/settings.py", "requirements-dev.txt"} <= set(files)
    assert ".env.example" in files
    for never in (".env", "app/.env", ".env.local"):
        assert never not in files
    assert not [path for path in files if path == ".git" or path.startswith(".git/")]
    assert not [
        path for path, body in files.items() if any(s.encode() in body for s in SECRETS.values())
    ]

    # One creation carries every secret and variable: the first build has them, and the Space
    # is not restarted once per value.
    payload = created.create_payload
    assert {item["key"]: item["value"] for item in payload["secrets"]} == SECRETS
    assert {item["key"]: item["value"] for item in payload["variables"]} == VARIABLES
    assert not [r for r in hub.requests if r.path.endswith(("/secrets", "/variables"))]
    create = hub.calls().index(("POST", "/api/repos/create"))
    commit = next(i for i, r in enumerate(hub.requests) if r.path.endswith("/commit/main"))
    assert create < commit

    for name in [*SECRETS, *VARIABLES]:
        assert name in out
    assert re.search(r"BUILDING.*RUNNING", out, re.DOTALL)
    assert "Build Queued" in out  # the build log, as it comes
    # Neon's console URL (no port) goes through Neon's WebSocket endpoint on 443: no warning.
    assert "DATABASE_URL uses port" not in out
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
    assert_nothing_written(hub)
    assert SPACE in out
    kinds = re.findall(r"^\s+(secret|variable)\s+(\w+)$", out, re.MULTILINE)
    assert {name for kind, name in kinds if kind == "secret"} == set(SECRETS)
    assert {name for kind, name in kinds if kind == "variable"} == set(VARIABLES)
    files = re.findall(r"^\s+(\S+)  \(\d", out, re.MULTILINE)
    assert {"requirements-dev.txt", "app/settings.py", "Dockerfile"} <= set(files)
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
    assert_nothing_written(hub)


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


# On the Space before the deploy: a secret and a variable someone set by hand, a retired
# template name (qdrant's key: qdrant is not chosen), PORT (local only), and a secret that
# was once set as a public variable.
BY_HAND = {"MY_WEBHOOK_TOKEN": "whk_set_by_hand_0123"}
SEEDED_SECRETS = {**BY_HAND, "QDRANT_API_KEY": "qdrant-retired-key-0123"}
SEEDED_VARIABLES = {"OLD_FLAG": "1", "PORT": "8000", "GROQ_API_KEY": "gsk_was_public_by_mistake"}


def test_prune_removes_only_template_names_the_app_no_longer_reads(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    hub.add_repo(SPACE, secrets=SEEDED_SECRETS, variables=SEEDED_VARIABLES)
    kept = deploy(python, project, hub)
    assert kept.returncode == 0, output_of(kept)
    assert set(SEEDED_SECRETS) <= set(hub.secrets) and {"OLD_FLAG", "PORT"} <= set(hub.variables)
    assert re.search(r"stale\s+QDRANT_API_KEY: .*--prune", kept.stdout)
    assert "GROQ_API_KEY" not in hub.variables  # a secret never stays public
    assert hub.secrets["GROQ_API_KEY"] == SECRETS["GROQ_API_KEY"]

    planned = deploy(python, project, hub, "--prune", "--dry-run")
    assert planned.returncode == 0, output_of(planned)
    assert re.findall(r"would prune (\w+)", planned.stdout) == ["PORT", "QDRANT_API_KEY"]
    for name in ("MY_WEBHOOK_TOKEN", "OLD_FLAG"):
        assert re.search(rf"kept\s+{name}: not read by this app", planned.stdout)

    pruned = deploy(python, project, hub, "--prune")
    assert pruned.returncode == 0, output_of(pruned)
    assert hub.secrets == {**SECRETS, **BY_HAND}  # the hand-set secret survives
    assert hub.variables == {**VARIABLES, "OLD_FLAG": "1"}
    assert SPACE not in hub.created  # it existed: never created again


def test_dry_run_prune_lists_removals_and_writes_nothing(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    hub.add_repo(SPACE, secrets=SEEDED_SECRETS, variables=SEEDED_VARIABLES)
    before = (hub.secrets, hub.variables)
    result = deploy(python, project, hub, "--dry-run", "--prune")
    assert result.returncode == 0, output_of(result)
    assert re.findall(r"would prune (\w+)", result.stdout) == ["PORT", "QDRANT_API_KEY"]
    assert "would remove the public variable GROQ_API_KEY" in result.stdout
    assert (hub.secrets, hub.variables) == before
    assert [call for call in hub.calls() if call[0] != "GET"] == [] and hub.commits == []

    blind = deploy(python, project, hub, "--dry-run", "--prune", token=False)
    assert blind.returncode == 0, output_of(blind)
    assert "no token" in blind.stdout and "would prune" not in blind.stdout
    assert (hub.secrets, hub.variables) == before


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
    result = deploy(python, project, hub, "--timeout", "1")  # /health is retried until then
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
    other = "standin-org/other-api"
    host = hub.space_host(other)  # the private Space's app answers only with a token
    result = deploy(
        python, project, hub, "--space", other, "--private", "--space-url", f"http://{host}"
    )
    assert result.returncode == 0, output_of(result)
    created = hub.created[other]
    assert created.private and created.sdk == "docker"
    assert SPACE not in hub.repos
    assert hub.space_authorizations == [(host, f"Bearer {hub.token}")]  # only to the Space


# --- a field the user adds to Settings -------------------------------------------------------

USER_FIELDS = """
    jwt_secret_key: SecretStr | None = Field(None, description="Signs session tokens")
    collection_name: str = Field("docs", description="Qdrant collection to search")
    max_results: int = Field(5, description="Results per answer")
"""
JWT_SECRET = "jwt-user-secret-0123456789"
NEVER_SHOWN.append(JWT_SECRET)


def add_user_fields(project: Path, values: dict[str, str]) -> None:
    settings = project / "app" / "settings.py"
    settings.write_text(settings.read_text() + USER_FIELDS)
    with (project / ".env").open("a") as env:
        env.write(env_text(values))


def test_a_template_variable_this_space_does_not_read_is_named_not_sent(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    """CORS_ORIGIN_REGEX comes only with a cors_origin_regex answer: set in .env of a Space
    rendered without one, the check says so instead of dropping it without a word."""
    env = project / ".env"
    pattern = r"https://[a-z0-9-]+\.preview\.example\.com"
    env.write_text(env.read_text() + f"CORS_ORIGIN_REGEX={pattern}\nSOMETHING_OF_MINE=1\n")
    checked = deploy(python, project, hub, "check")
    assert checked.returncode == 0, output_of(checked)
    warnings = [line.strip() for line in checked.stdout.splitlines() if "warning" in line]
    assert any(w.startswith("warning  CORS_ORIGIN_REGEX is set, but") for w in warnings), warnings
    assert not any("SOMETHING_OF_MINE" in w for w in warnings)  # not the template's: not ours
    assert pattern not in checked.stdout
    assert "CORS_ORIGIN_REGEX" not in checked.stdout.split("variables:", 1)[1]


def test_user_fields_are_checked_and_sent_as_secret_and_variable(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    add_user_fields(project, {"JWT_SECRET_KEY": JWT_SECRET, "COLLECTION_NAME": "notes"})
    checked = deploy(python, project, hub, "check")
    assert checked.returncode == 0, output_of(checked)
    assert re.search(r"^secrets: .*\bJWT_SECRET_KEY\b", checked.stdout, re.MULTILINE)
    assert re.search(r"^variables: .*\bCOLLECTION_NAME\b", checked.stdout, re.MULTILINE)

    result = deploy(python, project, hub)
    assert result.returncode == 0, output_of(result)
    assert hub.secrets == {**SECRETS, "JWT_SECRET_KEY": JWT_SECRET}
    assert hub.variables == {**VARIABLES, "COLLECTION_NAME": "notes"}
    described = {
        item["key"]: item.get("description")
        for item in hub.created[SPACE].create_payload["secrets"]
    }
    assert described["JWT_SECRET_KEY"] == "Signs session tokens"


def test_a_malformed_user_field_is_refused_by_name(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    add_user_fields(project, {"MAX_RESULTS": "a dozen"})
    for command in (["check"], []):
        result = deploy(python, project, hub, *command)
        assert result.returncode == 1, output_of(result)
        assert re.search(r"problem\s+MAX_RESULTS is malformed .*a whole number", result.stdout)
        assert "nothing was sent" in result.stderr
    assert hub.requests == []


# --- nothing secret leaves the machine ---------------------------------------------------------


def test_files_holding_a_secret_and_outward_symlinks_are_refused(
    python: Path, project: Path, hub: HubStandIn, tmp_path: Path
) -> None:
    (project / "notes.txt").write_text(f"groq key for later: {SECRETS['GROQ_API_KEY']}\n")
    (project / "config").mkdir()
    (project / "config" / "settings.json").write_text(
        json.dumps({"openai": SECRETS["GROQ_API_KEY"]})
    )
    (project / "app" / "db.txt").write_text("password npg_Deploy0Secret\n")  # a URL's password
    (project / ".envrc").write_text(f"export GROQ_API_KEY={SECRETS['GROQ_API_KEY']}\n")
    (project / ".env_prod").write_text(f"GROQ_API_KEY={SECRETS['GROQ_API_KEY']}\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("not the repo's\n")
    (project / "shared.txt").symlink_to(outside)

    for command in ([], ["--dry-run"]):
        result = deploy(python, project, hub, *command)
        assert result.returncode == 1, output_of(result)
        refused = re.findall(r"^  (\S+) ", result.stderr, re.MULTILINE)
        assert sorted(refused) == ["app/db.txt", "config/settings.json", "notes.txt", "shared.txt"]
        assert "notes.txt holds the value of GROQ_API_KEY" in result.stderr
        assert "app/db.txt holds the value of DATABASE_URL" in result.stderr
        assert f"shared.txt is a symlink to {outside}" in result.stderr
        assert "nothing was sent" in result.stderr
    assert hub.requests == [] and hub.commits == []

    for name in ("notes.txt", "config/settings.json", "app/db.txt", "shared.txt"):
        (project / name).unlink()
    (project / "inside.txt").symlink_to(project / "Dockerfile")  # a link within the repo is fine
    result = deploy(python, project, hub)
    assert result.returncode == 0, output_of(result)
    assert re.search(r"kept back \.env_prod \(an env file\)", result.stdout)
    assert ".envrc" not in hub.files and ".env_prod" not in hub.files  # ignored, kept back
    assert hub.files["inside.txt"] == (project / "Dockerfile").read_bytes()


OPENSSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END"
# What must never reach a public Space though .gitignore does not name it: path -> content.
PLANTED = {
    ".env~": f"GROQ_API_KEY={SECRETS['GROQ_API_KEY']}\n",
    ".env_prod": f"GROQ_API_KEY={SECRETS['GROQ_API_KEY']}\n",
    ".env-old": f"GROQ_API_KEY={SECRETS['GROQ_API_KEY']}\n",
    "env.bak": f"GROQ_API_KEY={SECRETS['GROQ_API_KEY']}\n",
    "app/.envrc": "export LOG_LEVEL=DEBUG\n",
    "id_ed25519": OPENSSH_KEY,
    "keys/deploy": OPENSSH_KEY,  # a private key under any name, by its header
    "certs/server.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n",
    "gcp-sa.json": json.dumps({"type": "service_account", "private_key": "-----BEGIN"}),
    ".netrc": "machine api.example.com login me password hunter2hunter2\n",
    ".pypirc": "[pypi]\npassword = pypi-AgEIcHlwaS5vcmc\n",
    ".aws/credentials": "[default]\naws_secret_access_key = wJalrXUtnFEMI\n",
    "aws.ini": "[default]\naws_secret_access_key = wJalrXUtnFEMI\n",
    ".hg/store/data": "history\n",
    "node_modules/left-pad/index.js": "module.exports = 1\n",
    ".mypy_cache/3.11/app.json": "{}\n",
    ".coverage": "coverage data\n",
    "vendor/lib/.git": "gitdir: ../../.git/modules/lib\n",  # a submodule
    "vendor/lib/code.py": "x = 1\n",
    "docs/drafts/plan.md": "ignored by docs/.gitignore\n",
    "local-notes.txt": "ignored by .git/info/exclude\n",
}
UPLOADED = {"docs/guide.md": "# Guide\n", "app/env.py": "x = 1\n", "app/extra.py": "x = 2\n"}


def test_the_plan_skips_every_planted_file_and_uploads_the_rest(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    for path, text in {**PLANTED, **UPLOADED}.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    (project / "docs" / ".gitignore").write_text("drafts/\n")
    (project / ".git" / "info").mkdir()
    (project / ".git" / "info" / "exclude").write_text("local-notes.txt\n")
    (project / "loop").symlink_to("loop")  # a link to itself
    (project / "app" / "up").symlink_to("..")  # a link to a folder: never followed
    os.mkfifo(project / "pipe")
    (project / "odd\n  forged.py  (0.1 kB)").write_text("x = 3\n")  # a name with a newline

    result = deploy(python, project, hub, "--dry-run")
    out = result.stdout
    assert result.returncode == 0, output_of(result)
    files = re.findall(r"^\s+(\S+)  \(\d", out, re.MULTILINE)
    assert set(UPLOADED) <= set(files) and "forged.py" not in files
    for path in PLANTED:
        assert path not in files and not path.startswith(tuple(f + "/" for f in files)), path
    assert not [f for f in files if f.startswith(("vendor/", ".hg/", "node_modules/", "docs/d"))]
    for shown in ("loop", "app/up/", "pipe", r"odd\n  forged.py  (0.1 kB)", "vendor/lib/", ".hg/",
                  "id_ed25519", "keys/deploy", "gcp-sa.json", ".netrc", ".env~"):  # fmt: skip
        assert re.search(rf"^\s+kept back {re.escape(shown)} \(", out, re.MULTILINE), shown
    assert re.search(r"ignored\s+[1-9]\d* path", out)
    assert_nothing_written(hub)

    result = deploy(python, project, hub)  # and the real upload sends the same
    assert result.returncode == 0, output_of(result)
    assert set(hub.files) == set(files)


def gzipped(text: str) -> bytes:
    return gzip.compress(text.encode())


KEY = SECRETS["GROQ_API_KEY"]
# The Groq key as files hold it without being byte-exact copies: path -> bytes.
ENCODED = {
    "b64.txt": b"token: " + base64.b64encode(b"k=" + KEY.encode()),
    "b64url.txt": base64.urlsafe_b64encode(b"\xff\xfe" + KEY.encode()),
    "ps.txt": f"\ufeffGROQ_API_KEY={KEY}\r\n".encode("utf-16-le"),  # PowerShell's Out-File
    "dump.gz": gzipped(f"GROQ_API_KEY={KEY}\n"),
    "url.txt": re.sub(
        "%..", lambda m: m[0].lower(), quote(SECRETS["DATABASE_URL"], safe="")
    ).encode(),
    "split.py": f'KEY = (\n    "{KEY[:9]}"\n    "{KEY[9:]}"\n)\n'.encode(),
}


def test_a_secret_in_any_usual_encoding_is_refused(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    for name, data in ENCODED.items():
        (project / name).write_bytes(data)
    result = deploy(python, project, hub, "--dry-run")
    assert result.returncode == 1, output_of(result)
    refused = re.findall(r"^  (\S+) holds the value of", result.stderr, re.MULTILINE)
    assert sorted(refused) == sorted(ENCODED)
    assert hub.requests == [] or [c for c in hub.calls() if c[0] != "GET"] == []


def test_short_and_common_values_are_not_scanned_for_and_never_block(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    settings = project / "app" / "settings.py"
    settings.write_text(settings.read_text() + SHORT_FIELDS)
    with (project / ".env").open("a") as env:
        env.write("SHORT_TOKEN=test\nHOST_TOKEN=localhost\n")
    result = deploy(python, project, hub, "--dry-run")
    assert result.returncode == 0, output_of(result)
    assert re.search(
        r"not scanned for HOST_TOKEN, SHORT_TOKEN: too short or too common", result.stdout
    )
    assert "README.md  (" in result.stdout  # README.md says localhost and test


SHORT_FIELDS = """
    short_token: SecretStr | None = Field(None, description="A value too short to scan for")
    host_token: SecretStr | None = Field(None, description="A value too common to scan for")
"""
EXAMPLE_KEY = "gsk_example0123456789abcdef"  # the catalogue's example, in SECRETS.md


def test_the_example_value_left_in_env_is_named_as_such(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    (project / ".env").write_text(env_text({**SECRETS, **VARIABLES, "GROQ_API_KEY": EXAMPLE_KEY}))
    result = deploy(python, project, hub, "--dry-run")
    assert result.returncode == 1, output_of(result)
    assert EXAMPLE_KEY in (project / "SECRETS.md").read_text()
    assert re.search(
        r"^  SECRETS\.md shows the value of GROQ_API_KEY: in \.env it is still the example value",
        result.stderr, re.MULTILINE,
    )  # fmt: skip
    assert "take it out" not in result.stderr


# --- a field read under another name (validation_alias) ----------------------------------------

ALIASED = """
    cors_origins: list[str] = Field(
        ["http://localhost:3000"],
        validation_alias=AliasChoices("ALLOWED_ORIGINS", "CORS_ORIGINS"),
        description="Frontend origins, under the name the seed used",
        json_schema_extra={"service": "app"},
    )
"""


def test_an_aliased_field_is_checked_and_sent_under_its_alias(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    settings = project / "app" / "settings.py"
    text = settings.read_text().replace(
        "from pydantic import ", "from pydantic import AliasChoices, "
    )
    settings.write_text(text + ALIASED)
    variables = {**VARIABLES, "ALLOWED_ORIGINS": VARIABLES["CORS_ORIGINS"]}
    del variables["CORS_ORIGINS"]
    (project / ".env").write_text(env_text({**SECRETS, **variables}))

    checked = deploy(python, project, hub, "check")
    assert checked.returncode == 0, output_of(checked)
    assert re.search(r"^variables: .*\bALLOWED_ORIGINS\b", checked.stdout, re.MULTILINE)
    assert "CORS_ORIGINS holds only local origins" not in checked.stdout  # the value was read

    result = deploy(python, project, hub)
    assert result.returncode == 0, output_of(result)
    assert hub.variables == variables  # under the alias, and no CORS_ORIGINS
    assert re.search(r"^\s+variable ALLOWED_ORIGINS$", result.stdout, re.MULTILINE)


# --- the script itself -------------------------------------------------------------------------


def test_tooling_is_one_small_file_per_concern_and_not_in_the_render(rendered: Path) -> None:
    assert not (rendered / "scripts").exists()  # installed by requirements-dev.txt instead
    tooling = Path(__file__).resolve().parents[1] / "tooling" / "hf_space_tools"
    for part in tooling.glob("*.py"):  # one file per concern, none over 400 lines
        assert len(part.read_text().splitlines()) <= 400, part.name
    result = run(
        sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "C901", str(tooling),
        cwd=rendered,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_help_describes_the_six_steps_that_the_docs_link_to(python: Path, rendered: Path) -> None:
    result = run(python.parent / "hf-space", "--help", cwd=rendered)
    assert result.returncode == 0, result.stderr
    steps = re.findall(r"^(\d)\. (\w[\w ]*):", result.stdout, re.MULTILINE)
    assert steps == [
        ("1", "check"), ("2", "space"), ("3", "secrets and variables"),
        ("4", "upload"), ("5", "build"), ("6", "health"),
    ]  # fmt: skip
    assert "standin-user/deploy-demo" in result.stdout  # --space's default, from pyproject.toml
    for doc in ("README.md", "SECRETS.md"):
        text = (rendered / doc).read_text()
        assert "`hf-space --help`" in text, doc
        assert not re.search(r"^\d\. \*\*(check|space|upload|build|health)\*\*", text, re.M), doc


# --- env files stay out of git and out of the image ---------------------------------------------

ENV_FILES = [".env", ".env.local", "app/.env", "app/.env.production", "config/prod.env", ".envrc"]
NOT_ENV_FILES = [".env.example", "app/environment.py", "docs/env.md", "app/main.py"]


def test_gitignore_covers_local_env_files_and_keeps_the_example(
    rendered: Path, tmp_path: Path
) -> None:
    repo = shutil.copytree(rendered, tmp_path / "repo")
    git(repo, "init", "-q")
    for name in ENV_FILES + NOT_ENV_FILES:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).touch()
    result = run("git", "check-ignore", "--no-index", *ENV_FILES, *NOT_ENV_FILES, cwd=repo)
    assert sorted(result.stdout.split()) == sorted(ENV_FILES)


@pytest.mark.docker
def test_dockerignore_keeps_env_files_out_of_the_image(rendered: Path, tmp_path: Path) -> None:
    """A real build copies the context into an image, which lists what reached it."""
    client = docker_client()
    context = tmp_path / "context"
    context.mkdir()
    shutil.copy(rendered / ".dockerignore", context)
    for name in ENV_FILES + NOT_ENV_FILES:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).touch()
    (context / "Dockerfile").write_text(f"FROM {base_image(client)}\nCOPY . /context/\n")
    image, _ = client.images.build(path=str(context), rm=True, forcerm=True)
    try:
        listing = client.containers.run(
            image.id, ["python", "-c", LIST_FILES], remove=True, network_disabled=True
        )
    finally:
        client.images.remove(image.id, force=True)
    # .env.example is left out too: the image runs the app, it needs no template of .env.
    assert sorted(listing.decode().split()) == sorted(set(NOT_ENV_FILES) - {".env.example"})


LIST_FILES = (
    "import os\n"
    "for d, _, fs in os.walk('/context'):\n"
    "    for f in fs: print(os.path.relpath(os.path.join(d, f), '/context'))"
)


@pytest.fixture(scope="module")
def planner() -> Any:
    """hf-space-tools' upload_plan (it only defines things)."""
    from hf_space_tools import upload_plan

    return upload_plan


# Patterns and paths drawn from a small alphabet, so that they often meet: negations,
# folder-only patterns, anchored ones, wildcards, ** and nested .gitignore files.
PATTERN = st.sampled_from(
    ["*.log", "!keep.log", "a/", "/b", "b/", "**/c", "c/*.txt", "!c/x.txt", "x.*", "!x.py",
     "a/**/y", "*", "!*.md", "d", "?.txt", "[ab].py", "#a", "a\\#b", "\\!x.py", "doc/ ", ""]
)  # fmt: skip
PATH = st.lists(
    st.sampled_from(["a", "b", "c", "d", "doc", "x.py", "x.txt", "y", "keep.log", "r.md"]),
    min_size=1, max_size=4,
).map("/".join)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    paths=st.lists(PATH, min_size=1, max_size=14, unique=True),
    ignores=st.dictionaries(
        st.sampled_from(["", "a/", "b/", "a/c/", ".git/info/exclude"]),
        st.lists(PATTERN, max_size=5),
        max_size=3,
    ),
    in_folder=st.booleans(),
)
def test_every_file_the_plan_keeps_is_one_git_does_not_ignore(
    planner: Any,
    tmp_path_factory: pytest.TempPathFactory,
    paths: list[str],
    ignores: dict,
    in_folder: bool,
) -> None:
    """The upload is `git ls-files --others --exclude-standard`, computed without git, for a
    repo or for a Space in its folder `a/` (a monorepo: the .gitignore files above count)."""
    repo = tmp_path_factory.mktemp("ignores")
    git(repo, "init", "-q")
    paths = [p for p in paths if not any(o.startswith(p + "/") for o in paths)]  # files only
    for path in paths:
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(path)
    for where, patterns in ignores.items():
        target = repo / (where if where.startswith(".git") else f"{where}.gitignore")
        if any(folder.is_file() for folder in target.parents):
            continue  # a planted file already holds the folder's name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(patterns) + "\n")
    root = repo / "a" if in_folder and (repo / "a").is_dir() else repo
    plan = planner.plan_files(root, root / ".env", {})
    env = {"PATH": os.environ["PATH"], "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1"}
    listed = run("git", "ls-files", "-z", "--others", "--exclude-standard", cwd=root, env=env)
    assert set(plan.files) == set(filter(None, listed.stdout.split("\0"))), plan
    if plan.files:
        checked = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin", "-z"], cwd=root, env=env,
            input="\0".join(plan.files), capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert checked.stdout == "", checked.stdout  # none of them is ignored


def test_the_token_never_goes_to_a_host_that_is_not_the_space(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    # --space-url on a host the Hub did not name for the Space (the same server, reached as
    # localhost): no token is sent, so a private Space's smoke test fails with 401 rather
    # than leak the token.
    elsewhere = hub.space_url.replace("127.0.0.1", "localhost")
    result = deploy(python, project, hub, "--private", space_url=elsewhere)
    assert result.returncode == 1
    assert "answered 401: a private Space answers only with a token" in result.stderr
    assert hub.space_authorizations  # the smoke test did reach it (a 401 is not retried)
    assert {auth for _, auth in hub.space_authorizations} == {None}
    assert {host.split(":")[0] for host, _ in hub.space_authorizations} == {"localhost"}


def test_a_read_only_token_is_refused_before_any_write(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    hub.role = "read"
    result = deploy(python, project, hub)
    assert result.returncode == 1
    assert "read-only" in result.stderr
    assert hub.calls() == [("GET", "/api/whoami-v2")] and hub.created == {}


def test_an_unreachable_hub_is_named_with_no_traceback(python: Path, project: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    gone = SimpleNamespace(url=closed, space_url=closed, token="hf_standin0123", proxy_env=dict)
    result = deploy(python, project, gone, "--dry-run")  # type: ignore[arg-type]
    assert result.returncode == 1
    assert f"error: cannot reach the Hub at {closed}: " in result.stderr, result.stderr


def test_a_hub_error_quoting_a_secret_comes_out_masked(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    """The Hub may echo what it was sent; the deploy masks it like the app's logs do."""
    leaked = SECRETS["GROQ_API_KEY"]
    hub.inject("POST", "/api/repos/create", 400, f"refused secret GROQ_API_KEY={leaked}, sorry")
    result = deploy(python, project, hub)  # fails the test if the value is printed
    assert result.returncode == 1
    assert "refused secret GROQ_API_KEY=***, sorry" in result.stderr

"""The Hub stand-in, driven through the real huggingface_hub client (no network).

Each test points ``HfApi(endpoint=hub.url, token=hub.token)`` at a fresh stand-in;
one test runs a separate interpreter with ``HF_ENDPOINT``/``HF_TOKEN`` set, the way
a deploy command started as a process selects the endpoint.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import disable_progress_bars
from standins.hub import HubStandIn

SPACE = "standin-user/demo-space"
README = "---\ntitle: Demo\nsdk: docker\napp_port: 7860\n---\n\n# Demo\n"


@pytest.fixture(autouse=True)
def _quiet_client() -> None:
    disable_progress_bars()


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(stages=["BUILDING", "BUILDING", "RUNNING"]) as server:
        yield server


@pytest.fixture
def api(hub: HubStandIn, monkeypatch: pytest.MonkeyPatch) -> HfApi:
    # endpoint= is enough for almost every call, but in 2.4.0 create_repo's exist_ok
    # fallback (after a 401/402/403) builds RepoUrl without it, and RepoUrl only accepts
    # hosts known to constants.ENDPOINT (read at import time from HF_ENDPOINT).
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    return HfApi(endpoint=hub.url, token=hub.token)


def create_space(api: HfApi, repo_id: str = SPACE, **kwargs: object) -> None:
    kwargs.setdefault("exist_ok", True)
    api.create_repo(repo_id, repo_type="space", space_sdk="docker", **kwargs)  # type: ignore[arg-type]


def write_project(root: Path) -> Path:
    files = {
        "README.md": README,
        "Dockerfile": "FROM python:3.11-slim\n",
        "app/main.py": "print('hello')\n",
        ".env": "OPENAI_API_KEY=sk-local\n",
        "app/.env": "NESTED=1\n",
        ".git/config": "[core]\n",
        ".git/HEAD": "ref: refs/heads/main\n",
    }
    for relpath, text in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_whoami_and_the_one_token(hub: HubStandIn, api: HfApi) -> None:
    me = api.whoami()
    assert me["name"] == hub.user
    assert me["auth"]["accessToken"]["role"] == "write"

    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(endpoint=hub.url, token="hf_wrong").whoami()
    assert caught.value.response.status_code == 401
    assert hub.requests[-1].headers["authorization"] == "Bearer hf_wrong"


def test_create_repo_records_the_space_and_conflicts_like_the_hub(
    hub: HubStandIn, api: HfApi
) -> None:
    url = api.create_repo(
        SPACE, repo_type="space", space_sdk="docker", private=True, space_hardware="cpu-basic"
    )
    assert url.repo_id == SPACE and url.repo_type == "space"
    assert url == f"{hub.url}/spaces/{SPACE}"

    again = api.create_repo(SPACE, repo_type="space", space_sdk="docker", exist_ok=True)
    assert again.repo_id == SPACE
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo(SPACE, repo_type="space", space_sdk="docker")
    assert caught.value.response.status_code == 409

    record = hub.created[SPACE]
    assert (record.repo_type, record.sdk, record.private, record.hardware) == (
        "space",
        "docker",
        True,
        "cpu-basic",
    )
    assert record.create_payload["visibility"] == "private"  # 2.4.0 sends visibility, not private
    assert hub.calls("POST").count(("POST", "/api/repos/create")) == 3

    info = api.space_info(SPACE)
    assert (info.id, info.sdk, info.private) == (SPACE, "docker", True)
    assert info.runtime is not None and info.runtime.stage == "BUILDING"


def test_create_repo_outside_own_namespaces_is_forbidden(api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        create_space(api, "somebody-else/demo", exist_ok=False)
    assert caught.value.response.status_code == 403


def test_missing_space_is_repository_not_found(api: HfApi) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.get_space_runtime("standin-user/nope")


def test_secrets_and_variables(hub: HubStandIn, api: HfApi) -> None:
    create_space(api)
    api.add_space_secret(SPACE, "OPENAI_API_KEY", "sk-1", description="OpenAI")
    api.add_space_secret(SPACE, "QDRANT_API_KEY", "qd-1")
    api.add_space_secret(SPACE, "OPENAI_API_KEY", "sk-2")  # update in place
    variables = api.add_space_variable(SPACE, "LOG_LEVEL", "info")
    assert variables["LOG_LEVEL"].value == "info"
    api.add_space_variable(SPACE, "SERVICES", "openai,qdrant")

    assert hub.secrets == {"OPENAI_API_KEY": "sk-2", "QDRANT_API_KEY": "qd-1"}
    listed = api.get_space_secrets(SPACE)
    assert sorted(listed) == ["OPENAI_API_KEY", "QDRANT_API_KEY"]
    assert not hasattr(listed["OPENAI_API_KEY"], "value")  # values never come back
    assert {k: v.value for k, v in api.get_space_variables(SPACE).items()} == {
        "LOG_LEVEL": "info",
        "SERVICES": "openai,qdrant",
    }

    api.delete_space_secret(SPACE, "QDRANT_API_KEY")
    left = api.delete_space_variable(SPACE, "LOG_LEVEL")
    assert sorted(left) == ["SERVICES"]
    assert hub.secrets == {"OPENAI_API_KEY": "sk-2"}
    assert hub.variables == {"SERVICES": "openai,qdrant"}
    delete = next(r for r in hub.requests if r.method == "DELETE")
    assert delete.json() == {"key": "QDRANT_API_KEY"}  # DELETE with a JSON body


def test_upload_folder_honours_ignore_patterns(hub: HubStandIn, api: HfApi, tmp_path: Path) -> None:
    create_space(api)
    folder = write_project(tmp_path / "space")

    info = api.upload_folder(
        repo_id=SPACE,
        repo_type="space",
        folder_path=folder,
        ignore_patterns=[".env", "*/.env"],
        commit_message="Deploy",
    )

    assert sorted(hub.files) == ["Dockerfile", "README.md", "app/main.py"]  # no .env, no .git/
    assert hub.files["app/main.py"] == b"print('hello')\n"
    (commit,) = hub.commits
    assert commit.summary == "Deploy" and commit.oid == info.oid
    assert info.repo_url.repo_id == SPACE

    commit_request = next(r for r in hub.requests if r.path.endswith("/commit/main"))
    assert commit_request.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in commit_request.body.splitlines()]
    assert lines[0] == {"key": "header", "value": {"summary": "Deploy", "description": ""}}
    inline = {line["value"]["path"]: line["value"] for line in lines[1:]}
    assert base64.b64decode(inline["Dockerfile"]["content"]) == b"FROM python:3.11-slim\n"
    assert ("POST", "/api/validate-yaml") in hub.calls()  # README.md front matter is checked

    # Unchanged files: the client compares git blob ids and makes no empty commit.
    api.upload_folder(repo_id=SPACE, repo_type="space", folder_path=folder, ignore_patterns=".env")
    assert len(hub.commits) == 2  # app/.env was not ignored by ".env" alone: see next test
    assert hub.commits[1].added == {"app/.env": b"NESTED=1\n"}


def test_ignore_patterns_are_fnmatch_on_the_whole_relative_path(
    hub: HubStandIn, api: HfApi, tmp_path: Path
) -> None:
    create_space(api)
    folder = write_project(tmp_path / "space")
    api.upload_folder(repo_id=SPACE, repo_type="space", folder_path=folder, ignore_patterns=".env")
    assert ".env" not in hub.files
    assert "app/.env" in hub.files  # "*" crosses "/", but ".env" has no "*": root only
    assert not any(path.startswith(".git/") for path in hub.files)  # always ignored


def test_gitignore_is_applied_by_the_hub_side(hub: HubStandIn, api: HfApi, tmp_path: Path) -> None:
    create_space(api)
    folder = write_project(tmp_path / "space")
    (folder / ".gitignore").write_text(".env\n__pycache__/\n")
    (folder / "app" / "__pycache__").mkdir()
    (folder / "app" / "__pycache__" / "main.cpython-311.pyc").write_text("compiled")

    api.upload_folder(repo_id=SPACE, repo_type="space", folder_path=folder)

    assert sorted(hub.files) == [".gitignore", "Dockerfile", "README.md", "app/main.py"]
    preupload = next(r for r in hub.requests if "/preupload/" in r.path).json()
    assert preupload["gitIgnore"] == ".env\n__pycache__/\n"


def test_delete_patterns_prune_remote_files(hub: HubStandIn, api: HfApi, tmp_path: Path) -> None:
    hub.add_repo(SPACE, files={"old.py": b"stale\n", ".gitattributes": b"*.bin lfs\n"})
    folder = write_project(tmp_path / "space")
    api.upload_folder(
        repo_id=SPACE,
        repo_type="space",
        folder_path=folder,
        ignore_patterns=[".env", "*/.env"],
        delete_patterns="*",
    )
    assert "old.py" not in hub.files and ".gitattributes" in hub.files
    assert hub.commits[-1].deleted == ("old.py",)
    assert SPACE not in hub.created  # seeded, not created through the API


def test_runtime_follows_the_stage_script(hub: HubStandIn, api: HfApi, tmp_path: Path) -> None:
    create_space(api, space_hardware="cpu-basic")
    stages = [api.get_space_runtime(SPACE).stage for _ in range(4)]
    assert stages == ["BUILDING", "BUILDING", "RUNNING", "RUNNING"]
    assert api.get_space_runtime(SPACE).hardware == "cpu-basic"

    api.upload_folder(repo_id=SPACE, repo_type="space", folder_path=write_project(tmp_path))
    assert api.get_space_runtime(SPACE).stage == "BUILDING"  # a commit starts a new build
    assert api.wait_for_space(SPACE, poll_interval=0.01, timeout=5).stage == "RUNNING"

    hub.stages = ["BUILDING", "BUILD_ERROR"]
    runtime = api.wait_for_space(SPACE, poll_interval=0.01, timeout=5)
    assert runtime.stage == "BUILD_ERROR"
    assert runtime.raw["errorMessage"] == hub.error_message
    assert hub.runtime_polls >= 8

    with pytest.raises(ValueError):
        hub.stages = ["BUILDNG"]


def test_logs_are_server_sent_events(hub: HubStandIn, api: HfApi) -> None:
    create_space(api)
    hub.build_logs = ["Step 1/3 : FROM python:3.11-slim", "ERROR: pip install failed"]
    hub.run_logs = ["Traceback (most recent call last):\n"]

    started = time.monotonic()
    assert list(api.fetch_space_logs(SPACE, build=True)) == [
        "Step 1/3 : FROM python:3.11-slim\n",
        "ERROR: pip install failed\n",
    ]
    assert list(api.fetch_space_logs(SPACE)) == ["Traceback (most recent call last):\n"]
    assert time.monotonic() - started < 3

    paths = [path for _, path in hub.calls("GET")]
    assert f"/api/spaces/{SPACE}/logs/build" in paths and f"/api/spaces/{SPACE}/logs/run" in paths
    raw = httpx.get(f"{hub.url}/api/spaces/{SPACE}/logs/build", headers=_auth(hub)).text
    assert raw.startswith("data: \n\ndata: {")


@pytest.mark.parametrize("status", [402, 403])
def test_docker_space_refused_for_the_plan(hub: HubStandIn, api: HfApi, status: int) -> None:
    hub.refuse_space_creation = status
    with pytest.raises(HfHubHTTPError) as caught:
        create_space(api)  # exist_ok=True: the client then looks the repo up, finds none
    error = caught.value
    assert error.response.status_code == status
    assert error.server_message
    assert isinstance(error, OSError)  # HfHubHTTPError is an OSError and an httpx2.HTTPError
    assert SPACE not in hub.created

    api.create_repo("standin-user/static", repo_type="space", space_sdk="static")
    assert hub.created["standin-user/static"].sdk == "static"  # static Spaces stay free


def test_refusal_does_not_block_redeploying_an_existing_space(hub: HubStandIn, api: HfApi) -> None:
    hub.add_repo(SPACE)
    hub.refuse_space_creation = 402
    create_space(api)  # 402, then repo_info finds the Space: exist_ok swallows it
    assert [path for _, path in hub.calls()][-2:] == ["/api/repos/create", f"/api/spaces/{SPACE}"]


def test_space_health_endpoint(hub: HubStandIn) -> None:
    hub.health_body = {"status": "ok", "services": {"openai": "ok", "qdrant": "ok"}}
    answer = httpx.get(f"{hub.space_url}/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "services": {"openai": "ok", "qdrant": "ok"}}

    hub.health_status = [503, 503, 200]
    assert [httpx.get(f"{hub.space_url}/health").status_code for _ in range(4)] == [
        503,
        503,
        200,
        200,
    ]
    assert httpx.get(f"{hub.space_url}/nope").status_code == 404
    assert len(hub.space_requests) == 6
    assert hub.space_url != hub.url


def test_injected_fault_and_no_client_retry(hub: HubStandIn, api: HfApi) -> None:
    create_space(api)
    hub.inject("POST", f"/api/spaces/{SPACE}/secrets", 500, "boom")
    with pytest.raises(HfHubHTTPError) as caught:
        api.add_space_secret(SPACE, "KEY", "value")
    assert caught.value.response.status_code == 500
    assert hub.calls("POST").count(("POST", f"/api/spaces/{SPACE}/secrets")) == 1
    api.add_space_secret(SPACE, "KEY", "value")
    assert hub.secrets == {"KEY": "value"}


def test_large_or_binary_files_fail_fast(hub: HubStandIn, api: HfApi, tmp_path: Path) -> None:
    create_space(api)
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    started = time.monotonic()
    with pytest.raises(OSError):  # hf_xet: ConnectionError; plain LFS: HfHubHTTPError
        api.upload_folder(repo_id=SPACE, repo_type="space", folder_path=tmp_path)
    assert time.monotonic() - started < 10
    assert hub.commits == []


def test_hf_endpoint_selects_the_stand_in_in_a_new_process(hub: HubStandIn) -> None:
    create_space(HfApi(endpoint=hub.url, token=hub.token))
    script = (
        "import huggingface_hub as h\n"
        "from huggingface_hub import constants\n"
        "print(constants.ENDPOINT)\n"
        "print(h.whoami()['name'])\n"
        f"print(h.get_space_runtime({SPACE!r}).stage)\n"
    )
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": hub.token,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [hub.url, hub.user, "BUILDING"]


def _auth(hub: HubStandIn) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token}"}

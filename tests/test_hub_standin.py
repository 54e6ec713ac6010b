"""The Hub stand-in, driven through the real huggingface_hub client (no network).

Each test points ``HfApi(endpoint=hub.url, token=hub.token)`` at a fresh stand-in;
one test runs a separate interpreter with ``HF_ENDPOINT``/``HF_TOKEN`` set, the way
a deploy command started as a process selects the endpoint.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import disable_progress_bars
from hypothesis import given, settings
from hypothesis import strategies as st
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


def test_tags_refs_and_old_revisions(
    hub: HubStandIn, api: HfApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import CommitOperationAdd as Add
    from huggingface_hub import CommitOperationDelete as Delete

    # hf_hub_download's URL comes from this template, made from HF_ENDPOINT at import time.
    template = hub.url + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    create_space(api)
    first = api.create_commit(SPACE, [Add("a.txt", b"one"), Add("d/b.txt", b"bee")],
                              commit_message="1", repo_type="space").oid  # fmt: skip
    api.create_tag(SPACE, tag="good", revision=first, repo_type="space")
    with pytest.raises(HfHubHTTPError):  # a tag cannot be moved: delete it first
        api.create_tag(SPACE, tag="good", repo_type="space")
    api.create_commit(SPACE, [Add("a.txt", b"two"), Delete("d/b.txt")],
                      commit_message="2", repo_type="space")  # fmt: skip
    refs = api.list_repo_refs(SPACE, repo_type="space")
    assert [(t.name, t.target_commit) for t in refs.tags] == [("good", first)]
    assert refs.branches[0].target_commit == hub.repo(SPACE).sha != first
    assert api.list_repo_files(SPACE, repo_type="space", revision="good") == ["a.txt", "d/b.txt"]
    assert api.list_repo_files(SPACE, repo_type="space") == ["a.txt"]
    for revision in ("good", first, first[:7]):
        path = api.hf_hub_download(SPACE, "d/b.txt", repo_type="space", revision=revision,
                                   local_dir=tmp_path / revision)  # fmt: skip
        assert Path(path).read_bytes() == b"bee"
    assert Path(api.hf_hub_download(SPACE, "a.txt", repo_type="space", local_dir=tmp_path / "m"))
    api.delete_tag(SPACE, tag="good", repo_type="space")
    assert api.list_repo_refs(SPACE, repo_type="space").tags == []
    with pytest.raises(HfHubHTTPError):
        api.list_repo_files(SPACE, repo_type="space", revision="good")


def test_next_builds_override_one_commit(hub: HubStandIn, api: HfApi) -> None:
    from huggingface_hub import CommitOperationAdd as Add

    create_space(api)
    hub.next_builds = [{"stages": ["BUILD_ERROR"], "health": 503}]
    api.create_commit(SPACE, [Add("a", b"1")], commit_message="1", repo_type="space")
    assert api.get_space_runtime(SPACE).stage == "BUILD_ERROR"
    assert urllib.request.urlopen(hub.space_url + "/", timeout=5).status == 200
    with pytest.raises(urllib.error.HTTPError, match="503"):
        urllib.request.urlopen(hub.space_url + "/health", timeout=5)
    api.create_commit(SPACE, [Add("a", b"2")], commit_message="2", repo_type="space")
    assert api.get_space_runtime(SPACE).stage == "BUILDING"  # the queue is empty: the default
    assert urllib.request.urlopen(hub.space_url + "/health", timeout=5).status == 200
    hub.next_builds = [{"health": [503, 503, 200]}]  # one per request, the last repeating
    api.create_commit(SPACE, [Add("a", b"3")], commit_message="3", repo_type="space")
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError, match="503"):
            urllib.request.urlopen(hub.space_url + "/health", timeout=5)
    for _ in range(2):
        assert urllib.request.urlopen(hub.space_url + "/health", timeout=5).status == 200


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


# --- auth on every route, read-only tokens ------------------------------------------------

ROUTES = [
    ("GET", "/api/whoami-v2", None),
    ("POST", "/api/validate-yaml", {"content": README, "repoType": "space"}),
    ("POST", "/api/repos/create", {"name": "x", "type": "space", "sdk": "docker"}),
    ("DELETE", "/api/repos/delete", {"name": "demo-space", "type": "space"}),
    ("GET", f"/api/spaces/{SPACE}", None),
    ("GET", f"/api/spaces/{SPACE}/tree/main", None),
    ("POST", f"/api/spaces/{SPACE}/preupload/main", {"files": []}),
    ("GET", f"/api/spaces/{SPACE}/secrets", None),
    ("POST", f"/api/spaces/{SPACE}/secrets", {"key": "K", "value": "v"}),
    ("DELETE", f"/api/spaces/{SPACE}/secrets", {"key": "K"}),
    ("GET", f"/api/spaces/{SPACE}/variables", None),
    ("POST", f"/api/spaces/{SPACE}/variables", {"key": "K", "value": "v"}),
    ("GET", f"/api/spaces/{SPACE}/runtime", None),
    ("POST", f"/api/spaces/{SPACE}/restart", None),
    ("GET", f"/api/spaces/{SPACE}/logs/build", None),
    ("GET", "/api/not-a-route", None),
]


def _send(hub: HubStandIn, method: str, path: str, body: object, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.request(method, hub.url + path, json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize("token", [None, "hf_wrong"], ids=["no-token", "wrong-token"])
def test_every_route_answers_401_without_a_valid_token(
    hub: HubStandIn, method: str, path: str, body: object, token: str | None
) -> None:
    hub.add_repo(SPACE, secrets={"K": "kept"}, variables={"K": "kept"})  # a public Space
    answer = _send(hub, method, path, body, token)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]
    assert answer.headers["x-error-message"] == answer.json()["error"]
    assert (hub.secrets, hub.variables, hub.created) == ({"K": "kept"}, {"K": "kept"}, {})
    assert SPACE in hub.repos


def test_a_read_token_reads_but_every_write_is_forbidden(hub: HubStandIn) -> None:
    hub.add_repo(SPACE, secrets={"K": "kept"}, variables={"K": "kept"})
    for method, path, body in ROUTES:
        answer = _send(hub, method, path, body, hub.read_token)
        if method == "GET" or path == "/api/validate-yaml":
            assert answer.status_code in (200, 404), (path, answer.text)  # 404: the bad route
        else:
            assert answer.status_code == 403, (path, answer.text)
            assert "read-only" in answer.json()["error"]
    assert (hub.secrets, hub.variables, hub.created) == ({"K": "kept"}, {"K": "kept"}, {})


def test_whoami_reports_the_role_and_the_client_sees_403(monkeypatch: pytest.MonkeyPatch) -> None:
    with HubStandIn(role="read") as hub:
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        api = HfApi(endpoint=hub.url, token=hub.token)
        assert api.whoami()["auth"]["accessToken"]["role"] == "read"
        hub.add_repo(SPACE)
        with pytest.raises(HfHubHTTPError) as caught:
            api.add_space_secret(SPACE, "KEY", "value")
        assert caught.value.response.status_code == 403
        with pytest.raises(HfHubHTTPError) as caught:
            api.create_repo("standin-user/new", repo_type="space", space_sdk="docker")
        assert caught.value.response.status_code == 403
        assert api.get_space_runtime(SPACE).stage == "BUILDING"  # reading is allowed
        assert hub.secrets == {} and "standin-user/new" not in hub.repos
    with pytest.raises(ValueError, match="role"):
        HubStandIn(role="admin")


# --- payloads are checked as the Hub checks them ---------------------------------------------

SECRETS_PATH = f"/api/spaces/{SPACE}/secrets"
BAD_PAYLOADS = [
    pytest.param("POST", SECRETS_PATH, b"not json", 400, "not valid JSON", id="not-json"),
    pytest.param("POST", SECRETS_PATH, [{"key": "A"}], 400, "JSON object", id="a-list"),
    pytest.param("POST", SECRETS_PATH, {"key": "A"}, 422, "'value' is required", id="no-value"),
    pytest.param(
        "POST", SECRETS_PATH, {"key": "A", "value": 1}, 422, "'value' must be str", id="int-value"
    ),
    pytest.param(
        "POST",
        SECRETS_PATH,
        {"key": "A", "value": "v", "secret": True},
        422,
        "unexpected field(s) secret",
        id="extra-field",
    ),
    pytest.param(
        "POST", SECRETS_PATH, {"key": "1-BAD", "value": "v"}, 400, "invalid key", id="bad-key"
    ),
    pytest.param("DELETE", SECRETS_PATH, {}, 422, "'key' is required", id="delete-no-key"),
    pytest.param(
        "POST",
        f"/api/spaces/{SPACE}/variables",
        {"key": "A", "value": None},
        422,
        "'value' must be str",
        id="variable-none",
    ),
    pytest.param(
        "POST",
        "/api/repos/create",
        {"type": "space", "sdk": "docker"},
        422,
        "'name' is required",
        id="create-no-name",
    ),
    pytest.param(
        "POST",
        "/api/repos/create",
        {"name": "x", "type": "space", "sdk": "docker", "visibility": "hidden"},
        400,
        "visibility",
        id="create-visibility",
    ),
    pytest.param(
        "POST",
        "/api/repos/create",
        {"name": "x/y", "type": "space", "sdk": "docker"},
        400,
        "Invalid repo name",
        id="create-bad-name",
    ),
    pytest.param(
        "POST",
        "/api/repos/create",
        {"name": "x", "type": "space", "sdk": "docker", "secrets": [{"key": "K"}]},
        422,
        "'value' is required",
        id="create-secret-no-value",
    ),
    pytest.param(
        "POST",
        f"/api/spaces/{SPACE}/preupload/main",
        {"files": {}},
        422,
        "'files' must be list",
        id="preupload-files-object",
    ),
    pytest.param(
        "POST",
        f"/api/spaces/{SPACE}/preupload/main",
        {"files": [{"path": "../x", "sample": "", "size": 1}]},
        400,
        "invalid path",
        id="preupload-escaping-path",
    ),
    pytest.param(
        "POST",
        "/api/validate-yaml",
        {"repoType": "space"},
        422,
        "'content' is required",
        id="yaml-no-content",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD_PAYLOADS)
def test_malformed_payloads_are_refused(
    hub: HubStandIn, method: str, path: str, body: object, status: int, message: str
) -> None:
    hub.add_repo(SPACE)
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    answer = httpx.request(method, hub.url + path, headers=_auth(hub), timeout=10, **kwargs)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"]
    assert hub.secrets == {} and hub.variables == {} and "standin-user/x" not in hub.repos


def _commit(hub: HubStandIn, lines: list[object], content_type: str = "application/x-ndjson"):
    body = b"\n".join(json.dumps(line).encode() for line in lines)
    headers = {**_auth(hub), "Content-Type": content_type}
    return httpx.post(f"{hub.url}/api/spaces/{SPACE}/commit/main", content=body, headers=headers)


HEADER = {"key": "header", "value": {"summary": "s", "description": ""}}
FILE = {"key": "file", "value": {"path": "a.py", "content": "eA==", "encoding": "base64"}}


@pytest.mark.parametrize(
    ("lines", "content_type", "message"),
    [
        ([HEADER, FILE], "application/json", "application/x-ndjson"),
        ([FILE, HEADER], "application/x-ndjson", "header must come first"),
        ([HEADER, HEADER], "application/x-ndjson", "header must come first"),
        (
            [{"key": "header", "value": {"description": ""}}],
            "application/x-ndjson",
            "'summary' is required",
        ),
        (
            [HEADER, {"key": "file", "value": {**FILE["value"], "path": "/etc/x"}}],
            "application/x-ndjson",
            "invalid path",
        ),
        (
            [HEADER, {"key": "file", "value": {**FILE["value"], "content": "@@"}}],
            "application/x-ndjson",
            "not base64",
        ),
        (
            [HEADER, {"key": "file", "value": {"path": "a.py"}}],
            "application/x-ndjson",
            "'content' is required",
        ),
    ],
    ids=[
        "content-type",
        "header-late",
        "two-headers",
        "no-summary",
        "absolute-path",
        "bad-base64",
        "no-content",
    ],
)
def test_malformed_commits_are_refused(
    hub: HubStandIn, lines: list[object], content_type: str, message: str
) -> None:
    hub.add_repo(SPACE)
    answer = _commit(hub, lines, content_type)
    assert answer.status_code in (400, 422), answer.text
    assert message in answer.json()["error"]
    assert hub.commits == [] and hub.files == {}
    assert _commit(hub, [HEADER, FILE]).status_code == 200  # the well-formed one is taken
    assert hub.files == {"a.py": b"x"}


# --- the Space app: private Spaces, where the token goes ---------------------------------------


def test_a_private_space_answers_only_with_a_token(hub: HubStandIn, api: HfApi) -> None:
    create_space(api, private=True)
    health = f"{hub.space_url}/health"
    assert httpx.get(health).status_code == 401
    assert httpx.get(health, headers={"Authorization": "Bearer hf_wrong"}).status_code == 401
    assert httpx.get(health, headers=_auth(hub)).status_code == 200
    read = {"Authorization": f"Bearer {hub.read_token}"}
    assert httpx.get(health, headers=read).status_code == 200  # any token that can read it
    assert [auth for _, auth in hub.space_authorizations] == [
        None,
        "Bearer hf_wrong",
        f"Bearer {hub.token}",
        f"Bearer {hub.read_token}",
    ]

    hub.space_private = False  # forced public: no token needed
    assert httpx.get(health).status_code == 200


def test_a_public_space_needs_no_token(hub: HubStandIn, api: HfApi) -> None:
    create_space(api)
    assert httpx.get(f"{hub.space_url}/health").status_code == 200
    hub.space_private = True
    assert httpx.get(f"{hub.space_url}/health").status_code == 401


def test_the_space_app_proxies_hf_space_hosts(hub: HubStandIn, api: HfApi) -> None:
    create_space(api, private=True)
    host = hub.space_host(SPACE)
    assert host == "standin-user-demo-space.hf.space"
    env = hub.proxy_env()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": env["http_proxy"]}))
    request = urllib.request.Request(f"http://{host}/health", headers=_auth(hub))
    with opener.open(request, timeout=10) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == hub.health_body
    with pytest.raises(urllib.error.HTTPError) as unknown:
        opener.open("http://someone-else-app.hf.space/health", timeout=10)
    assert unknown.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as elsewhere:
        opener.open("http://example.com/health", timeout=10)
    assert elsewhere.value.code == 404
    assert hub.space_authorizations == [
        (host, f"Bearer {hub.token}"),
        ("someone-else-app.hf.space", None),
        ("example.com", None),
    ]


def test_proxy_env_sends_hf_space_to_the_app_and_the_hub_direct(hub: HubStandIn) -> None:
    # What a deploy command run as a process sees: HfApi reaches the Hub on 127.0.0.1
    # directly, urllib's request to http://<space>.hf.space goes through the Space app.
    create_space(HfApi(endpoint=hub.url, token=hub.token))
    script = (
        "import sys, urllib.request\n"
        "from huggingface_hub import HfApi\n"
        "print(HfApi().whoami()['name'])\n"
        "print(urllib.request.urlopen(sys.argv[1], timeout=10).status)\n"
    )
    env = {**os.environ, **hub.proxy_env(), "HF_ENDPOINT": hub.url, "HF_TOKEN": hub.token}
    url = f"http://{hub.space_host(SPACE)}/health"
    done = subprocess.run(
        [sys.executable, "-c", script, url], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [hub.user, "200"]
    assert ("GET", "/api/whoami-v2") in hub.calls()  # direct: the Space app saw only /health
    assert hub.space_authorizations == [(hub.space_host(SPACE), None)]


# --- any body at all: never a 500, accepted only when well-formed ----------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
SECRET_BODIES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"key": st.text(max_size=8), "value": JSON_VALUES},
        optional={"description": JSON_VALUES, "extra": JSON_VALUES},
    ),
)


def well_formed_secret(body: object) -> bool:
    return (
        isinstance(body, dict)
        and set(body) <= {"key", "value", "description"}
        and isinstance(body.get("key"), str)
        and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", body["key"]) is not None
        and isinstance(body.get("value"), str)
        and isinstance(body.get("description", None), str | None)
    )


@pytest.fixture(scope="module")
def shared_hub() -> Iterator[tuple[HubStandIn, httpx.Client]]:
    """One stand-in and one keep-alive client for every example."""
    with HubStandIn() as hub, httpx.Client(base_url=hub.url, headers=_auth(hub)) as client:
        hub.add_repo(SPACE)
        yield hub, client


@settings(max_examples=100, deadline=None)
@given(body=SECRET_BODIES)
def test_a_secret_is_stored_only_from_a_well_formed_body(
    shared_hub: tuple[HubStandIn, httpx.Client], body: object
) -> None:
    hub, client = shared_hub
    hub.repo(SPACE).secrets.clear()
    answer = client.post(SECRETS_PATH, json=body)
    assert answer.status_code in (200, 400, 422), answer.text  # never a stand-in crash
    assert (answer.status_code == 200) == well_formed_secret(body), (body, answer.text)
    if answer.status_code == 200:
        assert hub.secrets == {body["key"]: body["value"]}
    else:
        assert hub.secrets == {} and answer.json()["error"]

"""A local stand-in for the Hugging Face Hub HTTP API and for a Space's own app.

This is NOT the Hub. It answers the few routes that a deploy command built on
``huggingface_hub.HfApi`` uses, with bodies shaped so that the real client
library (2.4.0) parses them, and it records everything it receives so that tests
can assert on it. Built on the standard library and ``_server``'s request record, it
serves two ``ThreadingHTTPServer`` instances on 127.0.0.1, each on a free port, from
daemon threads:

* ``hub.url``: the Hub API. Point the client at it with
  ``HfApi(endpoint=hub.url, token=hub.token)``, or with ``HF_ENDPOINT=hub.url`` in
  the environment of a *new* process (``huggingface_hub.constants.ENDPOINT`` is
  read once, when the library is imported).
* ``hub.space_url``: the Space's app, i.e. what ``https://<owner>-<name>.hf.space``
  would be. It answers ``GET /health`` with a configurable status and JSON body.

Usage::

    with HubStandIn(stages=["BUILDING", "BUILDING", "RUNNING"]) as hub:
        api = HfApi(endpoint=hub.url, token=hub.token)
        api.create_repo("standin-user/demo", repo_type="space", space_sdk="docker")
        hub.secrets, hub.variables, hub.files, hub.commits, hub.requests, hub.created

Routes (``{type}`` is ``models``, ``datasets`` or ``spaces``; ``{id}`` is
``namespace/name``; ``main`` is the only branch):

* ``GET /api/whoami-v2``
* ``POST /api/repos/create`` (409 when the repo exists, so ``exist_ok`` works),
  ``DELETE /api/repos/delete``
* ``GET /api/{type}/{id}`` and ``GET /api/{type}/{id}/revision/main``
* ``GET /api/{type}/{id}/tree/{rev}[/{path}]`` (what ``delete_patterns`` lists)
* ``GET /api/{type}/{id}/refs``, ``POST /api/{type}/{id}/tag/{rev}``,
  ``DELETE /api/{type}/{id}/tag/{tag}``; ``HEAD|GET /[{type}/]{id}/resolve/{rev}/{path}``
  (what ``hf_hub_download`` reads). ``{rev}`` is ``main``, a tag, or a commit (or its prefix)
  of the repo's history: every commit's files are kept.
* ``POST /api/validate-yaml`` (front matter of a README.md being uploaded)
* ``POST /api/{type}/{id}/preupload/main`` and ``POST /api/{type}/{id}/commit/main``
  (NDJSON; inline base64 files). Files at or above ``lfs_threshold`` bytes, or
  with a NUL byte in their first 512 bytes, are answered ``"lfs"`` like the Hub
  does; the stand-in stores no LFS/Xet content, so the token and batch routes
  for those answer 400 with a JSON error and the upload fails fast.
* ``GET|POST|DELETE /api/spaces/{id}/secrets`` and ``.../variables``
* ``GET /api/spaces/{id}/runtime``: the stage follows ``stages``, one step per
  poll, the last one repeating; a commit or a restart starts the script again.
* ``POST /api/spaces/{id}/restart``
* ``GET /api/spaces/{id}/logs/build`` and ``.../logs/run``: server-sent events,
  ``data: {"data": "<line>", "timestamp": "..."}``, then the stream ends.

Auth: EVERY Hub request must carry ``Authorization: Bearer <token>``, the
``token`` or the ``read_token``; none, or another token, gets 401 with the Hub's
error shape (``{"error": ...}`` and an ``X-Error-Message`` header). (The real Hub
lets anyone read a public repo; the stand-in does not, so a client that forgets
its token is caught.) ``whoami`` reports the token's role under
``auth.accessToken.role``; a "read" token gets 403 on every write (any method but
GET). The stand-in is stricter than the Hub here on purpose.

Payloads are checked as the Hub does: a body that is not JSON, or not an object,
gets 400; a missing, unexpected or mistyped field gets 422 naming the field; bad
keys (secrets, variables), repo names, paths in a repo, base64 and an NDJSON
commit that is not ``application/x-ndjson`` or has no header first get 400.

The Space app (``space_url``) answers ``/`` and ``/health``. When the Space is
private (``space_private``, else the Space's own flag) it answers 401 unless a
known token comes with the request. It records the ``Host`` and
``Authorization`` of every request (``space_authorizations``). It is also a
plain-http proxy for ``http://<owner>-<name>.hf.space`` (``proxy_env()``,
``space_host()``), so a client that sends its token only to ``*.hf.space`` can be
tested without DNS; any other host (an ``*.hf.space`` that names no Space, or
another site) gets 404, and is recorded like the rest.

Refusals: ``refuse_space_creation = 402`` makes ``POST /api/repos/create`` for a
Space with a non-static SDK answer 402 Payment Required, as the Hub does for a
free account creating a Docker Space once that needs a subscription;
``refuse_space_creation = 403`` answers 403 Forbidden instead. The wording of the
messages is the stand-in's own: callers should key on the status code.
``inject(method, path, status, error)`` makes the next matching request(s) fail.
Beware: the client retries 408/429/5xx with backoff on preupload/commit/tree.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from ._server import RecordedRequest, read_request

__all__ = [
    "SPACE_STAGES",
    "CommitRecord",
    "HubStandIn",
    "RepoRecord",
]

#: What ``HfApi.create_repo`` (2.x) may send besides ``name``.
_CREATE_OPTIONAL: dict[str, _Kinds] = {
    "organization": (str, type(None)),
    "visibility": str,
    "private": bool,
    "type": str,
    "sdk": str,
    "template": str,
    "hardware": str,
    "sleepTimeSeconds": int,
    "secrets": list,
    "variables": list,
    "volumes": list,
    "resourceGroupId": str,
    "region": str,
}
#: The stages ``huggingface_hub.SpaceStage`` knows (2.4.0).
SPACE_STAGES = (
    "NO_APP_FILE",
    "CONFIG_ERROR",
    "BUILDING",
    "BUILD_ERROR",
    "RUNNING",
    "RUNNING_BUILDING",
    "RUNTIME_ERROR",
    "DELETING",
    "STOPPED",
    "PAUSED",
    "APP_STARTING",
    "RUNNING_APP_STARTING",
)
_REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_SDKS = ("gradio", "streamlit", "docker", "static")
_INVALID_TOKEN = "Invalid credentials in Authorization header"
_NO_TOKEN = "Invalid username or password."  # the Hub's answer to a request with no token
_REPO_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFAULT_BUILD_LOGS = (
    "===== Build Queued =====",
    "--> FROM docker.io/library/python:3.11-slim",
    "--> RUN pip install --no-cache-dir -r requirements.txt",
    "--> Pushing image",
    "DONE 1.0s",
)
_DEFAULT_RUN_LOGS = (
    "===== Application Startup =====",
    "INFO:     Uvicorn running on http://0.0.0.0:7860 (Press CTRL+C to quit)",
)


def _now() -> str:
    """A timestamp in the one format ``huggingface_hub.utils.parse_datetime`` reads."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _git_blob_oid(content: bytes) -> str:
    """The git object id of a blob, which is what the client compares for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass(frozen=True)
class CommitRecord:
    """A commit the stand-in accepted."""

    repo_id: str
    repo_type: str
    revision: str
    oid: str
    summary: str
    description: str
    parent_commit: str | None
    added: dict[str, bytes]  # path -> content, regular (inline) files of this commit
    lfs: dict[str, dict[str, Any]]  # path -> {"oid", "size"} of lfsFile lines
    deleted: tuple[str, ...]  # deletedFile paths and deletedFolder prefixes (with "/")


@dataclass
class RepoRecord:
    """A repo the stand-in holds: what creation asked for and its current state."""

    repo_id: str
    repo_type: str
    sdk: str | None = None
    private: bool = False
    visibility: str = "public"
    hardware: str | None = None
    sleep_time: int | None = None
    created_via_api: bool = False
    create_payload: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    sha: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    secret_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    stage_index: int = 0
    history: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit -> its files
    tags: dict[str, str] = field(default_factory=dict)  # tag -> commit
    build: dict[str, Any] = field(default_factory=dict)  # this commit's stages/health override
    created_at: str = field(default_factory=_now)
    last_modified: str = field(default_factory=_now)

    @property
    def variable_values(self) -> dict[str, str]:
        return {key: item["value"] for key, item in self.variables.items()}


@dataclass
class _Fault:
    method: str
    path: str
    status: int
    error: str
    times: int | None


class _Reply(Exception):
    """Raised inside a route to answer at once with ``status`` and a JSON body."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _error(status: int, message: str, **headers: str) -> _Reply:
    return _Reply(status, {"error": message}, headers)


def _json_object(request: RecordedRequest, what: str) -> dict[str, Any]:
    """The request's JSON object body; 400 when it is not JSON, or not an object."""
    try:
        payload = json.loads(request.body) if request.body else None
    except ValueError:
        raise _error(400, f"{what}: the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise _error(400, f"{what}: the body must be a JSON object")
    return payload


_Kinds = type | tuple[type, ...]


def _check_fields(
    payload: Mapping[str, Any],
    what: str,
    required: Mapping[str, _Kinds],
    optional: Mapping[str, _Kinds] | None = None,
) -> None:
    """422 for a missing, unexpected or mistyped field, as the Hub validates a payload."""
    optional = optional or {}
    unexpected = sorted(set(payload) - set(required) - set(optional))
    if unexpected:
        raise _error(422, f"{what}: unexpected field(s) {', '.join(unexpected)}")
    for name in required:
        if name not in payload:
            raise _error(422, f"{what}: '{name}' is required")
    for name, kinds in {**required, **optional}.items():
        value = payload.get(name)
        if name in payload and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds))
        ):
            wanted = " or ".join(kind.__name__ for kind in _tuple(kinds))
            raise _error(422, f"{what}: '{name}' must be {wanted}, got {type(value).__name__}")


def _tuple(kinds: _Kinds) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _env_key(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ENV_KEY.fullmatch(value):
        raise _error(400, f"{what}: invalid key {value!r}: use letters, digits and underscores")
    return value


def _repo_path(value: Any, what: str) -> str:
    """A path inside a repo: relative, no '..' or empty parts."""
    parts = value.split("/") if isinstance(value, str) else [""]
    if any(part in ("", ".", "..") for part in parts):
        raise _error(400, f"{what}: invalid path in repo {value!r}")
    return value


def _key_values(items: Any, what: str) -> list[dict[str, Any]]:
    """The ``secrets``/``variables`` list of a create payload."""
    if not isinstance(items, list):
        raise _error(422, f"{what}: must be a list")
    for item in items:
        if not isinstance(item, dict):
            raise _error(422, f"{what}: each entry must be an object")
        _check_fields(item, what, {"key": str, "value": str}, {"description": (str, type(None))})
        _env_key(item["key"], what)
    return items


def _host_of(request: RecordedRequest) -> str:
    """The host a request was for, without the port (from Host, as a proxy reads it)."""
    host = (request.headers.get("host") or "").strip().lower()
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _gitignore_rules(text: str) -> list[tuple[bool, bool, bool, str]]:
    """(negated, dir_only, anchored, pattern) for each rule of a .gitignore."""
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line[1:] if negated else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        rules.append((negated, dir_only, anchored, line.lstrip("/")))
    return rules


def _gitignored(path: str, rules: Sequence[tuple[bool, bool, bool, str]]) -> bool:
    """A small subset of .gitignore matching: enough for ``.env``, ``__pycache__/``, ``*.pyc``."""
    parts = path.split("/")
    ignored = False
    for negated, dir_only, anchored, pattern in rules:
        matched = False
        for depth in range(1, len(parts) + 1):
            is_dir = depth < len(parts)
            if dir_only and not is_dir:
                continue
            candidate = "/".join(parts[:depth]) if anchored else parts[depth - 1]
            if fnmatch.fnmatchcase(candidate, pattern):
                matched = True
                break
        if matched:
            ignored = not negated
    return ignored


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        self.server.handle_request_for(read_request(self), self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        content_type = {"Content-Type": "application/json; charset=utf-8"}
        self.send_payload(status, payload, {**content_type, **(headers or {})})

    def send_bytes(self, content: bytes, headers: Mapping[str, str]) -> None:
        self.send_payload(200, content, {"Content-Type": "application/octet-stream", **headers})

    def send_payload(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
        """One answer with its length; HEAD gets the headers only."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def send_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Server-sent events, then the end of the stream (Connection: close)."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"data: \n\n")  # a keep-alive event, as the Hub sends; clients skip it
        for event in events:
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: HubStandIn, role: str) -> None:
        self.owner = owner
        self.role = role
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_request_for(self, request: RecordedRequest, handler: _Handler) -> None:
        if self.role == "hub":
            self.owner._handle_hub(request, handler)
        else:
            self.owner._handle_space(request, handler)


class HubStandIn:
    """A stand-in for the Hugging Face Hub API and a Space's app (not the Hub; see module doc).

    Arguments (all keyword-only, all also writable attributes while running):

    ``token``: the bearer token of the user, with ``role`` "write" (default) or
    "read"; ``read_token``: a second token that is always read-only. Any other
    token, or none, gets 401 on every route; a read-only token gets 403 on every
    write. ``user`` and ``orgs``: who the tokens are, and the namespaces they may
    create repos in. ``space_private``: whether the Space app asks for a token on
    ``/health``; ``None`` (default) follows the Space's own ``private`` flag.
    ``stages``: the runtime script. ``build_logs`` / ``run_logs``: lines served by
    the logs routes. ``error_message``: the runtime's ``errorMessage`` while the
    stage is an ``*_ERROR``.
    ``health_status``: an int, or a sequence of ints served one per request (the
    last repeating); ``health_body``: the JSON the Space answers on ``/health``.
    ``next_builds``: a queue of ``{"stages": [...], "health": int | list[int]}`` (either
    key optional; a list is served one status per request, the last repeating), one taken by
    each new commit, for which it overrides ``stages`` and ``health_status``: a test makes one
    upload's build or /health fail, or fail for a while.
    ``refuse_space_creation``: ``None``, 402 or 403. ``lfs_threshold``: size in
    bytes from which preupload answers ``"lfs"``.

    Recorded state: ``requests`` (Hub API), ``space_requests`` (Space app, with the
    ``Host`` each came for; ``space_authorizations`` lists (host, Authorization)),
    ``repos`` (every repo, by id), ``created`` (the ones created through the API),
    ``commits``, and, for the current Space (the one last created, written or
    read through the API; ``space_id``), ``secrets``, ``variables``, ``files``
    and ``runtime_polls``. ``repo(repo_id)`` gives any repo's record.
    """

    def __init__(
        self,
        *,
        token: str = "hf_standin_write_token",
        role: str = "write",
        read_token: str = "hf_standin_read_token",
        space_private: bool | None = None,
        user: str = "standin-user",
        orgs: Sequence[str] = ("standin-org",),
        stages: Sequence[str] = ("BUILDING", "RUNNING"),
        build_logs: Sequence[str] = _DEFAULT_BUILD_LOGS,
        run_logs: Sequence[str] = _DEFAULT_RUN_LOGS,
        error_message: str = "Build failed with exit code: 1",
        health_status: int | Sequence[int] = 200,
        health_body: Mapping[str, Any] | None = None,
        refuse_space_creation: int | None = None,
        lfs_threshold: int = 10 * 1024 * 1024,
    ) -> None:
        if role not in ("write", "read"):
            raise ValueError(f"role must be 'write' or 'read', not {role!r}")
        self.token = token
        self.role = role
        self.read_token = read_token
        self.space_private = space_private
        self.user = user
        self.orgs = tuple(orgs)
        self.stages = stages
        self.build_logs = list(build_logs)
        self.run_logs = list(run_logs)
        self.error_message = error_message
        self.health_status = health_status
        self.health_body: dict[str, Any] = (
            dict(health_body) if health_body is not None else {"status": "ok", "services": {}}
        )
        self.refuse_space_creation = refuse_space_creation
        self.lfs_threshold = lfs_threshold
        self.next_builds: list[dict[str, Any]] = []

        self.requests: list[RecordedRequest] = []
        self.space_requests: list[RecordedRequest] = []
        self.repos: dict[str, RepoRecord] = {}
        self.commits: list[CommitRecord] = []
        self.unhandled: list[RecordedRequest] = []
        self.space_id: str | None = None
        self.runtime_polls = 0

        self._faults: list[_Fault] = []
        self._health_index = 0
        self._lock = threading.RLock()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._oids = (hashlib.sha1(f"standin-{n}".encode()).hexdigest() for n in itertools.count())

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> HubStandIn:
        if self._servers:
            return self
        for role in ("hub", "space"):
            server = _Server(self, role)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"HubStandIn-{role}",
                daemon=True,
            )
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> HubStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------

    def _address(self, index: int) -> str:
        if not self._servers:
            raise RuntimeError("the Hub stand-in is not running: use start() or a with block")
        host, port = self._servers[index].server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The Hub API endpoint (``HF_ENDPOINT``), with no trailing slash."""
        return self._address(0)

    @property
    def space_url(self) -> str:
        """Where the Space's app answers (stands for ``https://<owner>-<name>.hf.space``)."""
        return self._address(1)

    # -- configuration ----------------------------------------------------------------

    @property
    def stages(self) -> list[str]:
        return list(self._stages)

    @stages.setter
    def stages(self, value: Sequence[str]) -> None:
        stages = [str(stage) for stage in value]
        unknown = [stage for stage in stages if stage not in SPACE_STAGES]
        if not stages or unknown:
            raise ValueError(f"stages must be a non-empty list of {SPACE_STAGES}; got {value!r}")
        self._stages = stages
        for repo in getattr(self, "repos", {}).values():
            repo.stage_index = 0

    def add_repo(
        self,
        repo_id: str,
        *,
        repo_type: str = "space",
        sdk: str | None = "docker",
        private: bool = False,
        hardware: str | None = None,
        files: Mapping[str, bytes] | None = None,
        secrets: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> RepoRecord:
        """Seed a repo that exists before the test runs (not listed in ``created``)."""
        repo = RepoRecord(
            repo_id=repo_id,
            repo_type=repo_type,
            sdk=sdk if repo_type == "space" else None,
            private=private,
            visibility="private" if private else "public",
            hardware=hardware,
            files=dict(files or {}),
            sha=next(self._oids),
        )
        repo.history[repo.sha] = dict(repo.files)
        for key, value in (secrets or {}).items():
            repo.secrets[key] = value
            repo.secret_meta[key] = {"description": None, "updatedAt": _now()}
        for key, value in (variables or {}).items():
            repo.variables[key] = {"value": value, "description": None, "updatedAt": _now()}
        with self._lock:
            self.repos[self._key(repo_type, repo_id)] = repo
            self.space_id = repo_id if repo_type == "space" else self.space_id
        return repo

    def inject(
        self, method: str, path: str, status: int, error: str = "injected failure", times: int = 1
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path`` with an error.

        ``times=0`` means every such request until ``clear_faults()``.
        """
        with self._lock:
            self._faults.append(_Fault(method.upper(), path, status, error, times or None))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- recorded state ---------------------------------------------------------------

    @staticmethod
    def _key(repo_type: str, repo_id: str) -> str:
        return repo_id if repo_type == "space" else f"{repo_type}:{repo_id}"

    def repo(self, repo_id: str, repo_type: str = "space") -> RepoRecord:
        with self._lock:
            return self.repos[self._key(repo_type, repo_id)]

    @property
    def created(self) -> dict[str, RepoRecord]:
        """Repos created through ``POST /api/repos/create``, by key (Spaces: the repo id)."""
        with self._lock:
            return {key: repo for key, repo in self.repos.items() if repo.created_via_api}

    def _current(self) -> RepoRecord | None:
        with self._lock:
            return self.repos.get(self.space_id) if self.space_id else None

    @property
    def secrets(self) -> dict[str, str]:
        """The current Space's secrets, name -> value (values the Hub never gives back)."""
        repo = self._current()
        return dict(repo.secrets) if repo else {}

    @property
    def variables(self) -> dict[str, str]:
        """The current Space's public variables, name -> value."""
        repo = self._current()
        return repo.variable_values if repo else {}

    @property
    def files(self) -> dict[str, bytes]:
        """The current Space's files after the last commit, path -> content."""
        repo = self._current()
        return dict(repo.files) if repo else {}

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        """``(method, path)`` of every Hub API request, oldest first."""
        with self._lock:
            return [(r.method, r.path) for r in self.requests if method in (None, r.method.upper())]

    # -- Space app --------------------------------------------------------------------

    @staticmethod
    def space_host(repo_id: str) -> str:
        """``<owner>-<name>.hf.space``: the host the Hub gives a Space's app."""
        return re.sub(r"[^a-z0-9-]", "-", repo_id.replace("/", "-").lower()) + ".hf.space"

    def proxy_env(self) -> dict[str, str]:
        """Environment for a process whose plain-http requests to ``*.hf.space`` must
        reach the Space app: the Space app is the HTTP proxy, and the Hub API (on
        127.0.0.1) is reached directly. Pair it with ``http://<space_host>`` URLs
        (no https: the stand-in is no TLS proxy)."""
        direct = "127.0.0.1,localhost"
        return {
            "http_proxy": self.space_url,
            "HTTP_PROXY": self.space_url,
            "no_proxy": direct,
            "NO_PROXY": direct,
        }

    @property
    def space_authorizations(self) -> list[tuple[str, str | None]]:
        """(Host, Authorization header or None) of every request the Space app got."""
        with self._lock:
            return [(_host_of(r), r.headers.get("authorization")) for r in self.space_requests]

    def _space_for(self, host: str) -> tuple[bool, RepoRecord | None]:
        """(known, repo) for the host a Space app request came for: an ``*.hf.space``
        host names one Space; the stand-in's own address is the current Space; any
        other host (a request proxied elsewhere) is unknown."""
        with self._lock:
            if host in ("127.0.0.1", "localhost"):
                return True, self._current()
            for repo in self.repos.values():
                if repo.repo_type == "space" and self.space_host(repo.repo_id) == host:
                    return True, repo
            return False, None

    def _handle_space(self, request: RecordedRequest, handler: _Handler) -> None:
        known, repo = self._space_for(_host_of(request))
        with self._lock:
            self.space_requests.append(request)
            private = self.space_private
            if private is None:
                private = repo is not None and repo.private
            auth = request.headers.get("authorization") or ""
            scheme, _, value = auth.partition(" ")
            token_ok = scheme.lower() == "bearer" and value.strip() in self._roles()
            if not known:  # recorded all the same: a test can see where a request went
                status, body = 404, {"error": f"no Space answers at {_host_of(request)}"}
            elif private and not token_ok:
                status, body = 401, {"error": "This Space is private: sign in or send a token"}
            elif request.path == "/health" and request.method in ("GET", "HEAD"):
                override = repo.build.get("health") if repo is not None else None
                if isinstance(override, list):  # one per request, the last repeating
                    status = override.pop(0) if len(override) > 1 else override[0]
                elif override is not None:
                    status = override
                elif isinstance(self.health_status, int):
                    status = self.health_status
                else:
                    statuses = list(self.health_status)
                    status = statuses[min(self._health_index, len(statuses) - 1)]
                    self._health_index += 1
                body = copy.deepcopy(self.health_body)
            elif request.path == "/" and request.method == "GET":
                status, body = 200, {"app": "stand-in Space", "health": "/health"}
            else:
                status, body = 404, {"detail": "Not Found"}
        handler.send_json(status, body)

    # -- Hub API ----------------------------------------------------------------------

    def _handle_hub(self, request: RecordedRequest, handler: _Handler) -> None:
        with self._lock:
            self.requests.append(request)
        try:
            self._check_fault(request)
            result = self._route(request)
        except _Reply as reply:
            handler.send_json(reply.status, reply.body, reply.headers)
            return
        if isinstance(result, _Events):
            handler.send_events(result.events)
        elif isinstance(result, _Raw):
            handler.send_bytes(result.content, result.headers)
        else:
            handler.send_json(200, result)

    def _check_fault(self, request: RecordedRequest) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.method == request.method and request.path.startswith(fault.path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    raise _error(fault.status, fault.error)

    def _role(self, request: RecordedRequest) -> str:
        """The role of the request's token ("write" or "read"); 401 without a known one."""
        auth = request.headers.get("authorization")
        if auth is None:
            raise _error(401, _NO_TOKEN, **{"X-Error-Message": _NO_TOKEN})
        scheme, _, value = auth.partition(" ")
        role = self._roles().get(value.strip()) if scheme.lower() == "bearer" else None
        if role is None:
            raise _error(401, _INVALID_TOKEN, **{"X-Error-Message": _INVALID_TOKEN})
        return role

    def _roles(self) -> dict[str, str]:
        return {self.read_token: "read", self.token: self.role}

    @staticmethod
    def _require_write(request: RecordedRequest, role: str) -> None:
        if role != "write":
            message = (
                f"This token is read-only: {request.method} {request.path} needs a token "
                "with write access (https://huggingface.co/settings/tokens)."
            )
            raise _error(403, message, **{"X-Error-Message": message})

    def _route(self, request: RecordedRequest) -> Any:
        method, path = request.method, request.path
        role = self._role(request)  # every route: no token, or an unknown one, is a 401
        if path == "/api/whoami-v2" and method == "GET":
            return self._whoami(role)
        if path == "/api/validate-yaml" and method == "POST":
            return self._validate_yaml(request)
        if path == "/api/repos/create" and method == "POST":
            self._require_write(request, role)
            return self._create_repo(request)
        if path == "/api/repos/delete" and method == "DELETE":
            self._require_write(request, role)
            return self._delete_repo(request)
        resolve = re.fullmatch(r"/(?:(spaces|datasets)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if resolve and method in ("GET", "HEAD"):
            return self._resolve_file(resolve)
        if re.fullmatch(r"/(?:(spaces|datasets)/)?([^/]+/[^/]+)\.git/info/lfs/.*", path):
            raise _error(400, "The Hub stand-in stores no LFS content: keep test files small.")
        match = re.fullmatch(r"/api/(models|datasets|spaces)/([^/]+/[^/]+?)(?:/(.*))?", path)
        if match:
            return self._repo_route(request, role, _REPO_TYPES[match[1]], match[2], match[3] or "")
        with self._lock:
            self.unhandled.append(request)
        raise _error(404, f"The Hub stand-in does not implement {method} {path}")

    def _whoami(self, role: str) -> dict[str, Any]:
        return {
            "type": "user",
            "id": hashlib.sha1(self.user.encode()).hexdigest()[:24],
            "name": self.user,
            "fullname": self.user,
            "isPro": False,
            "canPay": False,
            "orgs": [{"type": "org", "name": org, "roleInOrg": "admin"} for org in self.orgs],
            "auth": {
                "type": "access_token",
                "accessToken": {"displayName": f"stand-in {role}", "role": role},
            },
        }

    def _validate_yaml(self, request: RecordedRequest) -> dict[str, Any]:
        payload = _json_object(request, "validate-yaml")
        _check_fields(payload, "validate-yaml", {"content": str}, {"repoType": str})
        lines = payload["content"].splitlines()
        if not lines or lines[0].strip() != "---":
            return {"errors": [], "warnings": [{"message": "empty or missing yaml metadata"}]}
        if not any(line.strip() == "---" for line in lines[1:]):
            raise _Reply(
                400, {"errors": [{"message": "the YAML front matter is not closed by '---'"}]}
            )
        return {"errors": [], "warnings": []}

    def _create_repo(self, request: RecordedRequest) -> dict[str, Any]:
        payload = _json_object(request, "repos/create")
        _check_fields(payload, "repos/create", {"name": str}, _CREATE_OPTIONAL)
        name = payload["name"]
        namespace = payload.get("organization") or self.user
        repo_type = payload.get("type") or "model"
        if not _REPO_NAME.fullmatch(name) or ".." in name:
            raise _error(400, f"Invalid repo name {name!r}: letters, digits, '-', '_', '.'")
        if repo_type not in _REPO_TYPES.values():
            raise _error(400, f"Invalid repo type {repo_type!r}")
        if payload.get("visibility", "public") not in ("public", "private", "protected"):
            raise _error(400, f"Invalid visibility {payload['visibility']!r}")
        for field_name in ("secrets", "variables"):
            if field_name in payload:
                _key_values(payload[field_name], f"repos/create {field_name}")
        repo_id = f"{namespace}/{name}"
        sdk = payload.get("sdk")
        if repo_type == "space" and sdk not in _SDKS:
            raise _error(400, f"Invalid sdk: choose one of {', '.join(_SDKS)}")
        if namespace not in (self.user, *self.orgs):
            raise _error(
                403, f"You don't have the rights to create a {repo_type} under {namespace}"
            )
        url = self._repo_url(repo_type, repo_id)
        with self._lock:
            existing = self.repos.get(self._key(repo_type, repo_id))
            if repo_type == "space" and sdk != "static" and self.refuse_space_creation:
                # The Hub checks the plan before the name: an existing Space gets it too.
                raise self._refusal(sdk)
            if existing is not None:
                raise _Reply(
                    409, {"error": f"You already created this {repo_type} repo", "url": url}
                )
            visibility = payload.get("visibility") or (
                "private" if payload.get("private") else "public"
            )
            repo = RepoRecord(
                repo_id=repo_id,
                repo_type=repo_type,
                sdk=sdk if repo_type == "space" else None,
                private=visibility == "private",
                visibility=visibility,
                hardware=payload.get("hardware") if repo_type == "space" else None,
                sleep_time=payload.get("sleepTimeSeconds"),
                created_via_api=True,
                create_payload=payload,
                sha=next(self._oids),
            )
            repo.history[repo.sha] = {}
            for item in payload.get("secrets") or []:
                repo.secrets[item["key"]] = item["value"]
                repo.secret_meta[item["key"]] = {
                    "description": item.get("description"),
                    "updatedAt": _now(),
                }
            for item in payload.get("variables") or []:
                repo.variables[item["key"]] = {
                    "value": item["value"],
                    "description": item.get("description"),
                    "updatedAt": _now(),
                }
            self.repos[self._key(repo_type, repo_id)] = repo
            if repo_type == "space":
                self.space_id = repo_id
        return {"url": url, "name": repo_id, "id": hashlib.sha1(repo_id.encode()).hexdigest()[:24]}

    def _refusal(self, sdk: str) -> _Reply:
        if self.refuse_space_creation == 402:
            return _error(
                402,
                f"Payment required: creating a {sdk} Space needs a paid plan (PRO for users,"
                " Team or Enterprise for organizations). Static Spaces stay free.",
            )
        if self.refuse_space_creation == 403:
            return _error(403, f"Forbidden: your plan does not allow creating {sdk} Spaces.")
        return _error(int(self.refuse_space_creation or 400), "Space creation refused")

    def _delete_repo(self, request: RecordedRequest) -> None:
        payload = _json_object(request, "repos/delete")
        _check_fields(
            payload, "repos/delete", {"name": str}, {"organization": (str, type(None)), "type": str}
        )
        repo_id = f"{payload.get('organization') or self.user}/{payload.get('name')}"
        key = self._key(payload.get("type") or "model", repo_id)
        with self._lock:
            if self.repos.pop(key, None) is None:
                raise self._not_found()
            if self.space_id == repo_id:
                self.space_id = None
        return None

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        return f"{self.url}/{prefix}{repo_id}"

    @staticmethod
    def _not_found() -> _Reply:
        return _error(404, "Repository not found", **{"X-Error-Code": "RepoNotFound"})

    def _repo_route(
        self, request: RecordedRequest, role: str, repo_type: str, repo_id: str, rest: str
    ) -> Any:
        method = request.method
        with self._lock:
            repo = self.repos.get(self._key(repo_type, repo_id))
        if repo is None:
            raise self._not_found()
        if method != "GET":  # every write; a read token may only look
            self._require_write(request, role)
        if repo_type == "space":
            with self._lock:
                self.space_id = repo_id

        head, _, tail = rest.partition("/")
        if method == "GET" and (rest == "" or head == "revision"):
            return self._repo_info(repo, self._resolve(repo, tail or "main"))
        if method == "GET" and head == "tree":
            revision, _, folder = tail.partition("/")
            files = repo.history[self._resolve(repo, revision)]
            recursive = [v.lower() for v in request.query.get("recursive", [])] == ["true"]
            return self._tree(files, folder, recursive=recursive)
        if method == "GET" and rest == "refs":
            return self._refs(repo)
        if head == "tag" and method in ("POST", "DELETE"):
            return self._tag(repo, request, unquote(tail))
        if method == "POST" and head == "preupload":
            self._check_revision(tail)
            return self._preupload(repo, request)
        if method == "POST" and head == "commit":
            self._check_revision(tail)
            return self._commit(repo, request, tail)
        if method == "GET" and re.fullmatch(r"xet-(read|write)-token", head):
            raise _error(400, "The Hub stand-in stores no Xet/LFS content: keep test files small.")
        if repo_type == "space":
            space_routes = {
                "secrets": self._secrets,
                "variables": self._variables,
                "runtime": self._runtime_route,
                "restart": self._restart,
                "logs": self._logs,
            }
            if head in space_routes:
                return space_routes[head](repo, request, tail)
        with self._lock:
            self.unhandled.append(request)
        raise _error(404, f"The Hub stand-in does not implement {method} {request.path}")

    @staticmethod
    def _check_revision(revision: str) -> None:
        if unquote(revision) != "main":
            raise _error(404, f"Invalid rev id: {revision}", **{"X-Error-Code": "RevisionNotFound"})

    def _resolve(self, repo: RepoRecord, revision: str) -> str:
        """The commit ``revision`` names: ``main``, a tag, or a commit of the repo or its prefix."""
        revision = unquote(revision)
        with self._lock:
            if revision == "main":
                return repo.sha
            if revision in repo.tags:
                return repo.tags[revision]
            found = [sha for sha in repo.history if len(revision) >= 7 and sha.startswith(revision)]
        if len(found) != 1:
            raise _error(404, f"Invalid rev id: {revision}", **{"X-Error-Code": "RevisionNotFound"})
        return found[0]

    def _refs(self, repo: RepoRecord) -> dict[str, Any]:
        def ref(name: str, kind: str, sha: str) -> dict[str, str]:
            return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": sha}

        with self._lock:
            tags = [ref(name, "tags", sha) for name, sha in sorted(repo.tags.items())]
            return {"branches": [ref("main", "heads", repo.sha)], "converts": [], "tags": tags}

    def _tag(self, repo: RepoRecord, request: RecordedRequest, tail: str) -> None:
        if request.method == "DELETE":
            with self._lock:
                if repo.tags.pop(tail, None) is None:
                    raise _error(
                        404, f"Invalid rev id: {tail}", **{"X-Error-Code": "RevisionNotFound"}
                    )
            return None
        payload = _json_object(request, "tag")
        _check_fields(payload, "tag", {"tag": str}, {"message": str})
        sha = self._resolve(repo, tail)
        with self._lock:
            if payload["tag"] in repo.tags:
                raise _error(409, f"Tag {payload['tag']} already exists")
            repo.tags[payload["tag"]] = sha
        return None

    def _resolve_file(self, match: re.Match[str]) -> _Raw:
        """``HEAD|GET /[{type}/]{id}/resolve/{rev}/{path}``: a file's bytes at a revision, with
        the headers ``hf_hub_download`` reads (X-Repo-Commit, ETag, Content-Length)."""
        repo_type = _REPO_TYPES.get(match[1] or "", "model")
        with self._lock:
            repo = self.repos.get(self._key(repo_type, match[2]))
        if repo is None:
            raise self._not_found()
        sha = self._resolve(repo, match[3])
        path = unquote(match[4])
        content = repo.history[sha].get(path)
        if content is None:
            raise _error(404, f"{path} not found", **{"X-Error-Code": "EntryNotFound"})
        return _Raw(content, {"X-Repo-Commit": sha, "ETag": f'"{_git_blob_oid(content)}"'})

    def _runtime(self, repo: RepoRecord) -> dict[str, Any]:
        stages = repo.build.get("stages") or self._stages
        stage = stages[min(repo.stage_index, len(stages) - 1)]
        requested = repo.hardware or "cpu-basic"
        runtime: dict[str, Any] = {
            "stage": stage,
            "hardware": {
                "current": requested if stage.startswith("RUNNING") else None,
                "requested": requested,
            },
            "gcTimeout": repo.sleep_time if repo.sleep_time is not None else 172800,
            "storage": None,
            "devMode": False,
            "replicas": {"requested": 1, "current": 1 if stage.startswith("RUNNING") else 0},
        }
        if stage.endswith("_ERROR"):
            runtime["errorMessage"] = self.error_message
        return runtime

    def _repo_info(self, repo: RepoRecord, sha: str) -> dict[str, Any]:
        with self._lock:
            info: dict[str, Any] = {
                "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
                "id": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": sha,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "createdAt": repo.created_at,
                "lastModified": repo.last_modified,
                "likes": 0,
                "tags": [],
                "siblings": [{"rfilename": path} for path in sorted(repo.history[sha])],
            }
            if repo.repo_type == "space":
                namespace, name = repo.repo_id.split("/")
                info.update(
                    sdk=repo.sdk,
                    subdomain=f"{namespace}-{name}".lower().replace("_", "-"),
                    host=self.space_url,
                    runtime=self._runtime(repo),
                )
        return info

    def _tree(
        self, files: dict[str, bytes], folder: str, *, recursive: bool
    ) -> list[dict[str, Any]]:
        prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        with self._lock:
            for path, content in sorted(files.items()):
                if not path.startswith(prefix):
                    continue
                parts = path[len(prefix) :].split("/")
                if len(parts) > 1:
                    depth = len(parts) - 1 if recursive else 1
                    for level in range(1, depth + 1):
                        sub = prefix + "/".join(parts[:level])
                        oid = hashlib.sha1(sub.encode()).hexdigest()
                        entries.setdefault(sub, {"type": "directory", "oid": oid, "path": sub})
                    if not recursive:
                        continue
                entries[path] = {
                    "type": "file",
                    "oid": _git_blob_oid(content),
                    "size": len(content),
                    "path": path,
                }
        if prefix and not entries:
            raise _error(404, f"{folder} does not exist", **{"X-Error-Code": "EntryNotFound"})
        return list(entries.values())

    def _preupload(self, repo: RepoRecord, request: RecordedRequest) -> dict[str, Any]:
        payload = _json_object(request, "preupload")
        _check_fields(payload, "preupload", {"files": list}, {"gitIgnore": str})
        for item in payload["files"]:
            if not isinstance(item, dict):
                raise _error(422, "preupload: each file must be an object")
            _check_fields(item, "preupload file", {"path": str, "sample": str, "size": int})
            _repo_path(item["path"], "preupload")
            if item["size"] < 0:
                raise _error(422, f"preupload: negative size for {item['path']}")
            try:
                base64.b64decode(item["sample"], validate=True)
            except ValueError:
                raise _error(400, f"preupload: sample of {item['path']} is not base64") from None
        with self._lock:
            gitignore = payload.get("gitIgnore")
            if gitignore is None and ".gitignore" in repo.files:
                gitignore = repo.files[".gitignore"].decode(errors="replace")
            rules = _gitignore_rules(gitignore or "")
            answers = []
            for item in payload.get("files", []):
                path, size = item["path"], int(item["size"])
                sample = base64.b64decode(item.get("sample") or "")
                lfs = size >= self.lfs_threshold or b"\0" in sample
                current = repo.files.get(path)
                answers.append(
                    {
                        "path": path,
                        "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": _gitignored(path, rules),
                        "oid": _git_blob_oid(current) if current is not None and not lfs else None,
                    }
                )
        return {"files": answers, "commitOid": repo.sha}

    def _commit(self, repo: RepoRecord, request: RecordedRequest, revision: str) -> dict[str, Any]:
        header: dict[str, Any] | None = None
        added: dict[str, bytes] = {}
        lfs: dict[str, dict[str, Any]] = {}
        deleted: list[str] = []
        content_type = (request.header("content-type") or "").split(";")[0].strip()
        if content_type != "application/x-ndjson":
            raise _error(400, f"commit: Content-Type {content_type!r} is not application/x-ndjson")
        try:
            lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise _error(400, f"Invalid NDJSON commit payload: {exc}") from exc
        for number, line in enumerate(lines, 1):
            what = f"commit line {number}"
            if not isinstance(line, dict):
                raise _error(400, f"{what}: must be a JSON object")
            _check_fields(line, what, {"key": str, "value": dict})
            key, value = line["key"], line["value"]
            if (key == "header") != (number == 1):
                raise _error(400, f"{what}: the header must come first, and only once")
            if key == "header":
                _check_fields(
                    value, what, {"summary": str}, {"description": str, "parentCommit": str}
                )
                header = value
            elif key == "file":
                _check_fields(value, what, {"path": str, "content": str, "encoding": str})
                if value["encoding"] != "base64":
                    raise _error(400, f"Unsupported encoding for {value['path']}")
                try:
                    content = base64.b64decode(value["content"], validate=True)
                except ValueError:
                    raise _error(400, f"{what}: content is not base64") from None
                added[_repo_path(value["path"], what)] = content
            elif key == "lfsFile":
                _check_fields(value, what, {"path": str, "algo": str, "oid": str}, {"size": int})
                lfs[_repo_path(value["path"], what)] = {
                    "oid": value["oid"],
                    "size": value.get("size"),
                }
            elif key in ("deletedFile", "deletedFolder"):
                _check_fields(value, what, {"path": str})
                path = _repo_path(value["path"].rstrip("/"), what)
                deleted.append(path + "/" if key == "deletedFolder" else path)
            else:
                raise _error(400, f"Unknown commit operation {key!r}")
        if header is None or not header["summary"].strip():
            raise _error(400, "The commit payload has no header with a summary")
        if lfs:
            raise _error(
                422,
                "The Hub stand-in stores no LFS/Xet content; these files were never uploaded: "
                + ", ".join(sorted(lfs)),
            )
        with self._lock:
            parent = header.get("parentCommit")
            if parent and not repo.sha.startswith(parent):
                raise _error(412, "A commit has happened since. Please refresh and try again.")
            for path in deleted:
                if path.endswith("/"):
                    gone = [p for p in repo.files if p.startswith(path)]
                elif path in repo.files:
                    gone = [path]
                else:
                    raise _error(404, f"File {path} not found", **{"X-Error-Code": "EntryNotFound"})
                for p in gone:
                    del repo.files[p]
            repo.files.update(added)
            repo.sha = next(self._oids)
            repo.last_modified = _now()
            repo.stage_index = 0  # a new commit means a new build
            repo.history[repo.sha] = dict(repo.files)
            repo.build = self.next_builds.pop(0) if self.next_builds else {}
            self.commits.append(
                CommitRecord(
                    repo_id=repo.repo_id,
                    repo_type=repo.repo_type,
                    revision=unquote(revision),
                    oid=repo.sha,
                    summary=header["summary"],
                    description=header.get("description") or "",
                    parent_commit=parent,
                    added=added,
                    lfs=lfs,
                    deleted=tuple(deleted),
                )
            )
            oid = repo.sha
        return {
            "success": True,
            "commitOid": oid,
            "commitUrl": f"{self._repo_url(repo.repo_type, repo.repo_id)}/commit/{oid}",
            "pullRequestUrl": None,
        }

    def _secrets(self, repo: RepoRecord, request: RecordedRequest, tail: str) -> Any:
        payload = self._key_payload(request, tail, "secrets")
        with self._lock:
            if request.method == "GET" and not tail:
                return copy.deepcopy(repo.secret_meta)
            if request.method == "POST" and not tail:
                key = payload["key"]
                repo.secrets[key] = payload["value"]
                repo.secret_meta[key] = {
                    "description": payload.get("description"),
                    "updatedAt": _now(),
                }
                return None
            if request.method == "DELETE" and not tail:
                key = payload["key"]
                repo.secrets.pop(key, None)
                repo.secret_meta.pop(key, None)
                return None
        raise _error(405, f"{request.method} is not allowed on {request.path}")

    def _variables(self, repo: RepoRecord, request: RecordedRequest, tail: str) -> Any:
        payload = self._key_payload(request, tail, "variables")
        with self._lock:
            if request.method == "POST" and not tail:
                key = payload["key"]
                repo.variables[key] = {
                    "value": payload["value"],
                    "description": payload.get("description"),
                    "updatedAt": _now(),
                }
            elif request.method == "DELETE" and not tail:
                repo.variables.pop(payload["key"], None)
            elif request.method != "GET" or tail:
                raise _error(405, f"{request.method} is not allowed on {request.path}")
            return copy.deepcopy(repo.variables)

    @staticmethod
    def _key_payload(request: RecordedRequest, tail: str, what: str) -> dict[str, Any]:
        """The checked body of a secrets/variables POST ({key, value, description?}) or
        DELETE ({key}); a GET has none."""
        if tail or request.method not in ("POST", "DELETE"):
            return {}
        payload = _json_object(request, what)
        if request.method == "POST":
            _check_fields(
                payload, what, {"key": str, "value": str}, {"description": (str, type(None))}
            )
        else:
            _check_fields(payload, what, {"key": str})
        _env_key(payload["key"], what)
        return payload

    def _runtime_route(self, repo: RepoRecord, request: RecordedRequest, tail: str) -> Any:
        if request.method != "GET" or tail:
            raise _error(405, f"{request.method} is not allowed on {request.path}")
        with self._lock:
            runtime = self._runtime(repo)
            repo.stage_index += 1
            self.runtime_polls += 1
        return runtime

    def _restart(self, repo: RepoRecord, request: RecordedRequest, tail: str) -> Any:
        if request.method != "POST" or tail:
            raise _error(405, f"{request.method} is not allowed on {request.path}")
        if repo.sdk == "static":
            raise _error(400, "Static Spaces are always running")
        with self._lock:
            repo.stage_index = 0
            return self._runtime(repo)

    def _logs(self, repo: RepoRecord, request: RecordedRequest, tail: str) -> _Events:
        if request.method != "GET" or tail not in ("build", "run"):
            raise _error(404, f"No such logs: {tail!r}")
        with self._lock:
            lines = list(self.build_logs if tail == "build" else self.run_logs)
        stamp = _now()  # before the Date header: the client drops events dated after it
        return _Events(
            [
                {"data": line if line.endswith("\n") else line + "\n", "timestamp": stamp}
                for line in lines
            ]
        )


@dataclass
class _Events:
    events: list[dict[str, Any]]


@dataclass
class _Raw:
    content: bytes
    headers: dict[str, str]

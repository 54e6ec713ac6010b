"""Readiness of the generated app, for real: `python -m app` against live services and faults.

The project rendered with every service runs as a subprocess (its own virtualenv) against
a real PostgreSQL and a real Redis started here, and against the local HTTP stand-ins of
Qdrant, Elasticsearch, Groq, Gemini, OpenAI, Cohere and Upstash's REST API. The servers
start once for the module; the tests flip the stand-ins' modes and stop and start the
servers on their ports, polling /health until the app reports what they expect.

Every secret is a sentinel value, and none may appear in any /health body or in any line
the app logged, whatever the fault. The app answers every /health within
HEALTH_CHECK_TIMEOUT + 0.5 s of the request's arrival; seen from here, with the HTTP round
trip on a loaded machine, each call must answer within LOAD_SLACK more.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from engines import PostgresServer, RedisServer, free_port, stop_process
from standins import (
    CohereStandin,
    ElasticsearchStandin,
    GeminiStandin,
    GroqStandin,
    OpenAIStandin,
    QdrantStandin,
    StandinServer,
)
from standins.upstash import UpstashStandin
from support import FRAMEWORKS

pytestmark = [pytest.mark.slow, pytest.mark.engine]

TIMEOUT = 1.5  # HEALTH_CHECK_TIMEOUT
BUDGET = TIMEOUT + 0.5  # what any /health call may take inside the app
# Client-side room for the round trip and scheduling on a loaded 2-core machine. The defects
# this bound catches take longer however fast the machine: an unbounded wait (the client's
# 10 s), checks one after another (6 x 1.7 s), a caller queued behind another's probe that
# starts its own (2 x 1.7 s).
LOAD_SLACK = 1.0
# Liveness while checks hang: ms when it answers on its own, 1.5 s and more when it waits
# behind readiness.
LIVE_WITHIN = 1.0
CACHE = 0.2  # HEALTH_CACHE_SECONDS
COLLECTION = "documents"
HTTP_SERVICES = ("cohere", "elasticsearch", "gemini", "groq", "openai", "qdrant")
ALL_SERVICES = ("cohere", "elasticsearch", "gemini", "groq", "neon", "openai", "qdrant", "redis")
SDK_MODULES = (
    "qdrant_client",
    "psycopg",
    "redis",
    "elasticsearch",
    "opensearchpy",
    "openai",
    "groq",
    "google.genai",
    "cohere",
    "upstash_redis",
)

_TAG = secrets.token_hex(6)


def _sentinel(what: str) -> str:
    return f"sentinel-{what}-{_TAG}"


API_KEYS = {
    name: _sentinel(f"{name}-key") for name in ("qdrant", "groq", "gemini", "openai", "cohere")
}
ES_USER, ES_PASSWORD = _sentinel("es-user"), _sentinel("es-password")
REDIS_PASSWORD = _sentinel("redis-password")
UPSTASH_TOKEN = _sentinel("upstash-token")
WRONG_PG_PASSWORD = _sentinel("wrong-pg-password")

# Worst /health time seen per framework, and with a hanging dependency; printed at the end.
WORST: dict[str, float] = {}
WORST_HANGING: dict[str, float] = {}


# -- the servers ---------------------------------------------------------------------------


@dataclass
class Backends:
    postgres: PostgresServer
    redis: RedisServer
    standins: dict[str, StandinServer]
    upstash: UpstashStandin

    @property
    def qdrant(self) -> QdrantStandin:
        return self.standins["qdrant"]  # type: ignore[return-value]

    @property
    def elasticsearch_url(self) -> str:
        return f"http://{ES_USER}:{ES_PASSWORD}@127.0.0.1:{self.standins['elasticsearch'].port}"

    def secrets(self) -> list[str]:
        """Every value that must never be shown: sentinels, URLs with passwords."""
        return [
            *API_KEYS.values(),
            ES_USER,
            ES_PASSWORD,
            self.elasticsearch_url,
            REDIS_PASSWORD,
            self.redis.url,
            UPSTASH_TOKEN,
            WRONG_PG_PASSWORD,
            self.postgres.password,
            self.postgres.url,
        ]

    def environment(self) -> dict[str, str]:
        """Every service configured, with good credentials."""
        s = self.standins
        return {
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "QDRANT_URL": s["qdrant"].url,
            "QDRANT_API_KEY": API_KEYS["qdrant"],
            "QDRANT_COLLECTION": COLLECTION,
            "ELASTICSEARCH_URL": self.elasticsearch_url,
            "GROQ_API_KEY": API_KEYS["groq"],
            "GROQ_BASE_URL": s["groq"].base_url,  # type: ignore[attr-defined]
            "GEMINI_API_KEY": API_KEYS["gemini"],
            "GEMINI_BASE_URL": s["gemini"].url,
            "OPENAI_API_KEY": API_KEYS["openai"],
            "OPENAI_BASE_URL": s["openai"].base_url,  # type: ignore[attr-defined]
            "COHERE_API_KEY": API_KEYS["cohere"],
            "COHERE_BASE_URL": s["cohere"].url,
        }

    def reset(self) -> None:
        """Everything up and answering well again."""
        for standin in (*self.standins.values(), self.upstash):
            standin.mode = "ok"
        self.qdrant.collections.clear()
        self.qdrant.collections.add(COLLECTION)
        self.upstash.api_key = UPSTASH_TOKEN
        self.postgres.start()
        self.redis.start()


@pytest.fixture(scope="module")
def servers() -> Iterator[Backends]:
    with ExitStack() as stack:
        postgres = stack.enter_context(PostgresServer())
        redis = stack.enter_context(RedisServer(password=REDIS_PASSWORD))
        standins: dict[str, StandinServer] = {
            "qdrant": QdrantStandin(api_key=API_KEYS["qdrant"], collections=[COLLECTION]),
            "elasticsearch": ElasticsearchStandin(username=ES_USER, password=ES_PASSWORD),
            "groq": GroqStandin(api_key=API_KEYS["groq"]),
            "gemini": GeminiStandin(api_key=API_KEYS["gemini"]),
            "openai": OpenAIStandin(api_key=API_KEYS["openai"]),
            "cohere": CohereStandin(api_key=API_KEYS["cohere"]),
        }
        for standin in standins.values():
            stack.enter_context(standin)
        upstash = stack.enter_context(UpstashStandin(api_key=UPSTASH_TOKEN))
        yield Backends(postgres, redis, standins, upstash)


@pytest.fixture
def backends(servers: Backends) -> Iterator[Backends]:
    """The module's servers, all up and in "ok" mode before and after the test."""
    servers.reset()
    yield servers
    servers.reset()


@pytest.fixture(scope="module", params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def python_and_project(framework: str, full_project, project_venvs) -> tuple[Path, Path]:
    project = full_project(framework)
    return project_venvs.python_for(project), project


# -- the app -------------------------------------------------------------------------------


@dataclass
class Health:
    status: int
    body: dict[str, Any]
    seconds: float

    def service(self, name: str) -> dict[str, Any]:
        return self.body["services"][name]

    def failed(self, name: str) -> bool:
        return self.service(name)["status"] == "error"


@dataclass
class App:
    """`python -m app` as a subprocess, its output in a file, /health checked on every call."""

    framework: str
    python: Path
    project: Path
    log_path: Path
    forbidden: list[str]
    variables: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    untouched: dict[str, int] = field(default_factory=dict)  # requests each stand-in had at start

    def __enter__(self) -> App:
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.project),
            "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port),
            "HEALTH_CHECK_TIMEOUT": str(TIMEOUT),
            "HEALTH_CACHE_SECONDS": str(CACHE),
            "LOG_LEVEL": "DEBUG",  # the most an SDK ever logs
            **self.variables,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(self.python), "-m", "app"],
                cwd=self.project,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_live()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        graceful = self.stop()
        if exc is None:
            self.assert_log_is_clean()
            assert graceful, "the app did not exit within 20 s of SIGTERM"

    def stop(self) -> bool:
        """SIGTERM, then SIGKILL after 20 s; whether SIGTERM was enough."""
        process, self.process = self.process, None
        return process is None or stop_process(process, within=20)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _wait_until_live(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the app exited ({self.process.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("/health/live"), timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"/health/live did not answer within {within} s:\n{self.log()}"
                )
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_clean(self, text: str, where: str) -> None:
        for secret in self.forbidden:
            assert secret not in text, f"a secret ({secret[:12]}...) appears in {where}"

    def assert_log_is_clean(self) -> None:
        self.assert_clean(self.log(), "the app's log")

    def health(self) -> Health:
        """One GET /health: secret-free, within the budget, recorded in WORST."""
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(self.url("/health"), timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        seconds = time.perf_counter() - started
        WORST[self.framework] = max(WORST.get(self.framework, 0.0), seconds)
        text = raw.decode()
        self.assert_clean(text, "a /health body")
        assert seconds <= BUDGET + LOAD_SLACK, (
            f"/health took {seconds:.2f} s (budget {BUDGET} s + {LOAD_SLACK} s slack): {text}"
        )
        return Health(status, json.loads(text), seconds)

    def until(self, wanted: Callable[[Health], bool], what: str, within: float = 30) -> Health:
        """Polls /health until `wanted(result)`; the cache makes stale answers last CACHE s."""
        deadline = time.monotonic() + within
        while True:
            result = self.health()
            if wanted(result):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {within} s; last: {result}")
            time.sleep(0.05)


@pytest.fixture
def start_app(
    framework: str,
    python_and_project: tuple[Path, Path],
    servers: Backends,
    tmp_path: Path,
) -> Iterator[Callable[..., App]]:
    """start_app(**variables) -> a running app (a context manager) with those variables."""
    python, project = python_and_project
    with ExitStack() as stack:
        count = 0

        def start(**variables: str) -> App:
            nonlocal count
            count += 1
            app = App(
                framework,
                python,
                project,
                tmp_path / f"app{count}.log",
                servers.secrets(),
                variables,
            )
            return stack.enter_context(app)

        yield start


@pytest.fixture(scope="module")
def main_app(
    framework: str,
    python_and_project: tuple[Path, Path],
    servers: Backends,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[App]:
    """The app with every service configured, shared by the module's fault tests."""
    python, project = python_and_project
    servers.reset()
    for standin in servers.standins.values():
        standin.clear()
    log = tmp_path_factory.mktemp(f"main-{framework}") / "app.log"
    app = App(framework, python, project, log, servers.secrets(), servers.environment())
    with app:
        # Started and live, and not one request to any service yet.
        app.untouched = {name: len(s.requests) for name, s in servers.standins.items()}
        yield app
    print(
        f"\n[{framework}] worst /health: {WORST.get(framework, 0):.3f} s; with hanging "
        f"dependencies: {WORST_HANGING}",
        file=sys.stderr,
    )


def _capture(call: Callable[[], Health], into: list[Health | BaseException]) -> None:
    try:
        into.append(call())
    except BaseException as error:
        into.append(error)


def ok_except(*failing: str) -> Callable[[Health], bool]:
    """Every service ok but `failing`, which all report an error."""

    def wanted(result: Health) -> bool:
        return all(
            result.failed(name) if name in failing else result.service(name)["status"] == "ok"
            for name in ALL_SERVICES
        )

    return wanted


def all_ok(result: Health) -> bool:
    return result.status == 200


# -- the main app against every service ----------------------------------------------------


def test_every_service_ready(main_app: App, backends: Backends) -> None:
    assert main_app.untouched == dict.fromkeys(HTTP_SERVICES, 0)
    main_app.until(all_ok, "200")
    # The first answers may share a check started by an earlier probe while the SDK was
    # still being imported, so their latency can exceed the timeout. Once the cache has
    # expired, every check is a fresh run that must finish within the bound.
    time.sleep(CACHE * 2)
    result = main_app.health()
    assert result.status == 200, result.body
    assert result.body["status"] == "ok"
    assert sorted(result.body["services"]) == list(ALL_SERVICES)
    for name, service in result.body["services"].items():
        assert service["status"] == "ok", (name, service)
        assert isinstance(service["latency_ms"], int), (name, service)
        assert 0 <= service["latency_ms"] <= BUDGET * 1000, (name, service)
        assert service["detail"] is None, (name, service)
    # The API prefix serves the same readiness.
    with urllib.request.urlopen(main_app.url("/api/health"), timeout=10) as response:
        assert response.status == 200


def test_redis_stopped_then_back_without_restart(main_app: App, backends: Backends) -> None:
    main_app.until(all_ok, "200")
    backends.redis.stop()
    result = main_app.until(ok_except("redis"), "redis down, the rest ok")
    assert result.status == 503
    assert result.body["status"] == "error"
    assert result.service("redis")["detail"].startswith("connection refused"), result.body
    backends.redis.start()  # same port
    main_app.until(all_ok, "200 again after Redis restarted")


def test_postgres_stopped_then_back_without_restart(main_app: App, backends: Backends) -> None:
    main_app.until(all_ok, "200")
    backends.postgres.stop()
    result = main_app.until(ok_except("neon"), "neon down, the rest ok")
    assert result.status == 503
    assert result.service("neon")["detail"].startswith("connection refused"), result.body
    backends.postgres.start()  # same port
    main_app.until(all_ok, "200 again after PostgreSQL restarted")


def test_hanging_services_time_out_within_the_budget(main_app: App, backends: Backends) -> None:
    """All six HTTP services accept and never answer; the rest stay ok, the server responsive."""
    main_app.until(all_ok, "200")
    for standin in backends.standins.values():
        standin.mode = "hang"
    first = main_app.until(ok_except(*HTTP_SERVICES), "every HTTP service timing out")
    worst = first.seconds
    rounds = [json.dumps(first.body, sort_keys=True)]
    # More uncached rounds while they still hang: each is bounded, none piles up threads,
    # and a caller that arrives during another's probe waits within its own bound.
    live_times: list[float] = []
    deadline = time.monotonic() + 30
    while len(rounds) < 4:
        assert time.monotonic() < deadline, f"only {len(rounds)} distinct rounds in 30 s"
        outcome: list[Health | BaseException] = []
        readers = [threading.Thread(target=_capture, args=(main_app.health, outcome))]
        readers.append(threading.Thread(target=_capture, args=(main_app.health, outcome)))
        for reader in readers:
            reader.start()
        started = time.perf_counter()
        with urllib.request.urlopen(main_app.url("/health/live"), timeout=5) as response:
            assert response.status == 200
        live_times.append(time.perf_counter() - started)
        for reader in readers:
            reader.join(timeout=30)
        for result in outcome:
            if isinstance(result, BaseException):
                raise result
            worst = max(worst, result.seconds)
            assert ok_except(*HTTP_SERVICES)(result), result.body
            for name in HTTP_SERVICES:
                assert result.service(name)["detail"].startswith("timeout"), result.body
        assert len(outcome) == 2, outcome
        body = json.dumps(outcome[-1].body, sort_keys=True)
        if body != rounds[-1]:
            rounds.append(body)
    WORST_HANGING[main_app.framework] = worst
    print(f"\n[{main_app.framework}] worst /health with 6 hanging services: {worst:.3f} s")
    assert worst <= BUDGET + LOAD_SLACK
    # Liveness never waits for readiness.
    assert max(live_times) < LIVE_WITHIN, live_times
    for standin in backends.standins.values():
        standin.mode = "ok"
    main_app.until(all_ok, "200 again once the services answer")


def test_rejected_keys_are_authentication_failures(main_app: App, backends: Backends) -> None:
    main_app.until(all_ok, "200")
    for standin in backends.standins.values():
        standin.mode = "unauthorized"  # 401 everywhere; Gemini's 400 "API key not valid"
    result = main_app.until(ok_except(*HTTP_SERVICES), "every HTTP service refusing the key")
    for name in HTTP_SERVICES:
        detail = result.service(name)["detail"]
        assert detail.startswith("authentication failed ("), (name, detail)
    backends.reset()
    main_app.until(all_ok, "200 again with the keys accepted")


def test_wrong_product_is_named(main_app: App, backends: Backends) -> None:
    main_app.until(all_ok, "200")
    backends.standins["elasticsearch"].mode = "wrong_product"
    result = main_app.until(ok_except("elasticsearch"), "elasticsearch failing")
    detail = result.service("elasticsearch")["detail"]
    assert "wrong product" in detail and "UnsupportedProductError" in detail, detail


def test_missing_collection_is_not_found(main_app: App, backends: Backends) -> None:
    main_app.until(all_ok, "200")
    backends.qdrant.collections.discard(COLLECTION)
    result = main_app.until(ok_except("qdrant"), "qdrant failing")
    assert result.service("qdrant")["detail"].startswith("not found"), result.body
    backends.qdrant.collections.add(COLLECTION)
    main_app.until(all_ok, "200 again once the collection exists")


def test_main_app_logged_no_secret(main_app: App, backends: Backends) -> None:
    """Everything the shared app logged through the fault tests above."""
    main_app.until(all_ok, "200")
    log = main_app.log()
    assert "GET /health" in log  # the access log is in there
    # Failed checks are reported, not raised (at DEBUG some SDKs log their own tracebacks).
    assert " ERROR " not in log
    main_app.assert_log_is_clean()


# -- other configurations ------------------------------------------------------------------


def test_space_warns_about_ports_and_hints_on_failure(
    start_app: Callable[..., App], backends: Backends
) -> None:
    pg, redis = backends.postgres, backends.redis
    wrong_password_url = pg.url.replace(f":{pg.password}@", f":{WRONG_PG_PASSWORD}@")
    app = start_app(
        SPACE_ID="someone/some-space", DATABASE_URL=wrong_password_url, REDIS_URL=redis.url
    )
    log = app.log()
    for name, port in (("DATABASE_URL", pg.port), ("REDIS_URL", redis.port)):
        assert f"{name} uses port {port}, but a Space can only connect out" in log, log
    result = app.until(lambda r: r.service("redis")["status"] == "ok", "redis ok")
    # A wrong password proves the port is reachable: no port hint on it.
    assert result.service("neon")["detail"] == "authentication failed (OperationalError)", (
        result.body
    )
    redis.stop()
    result = app.until(lambda r: r.failed("redis"), "redis failing")
    detail = result.service("redis")["detail"]
    assert detail.startswith("connection refused"), detail
    assert f"REDIS_URL uses port {redis.port}, which a Space cannot reach" in detail, detail


def test_upstash_rest_form(start_app: Callable[..., App], backends: Backends) -> None:
    upstash = backends.upstash
    app = start_app(UPSTASH_REDIS_REST_URL=upstash.url, UPSTASH_REDIS_REST_TOKEN=UPSTASH_TOKEN)
    result = app.until(lambda r: r.service("redis")["status"] == "ok", "redis ok over REST")
    assert isinstance(result.service("redis")["latency_ms"], int)
    ping = upstash.requests[-1]
    assert (ping.method, ping.path, ping.json()) == ("POST", "/", ["PING"])
    assert ping.header("authorization") == f"Bearer {UPSTASH_TOKEN}"
    upstash.api_key = _sentinel("another-token")  # the app's token is now wrong
    result = app.until(lambda r: r.failed("redis"), "redis refusing the token")
    detail = result.service("redis")["detail"]
    assert detail == "authentication failed (HTTPStatusError)", detail
    upstash.api_key = UPSTASH_TOKEN
    app.until(lambda r: r.service("redis")["status"] == "ok", "redis ok again")
    upstash.mode = "hang"
    result = app.until(lambda r: r.failed("redis"), "redis timing out")
    assert result.service("redis")["detail"].startswith("timeout"), result.body
    upstash.mode = "ok"
    app.until(lambda r: r.service("redis")["status"] == "ok", "redis ok again")


def test_silent_tcp_servers_time_out(start_app: Callable[..., App], backends: Backends) -> None:
    """PostgreSQL and Redis URLs on a port that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent:
        port = silent.getsockname()[1]
        pg = backends.postgres
        app = start_app(
            DATABASE_URL=f"postgresql://{pg.user}:{pg.password}@127.0.0.1:{port}/{pg.dbname}",
            REDIS_URL=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0",
        )
        first = app.until(lambda r: r.failed("neon") and r.failed("redis"), "both timing out")
        rounds = [first]
        deadline = time.monotonic() + 30
        while len(rounds) < 3:
            assert time.monotonic() < deadline, f"only {len(rounds)} distinct rounds in 30 s"
            result = app.health()
            if result.body != rounds[-1].body:
                rounds.append(result)
        for result in rounds:
            for name in ("neon", "redis"):
                assert result.service(name)["detail"].startswith("timeout"), result.body
        WORST_HANGING[f"{app.framework} silent tcp"] = max(r.seconds for r in rounds)


def test_importing_and_creating_the_app_loads_no_sdk(
    python_and_project: tuple[Path, Path], servers: Backends
) -> None:
    python, project = python_and_project
    script = (
        "import json, sys\n"
        "from app.main import create_app\n"
        "from app.variables import load_settings\n"
        "create_app(load_settings(env_file=None))\n"
        f"print(json.dumps([m for m in {list(SDK_MODULES)!r} if m in sys.modules]))\n"
    )
    environment = {"PATH": os.environ["PATH"], "HOME": str(project), **servers.environment()}
    for standin in servers.standins.values():
        standin.clear()
    result = subprocess.run(
        [str(python), "-c", script],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    # Nor was any service contacted.
    assert [name for name, s in servers.standins.items() if s.requests] == []


def test_an_optional_service_failing_leaves_the_space_degraded_not_down(
    start_app: Callable[..., App], backends: Backends
) -> None:
    app = start_app(**backends.environment(), OPTIONAL_SERVICES="groq,cohere")
    app.until(all_ok, "200 with every service ok")
    backends.standins["groq"].mode = "error"
    result = app.until(ok_except("groq"), "groq failing")
    assert (result.status, result.body["status"]) == (200, "degraded")
    assert result.body["optional"] == ["cohere", "groq"]
    backends.standins["openai"].mode = "unauthorized"
    result = app.until(lambda r: r.body["status"] == "error", "a needed service failing too")
    assert result.status == 503

"""Hostile input against the generated app, in both frameworks (issues 10 and 13).

Settings are checked by an "oracle": one `python` of the project's venv that loads the
settings for each environment the tests send it, so hypothesis can try hundreds of values
in a second. The rest runs `python -m app` for real, on 127.0.0.1: hostile Origin headers,
clients that send half a request and wait, and a run whose secrets an SDK logger, a route's
exception, a warning and the server's own request log all try to print.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from engines import stop_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standins.checking import free_port
from support import FRAMEWORKS

pytestmark = pytest.mark.slow

LEAK_TOKEN = f"tok-{secrets.token_hex(8)}/+={secrets.token_hex(4)}"  # changes when URL-quoted
OPENAI_KEY = f"sk-{secrets.token_hex(12)}"
FORBIDDEN = sorted(
    {form for s in (LEAK_TOKEN, OPENAI_KEY) for form in (s, quote(s, safe=""), quote_plus(s))}
)
# RE2 matches it in linear time; Python's `re` needs minutes to reject NESTED_ATTACK.
NESTED_REGEX = r"https://(a+)+\.example\.com"
NESTED_ATTACK = "https://" + "a" * 32 + "!"
ALLOWED_BY_REGEX = "https://aaa.example.com"

_ORACLE = r"""
import json, os, sys, time, traceback
from app.origin_regex import origin_pattern
from app.variables import ConfigError, env_vars, load_settings

names = [variable.name for variable in env_vars()]
for line in sys.stdin:
    request = json.loads(line)
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(request["env"])
    try:
        loaded = load_settings(env_file=None)
        answer = {"origins": loaded.cors_origins, "regex": loaded.cors_origin_regex,
                  "timeout": loaded.health_check_timeout}
        if loaded.cors_origin_regex and request.get("probe"):
            started = time.thread_time()  # CPU time: a busy machine does not add to it
            compiled = origin_pattern(loaded.cors_origin_regex)
            answer["probe_matches"] = [bool(compiled.fullmatch(p)) for p in request["probe"]]
            answer["probe_seconds"] = time.thread_time() - started
    except ConfigError as error:
        answer = {"error": str(error)}
    except BaseException:
        answer = {"crash": traceback.format_exc()}
    print(json.dumps(answer), flush=True)
"""

# -- the project, with code of "yours" that tries to leak its secrets -------------------------

_HOOKS = """

import logging
import os
import warnings
from urllib.parse import quote


@on_startup
def leak_at_startup(settings: Settings) -> None:
    token = settings.leak_token.get_secret_value() if settings.leak_token else ""
    logging.getLogger("app.hostile").warning("MARK-hook pid=%d", os.getpid())
    logging.getLogger("openai._base_client").debug(
        "MARK-sdk Request options: {'headers': {'Authorization': 'Bearer %s'}}", token
    )
    logging.getLogger("httpx").warning("MARK-url GET https://api.example/v1?key=%s", quote(token))
    warnings.warn(f"MARK-warning token={token}", stacklevel=1)
    raise RuntimeError(f"MARK-raise {token}")  # reported by category, never by message
"""
_ROUTES = {
    "flask": """

@blueprint.get("/leak")
def leak() -> Response:
    from .variables import get_settings

    raise RuntimeError("MARK-route " + get_settings().leak_token.get_secret_value())


@blueprint.get("/leak-stream")
def leak_stream() -> Response:
    from .variables import get_settings

    def events() -> Iterator[str]:
        yield "data: 1\\n\\n"
        raise RuntimeError("MARK-stream " + get_settings().leak_token.get_secret_value())

    return Response(events(), mimetype="text/event-stream")


@blueprint.get("/busy")
def busy() -> dict[str, str]:
    import time

    time.sleep(float(request.args["seconds"]))
    return {}
""",
    "fastapi": """
from collections.abc import AsyncIterator  # api.py imports these only with chat
from fastapi.responses import StreamingResponse


@router.get("/leak")
def leak() -> dict[str, str]:
    from .variables import get_settings

    raise RuntimeError("MARK-route " + get_settings().leak_token.get_secret_value())


@router.get("/leak-stream")
async def leak_stream() -> StreamingResponse:
    from .variables import get_settings

    async def events() -> AsyncIterator[str]:
        yield "data: 1\\n\\n"
        raise RuntimeError("MARK-stream " + get_settings().leak_token.get_secret_value())

    return StreamingResponse(events(), media_type="text/event-stream")


@router.get("/busy")
def busy(seconds: float) -> dict[str, str]:
    import time

    time.sleep(seconds)  # a plain def: FastAPI runs it in one of its worker threads
    return {}
""",
}


@dataclass
class Space:
    framework: str
    python: Path
    project: Path
    prefix: str


@pytest.fixture(scope="module", params=FRAMEWORKS)
def space(request, full_project, project_venvs, tmp_path_factory) -> Space:
    """A copy of the full render with a secret setting, a leaky hook and leaky routes."""
    framework = request.param
    source = full_project(framework)
    python = project_venvs.python_for(source)
    project = tmp_path_factory.mktemp(f"hostile-{framework}") / "space"
    shutil.copytree(source, project)
    package = project / "app"
    with (package / "settings.py").open("a") as settings_file:
        settings_file.write(
            '    leak_token: SecretStr | None = Field(None, description="A secret of yours")\n'
        )
    with (package / "hooks.py").open("a") as hooks:
        hooks.write(_HOOKS)
    with (package / "api.py").open("a") as api:
        api.write(_ROUTES[framework])
    prefix = re.search(r'^API_PREFIX = "(.*)"$', (package / "main.py").read_text(), re.M)
    assert prefix, "main.py declares no API_PREFIX"
    return Space(framework, python, project, prefix[1])


# -- settings: the startup rules --------------------------------------------------------------


class Oracle:
    def __init__(self, space: Space) -> None:
        self.process = subprocess.Popen(
            [str(space.python), "-c", _ORACLE],
            cwd=space.project,
            env={"PATH": os.environ["PATH"], "HOME": str(space.project)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def load(self, probe: list[str] | None = None, **env: str) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"env": env, "probe": probe}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert "crash" not in answer, answer["crash"]
        return answer


@pytest.fixture(scope="module")
def oracle(space: Space) -> Iterator[Oracle]:
    made = Oracle(space)
    yield made
    stop_process(made.process, within=10)  # type: ignore[arg-type]


def refused(answer: dict[str, Any], name: str) -> str:
    """The one problem line naming `name`, checked for form."""
    assert "error" in answer, f"{name} was accepted: {answer}"
    lines = [line.strip() for line in answer["error"].splitlines()[1:]]
    assert len(lines) == 1 and lines[0].startswith(f"{name} is malformed ("), answer["error"]
    assert "Traceback" not in answer["error"]
    return lines[0]


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "1e400", "Infinity", "1e10"])
@pytest.mark.parametrize("name", ["HEALTH_CHECK_TIMEOUT", "HEALTH_CACHE_SECONDS"])
def test_seconds_must_be_finite_and_at_most_an_hour(oracle: Oracle, name: str, value: str) -> None:
    refused(oracle.load(**{name: value}), name)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    number=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**400), 10**400),
    spelling=st.sampled_from(["{!r}", "{}", " {} ", "{:e}"]),
)
def test_any_number_is_accepted_only_when_finite_and_in_bounds(
    oracle: Oracle, number: float | int, spelling: str
) -> None:
    try:
        text = spelling.format(number)
    except OverflowError:
        text = repr(number)
    answer = oracle.load(HEALTH_CHECK_TIMEOUT=text)
    value = float(number) if abs(number) < 1e308 else math.inf
    if math.isfinite(value) and 0 < value <= 3600:
        assert math.isclose(answer.get("timeout", math.nan), float(text)), answer
    else:
        refused(answer, "HEALTH_CHECK_TIMEOUT")


@pytest.mark.parametrize("value", [" , ", ",", " ,, , "])
def test_origins_listing_nothing_are_refused(oracle: Oracle, value: str) -> None:
    """Refused, not warned: every browser would be blocked, and unset keeps the default."""
    assert "unset it" in refused(oracle.load(CORS_ORIGINS=value), "CORS_ORIGINS")


@pytest.mark.parametrize(
    ("typed", "browser_sends"),
    [
        ("HTTPS://API.Shop.Example", "https://api.shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("Http://Localhost:5173", "http://localhost:5173"),
        ("https://münchen.example", "https://xn--mnchen-3ya.example"),
        ("https://shop.example.", "https://shop.example"),
        ("https://[0:0::1]:8443", "https://[::1]:8443"),
    ],
)
def test_origins_are_refused_unless_written_as_sent(
    oracle: Oracle, typed: str, browser_sends: str
) -> None:
    line = refused(oracle.load(CORS_ORIGINS=f"http://localhost:3000, {typed}"), "CORS_ORIGINS")
    assert f"use {browser_sends})" in line
    accepted = oracle.load(CORS_ORIGINS=f"http://localhost:3000, {browser_sends}")
    assert accepted["origins"] == ["http://localhost:3000", browser_sends]


@pytest.mark.parametrize(
    "typed",
    ["https://my shop.example", "https://<script>.example", 'https://a".example', "null",
     "https://shop.example/", "https://user@shop.example", "https://shop.example:99999",
     "https://*.shop.example", "file:///etc/passwd", "https://[zz::1]"],
)  # fmt: skip
def test_origins_that_are_no_host_are_refused(oracle: Oracle, typed: str) -> None:
    line = refused(oracle.load(CORS_ORIGINS=typed), "CORS_ORIGINS")
    assert typed not in line  # errors name the variable, never echo its value


_HOST_CHARS = "abcXYZ019.-_ <>\"'ü@:/[]\t"


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    scheme=st.sampled_from(["http", "https", "HTTPS", "ws", "", "http:"]),
    host=st.text(alphabet=_HOST_CHARS, max_size=20),
    port=st.none() | st.integers(-1, 70000).map(str) | st.sampled_from(["", "0443", "8o"]),
    tail=st.sampled_from(["", "/", "/x", "?q", "#f", "."]),
)
def test_any_accepted_origin_is_exactly_what_a_browser_sends(
    oracle: Oracle, scheme: str, host: str, port: str | None, tail: str
) -> None:
    origin = f"{scheme}://{host}" + ("" if port is None else f":{port}") + tail
    answer = oracle.load(CORS_ORIGINS=origin)
    if "error" in answer:
        refused(answer, "CORS_ORIGINS")
        return
    for accepted in answer["origins"]:
        match = re.fullmatch(r"(https?)://([a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::([0-9]+))?", accepted)
        assert match, accepted
        assert not match[2].endswith(".") and ".." not in match[2], accepted
        assert match[3] is None or (
            not match[3].startswith("0") and match[3] != {"http": "80", "https": "443"}[match[1]]
        ), accepted


@pytest.mark.parametrize(
    "pattern",
    [
        ".*",
        "https?://.*",
        r"https://.+\.vercel\.app",
        r"https://myapp-[a-z0-9-]+\.vercel\.app.*",
        r"https://myapp-[a-z0-9-]+\.vercel\.app(\..*)?",
        r"https://[^.]+\.vercel\.app",
        r"https://myapp.vercel.app",  # unescaped dots: myapp-vercel.app is anyone's
        r"(https://myapp\.vercel\.app|null)",
        r"https://[a-z]+\.example",  # any name under .example, evila.example too
        r"https://(?=x)myapp\.example",  # lookaround: not in RE2
        r"https://(a)\1\.example",  # backreference: not in RE2
        r"https://(unclosed",
        r"https://myapp-[a-z0-9-]+\.vercel\.app",  # anyone's Vercel project myapp-evil
        r"https://[a-z0-9-]+\.hf\.space",  # any Space
        "(" * 2000 + "https://a" + ")" * 2000,  # deeper than Python's parser recurses
    ],
)
def test_regexes_anyone_can_pass_are_refused(oracle: Oracle, pattern: str) -> None:
    refused(oracle.load(CORS_ORIGIN_REGEX=pattern), "CORS_ORIGIN_REGEX")


@pytest.mark.parametrize(
    "pattern",
    [
        r"https://[0-9a-f]{8}\.myapp\.pages\.dev",  # previews under the project's own name
        r"https://(www|api)\.shop\.example",
        r"http://localhost:[0-9]{4}",
        NESTED_REGEX,  # catastrophic in `re`, linear in RE2: accepted, and safe (see below)
    ],
)
def test_precise_regexes_are_accepted(oracle: Oracle, pattern: str) -> None:
    assert oracle.load(CORS_ORIGIN_REGEX=pattern)["regex"] == pattern


_REGEX_TOKENS = [
    "https://", "http://", "a", "b", "-", r"\.", ".", "(", ")", "|", "+", "*", "?", "{2,}",
    "[a-z]", "[a-z0-9-]", "[^a]", r"\d", r"\w", "(?i)", "example", r"\.com", ":", "[0-9]+",
]  # fmt: skip
_PROBES = ["null", "https://evil.example", "http://evil.example", "https://" + "a" * 250 + "!"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(_REGEX_TOKENS), min_size=1, max_size=12).map("".join))
def test_any_accepted_regex_passes_no_foreign_origin_and_runs_in_linear_time(
    oracle: Oracle, pattern: str
) -> None:
    answer = oracle.load(probe=_PROBES, CORS_ORIGIN_REGEX=pattern)
    if "error" in answer:
        refused(answer, "CORS_ORIGIN_REGEX")
        return
    assert answer["probe_matches"] == [False] * len(_PROBES), pattern
    assert answer["probe_seconds"] < 0.5, pattern


def _start_and_collect(space: Space, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(space.python), "-m", "app"],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), "PYTHONPATH": str(space.project), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hostile_settings_stop_startup_with_one_line(space: Space, tmp_path: Path) -> None:
    for env in ({"HEALTH_CHECK_TIMEOUT": "inf"}, {"CORS_ORIGINS": " , "}):
        result = _start_and_collect(space, env, space.project)
        assert result.returncode == 2, result.stderr
        (name,) = env
        assert re.fullmatch(rf"Invalid configuration:\n  {name} is malformed \(.*\n", result.stderr)
    (tmp_path / ".env").write_bytes(f"LEAK_TOKEN=caf\xe9{LEAK_TOKEN}\n".encode("latin-1"))
    result = _start_and_collect(space, {}, tmp_path)
    assert result.returncode == 2, result.stderr
    assert re.fullmatch(r"Invalid configuration: \.env is not UTF-8 text .*; save it as UTF-8\n",
                        result.stderr)  # fmt: skip


# -- the running server ------------------------------------------------------------------------


@dataclass
class Server:
    space: Space
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, **env: str) -> Server:
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.space.project),
            "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port),
            **env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(self.space.python), "-m", "app"],
                cwd=self.space.project,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while self.get("/health/live", timeout=2)[0] != 200:
            assert self.process.poll() is None, f"the app exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"/health/live never answered:\n{self.log()}"
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = 5
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, lowercase headers, body); status 0 when nothing answered in time."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, headers, response.read()
        except (OSError, http.client.HTTPException):
            return 0, {}, b""
        finally:
            connection.close()

    def wait_for_log(self, *markers: str, within: float = 15) -> str:
        deadline = time.monotonic() + within
        while not all(marker in (text := self.log()) for marker in markers):
            missing = [marker for marker in markers if marker not in text]
            assert time.monotonic() < deadline, f"never logged {missing}:\n{text[-3000:]}"
            time.sleep(0.1)
        return text


@pytest.fixture(scope="module")
def server(space: Space, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m app` with secrets set, DEBUG logs, a nested regex and two workers."""
    log_path = tmp_path_factory.mktemp(f"log-{space.framework}") / "app.log"
    running = Server(space, log_path).start(
        LEAK_TOKEN=LEAK_TOKEN,
        OPENAI_API_KEY=OPENAI_KEY,
        LOG_LEVEL="DEBUG",
        CORS_ORIGIN_REGEX=NESTED_REGEX,
        WEB_CONCURRENCY="2",
    )
    try:
        yield running
    finally:
        assert running.process is not None
        graceful = stop_process(running.process, within=20)
    output = running.log()
    for form in FORBIDDEN:
        assert form not in output, f"a secret ({form[:8]}...) reached the output"
    assert graceful, "the app did not stop within 20 s of SIGTERM"


def test_a_hostile_origin_never_stalls_the_server(server: Server) -> None:
    started = time.perf_counter()
    status, headers, _ = server.get("/health/live", {"Origin": NESTED_ATTACK}, timeout=10)
    seconds = time.perf_counter() - started
    assert status == 200, "no answer within 10 s: the Origin header stalled the server"
    # Milliseconds with RE2; Python's re takes minutes. 5 s is room for a loaded machine.
    assert seconds < 5, f"{seconds:.2f} s for one Origin header"
    assert "access-control-allow-origin" not in headers
    status, headers, _ = server.get("/health/live", {"Origin": ALLOWED_BY_REGEX})
    assert headers.get("access-control-allow-origin") == ALLOWED_BY_REGEX  # the regex is live
    print(f"{server.space.framework}: hostile Origin answered in {seconds * 1000:.0f} ms")


def _hold_slow_clients(port: int, each: int) -> list[socket.socket]:
    """`each` clients of four kinds, all waiting: half a request line, nothing at all,
    headers with half a body, and an idle keep-alive connection after one request."""
    held = []

    def connect(data: bytes = b"") -> socket.socket:
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        held.append(client)
        if data:
            client.sendall(data)
        return client

    for _ in range(each):
        connect(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        connect()
        connect(b"POST /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        kept = connect(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.recv(4096).startswith(b"HTTP/1.1 200")
    return held


def test_liveness_answers_while_slow_clients_wait(server: Server) -> None:
    held = _hold_slow_clients(server.port, each=15)  # 60 connections, 2 workers
    try:
        time.sleep(0.5)
        latencies = []
        for _ in range(10):
            started = time.perf_counter()
            status, _, _ = server.get("/health/live", timeout=5)
            latencies.append(time.perf_counter() - started)
            assert status == 200, f"/health/live gave no answer with {len(held)} slow clients"
            time.sleep(0.1)
        status, _, body = server.get(f"{server.space.prefix}/hello?name=slow", timeout=10)
        assert status == 200 and b"Hello, slow!" in body
    finally:
        for client in held:
            client.close()
    # Milliseconds when slow clients hold no worker; held workers never answer (5 s timeout).
    assert max(latencies) < 2.0, f"worst /health/live: {max(latencies):.2f} s"
    print(f"{server.space.framework}: /health/live worst {max(latencies) * 1000:.0f} ms")


def test_liveness_answers_while_every_worker_thread_is_busy(server: Server) -> None:
    """Plain-def routes that all wait (on a slow database, say) can hold every worker thread
    (FastAPI runs them on 40); /health/live must not queue behind them."""
    busy, seconds = 48, 6.0
    with ThreadPoolExecutor(busy) as pool:
        waiting = [
            pool.submit(server.get, f"{server.space.prefix}/busy?seconds={seconds}", timeout=30)
            for _ in range(busy)
        ]
        time.sleep(1.0)  # every request arrived: every worker thread is taken
        started = time.perf_counter()
        status, _, _ = server.get("/health/live", timeout=10)
        latency = time.perf_counter() - started
        statuses = [future.result()[0] for future in waiting]
    assert statuses == [200] * busy, f"the busy route failed: {Counter(statuses)}"
    assert status == 200, "/health/live gave no answer while the worker threads were busy"
    # Queued behind the busy routes it would take their remaining 5 s; 3 s leaves room for load.
    assert latency < 3.0, f"/health/live took {latency:.2f} s: it waited for a worker thread"
    print(f"{server.space.framework}: /health/live in {latency * 1000:.0f} ms, {busy} busy")


def test_secrets_are_masked_in_every_log(server: Server) -> None:
    query = f"name=MARK-query&token={quote(LEAK_TOKEN, safe='')}&raw={LEAK_TOKEN}&k={OPENAI_KEY}"
    assert server.get(f"{server.space.prefix}/hello?{query}")[0] == 200
    assert server.get(f"{server.space.prefix}/leak")[0] == 500
    server.get(f"{server.space.prefix}/leak-stream")  # fails mid-stream: status already sent
    markers = ["MARK-sdk", "MARK-url", "MARK-warning", "MARK-route", "MARK-stream", "MARK-query"]
    text = server.wait_for_log(*markers)
    for form in FORBIDDEN:
        assert form not in text, f"a secret ({form[:8]}...) reached the output"
    for marker in markers:  # each leak was logged, with the secret masked next to it
        assert any("***" in line for line in text.splitlines() if marker in line), marker
    access = "gunicorn.access" if server.space.framework == "flask" else "uvicorn.access"
    assert any(access in line and "MARK-query" in line for line in text.splitlines())
    # Startup hooks still run once in each worker.
    hooked = set(re.findall(r"MARK-hook pid=(\d+)", text))
    assert len(hooked) == (2 if server.space.framework == "flask" else 1), hooked

"""The generated app under abuse, on both frameworks (issue 19): `python -m app` for real.

Each framework's app is rendered with chat on (Groq, against its stand-in) and the API key
auth, started once a module with MAX_BODY_MB=1 and the per-client limits off (every request
here is one client), and sent what an attacker would send: a storm of streams, a body
bigger than the limit (declared, or chunked with no length), bodies the JSON parser refuses
or turns into text UTF-8 cannot encode, and a property test over hostile JSON. Every answer
must be a 4xx (or the stream), never a 500, a traceback or the input echoed back.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from engines import free_port, stop_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standins import GroqStandin
from support import FRAMEWORKS, SERVICES, render, start_app

pytestmark = pytest.mark.slow

API_KEY = secrets.token_hex(24)
GROQ_KEY = f"gsk-{secrets.token_hex(12)}"
LIMIT = 1_000_000  # MAX_BODY_MB=1
ECHO = f"ECHO-{secrets.token_hex(6)}"  # sent in a field that fails validation
MAX_STREAMS = 64  # CHAT_MAX_STREAMS's default, under the Groq client's 100 connections
STORM = 150


@dataclass
class Running:
    framework: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def request(self, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """POST `body` to the chat route on a raw socket: (status, response body)."""
        head = {"Content-Type": "application/json", "X-API-Key": API_KEY,
                "Content-Length": str(len(body)), **(headers or {})}  # fmt: skip
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(_head(head) + body)
            return _response(sock)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _head(headers: dict[str, str]) -> bytes:
    lines = ["POST /api/chat HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _response(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of a response read to the end of the connection (or a reset,
    which a server may send after answering early: the answer came before it)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), f"no HTTP response: {data[:200]!r}"
    return int(head.split()[1]), body


@pytest.fixture(scope="module")
def groq() -> Iterator[GroqStandin]:
    with GroqStandin(api_key=GROQ_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def projects(
    tmp_path_factory: pytest.TempPathFactory, project_venvs
) -> dict[str, tuple[Path, Path]]:
    """framework -> (project, its python): chat on Groq, API key auth."""
    made = {}
    for framework in FRAMEWORKS:
        # Every service, like test_chat: the same requirements, so the same virtualenv.
        project = render(
            tmp_path_factory.mktemp(f"abuse-{framework}") / "space", framework=framework,
            services=SERVICES, chat=True, chat_provider="groq", auth="api_key",
        )  # fmt: skip
        made[framework] = (project, project_venvs.python_for(project))
    return made


@pytest.fixture(scope="module", params=FRAMEWORKS)
def app(
    request: pytest.FixtureRequest, groq: GroqStandin, projects: dict[str, tuple[Path, Path]]
) -> Iterator[Running]:
    framework = request.param
    project, python = projects[framework]
    port, log_path = free_port(), project.parent / "app.log"
    environment = {
        "PATH": os.environ["PATH"], "HOME": str(project), "PYTHONUNBUFFERED": "1",
        "PORT": str(port), "MAX_BODY_MB": "1", "API_KEY": API_KEY,
        "GROQ_API_KEY": GROQ_KEY, "GROQ_BASE_URL": groq.base_url,
        "CHAT_REQUESTS_PER_MINUTE": "0", "CHAT_CONCURRENT_STREAMS": "0",
    }  # fmt: skip
    process = start_app(python, project, environment, log_path, port)[0]
    try:
        yield Running(framework, port, process, log_path)
    finally:
        stop_process(process, within=20)
    assert "Traceback" not in log_path.read_text(errors="replace"), "a traceback in the log"


def chat_body(content: str = "hi", role: str = "user") -> bytes:
    return json.dumps({"messages": [{"role": role, "content": content}]}).encode()


def test_a_body_declared_over_the_limit_is_refused_before_it_is_sent(app: Running) -> None:
    """The issue's 200 MB POST: only the head is sent; the 413 comes without the body."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", app.port), timeout=30) as sock:
        sock.sendall(_head({"Content-Type": "application/json", "X-API-Key": API_KEY,
                            "Content-Length": str(200_000_000)}) + b'{"messages": [')  # fmt: skip
        status, body = _response(sock)
    assert status == 413, body
    assert "MAX_BODY_MB" in json.loads(body)["detail"]
    assert time.monotonic() - started < 20


def test_a_chunked_body_is_cut_off_at_the_limit(app: Running) -> None:
    """No Content-Length to check: the server counts what arrives and stops at the limit."""
    piece = b"[" + b"1," * 50_000  # 100 kB a chunk; 4 MB in all, if the server read it all
    with socket.create_connection(("127.0.0.1", app.port), timeout=30) as sock:
        sock.sendall(_head({"Content-Type": "application/json", "X-API-Key": API_KEY,
                            "Transfer-Encoding": "chunked"}))  # fmt: skip
        try:
            for _ in range(40):
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the end: what is wanted
        status, body = _response(sock)
    assert status == 413, body[:300]


def test_a_body_under_the_limit_still_works(app: Running) -> None:
    status, body = app.request(chat_body("x" * 30_000))
    assert status == 200, body[:300]
    assert b"event: done" in body


def test_an_upstream_body_cut_without_chunking_ends_in_error_not_done(
    app: Running, groq: GroqStandin
) -> None:
    """The provider's connection closes after two pieces, with no length and no chunks to
    tell a cut from an end: no finish reason came, so the answer is not whole."""
    groq.init_chat()
    groq.script.cut_after = 2
    try:
        status, body = app.request(chat_body())
    finally:
        groq.init_chat()
    assert status == 200, body[:300]
    assert b"event: error" in body and b'"unavailable"' in body, body
    assert b"event: done" not in body


def _status_and_head(sock: socket.socket) -> tuple[int, bytes]:
    """The status and headers of a response, its body left unread (a stream stays open)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"closed before the head: {head!r}"
        head += chunk
    head = head.partition(b"\r\n\r\n")[0]
    return int(head.split()[1]), head


def test_a_storm_past_the_stream_cap_is_refused_and_leaves_chat_working(
    app: Running, groq: GroqStandin
) -> None:
    """The issue's pool storm: 150 streams at once, then all dropped together. Past
    CHAT_MAX_STREAMS each is a 503 with Retry-After before the provider is asked, so no
    stream waits for one of the Groq client's 100 connections (where a cancelled waiter
    could strand one for good); after the drop, a plain chat still completes."""
    groq.init_chat()
    groq.script.gate = gate = threading.Event()  # the admitted streams stay open upstream
    sockets, statuses = [], []
    try:
        for _ in range(STORM):
            sock = socket.create_connection(("127.0.0.1", app.port), timeout=30)
            body = chat_body()
            head = {"Content-Type": "application/json", "X-API-Key": API_KEY,
                    "Content-Length": str(len(body))}  # fmt: skip
            sock.sendall(_head(head) + body)
            sockets.append(sock)
        for sock in sockets:
            statuses.append(_status_and_head(sock))
        admitted = [head for status, head in statuses if status == 200]
        refused = [head for status, head in statuses if status == 503]
        assert len(admitted) == MAX_STREAMS, [status for status, _ in statuses]
        assert len(refused) == STORM - MAX_STREAMS
        assert all(b"\r\nretry-after: " in head.lower() for head in refused)
        deadline = time.monotonic() + 30
        while len(groq.streams) < len(admitted):  # each admitted stream reached the stand-in
            assert time.monotonic() < deadline, f"{len(groq.streams)} streams upstream"
            time.sleep(0.05)
        assert len(groq.streams) == MAX_STREAMS  # the refused never reached the provider
    finally:
        for sock in sockets:  # all at once, as a reset: the clients are gone
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
    gate.set()
    records, deadline = groq.streams, time.monotonic() + 30
    groq.init_chat()
    for record in records:
        assert record.ended.wait(max(0, deadline - time.monotonic())), "a stream never ended"
    while (answer := app.request(chat_body()))[0] == 503:  # slots come back as streams end
        assert time.monotonic() < deadline, "the worker's stream slots never came back"
        time.sleep(0.2)
    assert answer[0] == 200 and b"event: done" in answer[1], answer[1][:300]


def test_validation_errors_name_the_field_and_never_echo_the_input(app: Running) -> None:
    status, body = app.request(chat_body(role=ECHO))
    assert status == 422
    assert "role" in body.decode() and ECHO not in body.decode()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(chat_body("\ud800"), id="lone-surrogate-in-content"),
        pytest.param(b'{"messages": [], "\\udfff": 1}', id="lone-surrogate-as-key"),
        pytest.param(b'"\\ud800"', id="lone-surrogate-as-body"),
        pytest.param(b"[" * 200_000, id="200000-nested-lists"),
        pytest.param(b'{"a":' * 100_000, id="100000-nested-objects"),
        pytest.param(b"\xff\xfe{}", id="not-utf-8"),
    ],
)
def test_what_the_parser_refuses_or_cannot_encode_is_a_4xx(app: Running, raw: bytes) -> None:
    status, body = app.request(raw)
    assert 400 <= status < 500, (status, body[:300])
    assert b"Traceback" not in body


_text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=12,
)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system"]) | _text, "content": _json}
)
_hostile = st.one_of(
    _json.map(lambda value: json.dumps(value).encode()),
    st.lists(_message, max_size=3).map(lambda ms: json.dumps({"messages": ms}).encode()),
    st.binary(max_size=64),
    st.integers(1, 300_000).map(lambda depth: b"[" * depth + b"]" * (depth % 7)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=_hostile)
def test_hostile_json_bodies_never_get_a_500(app: Running, raw: bytes) -> None:
    status, body = app.request(raw)
    assert 200 <= status < 500, (status, body[:300])
    assert b"Traceback" not in body


def refused_at_startup(project: Path, python: Path, **variables: str) -> str:
    """`python -m app` with these variables must stop, without a traceback: its output."""
    environment = {"PATH": os.environ["PATH"], "HOME": str(project), "PORT": str(free_port())}
    result = subprocess.run([python, "-m", "app"], cwd=project, env=environment | variables,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    return output


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    "key", [" ", "a", "x" * 31, " " * 40 + "short"], ids=["space", "a", "31", "padded"]
)
def test_a_key_too_short_to_be_one_stops_the_app(projects, framework: str, key: str) -> None:
    """The issue's API_KEY=" " and "a" counted as configured: now the app will not start,
    and says the length it needs (never the value)."""
    output = refused_at_startup(*projects[framework], API_KEY=key, GROQ_API_KEY=GROQ_KEY)
    assert "API_KEY" in output and "32 characters" in output, output
    if len(key.strip()) > 4:
        assert key.strip() not in output, "the value is quoted"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_stream_cap_at_the_providers_pool_stops_the_app(projects, framework: str) -> None:
    """CHAT_MAX_STREAMS must stay below the Groq client's 100 connections, or a stream could
    wait for one (and a cancelled waiter strand it): refused at startup, in one line."""
    output = refused_at_startup(
        *projects[framework], API_KEY=API_KEY, GROQ_API_KEY=GROQ_KEY, CHAT_MAX_STREAMS="100"
    )
    assert "CHAT_MAX_STREAMS" in output and "less than 100" in output, output

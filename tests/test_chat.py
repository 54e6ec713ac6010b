"""The streaming chat route, for real: `python -m app` against streaming LLM stand-ins.

Each (framework, provider) pair is a project rendered with `chat=true` and that
`chat_provider`, run from its own virtualenv with SSE_KEEPALIVE_SECONDS=0.2 and
CHAT_TIMEOUT=1.5. The stand-ins (tests/standins/streaming.py) stream a scripted answer
piece by piece and record whether each stream finished or its client left first.
OpenAI and Groq get every test; Gemini and Cohere a happy path and a rate limit.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from engines import free_port, stop_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standins import CohereStandin, GeminiStandin, GroqStandin, OpenAIStandin, StandinServer
from support import (
    FRAMEWORKS,
    SERVICES,
    generated_tests_passed,
    health_past_imports,
    render,
    start_app,
)  # fmt: skip

pytestmark = pytest.mark.slow

KEEPALIVE = 0.2  # SSE_KEEPALIVE_SECONDS
CHAT_TIMEOUT = 1.5
LLMS = ("openai", "groq", "gemini", "cohere")
OPENAI_COMPATIBLE = [f"{fw}-{p}" for fw in FRAMEWORKS for p in ("openai", "groq")]
EVERY_PROVIDER = [f"{fw}-{p}" for fw in FRAMEWORKS for p in LLMS]
KEYS = {name: f"sentinel-{name}-key-{secrets.token_hex(6)}" for name in LLMS}


# -- the stand-ins and the apps ------------------------------------------------------------


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, StandinServer]]:
    servers = {
        "openai": OpenAIStandin(api_key=KEYS["openai"]),
        "groq": GroqStandin(api_key=KEYS["groq"]),
        "gemini": GeminiStandin(api_key=KEYS["gemini"]),
        "cohere": CohereStandin(api_key=KEYS["cohere"]),
    }
    with ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
        yield servers


@dataclass
class ChatApp:
    framework: str
    provider: str
    project: Path
    server: Any  # the provider's stand-in
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. test_retrieval's stores

    def start(self, python: Path, standins: dict[str, StandinServer]) -> None:
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.project),
            "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port),
            "LOG_LEVEL": "DEBUG",  # the most an SDK ever logs: still no key
            "SSE_KEEPALIVE_SECONDS": str(KEEPALIVE),
            "CHAT_TIMEOUT": str(CHAT_TIMEOUT),
            "CHAT_TOKENS_PER_DAY": "0",  # long answers here are about streaming, not budgets
            "CHAT_DAILY_TOKEN_BUDGET": "0",
            "OPENAI_API_KEY": KEYS["openai"],
            "OPENAI_BASE_URL": standins["openai"].base_url,  # type: ignore[attr-defined]
            "GROQ_API_KEY": KEYS["groq"],
            "GROQ_BASE_URL": standins["groq"].base_url,  # type: ignore[attr-defined]
            "GEMINI_API_KEY": KEYS["gemini"],
            "GEMINI_BASE_URL": standins["gemini"].url,
            "COHERE_API_KEY": KEYS["cohere"],
            "COHERE_BASE_URL": standins["cohere"].url,
            **self.extra_env,
        }
        self.process = start_app(python, self.project, environment, self.log_path, self.port)[0]

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, within=20)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def post(self, body: Any, raw: bytes | None = None) -> Stream:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        payload = raw if raw is not None else json.dumps(body).encode()
        connection.request(
            "POST", "/api/chat", body=payload, headers={"Content-Type": "application/json"}
        )
        return Stream(connection, connection.getresponse())

    def chat(self, text: str = "Say hello") -> Stream:
        stream = self.post({"messages": [{"role": "user", "content": text}]})
        assert stream.response.status == 200, stream.response.read()
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
        return stream


@dataclass
class Event:
    name: str  # "comment" for a keep-alive line
    data: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Stream:
    """An SSE response read event by event, as a browser's reader would."""

    connection: http.client.HTTPConnection
    response: http.client.HTTPResponse

    def next(self) -> Event | None:
        name, data, comment = "message", [], None
        while True:
            line = self.response.readline()
            if not line:
                return None
            text = line.decode().rstrip("\r\n")
            if text == "":
                if comment is not None and not data:
                    return Event("comment", comment)
                if data:
                    return Event(name, json.loads("\n".join(data)))
                continue
            if text.startswith(":"):
                comment = text[1:].strip()
            elif text.startswith("event:"):
                name = text[6:].strip()
            elif text.startswith("data:"):
                data.append(text[5:].strip())

    def until(self, name: str) -> list[Event]:
        """Every event up to and including the first `name` one."""
        seen = []
        while (event := self.next()) is not None:
            seen.append(event)
            if event.name == name:
                return seen
        raise AssertionError(f"the stream ended without a {name!r} event: {seen}")

    def rest(self) -> list[Event]:
        seen = []
        while (event := self.next()) is not None:
            seen.append(event)
        return seen

    def close(self) -> None:
        """Leave as a browser tab does: the socket closes, nothing more is read."""
        sock = self.connection.sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.connection.close()


@pytest.fixture(scope="module")
def app(
    request: pytest.FixtureRequest,
    standins: dict[str, StandinServer],
    project_venvs,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ChatApp]:
    """The app rendered for request.param ("<framework>-<provider>"), running."""
    framework, provider = request.param.split("-")
    # Every service, like the readiness tests: the same requirements, so the same venv.
    project = render(
        tmp_path_factory.mktemp(f"chat-{request.param}") / "space",
        framework=framework,
        services=SERVICES,
        chat=True,
        chat_provider=provider,
    )
    running = ChatApp(framework, provider, project, standins[provider], project.parent / "app.log")
    running.start(project_venvs.python_for(project), standins)
    try:
        yield running
    finally:
        running.stop()
    log = running.log()
    for key in KEYS.values():
        assert key not in log, "an API key appears in the app's log"


@pytest.fixture(autouse=True)
def fresh_script(standins: dict[str, StandinServer]) -> Iterator[None]:
    """Every stand-in back to a short, fast answer in "ok" mode around each test."""
    for server in standins.values():
        server.init_chat()  # type: ignore[attr-defined]
        server.mode = "ok"
    yield
    for server in standins.values():
        if server.script.gate is not None:  # type: ignore[attr-defined]
            server.script.gate.set()  # type: ignore[attr-defined]
        server.mode = "ok"


def texts(events: list[Event]) -> str:
    return "".join(e.data["text"] for e in events if e.name == "token")


# -- the happy path, for every provider ----------------------------------------------------


@pytest.mark.parametrize("app", EVERY_PROVIDER, indirect=True)
def test_answer_streams_as_tokens_then_done_with_usage(app: ChatApp) -> None:
    script = app.server.script
    script.tokens = ["Bonjour", ", ", "le ", "monde"]
    script.usage = (23, 7)
    events = app.chat().until("done")
    assert texts(events) == "Bonjour, le monde"
    assert [e.name for e in events if e.name != "comment"] == ["token"] * 4 + ["done"]
    assert events[-1].data == {"usage": {"input_tokens": 23, "output_tokens": 7}}
    record = app.server.streams[-1]
    assert record.ended.wait(5) and record.finished
    sent = app.server.requests[-1].json()
    assert "Say hello" in json.dumps(sent)  # the conversation reached the provider


@pytest.mark.parametrize("app", EVERY_PROVIDER, indirect=True)
def test_rate_limit_becomes_a_typed_error_event(app: ChatApp) -> None:
    app.server.mode = "rate_limited"
    events = app.chat().rest()
    errors = [e for e in events if e.name == "error"]
    assert [e.name for e in events if e.name != "comment"] == ["error"], events
    assert errors[0].data["type"] == "rate_limit"
    assert set(errors[0].data) == {"type", "message"}
    assert "stand-in" not in errors[0].data["message"]  # ours, never the provider's text


@pytest.mark.parametrize("app", [f"{fw}-{p}" for fw in FRAMEWORKS for p in ("gemini", "cohere")],
                         indirect=True)  # fmt: skip
def test_an_upstream_body_cut_without_chunking_ends_in_error(app: ChatApp) -> None:
    """Gemini's and Cohere's too (test_abuse has Groq's): the provider's connection closes
    after two frames, with no length and no chunks to tell a cut from an end; no finish
    reason (Gemini) or message-end (Cohere) came, so the answer is not whole."""
    app.server.script.cut_after = 2
    named = [e for e in app.chat().rest() if e.name != "comment"]
    assert [e.name for e in named][-1:] == ["error"], named
    assert named[-1].data["type"] == "unavailable"
    assert "done" not in [e.name for e in named]


@pytest.mark.parametrize("app", [f"{fw}-groq" for fw in FRAMEWORKS], indirect=True)
def test_health_reports_a_provider_the_chat_can_no_longer_reach(app: ChatApp) -> None:
    """The issue's jammed pool: the provider's check (a client of its own) kept passing while
    every chat failed, and /health said ok. Three answers in a row that could not reach the
    provider turn its entry to an error; the next whole answer puts it back."""

    def provider_entry() -> dict[str, Any]:
        return json.loads(health_past_imports(app.port)[1])["services"]["groq"]

    app.chat().until("done")
    assert provider_entry()["status"] == "ok"
    app.server.script.cut_after = 0  # a 200 whose body ends at once: no answer came
    for _ in range(3):
        named = [e for e in app.chat().rest() if e.name != "comment"]
        assert named[-1].data["type"] == "unavailable", named
    entry = provider_entry()
    assert entry["status"] == "error" and "chat answers" in entry["detail"], entry
    app.server.script.cut_after = None
    app.chat().until("done")
    assert provider_entry()["status"] == "ok"


# -- OpenAI-compatible providers: streaming for real, keep-alives, failures, disconnects ----


@pytest.mark.parametrize("app", OPENAI_COMPATIBLE, indirect=True)
def test_first_token_arrives_while_the_provider_is_still_producing(app: ChatApp) -> None:
    gate = threading.Event()
    app.server.script.gate = gate  # the stand-in holds the rest until the test has read one
    stream = app.chat()
    first = stream.until("token")[-1]
    record = app.server.streams[-1]
    assert first.data == {"text": app.server.script.tokens[0]}
    assert record.sent == app.server.script.tokens[:1] and not record.finished
    gate.set()
    rest = stream.until("done")
    assert first.data["text"] + texts(rest) == "".join(app.server.script.tokens)
    assert record.ended.wait(5) and record.finished


@pytest.mark.parametrize("app", OPENAI_COMPATIBLE, indirect=True)
def test_keepalives_flow_while_the_provider_is_slow(app: ChatApp) -> None:
    pause = 4 * KEEPALIVE
    app.server.script.tokens = ["slow", " answer", "."]
    app.server.script.delay = pause
    events = app.chat().until("done")
    names = [e.name for e in events]
    assert texts(events) == "slow answer."
    tokens = [i for i, name in enumerate(names) if name == "token"]
    for before, after in itertools.pairwise(tokens):
        between = names[before + 1 : after]
        assert "comment" in between, f"no keep-alive during a {pause} s pause: {names}"
    assert all(e.data == "keep-alive" for e in events if e.name == "comment")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("unauthorized", "auth"), ("error", "unavailable"), ("hang", "timeout")],
)
@pytest.mark.parametrize("app", OPENAI_COMPATIBLE, indirect=True)
def test_provider_failures_become_typed_error_events(
    app: ChatApp, mode: str, expected: str
) -> None:
    app.server.mode = mode
    started = time.monotonic()
    events = app.chat().rest()
    named = [e for e in events if e.name != "comment"]
    assert [e.name for e in named] == ["error"], events
    assert named[0].data["type"] == expected
    body = json.dumps(named[0].data)
    assert KEYS[app.provider] not in body and KEYS[app.provider][-4:] not in body
    if mode == "hang":  # CHAT_TIMEOUT bounds the wait, and keep-alives filled it
        assert time.monotonic() - started < CHAT_TIMEOUT + 5
        assert any(e.name == "comment" for e in events)


@pytest.mark.parametrize("app", [f"{fw}-openai" for fw in FRAMEWORKS], indirect=True)
def test_openai_out_of_quota_is_a_quota_error_not_a_rate_limit(app: ChatApp) -> None:
    app.server.mode = "out_of_quota"  # a 429 too, told apart by its code
    named = [e for e in app.chat().rest() if e.name != "comment"]
    assert [(e.name, e.data["type"]) for e in named] == [("error", "quota")]


@pytest.mark.parametrize("app", OPENAI_COMPATIBLE, indirect=True)
def test_client_disconnect_stops_the_provider_stream(app: ChatApp) -> None:
    script = app.server.script
    script.tokens = [f"t{n} " for n in range(80)]
    script.delay = 0.1  # 8 s if nobody stopped it
    stream = app.chat()
    stream.until("token")
    stream.close()
    record = app.server.streams[-1]
    assert record.ended.wait(6), f"the provider kept streaming: {len(record.sent)} pieces"
    assert record.closed and not record.finished
    assert len(record.sent) < len(script.tokens) / 2


@pytest.mark.parametrize("app", ["flask-groq"], indirect=True)
def test_flask_stops_reading_the_provider_for_a_client_that_does_not_read(app: ChatApp) -> None:
    """The issue's slow reader: a client that sends its chat and never reads made the worker
    read (and buffer) the provider's whole answer. Now at most a few events wait for it, and
    once it has read nothing for CHAT_TIMEOUT the provider's stream is closed."""
    script = app.server.script
    script.tokens = ["x" * 16_000] * 2_000  # 32 MB, were it all read
    before = len(app.server.streams)
    body = json.dumps({"messages": [{"role": "user", "content": "Say a lot"}]}).encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # and reads none of it
    try:
        sock.connect(("127.0.0.1", app.port))
        sock.sendall(b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
        deadline = time.monotonic() + 10
        while len(app.server.streams) == before:
            assert time.monotonic() < deadline, "the chat never reached the provider"
            time.sleep(0.05)
        record = app.server.streams[-1]
        assert record.ended.wait(30), f"still streaming: {len(record.sent)} pieces sent"
    finally:
        sock.close()
    assert record.closed and not record.finished
    assert len(record.sent) < len(script.tokens) / 2, f"{len(record.sent)} pieces were read"


# -- the request body ----------------------------------------------------------------------


def _limits(project: Path) -> tuple[int, int]:
    source = (project / "app" / "chat" / "__init__.py").read_text()
    numbers = {
        name: int(value.replace("_", ""))
        for name, value in re.findall(r"^(MAX_\w+) = ([\d_]+)$", source, re.MULTILINE)
    }
    return numbers["MAX_MESSAGES"], numbers["MAX_MESSAGE_CHARS"]


ROLES = ["user", "assistant", "system", "tool", "User", ""]


@st.composite
def conversations(draw: st.DrawFn, max_messages: int, max_chars: int) -> list[dict[str, str]]:
    """Around the limits: message counts, roles, empty and short texts, and one long text."""
    count = draw(st.one_of(st.integers(0, 3), st.integers(max_messages - 1, max_messages + 1)))
    messages = [
        {"role": draw(st.sampled_from(ROLES)), "content": "x" * draw(st.integers(0, 3))}
        for _ in range(count)
    ]
    if messages and draw(st.booleans()):
        long = draw(st.integers(max_chars - 1, max_chars + 1))
        messages[draw(st.integers(0, count - 1))]["content"] = "x" * long
    return messages


@pytest.mark.parametrize("app", [f"{fw}-openai" for fw in FRAMEWORKS], indirect=True)
def test_bad_bodies_are_refused_with_the_field_named(app: ChatApp) -> None:
    max_messages, max_chars = _limits(app.project)

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(conversations(max_messages, max_chars))
    def check(messages: list[dict[str, str]]) -> None:
        valid = (
            1 <= len(messages) <= max_messages
            # a client's system message is refused unless CHAT_ALLOW_CLIENT_SYSTEM is set
            and all(m["role"] in ("user", "assistant") for m in messages)
            and all(1 <= len(m["content"]) <= max_chars for m in messages)
        )
        stream = app.post({"messages": messages})
        if valid:
            assert stream.response.status == 200
            assert stream.until("done")
        else:
            assert stream.response.status == 422
            assert "messages" in stream.response.read().decode()
        stream.close()

    check()
    for raw in (b"not json", b'{"messages": [], "extra": 1}', b'{"prompt": "hi"}'):
        stream = app.post(None, raw=raw)
        assert stream.response.status == 422, raw
        stream.close()


@pytest.mark.parametrize("app", [f"{fw}-groq" for fw in FRAMEWORKS], indirect=True)
def test_generated_tests_pass_with_chat_on(app: ChatApp, project_venvs) -> None:
    """The project's own tests, including its chat tests with a fake provider."""
    python = project_venvs.python_for(app.project)
    chat_tests = generated_tests_passed(python, app.project, "test_chat.py")
    assert "test_keepalives_while_the_provider_is_quiet" in chat_tests
    assert "test_provider_failure_is_one_typed_error_event" in chat_tests


def test_the_everything_on_render_keeps_each_file_within_400_lines(tmp_path: Path) -> None:
    """The largest settings module there is (Flask, JWT, every service, chat with retrieval
    and rerank, a model) was 470 lines before the chat's settings moved to chat/settings.py."""
    project = render(tmp_path / "space", framework="flask", services=SERVICES, auth="jwt",
                     chat=True, chat_provider="cohere", retrieval=True,
                     retrieval_store="elasticsearch", rerank=True,
                     models="sentence-transformers/all-MiniLM-L6-v2")  # fmt: skip
    sizes = {path.relative_to(project).as_posix(): len(path.read_text().splitlines())
             for path in project.rglob("*.py")}  # fmt: skip
    assert "app/chat/settings.py" in sizes
    assert {name: size for name, size in sizes.items() if size > 400} == {}


@pytest.mark.parametrize("provider", ["openai", "groq"])
def test_the_stream_caps_bound_is_the_sdks_own_pool(
    provider: str, project_venvs, tmp_path: Path
) -> None:
    """CHAT_MAX_STREAMS must stay below POOL_SIZE; POOL_SIZE must be what the installed SDK's
    client really holds (both SDKs export it), or the cap could sit above the pool."""
    project = render(tmp_path / "space", framework="fastapi", services=SERVICES, chat=True,
                     chat_provider=provider)  # fmt: skip
    code = f"import {provider}; from app.chat.settings import POOL_SIZE; " \
        f"print({provider}.DEFAULT_CONNECTION_LIMITS.max_connections, POOL_SIZE)"  # fmt: skip
    result = subprocess.run([project_venvs.python_for(project), "-c", code], cwd=project,
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    sdk_pool, pool_size = result.stdout.split()
    assert sdk_pool == pool_size


def test_a_stream_slot_comes_back_even_when_its_stream_never_starts(
    project_venvs, tmp_path: Path
) -> None:
    """A client that leaves before its answer starts never runs the stream's release: the
    slot must come back when the admitted request is dropped, or each such client would
    shrink CHAT_MAX_STREAMS for good."""
    project = render(tmp_path / "space", framework="fastapi", services=SERVICES, chat=True,
                     chat_provider="groq")  # fmt: skip
    code = """
from app.chat.limits import LimitReached, admit
from app.variables import load_settings
settings = load_settings(env_file=None)
first = admit(settings, "ip:a")
try:
    admit(settings, "ip:b")
    print("admitted past the cap")
except LimitReached as refused:
    print(refused.status, refused.setting, refused.retry_after)
del first  # never released: its response never ran
admit(settings, "ip:c").release()
print("the slot came back")
"""
    environment = {"PATH": os.environ["PATH"], "HOME": str(project), "CHAT_MAX_STREAMS": "1"}
    result = subprocess.run([project_venvs.python_for(project), "-c", code], cwd=project,
                            env=environment, capture_output=True, text=True, timeout=120,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["503 CHAT_MAX_STREAMS 5", "the slot came back"]

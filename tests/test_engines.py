"""The real engines the other tests rely on actually start, serve, stop and restart."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator

import engines
import pytest
from engines import (
    LOCAL_BASE_IMAGE,
    PORT_ATTEMPTS,
    PortInUse,
    PostgresServer,
    RedisServer,
    base_image,
    docker_client,
    free_port,
    launch_on_free_port,
    says_port_in_use,
    unavailable,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


# --- a missing engine: skipped outside CI, failed in CI -----------------------


def outcome_of_a_missing_engine() -> str:
    """What unavailable() does, caught here: a skip must not turn this test into a skip."""
    try:
        unavailable("no such engine")
    except pytest.fail.Exception:
        return "failed"
    except pytest.skip.Exception as skipped:
        return f"skipped: {skipped.msg}"
    return "returned"


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "YES", "on", "On", " true "])
def test_a_missing_engine_fails_when_ci_is_true(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    assert outcome_of_a_missing_engine() == "failed"


@pytest.mark.parametrize("value", [None, "", "0", "false", "FALSE", "no", "off", "n"])
def test_a_missing_engine_is_skipped_outside_ci(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert outcome_of_a_missing_engine() == "skipped: NOT RUN, needs a real engine: no such engine"


@settings(max_examples=200, deadline=None)
@given(value=st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"])))
def test_only_the_four_true_words_mean_ci(value: str) -> None:
    in_ci = value.strip().lower() in {"1", "true", "yes", "on"}
    before = os.environ.get("CI")
    os.environ["CI"] = value  # hypothesis and monkeypatch do not mix: restored by hand
    try:
        assert outcome_of_a_missing_engine().split(":")[0] == ("failed" if in_ci else "skipped")
    finally:
        if before is None:
            os.environ.pop("CI")
        else:
            os.environ["CI"] = before


# --- ports: a taken port is retried, never mistaken for the server ------------


@pytest.fixture
def taken_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A port another process listens on, handed out as the first "free" one."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        ports = iter([port])
        monkeypatch.setattr(engines, "free_port", lambda: next(ports, None) or free_port())
        yield port


@pytest.mark.engine
@pytest.mark.parametrize("server_class", [RedisServer, PostgresServer])
def test_a_taken_port_is_retried_on_a_new_one(server_class: type, taken_port: int) -> None:
    # The squatter accepts connections: a server that took "accepts on the port" for
    # "started" would hand its clients the squatter's port.
    with server_class() as server:
        assert server.port != taken_port
        assert server.port_attempts == 2
        if isinstance(server, RedisServer):
            assert _redis_cli(server, "PING", password=server.password) == "PONG"
        else:
            ok = _psql(server, "SELECT 1")
            assert ok.returncode == 0, ok.stderr


def test_launch_on_free_port_retries_a_real_bind_failure(taken_port: int) -> None:
    tried: list[int] = []

    def launch(port: int) -> socket.socket:
        tried.append(port)
        server = socket.socket()
        try:
            server.bind(("127.0.0.1", port))
        except OSError as error:
            server.close()
            assert says_port_in_use(str(error)), error
            raise PortInUse(str(error)) from error
        server.listen()
        return server

    with launch_on_free_port(launch) as server:
        assert tried[0] == taken_port and len(tried) == 2
        assert server.getsockname()[1] == tried[1]


@pytest.mark.engine
def test_only_taken_ports_give_up_with_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        monkeypatch.setattr(engines, "free_port", lambda: port)
        server = RedisServer()
        with pytest.raises(PortInUse, match=str(port)):
            server.start()
        assert server.port_attempts == PORT_ATTEMPTS
        server.close()


# --- PostgreSQL --------------------------------------------------------------


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def _psql(server: PostgresServer, sql: str) -> subprocess.CompletedProcess[str]:
    # Debian's client, talking TCP with the app role's password: no Python driver needed.
    return subprocess.run(
        [str(server.bin_dir / "psql"), server.url, "-XAtq", "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
    )


@pytest.mark.engine
def test_postgres_serves_stops_and_restarts_on_the_same_port(postgres: PostgresServer) -> None:
    port = postgres.port
    assert postgres.url == f"postgresql://app:apppass@127.0.0.1:{port}/appdb"

    ok = _psql(postgres, "SELECT current_user || ' ' || current_database()")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "app appdb"

    postgres.stop()
    assert _refused(port)
    down = _psql(postgres, "SELECT 1")
    assert down.returncode != 0
    assert "refused" in down.stderr.lower()

    postgres.start()
    assert postgres.port == port
    again = _psql(postgres, "SELECT 1")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "1"


@pytest.mark.engine
def test_postgres_requires_the_password(postgres: PostgresServer) -> None:
    wrong = postgres.url.replace(":apppass@", ":wrong@")
    result = subprocess.run(
        [str(postgres.bin_dir / "psql"), wrong, "-XAtq", "-c", "SELECT 1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "password authentication failed" in result.stderr


@pytest.mark.engine
def test_postgres_cleanup_removes_its_files() -> None:
    server = PostgresServer().start()
    data_dir = server.dir
    assert data_dir is not None and data_dir.is_dir()
    server.close()
    assert not data_dir.exists()
    assert _refused(server.port)


# --- Redis -------------------------------------------------------------------


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def _redis_cli(server: RedisServer, *args: str, password: str | None = None) -> str:
    # redis-cli 7.0 reads "redis://:PW@" as user "" + PW and fails AUTH, so pass -h/-p/-a.
    auth = ["-a", password] if password else []
    result = subprocess.run(
        ["redis-cli", "--no-auth-warning", "-h", server.host, "-p", str(server.port), *auth, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return (result.stdout + result.stderr).strip()


@pytest.mark.engine
def test_redis_serves_stops_and_restarts_on_the_same_port(redis: RedisServer) -> None:
    port = redis.port
    assert redis.host == "127.0.0.1"
    assert redis.url == f"redis://:{redis.password}@127.0.0.1:{port}/0"
    assert _redis_cli(redis, "PING", password=redis.password) == "PONG"

    redis.stop()
    assert _refused(port)
    assert "refused" in _redis_cli(redis, "PING", password=redis.password).lower()

    redis.start()
    assert redis.port == port
    assert _redis_cli(redis, "PING", password=redis.password) == "PONG"


@pytest.mark.engine
def test_redis_requires_the_password_and_does_not_persist(redis: RedisServer) -> None:
    assert "NOAUTH" in _redis_cli(redis, "PING")
    assert "WRONGPASS" in _redis_cli(redis, "PING", password="wrong")
    pw = redis.password
    assert _redis_cli(redis, "CONFIG", "GET", "save", password=pw) == "save"
    assert _redis_cli(redis, "CONFIG", "GET", "appendonly", password=pw) == "appendonly\nno"


# --- Docker ------------------------------------------------------------------


@pytest.mark.docker
def test_docker_engine_and_base_image() -> None:
    client = docker_client()
    assert client.ping()
    image = base_image(client)
    assert image in ("python:3.11-slim", LOCAL_BASE_IMAGE)
    out = client.containers.run(
        image,
        ["python", "-c", "import sys, venv, ssl; print(sys.version_info[:2])"],
        remove=True,
    )
    assert out.decode().strip() == "(3, 11)"


@pytest.mark.docker
def test_base_image_for_another_python_is_not_faked() -> None:
    client = docker_client()
    if any("python:3.12-slim" in tag for img in client.images.list() for tag in img.tags):
        pytest.skip("python:3.12-slim happens to exist locally")
    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)):
        base_image(client, "3.12")

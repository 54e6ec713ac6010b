"""Real engines for the test suite: Docker, a throwaway PostgreSQL, a throwaway Redis.

Nothing here is mocked. When an engine cannot be used the test does not pass
quietly: outside CI it is skipped with a loud "NOT RUN" reason, and in CI (``CI``
set to any true value: 1, true, yes, on) it fails. ``.ci/setup`` installs and
starts everything needed.

Ports: PostgreSQL and redis-server are separate processes, so the port is picked
here and passed to them. redis-server cannot bind port 0 (``--port 0`` turns TCP
off) and PostgreSQL would not say which port it got, so each server starts on a
fresh free port and, if another process took that port in between ("Address
already in use"), tries again on a new one (``PORT_ATTEMPTS`` times). Readiness is
read from the server itself (pg_ctl's --wait, redis's "Ready to accept" log line),
never from "something accepts on the port", which another process could answer.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn, Self, TypeVar

import pytest
from standins.checking import free_port
from support import refuse_in_quick_tier

if TYPE_CHECKING:
    import docker

LOCAL_BASE_IMAGE = "hf-space-template/python:3.11-slim-local"
T = TypeVar("T")


PORT_ATTEMPTS = 5
#: The values of ``CI`` that mean "this is CI" (compared case-insensitively).
CI_TRUE = frozenset({"1", "true", "yes", "on"})


def in_ci() -> bool:
    """Whether ``CI`` holds a true value, as CI services set it (``true``, ``1``, ...)."""
    return os.environ.get("CI", "").strip().lower() in CI_TRUE


def unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip loudly elsewhere: a missing engine never looks like a pass."""
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip("NOT RUN, needs a real engine: " + reason)


class PortInUse(RuntimeError):
    """The port picked for a server was taken before the server could bind it."""


def says_port_in_use(output: str) -> bool:
    """Whether a server's output says its bind failed because the port is taken
    (redis, PostgreSQL, uvicorn, gunicorn and Python all say "Address already in use")."""
    return "address already in use" in output.lower()


def launch_on_free_port(launch: Callable[[int], T], attempts: int = PORT_ATTEMPTS) -> T:
    """``launch(port)`` on a fresh free port, again on a new one while it raises
    ``PortInUse``: for a process that cannot bind port 0 and report what it got."""
    for attempt in range(1, attempts + 1):
        try:
            return launch(free_port())
        except PortInUse:
            if attempt == attempts:
                raise
    raise ValueError(f"attempts must be at least 1, not {attempts}")


def stop_process(process: subprocess.Popen[bytes], within: float) -> bool:
    """SIGTERM, then SIGKILL after `within` seconds; whether SIGTERM was enough."""
    if process.poll() is not None:
        return True
    process.terminate()
    try:
        process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return True


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def docker_client() -> docker.DockerClient:
    """A client for a running Docker engine, or unavailable()."""
    refuse_in_quick_tier("use Docker", "docker")
    try:
        import docker
    except ImportError:
        unavailable("the docker SDK is missing; run .ci/setup (pip install --group test)")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        unavailable(f"no Docker engine reachable ({exc}); .ci/setup starts dockerd")
    return client


def base_image(client: docker.DockerClient, python_version: str = "3.11") -> str:
    """The image to use for ``FROM python:<v>-slim``: the real one or the local stand-in."""
    import docker

    candidates = [f"python:{python_version}-slim"]
    if python_version == "3.11":
        candidates.append(LOCAL_BASE_IMAGE)
    for name in candidates:
        try:
            client.images.get(name)
        except docker.errors.ImageNotFound:
            continue
        return name
    unavailable(
        f"no base image for Python {python_version}: none of {candidates} exists locally; "
        "no registry is reachable, so build the stand-in with scripts/make-base-image "
        "(3.11 only)"
    )


class _Server:
    """Shared lifecycle: a temp dir, a port kept across restarts, context manager.

    Subclasses implement ``_launch()`` (start on ``self.port``; raise ``PortInUse``
    when the bind failed for that reason) and ``stop()``. The first ``start()``
    picks the port, retrying on a new one when it was taken; a restart reuses it.
    """

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port: int = 0  # 0 until the first start
        self.dir: Path | None = None
        self.port_attempts = 0  # how many ports the first start tried

    def start(self) -> Self:
        if self.port:
            self._launch()  # a restart: the clients were given this port
            return self

        def launch(port: int) -> None:
            self.port, self.port_attempts = port, self.port_attempts + 1
            self._launch()

        launch_on_free_port(launch)
        return self

    def _launch(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _wait_until(self, up: bool, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while _accepts(self.port) != up:
            if time.monotonic() > deadline:
                state = "accept" if up else "refuse"
                raise RuntimeError(f"{what} did not {state} connections on port {self.port}")
            time.sleep(0.05)

    def close(self) -> None:
        """Stop the server and delete its files."""
        try:
            self.stop()
        finally:
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _pg_bin_dir() -> Path | None:
    dirs = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    if not dirs:
        return None
    return max(dirs, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)])


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster on 127.0.0.1 with role ``app`` and database ``appdb``.

    Uses Debian's server binaries. PostgreSQL refuses to run as root, so under
    root every server command runs as the ``postgres`` system user.
    """

    user = "app"
    password = "apppass"
    dbname = "appdb"

    def __init__(self) -> None:
        super().__init__()
        refuse_in_quick_tier("start PostgreSQL", "engine")
        bin_dir = _pg_bin_dir()
        if bin_dir is None:
            unavailable("PostgreSQL server binaries missing; .ci/setup installs postgresql")
        self.bin_dir = bin_dir
        self._as: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                unavailable("running as root needs runuser (util-linux) to drop to postgres")
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                unavailable("no 'postgres' system user; .ci/setup installs postgresql")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._running = False
        self._provisioned = False  # role and database created

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    @property
    def _data(self) -> Path:
        assert self.dir is not None
        return self.dir / "data"

    def _run(self, tool: str, *args: str) -> None:
        assert self.dir is not None
        cmd = [*self._as, str(self.bin_dir / tool), *args]
        result = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    def _init(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pg-test-"))
        if self._as:
            shutil.chown(self.dir, user="postgres", group="postgres")
        self._run(
            "initdb",
            "--pgdata",
            str(self._data),
            "--username=postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )

    def _launch(self) -> None:
        if self._running:
            return
        if self.dir is None:
            self._init()
        assert self.dir is not None
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} "
            f"-c unix_socket_directories={self.dir} -c fsync=off"
        )
        log = self.dir / "server.log"
        logged = log.stat().st_size if log.exists() else 0
        try:
            self._run(
                "pg_ctl",
                "start",
                "--wait",
                "--timeout=60",
                f"--pgdata={self._data}",
                f"--log={log}",
                f"--options={options}",
            )
        except RuntimeError:
            with log.open("rb") as text:
                text.seek(logged)
                if says_port_in_use(text.read().decode(errors="replace")):
                    raise PortInUse(f"PostgreSQL: port {self.port} is taken") from None
            raise
        self._running = True
        if not self._provisioned:  # not "first launch": that one may have found the port taken
            self._provisioned = True
            self._run(
                "psql",
                f"--host={self.dir}",
                f"--port={self.port}",
                "--username=postgres",
                "--dbname=postgres",
                "--no-psqlrc",
                "--quiet",
                "--set=ON_ERROR_STOP=1",
                f"--command=CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'",
                f"--command=CREATE DATABASE {self.dbname} OWNER {self.user}",
            )

    def stop(self) -> None:
        if not self._running:
            return
        self._run("pg_ctl", "stop", "--wait", "--mode=fast", f"--pgdata={self._data}")
        self._running = False
        self._wait_until(False, "PostgreSQL")


class RedisServer(_Server):
    """A throwaway ``redis-server`` on 127.0.0.1 with a password and no persistence."""

    def __init__(self, password: str | None = None) -> None:
        super().__init__()
        refuse_in_quick_tier("start redis-server", "engine")
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server missing; .ci/setup installs redis-server")
        self.binary = binary
        self.password = password or secrets.token_hex(16)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    def _launch(self) -> None:
        if self._proc is not None:
            return
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="redis-test-"))
        args = [
            self.binary,
            *("--bind", self.host, "--port", str(self.port)),
            *("--requirepass", self.password),
            *("--save", "", "--appendonly", "no", "--dir", str(self.dir)),
            *("--daemonize", "no"),
        ]
        log = self.dir / "server.log"
        logged = log.stat().st_size if log.exists() else 0
        with log.open("ab") as sink:
            self._proc = proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            with log.open("rb") as text:
                text.seek(logged)
                said = text.read()
            if b"Ready to accept connections" in said:
                return
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                if says_port_in_use(said.decode(errors="replace")):
                    raise PortInUse(f"redis-server: port {self.port} is taken")
                raise RuntimeError(f"redis-server did not start:\n{said.decode(errors='replace')}")
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # Once the process is gone the kernel has closed its socket: no port polling,
        # which would wait in vain when another process holds the port.
        stop_process(proc, within=15)

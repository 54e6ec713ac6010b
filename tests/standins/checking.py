"""Helpers shared by the stand-in checks: constants, a stdlib GET, time bounds."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ._server import StandinServer

TIMEOUT = 0.5
GOOD = "good-key-0123456789"
BAD = "bad-key-SECRET-9876543210"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago.

    Only for a process that cannot bind port 0 itself (see tests/engines.py); it
    may be taken before it is used, so the caller must retry on "address in use".
    For a port that must refuse connections, use ``refused_port()``.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses every connection for as long as the block runs.

    The port is bound but never listened on: no other process can take it in the
    meantime (a bound-and-closed port could be reused), and a connection to it is
    refused at once.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def get(
    server: StandinServer, path: str, headers: dict[str, str] | None = None, timeout: float = 5
) -> tuple[int, dict[str, str], Any]:
    """One stdlib GET: (status, lower-cased headers, parsed JSON or text)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        found = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    if found.get("content-type", "").startswith(("application/json", "application/vnd")):
        return response.status, found, json.loads(raw)
    return response.status, found, raw.decode()


#: Seconds added to a client's own timeout before a test calls the wait too long: room
#: for imports, thread start-up and scheduling on a loaded 2-core machine.
SLACK = 2.0


def bound(timeout: float = TIMEOUT) -> float:
    """The most a call with ``timeout`` may take on a loaded machine."""
    return timeout + SLACK


@contextmanager
def within(seconds: float, *, release: StandinServer | None = None) -> Iterator[None]:
    """Fail when the block took ``seconds`` or more, also when it raised.

    ``release``: a stand-in in "hang" mode. If the block is still waiting at twice
    the bound plus one second, the stand-in drops its hanging connections, so a
    client that would wait forever gets an error and this check fails, instead of
    the test hanging.
    """
    watchdog = None
    if release is not None:
        watchdog = threading.Timer(2 * seconds + 1, release.release)
        watchdog.daemon = True
        watchdog.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        if watchdog is not None:
            watchdog.cancel()
        if elapsed >= seconds:
            raise AssertionError(
                f"took {elapsed:.2f}s, expected under {seconds}s: the wait is not bounded"
            )


def raises_within(
    error: type[BaseException] | tuple[type[BaseException], ...],
    call: Callable[[], Any],
    server: StandinServer | None = None,
) -> BaseException:
    """Run ``call``, which must fail with ``error`` within ``bound()``; the exception.

    Pass the hanging ``server`` so that an unbounded wait fails rather than hangs.
    """
    with within(bound(), release=server), pytest.raises(error) as caught:
        call()
    return caught.value

"""Helpers shared by the stand-in checks: constants, a stdlib GET, time bounds."""

from __future__ import annotations

import http.client
import json
import socket
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
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@contextmanager
def within(seconds: float) -> Iterator[None]:
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.2f}s, expected under {seconds}s"


def raises_within(error: type[BaseException] | tuple[type[BaseException], ...], call: Callable):
    """Run a call that must fail with ``error`` within TIMEOUT + 1 s; return the exception."""
    with within(TIMEOUT + 1), pytest.raises(error) as caught:
        call()
    return caught.value

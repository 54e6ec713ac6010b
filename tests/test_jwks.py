"""The JWKS fetch under abuse (issue 19), on both frameworks: `python -m app` with auth=jwt.

A JWKS server that trickles its answer a byte a second must not hold the app: the fetch has
one deadline (auth.FETCH_TIMEOUT_SECONDS, 5 s) for the whole answer, requests that arrive
meanwhile get 503 at once instead of queueing on the fetch's lock, and the next attempt
waits RETRY_SECONDS from when the failed one ended. A JWKS URL that redirects is refused:
following it would trust whatever keys the other host serves.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import FRAMEWORKS
from test_auth import App, JwksServer, Signer, rendered  # noqa: F401 - rendered is a fixture

pytestmark = pytest.mark.slow

ISSUER = "https://issuer.example"
FETCH_DEADLINE = 5.0  # auth.FETCH_TIMEOUT_SECONDS


class TricklingServer:
    """Answers every connection with a status line, then one header byte a second, forever
    (a read never times out); counts the connections."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/jwks"
        self.connections = 0
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not self.closed.wait(1.0):
                    connection.sendall(b"a")
            except OSError:
                return  # the app hung up: what is wanted

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


def _jwt_app(rendered, framework: str, jwks_url: str) -> App:  # noqa: F811
    project, python = rendered(framework, "jwt")
    environment = {"JWKS_URL": jwks_url, "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": ISSUER}
    return App(project, python, environment)


@pytest.fixture(scope="module", params=FRAMEWORKS)
def trickled(request: pytest.FixtureRequest, rendered) -> Iterator[tuple[App, TricklingServer]]:  # noqa: F811
    server = TricklingServer()
    app = _jwt_app(rendered, request.param, server.url)
    yield app, server
    app.close()
    server.close()


def timed_get(app: App, path: str, token: str) -> tuple[int, float]:
    started = time.monotonic()
    status = app.get(path, Authorization=f"Bearer {token}")[0]
    return status, time.monotonic() - started


def test_a_trickling_jwks_is_cut_off_and_waiters_fail_fast(trickled) -> None:
    app, server = trickled
    token = Signer("key-1", "EdDSA").token(ISSUER)
    with ThreadPoolExecutor(max_workers=12) as pool:
        fetching = pool.submit(timed_get, app, "/api/me", token)
        time.sleep(0.5)  # the first request holds the fetch; the others arrive during it
        waiters = [pool.submit(timed_get, app, "/api/me", token) for _ in range(10)]
        live = pool.submit(timed_get, app, "/health/live", token)
        first = fetching.result(timeout=60)
        others = [waiter.result(timeout=60) for waiter in waiters]
    assert first[0] == 503
    # One deadline for the whole fetch, not per read (it would never end): 5 s, with margin.
    assert first[1] < FETCH_DEADLINE + 10, first
    assert all(status == 503 for status, _ in others), others
    # They did not queue behind the fetch: each answered well before it ended.
    assert max(seconds for _, seconds in others) < FETCH_DEADLINE - 1, others
    assert live.result()[0] == 200
    # The retry gap (5 s) counts from when the failed fetch ended: no new fetch right after.
    assert timed_get(app, "/api/me", token)[0] == 503
    assert server.connections == 1


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_jwks_url_that_redirects_is_not_followed(rendered, framework: str) -> None:  # noqa: F811
    """The redirect's target serves a key that signs the token: following it would let its
    owner sign in as anyone."""
    other = JwksServer()
    signer = Signer("key-other", "EdDSA")
    other.keys = [signer.jwk]
    redirecting = JwksServer()  # serves 302s only, by its handler below
    redirect_to = f"{other.url}/api/auth/jwks"

    def redirect(handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", redirect_to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    redirecting.server.RequestHandlerClass.do_GET = redirect  # type: ignore[method-assign]
    app = _jwt_app(rendered, framework, f"{redirecting.url}/api/auth/jwks")
    try:
        status = app.get("/api/me", Authorization=f"Bearer {signer.token(ISSUER)}")[0]
        assert status == 503
        assert other.fetches == 0
    finally:
        app.close()
        other.close()
        redirecting.close()

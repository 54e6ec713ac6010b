"""The base of every stand-in: a small threaded HTTP server on 127.0.0.1.

A stand-in is not the real service. It answers only the few calls that the
generated app's readiness checks (and the tests) make, with bodies shaped enough
like the real ones for the real client libraries to parse them.

Usage, the same for every subclass::

    with QdrantStandin(api_key="k") as server:   # binds 127.0.0.1:0, the kernel picks
        server.url          # "http://127.0.0.1:PORT"
        server.mode = "hang"  # switch behaviour at run time (see MODES)
        server.requests     # copies of what was received, oldest first
        server.clear()      # forget the recorded requests

Modes (``server.modes`` lists what a subclass accepts):

* ``"ok"``: answer like the service does for a good request.
* ``"unauthorized"``: answer every request the way the service answers a bad key,
  whatever key was sent. With ``api_key`` set, a request carrying another key gets
  that answer in ``"ok"`` mode too.
* ``"hang"``: read the request, record it, then never answer. The connection is
  dropped when the mode leaves ``"hang"``, on ``release()`` or when the server
  stops, so a client that gave up is not kept waiting and ``stop()`` is quick.
* ``"error"``: a 500 in the service's error shape.

Subclasses set ``service`` and ``modes`` and override :meth:`route` (plus
:meth:`authorized` and :meth:`unauthorized_response` when the service has auth).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["RecordedRequest", "Reply", "StandinServer", "read_request"]

BASE_MODES = ("ok", "unauthorized", "hang", "error")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it. Header names are lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    """What a stand-in answers: a status, a body (JSON-encoded unless bytes or str)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            payload = b""
        elif isinstance(self.body, bytes):
            payload = self.body
        elif isinstance(self.body, str):
            payload = self.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        return payload, headers


def read_request(handler: BaseHTTPRequestHandler) -> RecordedRequest:
    """The request a handler is serving, its body read whether sized or chunked."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        handler.rfile.readline()  # the blank line after the last, empty chunk
        body = b"".join(chunks)
    else:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
    split = urlsplit(handler.path)
    return RecordedRequest(
        method=handler.command,
        path=unquote(split.path),
        query=parse_qs(split.query, keep_blank_values=True),
        headers={name.lower(): value for name, value in handler.headers.items()},
        body=body,
    )


def json_reply(status: int, body: Any, **headers: str) -> Reply:
    return Reply(status, body, dict(headers))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' connection pools expect
    server: _HTTPServer
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read server.requests instead

    def setup(self) -> None:
        super().setup()
        self.server.standin._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.standin._track(self.connection, add=False)

    def _serve(self) -> None:
        request = read_request(self)
        standin = self.server.standin
        standin._record(request)
        reply = standin._dispatch(request)
        if reply is None:  # "hang": the wait is over, drop the connection unanswered
            self.close_connection = True
            return
        if hasattr(reply, "write_to"):  # a streamed reply (streaming.py) writes itself
            reply.write_to(self)
            return
        payload, headers = reply.encoded()
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # a burst of connections (a storm of streams) waits, not SYN-retried

    def __init__(self, standin: StandinServer) -> None:
        self.standin = standin
        super().__init__(("127.0.0.1", 0), _Handler)


class StandinServer:
    """A threaded HTTP stand-in on 127.0.0.1, bound to port 0: ``url``/``port`` say which
    port the kernel gave it, so no other process can take it between pick and bind.

    ``api_key``: when set, requests must carry it (how depends on the service);
    when ``None``, any key, or none, is accepted in ``"ok"`` mode.
    """

    service: ClassVar[str] = "stand-in"
    modes: ClassVar[tuple[str, ...]] = BASE_MODES

    def __init__(self, *, api_key: str | None = None, mode: str = "ok") -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._mode_changed = threading.Condition(self._lock)
        self._mode = "ok"
        self._releases = 0  # bumped by release(): hanging handlers drop their connection
        self.mode = mode
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- public API -------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in self.modes:
            raise ValueError(
                f"{type(self).__name__} has no mode {value!r}; use one of {self.modes}"
            )
        with self._mode_changed:
            self._mode = value
            self._mode_changed.notify_all()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, with no trailing slash."""
        if self._httpd is None:
            raise RuntimeError("the stand-in is not running: use start() or a with block")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def release(self) -> None:
        """Drop the connections hanging now, unanswered; later requests hang again."""
        with self._mode_changed:
            self._releases += 1
            self._mode_changed.notify_all()

    def start(self) -> StandinServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        with self._mode_changed:
            self._stopping.set()
            self._mode_changed.notify_all()  # wakes the "hang" handlers
        httpd.shutdown()  # returns within poll_interval
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # idle keep-alive readers would otherwise linger
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<{type(self).__name__} {where} mode={self.mode!r}>"

    # -- for subclasses ---------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        """The answer in ``"ok"`` mode to an authorized request."""
        return self.not_found(request)

    def authorized(self, request: RecordedRequest) -> bool:
        """Whether the request carries ``api_key`` (always true when it is ``None``)."""
        return True

    def unauthorized_response(self, request: RecordedRequest) -> Reply:
        return json_reply(401, {"error": "unauthorized"})

    def error_response(self, request: RecordedRequest) -> Reply:
        return json_reply(500, {"error": "internal error (stand-in mode 'error')"})

    def not_found(self, request: RecordedRequest) -> Reply:
        return json_reply(404, {"error": f"no route {request.method} {request.path}"})

    def respond(self, request: RecordedRequest, mode: str) -> Reply:
        """Pick the answer for ``mode``; subclasses with extra modes extend this."""
        if mode == "unauthorized" or not self.authorized(request):
            return self.unauthorized_response(request)
        if mode == "error":
            return self.error_response(request)
        return self.route(request)

    def bearer_token(self, request: RecordedRequest) -> str | None:
        value = request.header("authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    # -- internals --------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _dispatch(self, request: RecordedRequest) -> Reply | None:
        mode = self.mode
        if mode == "hang":
            with self._mode_changed:
                releases = self._releases
                self._mode_changed.wait_for(
                    lambda: (
                        self._stopping.is_set()
                        or self._mode != "hang"
                        or self._releases != releases
                    )
                )
            return None
        try:
            return self.respond(request, mode)
        except Exception as error:  # a stand-in bug shows as a 500 naming it
            return json_reply(HTTPStatus.INTERNAL_SERVER_ERROR, {"standin_error": repr(error)})

"""A stand-in for Neon's WebSocket endpoint: the Postgres wire protocol inside a WebSocket.

Neon's proxy serves ``wss://<endpoint host>/v2``: each binary message carries raw
Postgres protocol bytes, a text message is an error, the Host header names the endpoint,
and there is no TLS inside the WebSocket (the ``wss://`` is the TLS). This stand-in does
the same in front of a real PostgreSQL: every WebSocket on ``/v2`` gets its own TCP
connection to ``127.0.0.1:<postgres_port>``; other paths are refused with 404. ``host``
and ``port`` are where it listens (127.0.0.1 and a free port unless a container must reach
it on 443).

    with NeonWebSocketStandin(ca, postgres.port) as neon:
        neon.url           # "wss://127.0.0.1:PORT/v2"
        neon.hosts         # the Host header of every WebSocket opened, oldest first
        neon.connections   # how many WebSockets were piped
"""

from __future__ import annotations

import socket
import threading
from http import HTTPStatus

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from .tls import TestCA

__all__ = ["NeonWebSocketStandin"]


class NeonWebSocketStandin:
    path = "/v2"

    def __init__(
        self, ca: TestCA, postgres_port: int, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.postgres_port = postgres_port
        self.host = host
        self.hosts: list[str] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._server: Server = serve(
            self._handle, host, port, ssl=ca.server_context(),
            process_request=self._only_v2, compression=None, max_size=None,
        )  # fmt: skip
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"wss://{self.host}:{self.port}{self.path}"

    def _only_v2(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?")[0] != self.path:
            return connection.respond(HTTPStatus.NOT_FOUND, "no such endpoint\n")
        return None

    def _handle(self, websocket: ServerConnection) -> None:
        with self._lock:
            self.hosts.append(websocket.request.headers.get("Host", ""))
            self.connections += 1
        with socket.create_connection(("127.0.0.1", self.postgres_port)) as postgres:
            downstream = threading.Thread(
                target=self._to_client, args=(postgres, websocket), daemon=True
            )
            downstream.start()
            try:
                for message in websocket:
                    if isinstance(message, str):  # Neon's proxy refuses text messages too
                        websocket.close(1003, "unexpected text message")
                        break
                    postgres.sendall(message)
            except (OSError, ConnectionClosed):  # the client went away without a close frame
                pass
            finally:
                postgres.shutdown(socket.SHUT_WR)
                downstream.join(timeout=5)

    @staticmethod
    def _to_client(postgres: socket.socket, websocket: ServerConnection) -> None:
        try:
            while data := postgres.recv(65536):
                websocket.send(data)
        except Exception:  # either side gone
            pass
        finally:
            websocket.close()

    def __enter__(self) -> NeonWebSocketStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()

"""An Upstash Redis REST API stand-in, not the real service.

::

    UpstashStandin(api_key=None, mode="ok")

    UpstashStandin(api_key=None, mode="ok", redis=("127.0.0.1", port, password))

* ``POST /`` with a JSON array body holding one command (``["PING"]``,
  ``["PING", "hi"]``, ``["ECHO", "hi"]``): ``{"result": ...}`` (``"PONG"`` for a bare
  PING), the shape Upstash answers in. A body that is not a JSON array of strings and
  numbers (the SDK sends EVAL's key count as a number) is a 400 ``{"error": "ERR ..."}``.
* With ``redis`` (a real redis-server's host, port and password), every other command
  (``EVAL`` with its Lua script included) runs there, over RESP, and its reply comes back
  as Upstash sends it: ``{"result": ...}`` (integers as numbers, nil as null, arrays as
  lists) or a 400 ``{"error": "ERR ..."}``. Without it, any other command is that 400.

With ``Upstash-Encoding: base64`` (what the upstash-redis SDK sends) string results
other than ``"OK"`` are base64-encoded, as Upstash does; without it they are plain.

Point ``UPSTASH_REDIS_REST_URL`` (or ``upstash_redis.Redis(url=...)``) at ``server.url``.

Auth: ``Authorization: Bearer <api_key>`` when ``api_key`` is set (the
``UPSTASH_REDIS_REST_TOKEN``); a miss is a 401 ``{"error": "Unauthorized"}``. ``api_key``
may be changed while the server runs, which makes a running app's token wrong.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from typing import Any

from ._server import RecordedRequest, Reply, StandinServer, json_reply

__all__ = ["UpstashStandin"]


def _command_error(message: str) -> Reply:
    return json_reply(400, {"error": f"ERR {message} (stand-in)"})


class RedisError(Exception):
    """An error reply from the backing Redis (its text, e.g. "ERR ...")."""


class _Resp:
    """A minimal RESP2 client of one real redis-server: a command in, its reply out."""

    def __init__(self, host: str, port: int, password: str | None) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.reader = self.sock.makefile("rb")
        self.lock = threading.Lock()
        if password:
            self.call(["AUTH", password])

    def call(self, command: list[str]) -> Any:
        parts = [part.encode() for part in command]
        payload = b"*%d\r\n" % len(parts) + b"".join(
            b"$%d\r\n%s\r\n" % (len(part), part) for part in parts
        )
        with self.lock:
            self.sock.sendall(payload)
            return self._reply()

    def _reply(self) -> Any:
        line = self.reader.readline()
        kind, rest = line[:1], line[1:-2].decode()
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisError(rest)
        if kind == b":":
            return int(rest)
        if kind == b"$":
            if int(rest) < 0:
                return None
            data = self.reader.read(int(rest) + 2)[:-2]
            return data.decode()
        if kind == b"*":
            return None if int(rest) < 0 else [self._reply() for _ in range(int(rest))]
        raise RedisError(f"ERR unreadable reply {line!r}")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def _encoded(result: Any) -> Any:
    """A result as Upstash sends it with ``Upstash-Encoding: base64``: strings encoded."""
    if isinstance(result, list):
        return [_encoded(item) for item in result]
    if isinstance(result, str) and result != "OK":
        return base64.b64encode(result.encode()).decode()
    return result


class UpstashStandin(StandinServer):
    service = "upstash-redis"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        mode: str = "ok",
        redis: tuple[str, int, str | None] | None = None,
    ) -> None:
        super().__init__(api_key=api_key, mode=mode)
        self.redis = redis
        self._backend: _Resp | None = None

    def stop(self) -> None:
        super().stop()
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def _run_in_redis(self, command: list[str]) -> Any:
        if self._backend is None:
            assert self.redis is not None
            self._backend = _Resp(*self.redis)
        return self._backend.call(command)

    def authorized(self, request: RecordedRequest) -> bool:
        return self.api_key is None or self.bearer_token(request) == self.api_key

    def unauthorized_response(self, request: RecordedRequest) -> Reply:
        return json_reply(401, {"error": "Unauthorized"})

    def error_response(self, request: RecordedRequest) -> Reply:
        return json_reply(500, {"error": "ERR internal error (stand-in mode 'error')"})

    def route(self, request: RecordedRequest) -> Reply:
        if request.method != "POST" or request.path != "/":
            return json_reply(404, {"error": f"no route {request.method} {request.path}"})
        try:
            command = json.loads(request.body or b"null")
        except ValueError:
            return _command_error("the body is not JSON")
        if (
            not isinstance(command, list)
            or not command
            or not isinstance(command[0], str)
            or not all(isinstance(part, str | int | float) for part in command)
        ):
            return _command_error("the body must be a JSON array of strings")
        command = [str(part) for part in command]
        name, arguments = command[0].upper(), command[1:]
        if name == "PING" and len(arguments) <= 1:
            result = arguments[0] if arguments else "PONG"
        elif name == "ECHO" and len(arguments) == 1:
            result = arguments[0]
        elif self.redis is not None:
            try:
                result = self._run_in_redis(command)
            except RedisError as error:
                return json_reply(400, {"error": str(error)})
        else:
            return _command_error(
                f"unknown command or wrong number of arguments for '{command[0]}'"
            )
        encoding = (request.header("upstash-encoding") or "").lower()
        if encoding == "base64":
            result = _encoded(result)
        return json_reply(200, {"result": result})

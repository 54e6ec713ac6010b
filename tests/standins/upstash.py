"""An Upstash Redis REST API stand-in, not the real service.

::

    UpstashStandin(api_key=None, mode="ok")

* ``POST /`` with a JSON array body holding one command (``["PING"]``,
  ``["PING", "hi"]``, ``["ECHO", "hi"]``): ``{"result": ...}`` (``"PONG"`` for a bare
  PING), the shape Upstash answers in. Any other command, or a body that is not a JSON
  array of strings, is a 400 ``{"error": "ERR ..."}``.

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

from ._server import RecordedRequest, Reply, StandinServer, json_reply

__all__ = ["UpstashStandin"]


def _command_error(message: str) -> Reply:
    return json_reply(400, {"error": f"ERR {message} (stand-in)"})


class UpstashStandin(StandinServer):
    service = "upstash-redis"

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
            or not all(isinstance(part, str) for part in command)
        ):
            return _command_error("the body must be a JSON array of strings")
        name, arguments = command[0].upper(), command[1:]
        if name == "PING" and len(arguments) <= 1:
            result = arguments[0] if arguments else "PONG"
        elif name == "ECHO" and len(arguments) == 1:
            result = arguments[0]
        else:
            return _command_error(
                f"unknown command or wrong number of arguments for '{command[0]}'"
            )
        encoding = (request.header("upstash-encoding") or "").lower()
        if encoding == "base64" and result != "OK":
            result = base64.b64encode(result.encode()).decode()
        return json_reply(200, {"result": result})

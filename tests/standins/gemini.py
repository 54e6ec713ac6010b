"""A Gemini API (generativelanguage) stand-in, not the real service.

::

    GeminiStandin(api_key=None, models=("gemini-2.5-flash", ...), mode="ok")

* ``GET /{v1beta|v1}/models?pageSize=N&pageToken=T``: ``{"models": [...],
  "nextPageToken": ...}``, paged like Google's. google-genai 1.x calls ``/v1beta``;
  3.x calls ``/v1``; both are served.
* ``GET /{version}/models/{name}``: one model (``name`` with or without ``models/``).

Point google-genai at it with ``HttpOptions(base_url=server.url)`` (or
``GEMINI_BASE_URL``); the SDK appends the API version itself.

Auth: the key travels in the ``x-goog-api-key`` header (a ``key`` query parameter is
accepted too). A wrong key is answered as Google does: a **400**, not a 401, with
``status: "INVALID_ARGUMENT"``, message ``"API key not valid. Please pass a valid API
key."`` and an ``API_KEY_INVALID`` reason. With no key at all, a 403
``PERMISSION_DENIED``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._server import RecordedRequest, Reply, StandinServer, json_reply

__all__ = ["GeminiStandin"]

_VERSIONS = ("v1beta", "v1")
BAD_KEY_MESSAGE = "API key not valid. Please pass a valid API key."


def _google_error(status: int, code_name: str, message: str, reason: str | None = None) -> Reply:
    error: dict[str, object] = {"code": status, "message": message, "status": code_name}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
    return json_reply(status, {"error": error})


class GeminiStandin(StandinServer):
    service = "gemini"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] = ("gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004"),
        mode: str = "ok",
    ) -> None:
        super().__init__(api_key=api_key, mode=mode)
        self.models = list(models)

    def _sent_key(self, request: RecordedRequest) -> str | None:
        return request.header("x-goog-api-key") or (request.query.get("key") or [None])[0]

    def authorized(self, request: RecordedRequest) -> bool:
        return self.api_key is None or self._sent_key(request) == self.api_key

    def unauthorized_response(self, request: RecordedRequest) -> Reply:
        if self.mode != "unauthorized" and not self._sent_key(request):
            return _google_error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (stand-in): send an API key.",
            )
        return _google_error(400, "INVALID_ARGUMENT", BAD_KEY_MESSAGE, "API_KEY_INVALID")

    def error_response(self, request: RecordedRequest) -> Reply:
        return _google_error(500, "INTERNAL", "An internal error has occurred (stand-in).")

    def not_found(self, request: RecordedRequest) -> Reply:
        return _google_error(404, "NOT_FOUND", f"Not found: {request.path} (stand-in).")

    def _model(self, name: str) -> dict[str, object]:
        return {
            "name": f"models/{name}",
            "version": "001",
            "displayName": name,
            "description": "stand-in model",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 8192,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        }

    def route(self, request: RecordedRequest) -> Reply:
        parts = [part for part in request.path.split("/") if part]
        if request.method != "GET" or len(parts) < 2:
            return self.not_found(request)
        if parts[0] not in _VERSIONS or parts[1] != "models":
            return self.not_found(request)
        if len(parts) == 2:
            return self._page(request)
        name = parts[-1]
        if len(parts) == 3 and name in self.models:
            return json_reply(200, self._model(name))
        return self.not_found(request)

    def _page(self, request: RecordedRequest) -> Reply:
        try:
            size = int((request.query.get("pageSize") or ["50"])[0])
            start = int((request.query.get("pageToken") or ["0"])[0] or 0)
        except ValueError:
            return _google_error(400, "INVALID_ARGUMENT", "Invalid page size or token.")
        size = max(1, min(size, 1000))
        chosen = self.models[start : start + size]
        body: dict[str, object] = {"models": [self._model(name) for name in chosen]}
        if start + size < len(self.models):
            body["nextPageToken"] = str(start + size)
        return json_reply(200, body)

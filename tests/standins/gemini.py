"""A Gemini API (generativelanguage) stand-in, not the real service.

::

    GeminiStandin(api_key=None, models=("gemini-2.5-flash", ...), mode="ok")

* ``GET /{v1beta|v1}/models?pageSize=N&pageToken=T``: ``{"models": [...],
  "nextPageToken": ...}``, paged like Google's. google-genai 1.x calls ``/v1beta``;
  3.x calls ``/v1``; both are served.
* ``GET /{version}/models/{name}``: one model (``name`` with or without ``models/``).
* ``POST /{version}/models/{name}:streamGenerateContent?alt=sse``: ``server.script``'s
  pieces as ``GenerateContentResponse`` events (see streaming.py), the last with
  ``finishReason`` and ``usageMetadata``. Mode ``"rate_limited"``: a 429
  ``RESOURCE_EXHAUSTED``.

* ``POST /{version}/models/{name}:batchEmbedContents`` (what ``embed_content`` calls):
  ``{"embeddings": [{"values": [...]}]}``, one ``embedding.fake_embedding(text,
  server.embedding_size)`` per request, its text the parts' texts joined.

Point google-genai at it with ``HttpOptions(base_url=server.url)`` (or
``GEMINI_BASE_URL``); the SDK appends the API version itself.

Auth: the key travels in the ``x-goog-api-key`` header (a ``key`` query parameter is
accepted too). A wrong key is answered as Google does: a **400**, not a 401, with
``status: "INVALID_ARGUMENT"``, message ``"API key not valid. Please pass a valid API
key."`` and an ``API_KEY_INVALID`` reason. With no key at all, a 403
``PERMISSION_DENIED``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ._server import BASE_MODES, RecordedRequest, Reply, StandinServer, json_reply
from .embedding import fake_embedding
from .streaming import CHAT_MODES, ChatStreaming, StreamRecord

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


class GeminiStandin(ChatStreaming, StandinServer):
    service = "gemini"
    modes = BASE_MODES + CHAT_MODES

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] = ("gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004"),
        mode: str = "ok",
    ) -> None:
        super().__init__(api_key=api_key, mode=mode)
        self.models = list(models)
        self.embedding_size = 4
        self.init_chat()

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

    def respond(self, request: RecordedRequest, mode: str) -> Reply:
        if mode == "rate_limited" and self.authorized(request):
            return _google_error(
                429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (stand-in)."
            )
        return super().respond(request, mode)

    def route(self, request: RecordedRequest) -> Reply:
        parts = [part for part in request.path.split("/") if part]
        chat = request.method == "POST" and request.path.endswith(":streamGenerateContent")
        if chat and len(parts) == 3 and parts[0] in _VERSIONS and parts[1] == "models":
            return self._stream_chat(parts[2].split(":")[0])
        embed = request.method == "POST" and request.path.endswith(":batchEmbedContents")
        if embed and len(parts) == 3 and parts[0] in _VERSIONS and parts[1] == "models":
            return self._embed(request.json() or {})
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

    def _embed(self, body: dict[str, object]) -> Reply:
        embeddings = []
        for each in body.get("requests") or []:  # type: ignore[attr-defined]
            parts = (each.get("content") or {}).get("parts") or []
            text = "".join(str(part.get("text", "")) for part in parts)
            embeddings.append({"values": fake_embedding(text, self.embedding_size)})
        return json_reply(200, {"embeddings": embeddings})

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

    def _stream_chat(self, model: str) -> Reply:
        def response(text: str, **extra: object) -> dict[str, object]:
            content = {"parts": [{"text": text}], "role": "model"}
            return {
                "candidates": [{"content": content, "index": 0, **extra}],
                "modelVersion": model,
            }

        def frames(pieces: Iterator[str], record: StreamRecord) -> Iterator[bytes]:
            for piece in pieces:
                yield _sse(response(piece))
            prompt, candidates = self.script.usage
            usage = {
                "promptTokenCount": prompt,
                "candidatesTokenCount": candidates,
                "totalTokenCount": prompt + candidates,
            }
            yield _sse({**response("", finishReason="STOP"), "usageMetadata": usage})

        return self.stream(frames)  # type: ignore[return-value]


def _sse(payload: object) -> bytes:
    return f"data: {json.dumps(payload)}\r\n\r\n".encode()

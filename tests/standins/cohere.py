"""A Cohere stand-in, not the real service.

::

    CohereStandin(api_key=None, models=("command-r-08-2024", ...), mode="ok")

* ``GET /v1/models?page_size=N&page_token=T``: ``{"models": [...],
  "next_page_token": ...}``. ``cohere.ClientV2(...).models.list()`` calls this ``/v1``
  path too (there is no ``/v2/models``).
* ``GET /v1/models/{name}``: one model, or a 404.

Point the SDK at it with ``cohere.ClientV2(api_key=..., base_url=server.url)`` (or
``COHERE_BASE_URL``): the SDK appends ``/v1/...`` itself.

Auth: ``Authorization: Bearer <api_key>`` when ``api_key`` is set; a miss is a 401
``{"message": "invalid api token"}``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._server import RecordedRequest, Reply, StandinServer, json_reply

__all__ = ["CohereStandin"]


class CohereStandin(StandinServer):
    service = "cohere"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] = ("command-r-08-2024", "embed-english-v3.0", "rerank-v3.5"),
        mode: str = "ok",
    ) -> None:
        super().__init__(api_key=api_key, mode=mode)
        self.models = list(models)

    def authorized(self, request: RecordedRequest) -> bool:
        return self.api_key is None or self.bearer_token(request) == self.api_key

    def unauthorized_response(self, request: RecordedRequest) -> Reply:
        return json_reply(401, {"message": "invalid api token"})

    def error_response(self, request: RecordedRequest) -> Reply:
        return json_reply(500, {"message": "internal server error (stand-in)"})

    def not_found(self, request: RecordedRequest) -> Reply:
        return json_reply(404, {"message": f"no route {request.method} {request.path} (stand-in)"})

    def _model(self, name: str) -> dict[str, object]:
        endpoint = "embed" if name.startswith("embed") else "rerank" if "rerank" in name else "chat"
        return {
            "name": name,
            "endpoints": [endpoint],
            "finetuned": False,
            "context_length": 128000.0,
            "tokenizer_url": None,
            "default_endpoints": [],
        }

    def route(self, request: RecordedRequest) -> Reply:
        parts = [part for part in request.path.split("/") if part]
        if request.method != "GET" or parts[:2] != ["v1", "models"]:
            return self.not_found(request)
        if len(parts) == 3:
            if parts[2] in self.models:
                return json_reply(200, self._model(parts[2]))
            return json_reply(404, {"message": f"model '{parts[2]}' not found (stand-in)"})
        if len(parts) != 2:
            return self.not_found(request)
        try:
            size = int(float((request.query.get("page_size") or ["20"])[0]))
            start = int((request.query.get("page_token") or ["0"])[0] or 0)
        except ValueError:
            return json_reply(400, {"message": "invalid page_size or page_token (stand-in)"})
        size = max(1, min(size, 1000))
        chosen = self.models[start : start + size]
        more = start + size < len(self.models)
        body = {
            "models": [self._model(name) for name in chosen],
            "next_page_token": str(start + size) if more else None,
        }
        return json_reply(200, body)

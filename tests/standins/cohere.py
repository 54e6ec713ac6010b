"""A Cohere stand-in, not the real service.

::

    CohereStandin(api_key=None, models=("command-r-08-2024", ...), mode="ok")

* ``GET /v1/models?page_size=N&page_token=T``: ``{"models": [...],
  "next_page_token": ...}``. ``cohere.ClientV2(...).models.list()`` calls this ``/v1``
  path too (there is no ``/v2/models``).
* ``GET /v1/models/{name}``: one model, or a 404.
* ``POST /v2/chat`` with ``"stream": true``: ``server.script``'s pieces as v2 chat
  stream events (``message-start``, ``content-delta`` per piece, ``message-end`` with
  usage; see streaming.py). Mode ``"rate_limited"``: a 429.

* ``POST /v2/embed``: ``{"embeddings": {"float": [...]}}``, one
  ``embedding.fake_embedding(text, server.embedding_size)`` per text.
* ``POST /v2/rerank``: the documents scored by ``embedding.relevance(query, document)``,
  best first, at most ``top_n``.

Point the SDK at it with ``cohere.ClientV2(api_key=..., base_url=server.url)`` (or
``COHERE_BASE_URL``): the SDK appends ``/v1/...`` itself.

Auth: ``Authorization: Bearer <api_key>`` when ``api_key`` is set; a miss is a 401
``{"message": "invalid api token"}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from ._server import BASE_MODES, RecordedRequest, Reply, StandinServer, json_reply
from .embedding import fake_embedding, relevance
from .streaming import CHAT_MODES, ChatStreaming, StreamRecord

__all__ = ["CohereStandin"]


class CohereStandin(ChatStreaming, StandinServer):
    service = "cohere"
    modes = BASE_MODES + CHAT_MODES

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Iterable[str] = ("command-r-08-2024", "embed-english-v3.0", "rerank-v3.5"),
        mode: str = "ok",
    ) -> None:
        super().__init__(api_key=api_key, mode=mode)
        self.models = list(models)
        self.embedding_size = 4
        self.init_chat()

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

    def respond(self, request: RecordedRequest, mode: str) -> Reply:
        if mode == "rate_limited" and self.authorized(request):
            return json_reply(429, {"message": "too many requests (stand-in)"})
        return super().respond(request, mode)

    def route(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and request.path == "/v2/chat":
            return self._chat(request)
        if request.method == "POST" and request.path == "/v2/embed":
            texts = [str(text) for text in (request.json() or {}).get("texts") or []]
            vectors = [fake_embedding(text, self.embedding_size) for text in texts]
            meta = {"api_version": {"version": "2"}, "billed_units": {"input_tokens": len(texts)}}
            body = {"id": "embed-standin", "embeddings": {"float": vectors}, "texts": texts}
            return json_reply(200, {**body, "meta": meta, "response_type": "embeddings_by_type"})
        if request.method == "POST" and request.path == "/v2/rerank":
            return self._rerank(request.json() or {})
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

    def _rerank(self, body: dict[str, object]) -> Reply:
        query, documents = str(body.get("query", "")), body.get("documents") or []
        scored = [
            {"index": index, "relevance_score": relevance(query, str(document))}
            for index, document in enumerate(documents)  # type: ignore[arg-type]
        ]
        scored.sort(key=lambda result: -result["relevance_score"])  # type: ignore[operator]
        top_n = int(body.get("top_n") or len(scored))  # type: ignore[call-overload]
        meta = {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
        return json_reply(200, {"id": "rerank-standin", "results": scored[:top_n], "meta": meta})

    def _chat(self, request: RecordedRequest) -> Reply:
        if not (request.json() or {}).get("stream"):
            return json_reply(400, {"message": "the stand-in only streams: send stream=true"})

        def frames(pieces: Iterator[str], record: StreamRecord) -> Iterator[bytes]:
            message = {"role": "assistant", "content": []}
            yield _event("message-start", id="standin", delta={"message": message})
            yield _event(
                "content-start",
                index=0,
                delta={"message": {"content": {"type": "text", "text": ""}}},
            )
            for piece in pieces:
                yield _event(
                    "content-delta", index=0, delta={"message": {"content": {"text": piece}}}
                )
            yield _event("content-end", index=0)
            counts = dict(zip(("input_tokens", "output_tokens"), self.script.usage, strict=True))
            usage = {"billed_units": counts, "tokens": counts}
            yield _event("message-end", delta={"finish_reason": "COMPLETE", "usage": usage})

        return self.stream(frames)  # type: ignore[return-value]


def _event(kind: str, **fields: object) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()

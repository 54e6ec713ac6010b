"""OpenAI-style stand-ins (OpenAI and Groq), not the real services.

::

    OpenAIStandin(api_key=None, models=("gpt-4o-mini",), mode="ok")
    GroqStandin(api_key=None, models=("llama-3.1-8b-instant",), mode="ok")
    # both are OpenAICompatStandin(flavor="openai" | "groq", ...)

* ``GET {prefix}/models``: ``{"object": "list", "data": [{"id": ..., "object": "model", ...}]}``
* ``GET {prefix}/models/{id}``: one model, or a 404 in OpenAI's error shape.
* ``POST {prefix}/chat/completions``: with ``"stream": true``, ``server.script``'s pieces
  as ``chat.completion.chunk`` events, then ``data: [DONE]`` (see streaming.py). Usage
  comes in a last chunk without choices when ``stream_options.include_usage`` is set
  (OpenAI), or under ``x_groq.usage`` on the last chunk (Groq). Without ``stream``, one
  ``chat.completion``. Mode ``"rate_limited"``: a 429 ``rate_limit_exceeded``;
  ``"out_of_quota"``: a 429 ``insufficient_quota``, as OpenAI answers an unpaid account.
* ``POST {prefix}/embeddings``: one ``embedding.fake_embedding(text, server.embedding_size)``
  per input, as floats, or base64 little-endian float32 when ``encoding_format`` asks.

``prefix`` is ``/v1`` for OpenAI and ``/openai/v1`` for Groq, because the SDKs differ
in what their ``base_url`` holds:

* ``openai.OpenAI(base_url=...)`` and ``OPENAI_BASE_URL`` include ``/v1``: use
  ``server.base_url`` (``server.url + "/v1"``).
* ``groq.Groq(base_url=...)`` and ``GROQ_BASE_URL`` are the bare origin; the SDK adds
  ``/openai/v1`` itself: ``server.base_url`` is ``server.url``.

Auth: ``Authorization: Bearer <api_key>`` when ``api_key`` is set; a miss is a 401
``{"error": {"message", "type": "invalid_request_error", "code": "invalid_api_key"}}``.
Like the real OpenAI, the OpenAI flavour's message quotes the sent key masked except
for its first 3 and last 4 characters (so the SDK's exception text holds that much).
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable, Iterator

from ._server import BASE_MODES, RecordedRequest, Reply, StandinServer, json_reply
from .embedding import fake_embedding
from .streaming import CHAT_MODES, ChatStreaming, StreamRecord

__all__ = ["GroqStandin", "OpenAICompatStandin", "OpenAIStandin"]

_PREFIXES = {"openai": "/v1", "groq": "/openai/v1"}
_DEFAULT_MODELS = {"openai": ("gpt-4o-mini",), "groq": ("llama-3.1-8b-instant",)}


def _openai_error(status: int, message: str, kind: str, code: str | None) -> Reply:
    return json_reply(
        status, {"error": {"message": message, "type": kind, "param": None, "code": code}}
    )


def mask(key: str) -> str:
    """How the stand-in (like OpenAI) quotes a wrong key: ``sk-****...abcd``."""
    if len(key) <= 8:
        return "*" * len(key)
    return f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"


class OpenAICompatStandin(ChatStreaming, StandinServer):
    service = "openai-compatible"
    modes = (*BASE_MODES, *CHAT_MODES, "out_of_quota")

    def __init__(
        self,
        *,
        flavor: str = "openai",
        api_key: str | None = None,
        models: Iterable[str] | None = None,
        mode: str = "ok",
    ) -> None:
        if flavor not in _PREFIXES:
            raise ValueError(f"unknown flavor {flavor!r}; use one of {sorted(_PREFIXES)}")
        super().__init__(api_key=api_key, mode=mode)
        self.flavor = flavor
        self.service = flavor
        self.prefix = _PREFIXES[flavor]
        self.models = list(models if models is not None else _DEFAULT_MODELS[flavor])
        self.embedding_size = 4
        self.init_chat()

    @property
    def base_url(self) -> str:
        """What the flavour's SDK takes as ``base_url`` (and its ``*_BASE_URL`` variable)."""
        return self.url + "/v1" if self.flavor == "openai" else self.url

    def authorized(self, request: RecordedRequest) -> bool:
        return self.api_key is None or self.bearer_token(request) == self.api_key

    def unauthorized_response(self, request: RecordedRequest) -> Reply:
        if self.flavor == "groq":
            return _openai_error(401, "Invalid API Key", "invalid_request_error", "invalid_api_key")
        sent = self.bearer_token(request)
        if not sent:
            return _openai_error(
                401, "No API key was sent (stand-in).", "invalid_request_error", None
            )
        return _openai_error(
            401,
            f"Incorrect API key provided: {mask(sent)}. (stand-in)",
            "invalid_request_error",
            "invalid_api_key",
        )

    def error_response(self, request: RecordedRequest) -> Reply:
        return _openai_error(500, "The server had an error (stand-in).", "server_error", None)

    def not_found(self, request: RecordedRequest) -> Reply:
        return _openai_error(
            404,
            f"Unknown request URL: {request.method} {request.path}.",
            "invalid_request_error",
            "unknown_url",
        )

    def _model(self, name: str) -> dict[str, object]:
        owner = "system" if self.flavor == "openai" else "Meta"
        return {"id": name, "object": "model", "created": 1700000000, "owned_by": owner}

    def respond(self, request: RecordedRequest, mode: str) -> Reply:
        if mode == "rate_limited" and self.authorized(request):
            return _openai_error(
                429,
                "Rate limit reached for requests (stand-in).",
                "requests",
                "rate_limit_exceeded",
            )
        if mode == "out_of_quota" and self.authorized(request):
            return _openai_error(
                429,
                "You exceeded your current quota (stand-in).",
                "insufficient_quota",
                "insufficient_quota",
            )
        return super().respond(request, mode)

    def route(self, request: RecordedRequest) -> Reply:
        if request.method == "POST" and request.path == self.prefix + "/chat/completions":
            return self._chat(request)
        if request.method == "POST" and request.path == self.prefix + "/embeddings":
            return self._embeddings(request)
        if request.method != "GET" or not request.path.startswith(self.prefix + "/models"):
            return self.not_found(request)
        rest = request.path[len(self.prefix + "/models") :].strip("/")
        if not rest:
            return json_reply(
                200, {"object": "list", "data": [self._model(name) for name in self.models]}
            )
        if rest in self.models:
            return json_reply(200, self._model(rest))
        return _openai_error(
            404, f"The model `{rest}` does not exist.", "invalid_request_error", "model_not_found"
        )

    def _chat(self, request: RecordedRequest) -> Reply:
        body = request.json() or {}
        model = body.get("model") or self.models[0]
        usage = {
            "prompt_tokens": self.script.usage[0],
            "completion_tokens": self.script.usage[1],
            "total_tokens": sum(self.script.usage),
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(self.script.tokens)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            completion = {**self._chunk(model, [choice]), "object": "chat.completion"}
            return json_reply(200, {**completion, "usage": usage})
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def frames(pieces: Iterator[str], record: StreamRecord) -> Iterator[bytes]:
            for piece in pieces:
                yield _data(self._chunk(model, [_delta({"content": piece})]))
            last = self._chunk(model, [_delta({}, "stop")])
            if self.flavor == "groq":
                last["x_groq"] = {"id": "req_standin", "usage": usage}
            yield _data(last)
            if include_usage:
                yield _data({**self._chunk(model, []), "usage": usage})
            yield b"data: [DONE]\n\n"

        return self.stream(frames)  # type: ignore[return-value]

    def _embeddings(self, request: RecordedRequest) -> Reply:
        body = request.json() or {}
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else list(texts or [])
        data = []
        for index, text in enumerate(texts):
            vector: object = fake_embedding(str(text), self.embedding_size)
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{len(vector)}f", *vector)  # type: ignore[arg-type]
                vector = base64.b64encode(packed).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        return json_reply(
            200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage}
        )

    def _chunk(self, model: str, choices: list[dict[str, object]]) -> dict[str, object]:
        return {
            "id": "chatcmpl-standin",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": choices,
        }


def _delta(delta: dict[str, object], finish_reason: str | None = None) -> dict[str, object]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason}


def _data(payload: object) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


class OpenAIStandin(OpenAICompatStandin):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(flavor="openai", **kwargs)  # type: ignore[arg-type]


class GroqStandin(OpenAICompatStandin):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(flavor="groq", **kwargs)  # type: ignore[arg-type]

# Owned by the template: `copier update` keeps this file current; don't edit it.
"""Server-sent events that reach the browser as they are sent.

Proxies in front of a Space may buffer a response until it ends; these headers ask
them not to, and a comment line every SSE_KEEPALIVE_SECONDS keeps idle streams open
(streaming.py sends it). A failure upstream ends a stream with one `error` event whose
type is fixed and whose message is ours, never the provider's: its text can quote keys.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}
KEEPALIVE = ": keep-alive\n\n"

ErrorType = Literal["rate_limit", "auth", "timeout", "quota", "unavailable"]
ERROR_MESSAGES: dict[ErrorType, str] = {
    "rate_limit": "The model provider is rate limiting requests; try again in a moment.",
    "auth": "The model provider refused the API key; check the Space's secrets.",
    "timeout": "The model provider did not answer in time; try again.",
    "quota": "The model provider's quota or credit is used up.",
    "unavailable": "The model provider is unavailable; try again later.",
}

# The same types when retrieval (the search store, embedding or rerank service) failed.
RETRIEVAL_MESSAGES: dict[ErrorType, str] = {
    "rate_limit": "The search service is rate limiting requests; try again in a moment.",
    "auth": "The search service refused its credentials; check the Space's secrets.",
    "timeout": "The search service did not answer in time; try again.",
    "quota": "The search service's quota or credit is used up.",
    "unavailable": "The search service is unavailable; try again later.",
}

logger = logging.getLogger(__name__)


class StreamError(Exception):
    """A failure whose type an adapter already knows (e.g. Gemini's bad key is a 400)."""

    def __init__(self, error_type: ErrorType) -> None:
        super().__init__(error_type)
        self.error_type: ErrorType = error_type


class RetrievalFailed(Exception):
    """Retrieval failed at `step` (embedding, search, rerank); raised from the SDK's error,
    which gives the event its type."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


def sse_event(data: Any, event: str | None = None) -> str:
    """One event; `data` is sent as JSON on a single line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"


def _status(error: BaseException) -> int | None:
    for attribute in ("status_code", "code", "status"):
        value = getattr(error, attribute, None)
        if isinstance(value, int):
            return value
    status = getattr(getattr(error, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def error_type(error: BaseException) -> ErrorType:
    """What kind of failure an SDK's exception is, from its status and class name only."""
    if isinstance(error, StreamError):
        return error.error_type
    if isinstance(error, RetrievalFailed) and error.__cause__ is not None:
        return error_type(error.__cause__)
    name = type(error).__name__.lower()
    status = _status(error)
    if isinstance(error, TimeoutError) or "timeout" in name:
        return "timeout"
    if status == 429 and getattr(error, "code", None) == "insufficient_quota":  # OpenAI
        return "quota"
    if status == 429 or "ratelimit" in name or "toomanyrequests" in name:
        return "rate_limit"
    if status == 402:
        return "quota"
    if status in (401, 403) or "authentication" in name or "permission" in name:
        return "auth"
    return "unavailable"


def error_event(error: BaseException) -> str:
    """The `error` event for a failure; the log names its type and class, never its text."""
    kind = error_type(error)
    if isinstance(error, RetrievalFailed):
        cause = type(error.__cause__).__name__
        logger.warning("retrieval (%s) failed: %s (%s)", error.step, kind, cause)
        return sse_event({"type": kind, "message": RETRIEVAL_MESSAGES[kind]}, event="error")
    logger.warning("stream ended by %s (%s)", kind, type(error).__name__)
    return sse_event({"type": kind, "message": ERROR_MESSAGES[kind]}, event="error")

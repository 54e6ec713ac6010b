# Owned by the template: `copier update` keeps this file current; don't edit it.
"""The chat route's building blocks: the request it accepts and one adapter per LLM service.

Each adapter module (named after its service) has a `ChatClient(settings)` whose `stream(
messages)` yields the answer's text deltas as they arrive, then one `Usage` when the
provider reports it. Its SDK's errors propagate: sse.error_type classifies them. The SDK
retries nothing (a failed stream is an `error` event the caller may retry) and waits at
most CHAT_TIMEOUT seconds for each chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_MESSAGES = 100
MAX_MESSAGE_CHARS = 32_000


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant", "system"]
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class ChatRequest(BaseModel):
    """The body of POST <api_prefix>/chat: the conversation so far, oldest first."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None


def tokens(value: float | None) -> int | None:
    """A token count as an int (some SDKs report floats)."""
    return None if value is None else int(value)

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
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from .settings import ChatSettings

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


class ChatRefused(Exception):
    """A request refused before any provider call: its status, a one-line detail naming the
    field and the fix (never the sent value), and headers (Retry-After on a 429)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def conversation(settings: ChatSettings, messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """What the provider gets: CHAT_SYSTEM_PROMPT first, then `messages`. A client's own
    `system` message is refused (ChatRefused 422) unless CHAT_ALLOW_CLIENT_SYSTEM is true."""
    if not settings.chat_allow_client_system:
        for index, message in enumerate(messages):
            if message["role"] == "system":
                raise ChatRefused(
                    422,
                    f"messages.{index}.role: system messages are not accepted here; the Space's"
                    " CHAT_SYSTEM_PROMPT gives the instructions (CHAT_ALLOW_CLIENT_SYSTEM=true"
                    " accepts them)",
                )
    prompt = settings.chat_system_prompt
    return [{"role": "system", "content": prompt}, *messages] if prompt else list(messages)

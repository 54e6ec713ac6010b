"""Streamed chat answers for the LLM stand-ins: chunked bodies written as they are produced.

Each LLM stand-in (OpenAI, Groq, Gemini, Cohere) streams its chat answer from
``server.script``, a :class:`ChatScript`:

* ``tokens``: the pieces of the answer, one per streamed chunk;
* ``delay``: seconds before each piece after the first (a slow provider);
* ``gate``: a ``threading.Event``; after the first piece the stream waits until it is
  set (or ``gate_timeout`` passes), so a test can prove that the client saw the first
  piece while the stand-in had not finished;
* ``usage``: the (input, output) token counts the last chunk reports.

Each stream is recorded in ``server.streams`` as a :class:`StreamRecord`: what was sent,
whether it ``finished``, and whether the client had ``closed`` the connection first
(a write failed). ``record.ended`` is set once the stream stops either way.

The ``"rate_limited"`` mode answers a chat request with the provider's 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

__all__ = ["ChatScript", "ChatStreaming", "StreamRecord", "StreamReply"]

CHAT_MODES = ("rate_limited",)


@dataclass
class ChatScript:
    tokens: list[str] = field(default_factory=lambda: ["Hello", ",", " stand", "-in", "!"])
    delay: float = 0.0
    gate: threading.Event | None = None
    gate_timeout: float = 15.0
    usage: tuple[int, int] = (11, 5)
    cut_after: int | None = None  # frames sent before the body ends, unchunked (a cut upstream)


@dataclass
class StreamRecord:
    sent: list[str] = field(default_factory=list)
    finished: bool = False
    closed: bool = False
    ended: threading.Event = field(default_factory=threading.Event)


@dataclass
class StreamReply:
    """A 200 whose body `frames` yields piece by piece, each sent as one HTTP chunk."""

    frames: Iterator[bytes]
    record: StreamRecord
    content_type: str = "text/event-stream"
    cut_after: int | None = None

    def write_to(self, handler: BaseHTTPRequestHandler) -> None:
        record = self.record
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", self.content_type)
            handler.send_header("Cache-Control", "no-cache")
            if self.cut_after is not None:  # no length, no chunks: the body ends at the close
                handler.send_header("Connection", "close")
                handler.end_headers()
                for _, frame in zip(range(self.cut_after), self.frames, strict=False):
                    handler.wfile.write(frame)
                handler.close_connection = True
                return
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for frame in self.frames:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                handler.wfile.flush()
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
            record.finished = True
        except OSError:  # BrokenPipe, ConnectionReset: the client is gone
            record.closed = True
            handler.close_connection = True
        finally:
            record.ended.set()


class ChatStreaming:
    """Mixed into an LLM stand-in: its script, its recorded streams, the pieces to send."""

    script: ChatScript
    streams: list[StreamRecord]
    _stopping: threading.Event

    def init_chat(self) -> None:
        self.script = ChatScript()
        self.streams = []

    def stream(
        self, frames: Callable[[Iterator[str], StreamRecord], Iterator[bytes]]
    ) -> StreamReply:
        """A reply whose frames `frames(pieces, record)` makes from the script's pieces."""
        record = StreamRecord()
        self.streams.append(record)
        pieces = frames(self._pieces(self.script, record), record)
        return StreamReply(pieces, record, cut_after=self.script.cut_after)

    def _pieces(self, script: ChatScript, record: StreamRecord) -> Iterator[str]:
        for index, token in enumerate(script.tokens):
            if index == 1 and script.gate is not None:
                deadline = time.monotonic() + script.gate_timeout
                while not script.gate.wait(0.05):
                    if self._stopping.is_set() or time.monotonic() > deadline:
                        break
            elif index and script.delay:
                time.sleep(script.delay)
            record.sent.append(token)
            yield token

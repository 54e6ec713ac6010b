# Owned by the template: `copier update` keeps this file current; don't edit it.
"""Server-sent events that reach the browser as they are sent.

Proxies in front of a Space may buffer a response until it ends; these headers ask
them not to, and a comment line every few seconds keeps idle streams open.
"""

from __future__ import annotations

import json
from typing import Any

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}
KEEPALIVE = ": keep-alive\n\n"


def sse_event(data: Any, event: str | None = None) -> str:
    """One event; `data` is sent as JSON on a single line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"

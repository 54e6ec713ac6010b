# Owned by the template: `copier update` keeps this file current; don't edit it.
"""What every readiness check shares: its failure type and a secret-free description."""

from __future__ import annotations

import socket


class CheckFailed(Exception):
    """A check failed for a reason worth naming: a short, fixed `category` ("not found"),
    raised `from` the SDK's exception so that the description names its class."""

    def __init__(self, category: str) -> None:
        super().__init__(category)
        self.category = category


def status_code(error: BaseException) -> int | None:
    """The HTTP status an SDK's exception carries, wherever that SDK keeps it; else None. The
    one place the app reads it: readiness (below) and chat errors (sse.py) both ask here."""
    for attribute in ("status_code", "status", "code"):
        value = getattr(error, attribute, None)
        if isinstance(value, int):
            return value
    meta = getattr(error, "meta", None)  # elasticsearch's ApiError
    status = getattr(meta, "status", None)
    if isinstance(status, int):
        return status
    response = getattr(error, "response", None)  # httpx's HTTPStatusError
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _category(error: BaseException) -> str:
    name = type(error).__name__.lower()
    status = status_code(error)
    if isinstance(error, TimeoutError) or "timeout" in name or "timedout" in name:
        return "timeout"
    if status in (401, 403) or any(word in name for word in ("auth", "permission", "forbidden")):
        return "authentication failed"
    if status == 404 or "notfound" in name:
        return "not found"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "host not found"
    # The message is read, never shown: SDK messages can carry URLs and keys.
    message = str(error).lower()
    if "authentication failed" in message or "password" in message:  # psycopg, for one
        return "authentication failed"
    if "refused" in message:
        return "connection refused"
    if "timed out" in message or "timeout" in message:
        return "timeout"
    if "name or service not known" in message or "name resolution" in message:
        return "host not found"
    return "unavailable"


def describe_failure(error: BaseException) -> str:
    """E.g. "authentication failed (AuthenticationError)": a category and a class name only."""
    if isinstance(error, CheckFailed):
        cause = error.__cause__
        return f"{error.category} ({type(cause).__name__})" if cause else error.category
    for candidate in (error, error.__cause__, error.__context__):
        if candidate is not None and _category(candidate) != "unavailable":
            return f"{_category(candidate)} ({type(error).__name__})"
    return f"unavailable ({type(error).__name__})"

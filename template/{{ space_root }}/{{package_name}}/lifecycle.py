# Owned by the template: `copier update` keeps this file current. Your hooks go in hooks.py.
"""Runs the startup and shutdown hooks of hooks.py once per worker and records how they went.

Readiness reads `hook_states()`: "starting" while a startup hook runs, "error" when one
failed (by category and exception class, never the message, which may quote a secret).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .services.probe import describe_failure

logger = logging.getLogger(__name__)

Hook = TypeVar("Hook", bound=Callable[[Any], None])
_startup: list[Callable[[Any], None]] = []
_shutdown: list[Callable[[Any], None]] = []
_states: dict[str, dict[str, str | None]] = {}
_lock = threading.Lock()


def on_startup(hook: Hook) -> Hook:
    """Run `hook(settings)` when a worker starts, before it serves requests."""
    _startup.append(hook)
    return hook


def on_shutdown(hook: Hook) -> Hook:
    """Run `hook(settings)` when a worker stops."""
    _shutdown.append(hook)
    return hook


def _run(stage: str, hooks: list[Callable[[Any], None]], settings: Any) -> None:
    for hook in hooks:
        name = hook.__name__
        if stage == "startup":
            with _lock:
                _states[name] = {"status": "starting", "detail": None}
        try:
            hook(settings)
        except Exception as error:  # logged and reported, never raised: the server keeps going
            detail = describe_failure(error)
            logger.error("%s hook %s failed: %s", stage, name, detail)
            state = {"status": "error", "detail": detail}
        else:
            logger.info("%s hook %s done", stage, name)
            state = {"status": "ok", "detail": None}
        if stage == "startup":
            with _lock:
                _states[name] = state


def run_startup(settings: Any) -> None:
    """Runs the registered hooks; main.py imports hooks.py, which registers yours."""
    with _lock:
        _states.clear()  # a new start: only this run's hooks count
    _run("startup", _startup, settings)


def run_shutdown(settings: Any) -> None:
    _run("shutdown", _shutdown, settings)


def hook_states() -> dict[str, dict[str, str | None]]:
    """Each startup hook's state in this worker: starting, ok or error."""
    with _lock:
        return {name: dict(state) for name, state in _states.items()}

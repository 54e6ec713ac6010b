# Owned by the template: `copier update` keeps this file current; don't edit it.
"""Logging to stdout (the Space's "Logs" tab), with every secret value masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from .settings import Settings
from .variables import secret_values


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret replaced by ***, longest first (a URL before its password)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class RedactingFormatter(logging.Formatter):
    """Masks secret values anywhere in a formatted record, tracebacks included.

    The app never logs secrets on purpose; this catches the ones an SDK puts in an
    exception message or a URL.
    """

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record), self.secrets)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stdout)
    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(log_format, secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    if settings.log_level != "DEBUG":
        # httpx logs every request at INFO: one line per HTTP service per readiness probe.
        logging.getLogger("httpx").setLevel(logging.WARNING)

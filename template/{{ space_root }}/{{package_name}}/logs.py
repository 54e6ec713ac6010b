# Owned by the template: `copier update` keeps this file current; don't edit it.
"""Logging to stdout (the Space's "Logs" tab), with every secret value masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from .settings import Settings
from .variables import secret_values


def written_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as written and as it appears in a URL (a request line, a query string),
    longest first, so a URL is masked before the password inside it."""
    forms = {form for secret in secrets for form in (secret, quote(secret), quote_plus(secret))}
    return sorted(forms, key=len, reverse=True)


def _replace(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, "***")
    return text


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret, in any of its written forms, replaced by ***."""
    return _replace(text, written_forms(secrets))


class RedactingFormatter(logging.Formatter):
    """Masks secret values anywhere in a record, tracebacks included: those an SDK puts in an
    exception message or a URL."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self.forms = written_forms(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return _replace(super().format(record), self.forms)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stdout)
    log_format = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(RedactingFormatter(log_format, secret_values(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # Server loggers (uvicorn's, gunicorn's) and warnings reach stdout only through `handler`.
    logging.captureWarnings(True)
    if settings.log_level != "DEBUG":
        # httpx logs every request at INFO: one line per HTTP service per readiness probe.
        logging.getLogger("httpx").setLevel(logging.WARNING)

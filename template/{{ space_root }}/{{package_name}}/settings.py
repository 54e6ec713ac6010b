# Yours: rendered once; `copier update` never touches this file again.
"""Your settings: add a field for each environment variable your code reads.

The template's own variables (CORS, timeouts, the chosen services') come from `AppSettings`
and stay current with `copier update`. A field here is read from the environment (the
Space's secrets and variables) or `.env`, under its name upper-cased, and checked at startup.
The deploy sends a `SecretStr` field as a Secret and any other as a public Variable; the
description is the help `hf-space check` shows. Give each field a default
(None for a secret) so the app still starts while it is unset. Lists are comma-separated.
"""

from __future__ import annotations

from pydantic import Field, SecretStr  # noqa: F401 - for the fields you add

from .config import AppSettings


class Settings(AppSettings):
    """Every variable the app reads. Examples:

    collection_name: str = Field("documents", description="Qdrant collection to search")
    jwt_secret_key: SecretStr | None = Field(None, description="Signs session tokens")
    allowed_models: list[str] = Field(["llama-3.3-70b"], description="Models users may pick")
    """

"""What each service must bring, written down by hand: the yardstick for the catalogue.

Tests must not take their expected values from the code that renders the project
(extensions/services.yml through extensions/context.py): a catalogue edit that
drops a variable, or turns a secret into a public Space Variable, would then change
the rendered project and the expectation together, and nothing would fail. This
table is independent of the catalogue: it is a plain dict, edited only on purpose,
when a service really changes what it needs.

``APP``: the app's own variables, by name::

    {"secret": bool, "required": bool, "on_space": bool}

``SERVICES``: by service name::

    {
        "variables": {NAME: {"secret": bool, "required": bool}},
        "forms": None | [frozenset of NAMEs, ...],  # configured by any one complete form
        "requirements": {pip name, ...},            # canonical names, no versions/extras
        "flavors": None | {flavor: {pip name, ...}},  # requirements chosen by a question
    }

``FEATURES``: the optional parts of the app that questions turn on, by name, shaped
like a service without forms or flavors: ``{"variables": ..., "requirements": ...}``.

``secret``: a Hugging Face Space Secret (private; ``SecretStr`` in settings);
otherwise a public Space Variable. ``required``: the service is reported
unconfigured until it is set; for a service with ``forms``, every variable is
``required: False`` and the forms say what configures it. ``on_space``: the deploy
script sets it on the Space (``False``: local runs only).
"""

from __future__ import annotations

from typing import Any

SECRET_REQUIRED = {"secret": True, "required": True}
SECRET_OPTIONAL = {"secret": True, "required": False}
PUBLIC_OPTIONAL = {"secret": False, "required": False}

APP: dict[str, dict[str, bool]] = {
    "PORT": {"secret": False, "required": False, "on_space": False},
    "CORS_ORIGINS": {"secret": False, "required": False, "on_space": True},
    "CORS_ALLOW_CREDENTIALS": {"secret": False, "required": False, "on_space": True},
    "WEB_CONCURRENCY": {"secret": False, "required": False, "on_space": True},  # flask only
    "LOG_LEVEL": {"secret": False, "required": False, "on_space": True},
    "APP_ENV": {"secret": False, "required": False, "on_space": True},
    "REQUIRE_CONFIGURED": {"secret": False, "required": False, "on_space": True},
    "HEALTH_CHECK_TIMEOUT": {"secret": False, "required": False, "on_space": True},
    "OPTIONAL_SERVICES": {"secret": False, "required": False, "on_space": True},
    "HEALTH_CACHE_SECONDS": {"secret": False, "required": False, "on_space": True},
    "MAX_BODY_MB": {"secret": False, "required": False, "on_space": True},
}

SERVICES: dict[str, dict[str, Any]] = {
    "qdrant": {
        "variables": {
            "QDRANT_URL": SECRET_REQUIRED,  # names the cluster: not for public view
            "QDRANT_API_KEY": SECRET_OPTIONAL,  # a local Qdrant may run without auth
            "QDRANT_COLLECTION": PUBLIC_OPTIONAL,
        },
        "forms": None,
        "requirements": {"qdrant-client"},
        "flavors": None,
    },
    "neon": {
        "variables": {
            "DATABASE_URL": SECRET_REQUIRED,  # holds the password
            "NEON_TRANSPORT": PUBLIC_OPTIONAL,
            "NEON_WEBSOCKET_URL": SECRET_OPTIONAL,  # a URL: it could carry credentials
        },
        "forms": None,
        "requirements": {"psycopg", "websockets"},  # websockets: the bridge to Neon's 443
        "flavors": None,
    },
    "elasticsearch": {
        "variables": {
            "ELASTICSEARCH_URL": SECRET_OPTIONAL,  # may embed user:password (Bonsai)
            "ELASTICSEARCH_API_KEY": SECRET_OPTIONAL,
            "ELASTICSEARCH_HOST": SECRET_OPTIONAL,
            "ELASTICSEARCH_PORT": PUBLIC_OPTIONAL,
            "ELASTICSEARCH_SCHEME": PUBLIC_OPTIONAL,
            "ELASTICSEARCH_USERNAME": SECRET_OPTIONAL,
            "ELASTICSEARCH_PASSWORD": SECRET_OPTIONAL,
        },
        "forms": [frozenset({"ELASTICSEARCH_URL"}), frozenset({"ELASTICSEARCH_HOST"})],
        "requirements": set(),  # the flavor brings the client
        "flavors": {
            "elasticsearch9": {"elasticsearch"},
            "elasticsearch8": {"elasticsearch"},
            "opensearch": {"opensearch-py"},
        },
    },
    "redis": {
        "variables": {
            "REDIS_URL": SECRET_OPTIONAL,  # rediss://default:PASSWORD@host
            "REDIS_HOST": SECRET_OPTIONAL,
            "REDIS_PORT": PUBLIC_OPTIONAL,
            "REDIS_PASSWORD": SECRET_OPTIONAL,
            "REDIS_TLS": PUBLIC_OPTIONAL,
            "UPSTASH_REDIS_REST_URL": SECRET_OPTIONAL,
            "UPSTASH_REDIS_REST_TOKEN": SECRET_OPTIONAL,
        },
        "forms": [
            frozenset({"REDIS_URL"}),
            frozenset({"REDIS_HOST"}),
            frozenset({"UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"}),
        ],
        "requirements": {"redis", "upstash-redis"},
        "flavors": None,
    },
    "groq": {
        "variables": {"GROQ_API_KEY": SECRET_REQUIRED, "GROQ_BASE_URL": PUBLIC_OPTIONAL},
        "forms": None,
        "requirements": {"groq"},
        "flavors": None,
    },
    "gemini": {
        "variables": {"GEMINI_API_KEY": SECRET_REQUIRED, "GEMINI_BASE_URL": PUBLIC_OPTIONAL},
        "forms": None,
        "requirements": {"google-genai"},
        "flavors": None,
    },
    "openai": {
        "variables": {"OPENAI_API_KEY": SECRET_REQUIRED, "OPENAI_BASE_URL": PUBLIC_OPTIONAL},
        "forms": None,
        "requirements": {"openai"},
        "flavors": None,
    },
    "cohere": {
        "variables": {"COHERE_API_KEY": SECRET_REQUIRED, "COHERE_BASE_URL": PUBLIC_OPTIONAL},
        "forms": None,
        "requirements": {"cohere"},
        "flavors": None,
    },
}

FEATURES: dict[str, dict[str, Any]] = {
    # a cors_origin_regex answer: the pattern (public) and the two libraries its rules need.
    "origin_regex": {
        "variables": {"CORS_ORIGIN_REGEX": PUBLIC_OPTIONAL},
        "requirements": {"google-re2", "publicsuffixlist"},
    },
    # auth: jwt. Where the keys come from is public; either Better Auth's URL or the three
    # generic values configure it, so none is required alone.
    "jwt": {
        "variables": {
            "BETTER_AUTH_URL": PUBLIC_OPTIONAL,
            "JWKS_URL": PUBLIC_OPTIONAL,
            "JWT_ISSUER": PUBLIC_OPTIONAL,
            "JWT_AUDIENCE": PUBLIC_OPTIONAL,
        },
        "requirements": {"pyjwt"},
    },
    # auth: api_key. The shared key is a secret, and protected routes need it.
    "api_key": {"variables": {"API_KEY": SECRET_REQUIRED}, "requirements": set()},
    # chat: the model and the wait for the next chunk; both have defaults, neither is secret.
    "chat": {
        "variables": {
            "SSE_KEEPALIVE_SECONDS": PUBLIC_OPTIONAL,  # keep-alives on an idle chat stream
            "CHAT_MODEL": PUBLIC_OPTIONAL,
            "CHAT_TIMEOUT": PUBLIC_OPTIONAL,
            "CHAT_SYSTEM_PROMPT": PUBLIC_OPTIONAL,  # the owner's instructions: a Variable
            "CHAT_ALLOW_CLIENT_SYSTEM": PUBLIC_OPTIONAL,
            "CHAT_REQUESTS_PER_MINUTE": PUBLIC_OPTIONAL,
            "CHAT_CONCURRENT_STREAMS": PUBLIC_OPTIONAL,
            "CHAT_MAX_STREAMS": PUBLIC_OPTIONAL,
            "CHAT_TOKENS_PER_DAY": PUBLIC_OPTIONAL,
            "CHAT_DAILY_TOKEN_BUDGET": PUBLIC_OPTIONAL,
        },
        "requirements": set(),
    },
    # retrieval: how many passages, where their text is, the embedding model and its size
    # (Qdrant), the index (Elasticsearch, which retrieval cannot do without) and Cohere's
    # rerank. All public: the store's and the providers' keys belong to their services.
    "retrieval": {
        "variables": {
            "RETRIEVAL_TOP_K": PUBLIC_OPTIONAL,
            "RETRIEVAL_TEXT_FIELD": PUBLIC_OPTIONAL,
            "EMBEDDING_MODEL": PUBLIC_OPTIONAL,
            "EMBEDDING_DIMENSIONS": PUBLIC_OPTIONAL,
            "QDRANT_VECTOR_NAME": PUBLIC_OPTIONAL,
            "ELASTICSEARCH_INDEX": {"secret": False, "required": True},
            "RERANK_MODEL": PUBLIC_OPTIONAL,
            "RERANK_CANDIDATES": PUBLIC_OPTIONAL,
        },
        "requirements": set(),
    },
}


def secrets(service: str) -> set[str]:
    """The names a service keeps as Space Secrets."""
    return {name for name, v in SERVICES[service]["variables"].items() if v["secret"]}


def public(service: str) -> set[str]:
    """The names a service sets as public Space Variables."""
    return {name for name, v in SERVICES[service]["variables"].items() if not v["secret"]}

"""Local stand-ins for the cloud APIs the generated app talks to (not the real services).

Each is a small threaded HTTP server on 127.0.0.1 that the REAL client libraries can be
pointed at (``server.url``); see each module's docstring for its routes and options and
``_server.py`` for the shared API: ``with X(...) as server``, ``server.url``,
``server.mode``, ``server.requests``, ``server.clear()``.
"""

from ._server import RecordedRequest, Reply, StandinServer
from .cohere import CohereStandin
from .elasticsearch import ElasticsearchStandin
from .embedding import fake_embedding, relevance
from .gemini import GeminiStandin
from .openai_compat import GroqStandin, OpenAICompatStandin, OpenAIStandin
from .qdrant import QdrantStandin
from .upstash import UpstashStandin

__all__ = [
    "CohereStandin",
    "ElasticsearchStandin",
    "GeminiStandin",
    "GroqStandin",
    "OpenAICompatStandin",
    "OpenAIStandin",
    "QdrantStandin",
    "RecordedRequest",
    "Reply",
    "StandinServer",
    "UpstashStandin",
    "fake_embedding",
    "relevance",
]

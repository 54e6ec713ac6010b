"""Embeddings and relevance for the LLM stand-ins: deterministic, so tests can predict them.

``fake_embedding(text, size)`` is the vector every embedding stand-in returns for ``text``:
``size`` numbers in [0, 1) derived from its SHA-256, the same on every run. A stand-in's
``embedding_size`` (default 4) sets ``size``; tests store points with vectors from the same
function to make a passage the nearest one.

``relevance(query, document)`` is the Cohere stand-in's rerank score: the share of the
document's words that are in the query. A short passage holding the query's word outranks a
long one repeating it, the opposite of the Elasticsearch stand-in's count of shared words,
so a reranked order is told apart from the search order.
"""

from __future__ import annotations

import hashlib

__all__ = ["fake_embedding", "relevance"]


def fake_embedding(text: str, size: int) -> list[float]:
    digest = b""
    while len(digest) < size:
        digest += hashlib.sha256(f"{len(digest)}:{text}".encode()).digest()
    return [byte / 256 for byte in digest[:size]]


def relevance(query: str, document: str) -> float:
    words = document.lower().split()
    wanted = set(query.lower().split())
    return sum(word in wanted for word in words) / len(words) if words else 0.0

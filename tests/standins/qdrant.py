"""A Qdrant stand-in, not the real service: the REST calls a readiness check makes.

::

    QdrantStandin(api_key=None, collections=("documents",), version=None, mode="ok")

* ``GET /``: version info (what ``check_compatibility`` reads). ``version=None`` reports
  the installed qdrant-client's ``major.minor.0`` (so that check stays quiet), or
  ``1.15.4`` when qdrant-client is not installed here.
* ``GET /collections``: ``{"result": {"collections": [{"name": ...}]}, ...}``.
* ``GET /collections/{name}``: 200 with a small but valid ``CollectionInfo`` when
  ``name`` is in ``collections``, else 404 in Qdrant's error shape
  (``{"status": {"error": "Not found: ..."}, "time": ...}``).
* ``GET /collections/{name}/exists``: what ``QdrantClient.collection_exists`` calls
  (always 200, ``{"result": {"exists": bool}}``).
* ``GET /healthz``, ``/readyz``, ``/livez``: plain text.
* ``POST /collections/{name}/points/query``: what ``query_points`` calls with a dense
  vector (``{"query": [...]}`` or ``{"query": {"nearest": [...]}}``, ``using``, ``limit``,
  ``with_payload``). Scores are dot products with the stored points' vectors, best first;
  a vector of the wrong size (or an unknown ``using``) is a 400, as Qdrant answers it.

Vectors and points: ``server.vectors[name]`` is the collection's vector size (an int, or a
dict of named vectors to sizes; default 4), which ``GET /collections/{name}`` reports;
``server.points[name]`` is a list of ``{"id", "vector", "payload"}`` (``vector`` a list, or
a dict by vector name). ``add_collection(name, size, points)`` sets all three.

Auth: with ``api_key`` set, each request needs the ``api-key`` header (or
``Authorization: Bearer <key>``) equal to it, else a 401. ``collections`` is a
mutable set; tests may add or remove names while the server runs.

Point the client at ``server.url``; it carries a port, so qdrant-client keeps it
(without a port the client would append :6333).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata
from typing import Any

from ._server import RecordedRequest, Reply, StandinServer, json_reply

__all__ = ["QdrantStandin"]

_TIME = 0.000012


def _default_version() -> str:
    try:
        major, minor = metadata.version("qdrant-client").split(".")[:2]
    except (metadata.PackageNotFoundError, ValueError):
        return "1.15.4"
    return f"{major}.{minor}.0"


def _ok(result: object) -> Reply:
    return json_reply(200, {"result": result, "status": "ok", "time": _TIME})


def _failure(status: int, message: str) -> Reply:
    return json_reply(status, {"status": {"error": message}, "time": _TIME})


def _vector_params(size: int) -> dict[str, object]:
    return {"size": size, "distance": "Dot"}


def _collection_info(size: int | dict[str, int] = 4, points: int = 0) -> dict[str, object]:
    if isinstance(size, dict):
        vectors: object = {name: _vector_params(each) for name, each in size.items()}
    else:
        vectors = _vector_params(size)
    return {
        "status": "green",
        "optimizer_status": "ok",
        "indexed_vectors_count": points,
        "points_count": points,
        "segments_count": 1,
        "config": {
            "params": {
                "vectors": vectors,
                "shard_number": 1,
                "replication_factor": 1,
                "write_consistency_factor": 1,
                "on_disk_payload": True,
            },
            "hnsw_config": {
                "m": 16,
                "ef_construct": 100,
                "full_scan_threshold": 10000,
                "max_indexing_threads": 0,
                "on_disk": False,
            },
            "optimizer_config": {
                "deleted_threshold": 0.2,
                "vacuum_min_vector_number": 1000,
                "default_segment_number": 0,
                "max_segment_size": None,
                "memmap_threshold": None,
                "indexing_threshold": 20000,
                "flush_interval_sec": 5,
                "max_optimization_threads": None,
            },
            "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
            "quantization_config": None,
        },
        "payload_schema": {},
    }


class QdrantStandin(StandinServer):
    service = "qdrant"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        collections: Iterable[str] = (),
        version: str | None = None,
        mode: str = "ok",
    ) -> None:
        super().__init__(api_key=api_key, mode=mode)
        self.collections: set[str] = set(collections)
        self.version = version or _default_version()
        self.vectors: dict[str, int | dict[str, int]] = {}
        self.points: dict[str, list[dict[str, Any]]] = {}

    def add_collection(
        self, name: str, size: int | dict[str, int], points: Iterable[dict[str, Any]] = ()
    ) -> None:
        self.collections.add(name)
        self.vectors[name] = size
        self.points[name] = list(points)

    def authorized(self, request: RecordedRequest) -> bool:
        if self.api_key is None:
            return True
        sent = request.header("api-key") or self.bearer_token(request)
        return sent == self.api_key

    def unauthorized_response(self, request: RecordedRequest) -> Reply:
        return _failure(401, "Unauthorized: invalid API key (stand-in)")

    def error_response(self, request: RecordedRequest) -> Reply:
        return _failure(500, "Service internal error: stand-in mode 'error'")

    def not_found(self, request: RecordedRequest) -> Reply:
        return _failure(404, f"Not found: no route {request.method} {request.path} (stand-in)")

    def route(self, request: RecordedRequest) -> Reply:
        parts = [part for part in request.path.split("/") if part]
        if request.method == "POST" and parts[:1] + parts[2:] == ["collections", "points", "query"]:
            return self._query(parts[1], request.json() or {})
        if request.method not in ("GET", "HEAD"):
            return self.not_found(request)
        if not parts:
            return json_reply(
                200,
                {"title": "qdrant - vector search engine", "version": self.version},
            )
        if parts[0] in ("healthz", "readyz", "livez") and len(parts) == 1:
            return Reply(200, f"{parts[0]} check passed")
        if parts[0] != "collections":
            return self.not_found(request)
        names = sorted(self.collections)
        if len(parts) == 1:
            return _ok({"collections": [{"name": name} for name in names]})
        name = parts[1]
        if len(parts) == 3 and parts[2] == "exists":
            return _ok({"exists": name in self.collections})
        if len(parts) == 2:
            if name in self.collections:
                points = len(self.points.get(name, []))
                return _ok(_collection_info(self.vectors.get(name, 4), points))
            return _failure(404, f"Not found: Collection `{name}` doesn't exist!")
        return self.not_found(request)

    def _query(self, name: str, body: dict[str, Any]) -> Reply:
        if name not in self.collections:
            return _failure(404, f"Not found: Collection `{name}` doesn't exist!")
        query = body.get("query")
        if isinstance(query, dict):
            query = query.get("nearest")
        if not isinstance(query, list):
            return _failure(400, "Bad request: the stand-in only answers dense vector queries")
        size, using = self.vectors.get(name, 4), body.get("using")
        if isinstance(size, dict):
            if using not in size:
                return _failure(400, f"Wrong input: Not existing vector name error: {using}")
            size = size[using]
        elif using:
            return _failure(400, f"Wrong input: Not existing vector name error: {using}")
        if len(query) != size:
            return _failure(
                400, f"Wrong input: Vector dimension error: expected dim: {size}, got {len(query)}"
            )
        wanted = body.get("with_payload")
        scored = []
        for point in self.points.get(name, []):
            vector = point["vector"][using] if using else point["vector"]
            payload = point.get("payload") or {}
            if isinstance(wanted, list):
                payload = {key: value for key, value in payload.items() if key in wanted}
            elif wanted is False:
                payload = None
            score = sum(a * b for a, b in zip(query, vector, strict=True))
            scored.append({"id": point["id"], "version": 0, "score": score, "payload": payload})
        scored.sort(key=lambda point: -point["score"])
        return _ok({"points": scored[: int(body.get("limit") or 10)]})

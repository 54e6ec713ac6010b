"""An Elasticsearch (or OpenSearch) stand-in, not the real service.

::

    ElasticsearchStandin(version="9.1.0", username=None, password=None,
                         api_key=None, flavor="elasticsearch", mode="ok")

* ``GET /`` (and ``HEAD /``): the cluster info. ``version.number`` is ``version``;
  every Elasticsearch answer carries ``X-Elastic-Product: Elasticsearch``, which the
  official clients (8 and 9) insist on.
* ``GET /_cluster/health``: a green cluster.
* ``flavor="opensearch"``: info with ``version.distribution: "opensearch"`` (default
  number 2.19.1), no product header and no compatibility-header check, like OpenSearch;
  the Elasticsearch clients refuse it with ``UnsupportedProductError``.

Auth, when configured: ``username``/``password`` accept ``Authorization: Basic ...``,
``api_key`` accepts ``Authorization: ApiKey <api_key>`` (the encoded key exactly as
sent). Either one passes; a miss is a 401 ``security_exception`` (OpenSearch: a bare
401 "Unauthorized"). With nothing configured any request passes.

Compatibility headers: the 9.x Python client sends
``Accept: application/vnd.elasticsearch+json; compatible-with=9`` (8.x: ``=8``). A real
server accepts its own major and the one before and answers anything else with a 400
``media_type_header_exception``; the stand-in does the same, so a 9 client against an
8.x stand-in fails with ``BadRequestError`` as it would against Bonsai's 8.x clusters.

Extra mode: ``"wrong_product"``: a 200 info with no ``X-Elastic-Product`` header.

Indices, for retrieval: ``server.indices[name]`` is a list of documents, each a dict with
``_id`` and its fields. ``HEAD /{index}`` is 200 or 404; ``GET|POST /{index}/_count``
counts them; ``GET|POST /{index}/_search`` answers a ``match`` query on one field: a hit per
document sharing a word with the query (case-insensitive), scored by how many it shares,
best first, at most ``size`` (default 10), ``_source`` cut to ``_source_includes``. A
missing index is a 404 ``index_not_found_exception``.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from ._server import BASE_MODES, RecordedRequest, Reply, StandinServer

__all__ = ["ElasticsearchStandin"]

_COMPAT = re.compile(r"compatible-with\s*=\s*(\d+)")


def _error(status: int, kind: str, reason: str, **extra: object) -> dict[str, object]:
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause, **extra}, "status": status}


class ElasticsearchStandin(StandinServer):
    service = "elasticsearch"
    modes = (*BASE_MODES, "wrong_product")

    def __init__(
        self,
        *,
        version: str | None = None,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        flavor: str = "elasticsearch",
        mode: str = "ok",
    ) -> None:
        if flavor not in ("elasticsearch", "opensearch"):
            raise ValueError(f"unknown flavor {flavor!r}")
        super().__init__(api_key=api_key, mode=mode)
        self.flavor = flavor
        self.version = version or ("2.19.1" if flavor == "opensearch" else "9.1.0")
        self.username = username
        self.password = password
        self.indices: dict[str, list[dict[str, Any]]] = {}

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    # -- auth -------------------------------------------------------------------------

    def authorized(self, request: RecordedRequest) -> bool:
        if self.api_key is None and self.username is None:
            return True
        scheme, _, credentials = (request.header("authorization") or "").partition(" ")
        scheme, credentials = scheme.lower(), credentials.strip()
        if scheme == "apikey" and self.api_key is not None:
            return credentials == self.api_key
        if scheme == "basic" and self.username is not None:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except ValueError:
                return False
            return decoded == f"{self.username}:{self.password or ''}"
        return False

    def unauthorized_response(self, request: RecordedRequest) -> Reply:
        if self.flavor == "opensearch":
            return Reply(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="OpenSearch"'})
        body = _error(
            401,
            "security_exception",
            f"unable to authenticate for REST request [{request.path}] (stand-in)",
            header={"WWW-Authenticate": ['Basic realm="security"', "ApiKey"]},
        )
        return self._reply(request, 401, body, {"WWW-Authenticate": 'Basic realm="security"'})

    def error_response(self, request: RecordedRequest) -> Reply:
        body = _error(500, "exception", "stand-in mode 'error'")
        return self._reply(request, 500, body)

    def not_found(self, request: RecordedRequest) -> Reply:
        body = _error(404, "resource_not_found_exception", f"no handler for {request.path}")
        return self._reply(request, 404, body)

    # -- answers ----------------------------------------------------------------------

    def _reply(
        self,
        request: RecordedRequest,
        status: int,
        body: object,
        headers: dict[str, str] | None = None,
        *,
        product: bool = True,
    ) -> Reply:
        headers = dict(headers or {})
        if self.flavor == "elasticsearch":
            if product:
                headers["X-Elastic-Product"] = "Elasticsearch"
            asked = _COMPAT.search(request.header("accept") or "")
            if asked:
                mime = f"application/vnd.elasticsearch+json;compatible-with={asked.group(1)}"
                headers["Content-Type"] = mime
        return Reply(status, body, headers)

    def _compatibility_error(self, request: RecordedRequest) -> Reply | None:
        """A 400 when the client asks for a REST compatibility this major cannot give."""
        if self.flavor != "elasticsearch":
            return None
        for name in ("accept", "content-type"):
            asked = _COMPAT.search(request.header(name) or "")
            if asked and int(asked.group(1)) not in (self.major, self.major - 1):
                reason = (
                    f"{name.title()} version must be either version {self.major} or "
                    f"{self.major - 1}, but found {asked.group(1)} (stand-in)"
                )
                body = _error(
                    400,
                    "media_type_header_exception",
                    f"Invalid media-type value on headers [{name.title()}]",
                    caused_by={"type": "status_exception", "reason": reason},
                )
                return Reply(400, body, {"X-Elastic-Product": "Elasticsearch"})
        return None

    def info(self) -> dict[str, object]:
        if self.flavor == "opensearch":
            return {
                "name": "standin-node",
                "cluster_name": "standin",
                "cluster_uuid": "c0ffee00c0ffee00c0ffee",
                "version": {
                    "distribution": "opensearch",
                    "number": self.version,
                    "build_type": "tar",
                    "build_snapshot": False,
                    "lucene_version": "9.12.1",
                    "minimum_wire_compatibility_version": "7.10.0",
                    "minimum_index_compatibility_version": "7.0.0",
                },
                "tagline": "The OpenSearch Project: https://opensearch.org/",
            }
        return {
            "name": "standin-node",
            "cluster_name": "standin",
            "cluster_uuid": "c0ffee00c0ffee00c0ffee",
            "version": {
                "number": self.version,
                "build_flavor": "default",
                "build_type": "docker",
                "build_snapshot": False,
                "lucene_version": "10.2.2" if self.major >= 9 else "9.11.1",
                "minimum_wire_compatibility_version": f"{self.major - 1}.19.0",
                "minimum_index_compatibility_version": f"{self.major - 1}.0.0",
            },
            "tagline": "You Know, for Search",
        }

    def respond(self, request: RecordedRequest, mode: str) -> Reply:
        refused = self._compatibility_error(request)
        if refused is not None:
            return refused
        if mode == "wrong_product":
            if not self.authorized(request):
                return self.unauthorized_response(request)
            return self._reply(request, 200, self.info(), product=False)
        return super().respond(request, mode)

    def route(self, request: RecordedRequest) -> Reply:
        if request.method in ("GET", "HEAD") and request.path == "/":
            return self._reply(request, 200, self.info())
        if request.method == "GET" and request.path == "/_cluster/health":
            health = {
                "cluster_name": "standin",
                "status": "green",
                "timed_out": False,
                "number_of_nodes": 1,
                "number_of_data_nodes": 1,
                "active_primary_shards": 0,
                "active_shards": 0,
            }
            return self._reply(request, 200, health)
        parts = [part for part in request.path.split("/") if part]
        if parts and not parts[0].startswith("_"):
            return self._index_route(request, parts)
        return self.not_found(request)

    def _index_route(self, request: RecordedRequest, parts: list[str]) -> Reply:
        name, rest = parts[0], parts[1:]
        if name not in self.indices:
            reason = f"no such index [{name}]"
            body = _error(404, "index_not_found_exception", reason, index=name)
            return self._reply(request, 404, body)
        documents = self.indices[name]
        shards = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
        if request.method == "HEAD" and not rest:
            return self._reply(request, 200, None)
        if rest == ["_count"] and request.method in ("GET", "POST"):
            return self._reply(request, 200, {"count": len(documents), "_shards": shards})
        if rest == ["_search"] and request.method in ("GET", "POST"):
            body = request.json() or {}
            (field, query), *_ = (body.get("query") or {}).get("match", {}).items()
            text = query["query"] if isinstance(query, dict) else query
            words = set(str(text).lower().split())
            includes = (request.query.get("_source_includes") or [""])[0].split(",")
            hits = []
            for document in documents:
                shared = words & set(str(document.get(field, "")).lower().split())
                if shared:
                    source = {k: v for k, v in document.items() if k in includes}
                    hit = {"_index": name, "_id": document["_id"], "_score": float(len(shared))}
                    hits.append({**hit, "_source": source})
            hits.sort(key=lambda hit: -hit["_score"])
            hits = hits[: int(body.get("size", 10))]
            answer = {
                "took": 1,
                "timed_out": False,
                "_shards": shards,
                "hits": {
                    "total": {"value": len(hits), "relation": "eq"},
                    "max_score": hits[0]["_score"] if hits else None,
                    "hits": hits,
                },
            }
            return self._reply(request, 200, answer)
        return self.not_found(request)

"""The local stand-ins against the REAL client libraries; not collected by default.

The template repo's test environment does not hold the service SDKs, so
tests/test_standins.py runs this file in virtualenvs built from the catalogue's own
requirement ranges (and one with an Elasticsearch 8 client), where none of these tests
may be skipped. Timeouts are short (0.5 s; qdrant-client rounds up to whole seconds)
with retries off, and each "hang" test asserts the SDK gave up within its timeout plus
checking.SLACK (the stand-in would never answer: an SDK without a bound fails, its
connection dropped by the watchdog, instead of hanging the run).
Run by hand: python -m pytest --noconftest tests/standins/sdk_checks.py
"""

from __future__ import annotations

from typing import Any

import pytest

from . import (
    CohereStandin,
    ElasticsearchStandin,
    GeminiStandin,
    GroqStandin,
    OpenAIStandin,
    QdrantStandin,
)
from .checking import BAD, GOOD, TIMEOUT, bound, raises_within, refused_port, within


def test_qdrant_client() -> None:
    qdrant_client = pytest.importorskip("qdrant_client")
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    def client(url: str, key: str) -> Any:
        return qdrant_client.QdrantClient(
            url=url, api_key=key, timeout=TIMEOUT, check_compatibility=False
        )

    with QdrantStandin(api_key=GOOD, collections={"documents"}) as server:
        with pytest.warns(UserWarning, match="insecure"):  # an api key over plain http
            good = client(server.url, GOOD)
        assert [c.name for c in good.get_collections().collections] == ["documents"]
        assert good.collection_exists("documents") and not good.collection_exists("other")
        assert good.get_collection("documents").status.value == "green"
        with pytest.raises(UnexpectedResponse) as missing:
            good.get_collection("other")
        assert missing.value.status_code == 404
        with pytest.warns(UserWarning):
            bad = client(server.url, BAD)
        with pytest.raises(UnexpectedResponse) as refused:
            bad.get_collections()
        assert refused.value.status_code == 401 and BAD not in str(refused.value)
        assert server.requests[-1].header("api-key") == BAD
        server.mode = "hang"
        # timeout=0.5 is rounded up to 1 s by qdrant-client
        with within(bound(1), release=server), pytest.raises(ResponseHandlingException) as hung:
            good.get_collections()
        assert "timeout" in type(hung.value.source).__name__.lower()


@pytest.fixture
def es_client_major() -> int:
    elasticsearch = pytest.importorskip("elasticsearch")
    return int(elasticsearch.__versionstr__.split(".")[0])


def _elasticsearch(url: str, **auth: Any) -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(
        url, request_timeout=TIMEOUT, max_retries=0, retry_on_timeout=False, **auth
    )


def test_elasticsearch_client_auth_product_and_timeout(es_client_major: int) -> None:
    import elasticsearch

    version = f"{es_client_major}.1.0"
    with ElasticsearchStandin(
        version=version, username="user", password="pw", api_key="KEY=="
    ) as s:
        assert (
            _elasticsearch(s.url, basic_auth=("user", "pw")).info()["version"]["number"] == version
        )
        assert _elasticsearch(s.url.replace("//", "//user:pw@")).info()["version"]["number"]
        assert _elasticsearch(s.url, api_key="KEY==").info()["cluster_name"] == "standin"
        accept = s.requests[0].header("accept") or ""
        assert f"compatible-with={es_client_major}" in accept
        with pytest.raises(elasticsearch.AuthenticationException) as bad:
            _elasticsearch(s.url, basic_auth=("user", "SECRET-pw")).info()
        assert bad.value.meta.status == 401 and "SECRET" not in str(bad.value)
        s.mode = "wrong_product"
        with pytest.raises(elasticsearch.UnsupportedProductError):
            _elasticsearch(s.url, api_key="KEY==").info()
        s.mode = "hang"
        raises_within(
            elasticsearch.ConnectionTimeout, _elasticsearch(s.url, api_key="KEY==").info, s
        )
    with (
        ElasticsearchStandin(flavor="opensearch") as s,
        pytest.raises(elasticsearch.UnsupportedProductError),
    ):
        _elasticsearch(s.url).info()
    with refused_port() as port, pytest.raises(elasticsearch.ConnectionError):
        _elasticsearch(f"http://127.0.0.1:{port}").info()


@pytest.mark.parametrize("server_version", ["9.1.0", "8.15.0"])
def test_elasticsearch_client_must_match_server_major(
    es_client_major: int, server_version: str
) -> None:
    import elasticsearch

    server_major = int(server_version.split(".")[0])
    with ElasticsearchStandin(version=server_version) as s:
        client = _elasticsearch(s.url)
        if server_major in (es_client_major, es_client_major + 1):
            assert client.info()["version"]["number"] == server_version
            return
        # e.g. the 9.x client asks for compatible-with=9, which an 8.x server refuses
        with pytest.raises(elasticsearch.BadRequestError) as refused:
            client.info()
        assert refused.value.meta.status == 400
        assert refused.value.error == "media_type_header_exception"
        assert client.ping() is False  # ping() hides the cause: why readiness calls info()


def test_opensearch_client() -> None:
    opensearchpy = pytest.importorskip("opensearchpy")

    def client(url: str, **auth: Any) -> Any:
        return opensearchpy.OpenSearch(
            url, timeout=TIMEOUT, max_retries=0, retry_on_timeout=False, **auth
        )

    with ElasticsearchStandin(flavor="opensearch", username="user", password="pw") as s:
        info = client(s.url, http_auth=("user", "pw")).info()
        assert info["version"]["distribution"] == "opensearch"
        assert client(s.url.replace("//", "//user:pw@")).info()["version"]["number"]
        with pytest.raises(opensearchpy.AuthenticationException) as bad:
            client(s.url, http_auth=("user", "SECRET-pw")).info()
        assert bad.value.status_code == 401 and "SECRET" not in str(bad.value)
        s.mode = "hang"
        raises_within(
            opensearchpy.ConnectionTimeout, client(s.url, http_auth=("user", "pw")).info, s
        )
    with refused_port() as port, pytest.raises(opensearchpy.ConnectionError):
        client(f"http://127.0.0.1:{port}").info()


@pytest.mark.parametrize("flavor", ["openai", "groq"])
def test_openai_and_groq_clients(flavor: str) -> None:
    sdk = pytest.importorskip(flavor)
    make = sdk.OpenAI if flavor == "openai" else sdk.Groq
    standin = OpenAIStandin if flavor == "openai" else GroqStandin

    def client(base_url: str, key: str) -> Any:
        return make(api_key=key, base_url=base_url, timeout=TIMEOUT, max_retries=0)

    with standin(api_key=GOOD) as server:
        models = client(server.base_url, GOOD).models.list()
        assert [model.id for model in models.data] == server.models
        assert server.requests[-1].path == f"{server.prefix}/models"
        assert server.requests[-1].header("authorization") == f"Bearer {GOOD}"
        with pytest.raises(sdk.AuthenticationError) as bad:
            client(server.base_url, BAD).models.list()
        assert bad.value.status_code == 401 and BAD not in str(bad.value)
        server.mode = "hang"
        server.clear()
        raises_within(sdk.APITimeoutError, client(server.base_url, GOOD).models.list, server)
        assert len(server.requests) == 1  # max_retries=0: no second attempt
    with refused_port() as port, pytest.raises(sdk.APIConnectionError):
        client(f"http://127.0.0.1:{port}", GOOD).models.list()


def test_gemini_client() -> None:
    genai = pytest.importorskip("google.genai")
    from google.genai import errors, types

    def client(url: str, key: str) -> Any:
        options = types.HttpOptions(base_url=url, timeout=int(TIMEOUT * 1000))  # milliseconds
        return genai.Client(api_key=key, http_options=options)

    with GeminiStandin(api_key=GOOD) as server:
        good = client(server.url, GOOD)  # keep a reference: a dropped Client closes itself
        pager = good.models.list(config={"page_size": 1})
        assert [model.name for model in pager.page] == ["models/gemini-2.5-flash"]
        assert len(server.requests) == 1  # the first page only, until the pager is iterated
        sent = server.requests[0]
        assert sent.path.endswith("/models") and sent.query["pageSize"] == ["1"]
        assert sent.header("x-goog-api-key") == GOOD and "key" not in sent.query
        bad = client(server.url, BAD)
        with pytest.raises(errors.ClientError) as refused:
            bad.models.list(config={"page_size": 1})
        assert refused.value.code == 400 and refused.value.status == "INVALID_ARGUMENT"
        assert "API key not valid" in str(refused.value) and BAD not in str(refused.value)
        server.mode = "hang"
        server.clear()
        with within(bound(), release=server), pytest.raises(Exception) as hung:
            good.models.list(config={"page_size": 1})
        # a raw httpx (or httpx2, in google-genai 3.x) timeout, not a genai error
        assert type(hung.value).__name__ in ("ReadTimeout", "TimeoutException")
        assert len(server.requests) == 1


def test_cohere_client() -> None:
    cohere = pytest.importorskip("cohere")
    from cohere.core.api_error import ApiError

    no_retries = {"max_retries": 0}

    def client(url: str, key: str) -> Any:
        return cohere.ClientV2(api_key=key, base_url=url, timeout=TIMEOUT)

    with CohereStandin(api_key=GOOD) as server:
        listed = client(server.url, GOOD).models.list(page_size=1, request_options=no_retries)
        assert [model.name for model in listed.models] == ["command-r-08-2024"]
        assert server.requests[-1].path == "/v1/models"
        with pytest.raises(ApiError) as bad:
            client(server.url, BAD).models.list(page_size=1, request_options=no_retries)
        assert bad.value.status_code == 401 and BAD not in str(bad.value)
        assert type(bad.value).__name__ == "UnauthorizedError"
        server.mode = "hang"
        with within(bound(), release=server), pytest.raises(Exception) as hung:
            client(server.url, GOOD).models.list(page_size=1, request_options=no_retries)
        assert type(hung.value).__name__ == "ReadTimeout"  # httpx's, not wrapped
    with refused_port() as port, within(bound()), pytest.raises(Exception) as refused:
        client(f"http://127.0.0.1:{port}", GOOD).models.list(request_options=no_retries)
    assert type(refused.value).__name__ == "ConnectError"

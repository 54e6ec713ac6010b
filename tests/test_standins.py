"""The local stand-ins (tests/standins/): their HTTP behaviour with the standard library,
and, in virtualenvs that hold the real SDKs, tests/standins/sdk_checks.py.

The virtualenvs are built from the catalogue's requirement ranges, so these tests also
prove that the SDK versions the generated projects install work against the stand-ins
the full-stack tests rely on.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import pytest
from standins import (
    CohereStandin,
    ElasticsearchStandin,
    GeminiStandin,
    GroqStandin,
    OpenAIStandin,
    QdrantStandin,
)
from standins.checking import BAD, GOOD, TIMEOUT, bound, get, refused_port, within
from support import CATALOGUE, ROOT, SERVICES, build_venv, requirements_of, run

SDK_CHECKS = ROOT / "tests" / "standins" / "sdk_checks.py"
SDK_VENVS = {
    # Every service's SDK as a generated project would install it, plus OpenSearch's.
    "catalogue": sorted(
        requirements_of(SERVICES)
        | set(CATALOGUE["services"]["elasticsearch"]["flavors"]["opensearch"]["requirements"])
    ),
    "elasticsearch8": CATALOGUE["services"]["elasticsearch"]["flavors"]["elasticsearch8"][
        "requirements"
    ],
}


@pytest.fixture(scope="session")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory):
    built: dict[str, Path] = {}

    def get_python(name: str) -> Path:
        if name not in built:
            location = tmp_path_factory.mktemp(f"sdk-{name}")
            built[name] = build_venv(location, [*SDK_VENVS[name], "pytest>=8"])
        return built[name]

    return get_python


@pytest.mark.slow
@pytest.mark.parametrize("name", SDK_VENVS)
def test_real_sdks_work_against_the_stand_ins(name: str, sdk_venv) -> None:
    python = sdk_venv(name)
    selection = [] if name == "catalogue" else ["-k", "elasticsearch"]
    result = run(
        python, "-m", "pytest", "--noconftest", "-q", "-p", "no:cacheprovider", "-rs",
        str(SDK_CHECKS), *selection, cwd=ROOT,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary


def test_base_server_records_requests_and_switches_modes() -> None:
    with CohereStandin(api_key=GOOD) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        status, _, body = get(server, "/v1/models?page_size=1", {"Authorization": f"Bearer {GOOD}"})
        assert status == 200 and len(body["models"]) == 1 and body["next_page_token"] == "1"
        assert get(server, "/v1/models", {"Authorization": f"Bearer {BAD}"})[0] == 401
        server.mode = "unauthorized"
        assert get(server, "/v1/models", {"Authorization": f"Bearer {GOOD}"})[0] == 401
        server.mode = "error"
        assert get(server, "/v1/models", {"Authorization": f"Bearer {GOOD}"})[0] == 500
        first = server.requests[0]
        assert (first.method, first.path, first.query) == (
            "GET",
            "/v1/models",
            {"page_size": ["1"]},
        )
        assert first.header("Authorization") == f"Bearer {GOOD}"
        assert len(server.requests) == 4
        server.clear()
        assert server.requests == []
        with pytest.raises(ValueError, match="no mode"):
            server.mode = "wrong_product"


def test_hang_never_answers_and_stop_is_quick() -> None:
    server = QdrantStandin().start()
    server.mode = "hang"
    with within(bound(), release=server), pytest.raises(TimeoutError):
        get(server, "/collections", timeout=TIMEOUT)
    assert [request.path for request in server.requests] == ["/collections"]
    # a client still waiting when the server stops is let go at once, not left hanging
    waiting = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    waiting.request("GET", "/collections")
    time.sleep(0.1)
    with within(bound(1)):
        server.stop()
    with within(bound(1)), pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        waiting.getresponse()
    waiting.close()


def test_within_fails_an_unbounded_wait_instead_of_hanging() -> None:
    # A client with no timeout at all against a stand-in that never answers: the bound
    # must fail the check, and the watchdog must end the wait (at 2 x 0.5 + 1 = 2 s).
    started = time.monotonic()
    with QdrantStandin(mode="hang") as server:
        with pytest.raises(AssertionError, match="not bounded"), within(0.5, release=server):
            get(server, "/collections", timeout=None)
        assert len(server.requests) == 1
    assert time.monotonic() - started < 20  # ended by the watchdog, not by a test timeout


def test_within_fails_a_slow_block_that_raised() -> None:
    with pytest.raises(AssertionError, match="took"), within(0.1):
        time.sleep(0.2)
        raise TimeoutError("the client gave up, but too late")


def test_release_drops_hanging_connections_and_keeps_hanging() -> None:
    with QdrantStandin(mode="hang") as server:
        waiting = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        waiting.request("GET", "/")
        time.sleep(0.1)
        server.release()
        with within(bound()), pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            waiting.getresponse()
        waiting.close()
        assert server.mode == "hang"
        with pytest.raises(TimeoutError):
            get(server, "/", timeout=TIMEOUT)


def test_refused_port_refuses_while_held() -> None:
    with refused_port() as port:
        for _ in range(3):
            with within(bound()), pytest.raises(ConnectionRefusedError):
                http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/")


def test_leaving_hang_mode_drops_the_waiting_connection() -> None:
    with QdrantStandin() as server:
        server.mode = "hang"
        waiting = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        waiting.request("GET", "/")
        time.sleep(0.1)
        server.mode = "ok"
        with within(bound(1)), pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            waiting.getresponse()
        waiting.close()
        assert get(server, "/")[0] == 200


def test_qdrant_routes_and_error_shape() -> None:
    with QdrantStandin(api_key=GOOD, collections={"documents"}) as server:
        key = {"api-key": GOOD}
        status, _, body = get(server, "/collections", key)
        assert status == 200 and body["result"]["collections"] == [{"name": "documents"}]
        assert get(server, "/collections/documents", key)[0] == 200
        status, _, body = get(server, "/collections/missing", key)
        assert status == 404 and "doesn't exist" in body["status"]["error"]
        assert get(server, "/collections/missing/exists", key)[2]["result"] == {"exists": False}
        assert get(server, "/collections", {"Authorization": f"Bearer {GOOD}"})[0] == 200
        assert get(server, "/collections", {"api-key": BAD})[0] == 401
        assert get(server, "/collections")[0] == 401


def test_elasticsearch_info_product_header_and_compatibility() -> None:
    with ElasticsearchStandin(version="8.15.0", username="user", password="pw") as server:
        basic = {"Authorization": "Basic dXNlcjpwdw=="}  # user:pw
        status, headers, body = get(server, "/", basic)
        assert status == 200 and body["version"]["number"] == "8.15.0"
        assert headers["x-elastic-product"] == "Elasticsearch"
        asks_9 = {**basic, "Accept": "application/vnd.elasticsearch+json; compatible-with=9"}
        status, _, body = get(server, "/", asks_9)
        assert status == 400 and body["error"]["type"] == "media_type_header_exception"
        asks_8 = {**basic, "Accept": "application/vnd.elasticsearch+json; compatible-with=8"}
        assert get(server, "/", asks_8)[0] == 200
        assert get(server, "/", {"Authorization": "Basic d3Jvbmc6d3Jvbmc="})[0] == 401
        server.mode = "wrong_product"
        status, headers, _ = get(server, "/", basic)
        assert status == 200 and "x-elastic-product" not in headers
    with ElasticsearchStandin(flavor="opensearch") as server:
        status, headers, body = get(server, "/")
        assert body["version"]["distribution"] == "opensearch"
        assert "x-elastic-product" not in headers


def test_openai_groq_gemini_routes() -> None:
    with OpenAIStandin(api_key=GOOD) as openai, GroqStandin(api_key=GOOD) as groq:
        assert openai.base_url == openai.url + "/v1" and groq.base_url == groq.url
        bearer = {"Authorization": f"Bearer {GOOD}"}
        assert get(openai, "/v1/models", bearer)[2]["data"][0]["id"] == "gpt-4o-mini"
        assert get(groq, "/openai/v1/models", bearer)[0] == 200
        status, _, body = get(openai, "/v1/models", {"Authorization": f"Bearer {BAD}"})
        assert status == 401 and body["error"]["code"] == "invalid_api_key"
        assert BAD not in body["error"]["message"] and BAD[-4:] in body["error"]["message"]
    with GeminiStandin(api_key=GOOD) as gemini:
        status, _, body = get(gemini, "/v1beta/models?pageSize=1", {"x-goog-api-key": GOOD})
        assert status == 200 and len(body["models"]) == 1 and "nextPageToken" in body
        assert get(gemini, "/v1/models", {"x-goog-api-key": GOOD})[0] == 200
        status, _, body = get(gemini, "/v1beta/models", {"x-goog-api-key": BAD})
        assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT"
        assert body["error"]["message"] == "API key not valid. Please pass a valid API key."

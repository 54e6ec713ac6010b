"""Retrieval in the chat route, for real: `python -m app` against store and LLM stand-ins.

Five apps, rendered with every service (so they share test_chat's virtualenvs) and
`retrieval=true`: Qdrant on FastAPI (question embedded by Cohere) and on Flask (by Gemini),
both chatting with OpenAI; Elasticsearch reranked by Cohere on both frameworks, and alone on
FastAPI. The stand-ins record what they receive: the question reaching the embedder, the
vector reaching Qdrant, the passages reaching the chat provider's prompt. The answer checks
(which questions may be combined) are tested on the extension directly.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from copier.errors import UserMessageError
from standins import (
    CohereStandin,
    ElasticsearchStandin,
    GeminiStandin,
    OpenAIStandin,
    QdrantStandin,
    StandinServer,
    fake_embedding,
)
from support import (
    FRAMEWORKS,
    ROOT,
    SERVICES,
    copier_cli,
    extension,
    generated_tests_passed,
    health_past_imports,
    render,
)
from test_chat import KEYS, ChatApp, Event

pytestmark = pytest.mark.slow

QDRANT_KEY = f"sentinel-qdrant-key-{secrets.token_hex(6)}"
ES_PASSWORD = f"sentinel-es-password-{secrets.token_hex(6)}"
COLLECTION = INDEX = "passages"
TOP_K = 2
CANDIDATES = 3  # RERANK_CANDIDATES
EMBEDDING_SIZE = 4  # what the embedding stand-ins return; EMBEDDING_DIMENSIONS
APPS = {
    "fastapi-qdrant": {"retrieval_store": "qdrant", "embedding_provider": "cohere"},
    "flask-qdrant": {"retrieval_store": "qdrant", "embedding_provider": "gemini"},
    "fastapi-elasticsearch": {"retrieval_store": "elasticsearch", "rerank": True},
    "flask-elasticsearch": {"retrieval_store": "elasticsearch", "rerank": True},
}
# Elasticsearch alone, no rerank: the search order reaches the prompt.
PLAIN_ES_APP = "fastapi-elasticsearch-plain"
RENDERS = {**APPS, PLAIN_ES_APP: {"retrieval_store": "elasticsearch", "rerank": False}}
QDRANT_APPS = [name for name in APPS if name.endswith("qdrant")]
ES_APPS = [name for name in APPS if name.endswith("elasticsearch")]

# Qdrant: points are multiples of the question's embedding, so their dot products (the
# stand-in's score) rank them 3 > 2 > 1.
QUESTION = "Where is the Eiffel tower?"
POINTS = [
    (3, "p-eiffel", "The Eiffel tower stands in Paris."),
    (1, "p-bananas", "Bananas are yellow."),
    (2, "p-built", "It was built for the 1889 World's Fair."),
]
# Elasticsearch: the stand-in scores by shared words, Cohere's by the share of a passage's
# words in the question. Search order: tall, facts, short, eiffel; the first 3 are
# reranked to short, tall, facts; "eiffel" would win a rerank but is past RERANK_CANDIDATES.
ES_QUESTION = "eiffel tower height"
DOCUMENTS = [
    ("facts", "eiffel tower facts and many other words about the famous landmark in paris"),
    ("short", "tower height"),
    ("tall", "eiffel tower height in metres and feet over the years since construction began"),
    ("eiffel", "eiffel"),
    ("bananas", "bananas are yellow"),
]


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, StandinServer]]:
    servers: dict[str, StandinServer] = {
        "openai": OpenAIStandin(api_key=KEYS["openai"]),
        "cohere": CohereStandin(api_key=KEYS["cohere"]),
        "gemini": GeminiStandin(api_key=KEYS["gemini"]),
        "qdrant": QdrantStandin(api_key=QDRANT_KEY),
        "elasticsearch": ElasticsearchStandin(username="elastic", password=ES_PASSWORD),
    }
    with ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
        # test_chat's apps read every LLM's variables; groq's are never called here.
        servers["groq"] = servers["openai"]
        yield servers


@dataclass
class RetrievalApp(ChatApp):
    store: str = ""


def fill_stores(standins: dict[str, Any]) -> None:
    question = fake_embedding(QUESTION, EMBEDDING_SIZE)
    standins["qdrant"].add_collection(
        COLLECTION,
        EMBEDDING_SIZE,
        [
            {"id": pid, "vector": [x * scale for x in question], "payload": {"text": text}}
            for scale, pid, text in POINTS
        ],
    )
    standins["elasticsearch"].indices = {
        INDEX: [{"_id": doc_id, "text": text} for doc_id, text in DOCUMENTS]
    }


@pytest.fixture(autouse=True)
def fresh(standins: dict[str, Any]) -> Iterator[None]:
    for server in standins.values():
        server.mode = "ok"
    fill_stores(standins)
    yield
    for server in standins.values():
        server.mode = "ok"


@pytest.fixture(scope="module")
def app(
    request: pytest.FixtureRequest,
    standins: dict[str, Any],
    project_venvs,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RetrievalApp]:
    framework, store = request.param.split("-")[:2]
    project = render(
        tmp_path_factory.mktemp(f"retrieval-{request.param}") / "space",
        framework=framework,
        services=SERVICES,
        chat=True,
        chat_provider="openai",
        retrieval=True,
        **RENDERS[request.param],
    )
    environment = {
        "RETRIEVAL_TOP_K": str(TOP_K),
        "HEALTH_CACHE_SECONDS": "0.01",
        "HEALTH_CHECK_TIMEOUT": "15",  # the first probe imports every SDK on a busy machine
        "QDRANT_URL": standins["qdrant"].url,
        "QDRANT_API_KEY": QDRANT_KEY,
        "QDRANT_COLLECTION": COLLECTION,
        "EMBEDDING_DIMENSIONS": str(EMBEDDING_SIZE),
        "ELASTICSEARCH_HOST": "127.0.0.1",
        "ELASTICSEARCH_PORT": str(standins["elasticsearch"].port),
        "ELASTICSEARCH_SCHEME": "http",
        "ELASTICSEARCH_USERNAME": "elastic",
        "ELASTICSEARCH_PASSWORD": ES_PASSWORD,
        "ELASTICSEARCH_INDEX": INDEX,
        "RERANK_CANDIDATES": str(CANDIDATES),
    }
    log = project.parent / "app.log"
    running = RetrievalApp(
        framework, "openai", project, standins["openai"], log, extra_env=environment, store=store
    )
    running.start(project_venvs.python_for(project), standins)
    try:
        yield running
    finally:
        running.stop()
    text = running.log()
    for secret in (*KEYS.values(), QDRANT_KEY, ES_PASSWORD):
        assert secret not in text, "a secret appears in the app's log"


def named(events: list[Event]) -> list[Event]:
    return [event for event in events if event.name != "comment"]


def prompt(server: Any) -> str:
    """The system text of the chat provider's last chat request."""
    chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    messages = chats[-1].json()["messages"]
    return "\n".join(m["content"] for m in messages if m["role"] == "system")


def retrieval_health(app: ChatApp) -> tuple[str, str | None]:
    """The `retrieval` entry of /health: (status, detail). (The other services of these
    renders are unconfigured, so /health itself answers 503 throughout.)"""
    time.sleep(0.05)  # past HEALTH_CACHE_SECONDS
    _, body = health_past_imports(app.port)
    entry = json.loads(body)["services"]["retrieval"]
    return entry["status"], entry["detail"]


# -- the passages reach the prompt ---------------------------------------------------------


@pytest.mark.parametrize("app", QDRANT_APPS, indirect=True)
def test_qdrant_top_k_passages_reach_the_prompt(app: ChatApp, standins: dict[str, Any]) -> None:
    events = named(app.chat(QUESTION).until("done"))
    assert [e.name for e in events][:2] == ["sources", "token"]
    sources = events[0].data["passages"]
    assert [(s["rank"], s["id"]) for s in sources] == [(1, "p-eiffel"), (2, "p-built")]
    assert sources[0]["score"] > sources[1]["score"]
    system = prompt(standins["openai"])
    assert "[1] The Eiffel tower stands in Paris." in system
    assert "[2] It was built for the 1889 World's Fair." in system
    assert "Bananas" not in system  # RETRIEVAL_TOP_K=2 of 3 points
    # The question went to the embedding provider, its vector to Qdrant, with the limit.
    provider = APPS[f"{app.framework}-qdrant"]["embedding_provider"]
    embedded = standins[provider].requests[-1].json()
    assert QUESTION in json.dumps(embedded)
    assert ("search_query" if provider == "cohere" else "RETRIEVAL_QUERY") in json.dumps(embedded)
    query = standins["qdrant"].requests[-1].json()
    assert query["query"]["nearest"] == pytest.approx(fake_embedding(QUESTION, EMBEDDING_SIZE))
    assert query["limit"] == TOP_K


@pytest.mark.parametrize("app", ES_APPS, indirect=True)
def test_elasticsearch_hits_are_reranked_before_the_prompt(
    app: ChatApp, standins: dict[str, Any]
) -> None:
    events = named(app.chat(ES_QUESTION).until("done"))
    assert events[0].name == "sources"
    assert [s["id"] for s in events[0].data["passages"]] == ["short", "tall"]
    search = standins["elasticsearch"].requests[-1]
    assert search.json() == {"query": {"match": {"text": ES_QUESTION}}, "size": CANDIDATES}
    rerank = standins["cohere"].requests[-1].json()
    texts = dict(DOCUMENTS)
    assert rerank["documents"] == [texts["tall"], texts["facts"], texts["short"]]
    assert rerank["top_n"] == TOP_K and rerank["query"] == ES_QUESTION
    system = prompt(standins["openai"])
    assert f"[1] {texts['short']}\n\n[2] {texts['tall']}" in system
    assert texts["facts"] not in system and "bananas" not in system


@pytest.mark.parametrize("app", [PLAIN_ES_APP], indirect=True)
def test_elasticsearch_hits_without_rerank_reach_the_prompt_in_search_order(
    app: ChatApp, standins: dict[str, Any]
) -> None:
    reranks_before = len(standins["cohere"].requests)
    events = named(app.chat(ES_QUESTION).until("done"))
    assert events[0].name == "sources"
    assert [s["id"] for s in events[0].data["passages"]] == ["tall", "facts"]
    search = standins["elasticsearch"].requests[-1]
    assert search.json() == {"query": {"match": {"text": ES_QUESTION}}, "size": TOP_K}
    assert len(standins["cohere"].requests) == reranks_before  # no rerank asked
    texts = dict(DOCUMENTS)
    system = prompt(standins["openai"])
    assert f"[1] {texts['tall']}\n\n[2] {texts['facts']}" in system
    assert "[3]" not in system  # RETRIEVAL_TOP_K=2


# -- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "mode", "expected"),
    [
        ("store", "error", "unavailable"),
        ("store", "unauthorized", "auth"),
        ("embedder", "rate_limited", "rate_limit"),
        ("embedder", "unauthorized", "auth"),  # Gemini's bad key is a 400
    ],
)
@pytest.mark.parametrize("app", list(APPS), indirect=True)
def test_a_retrieval_failure_is_one_typed_error_event(
    app: RetrievalApp, standins: dict[str, Any], service: str, mode: str, expected: str
) -> None:
    store = app.store
    answers = APPS[f"{app.framework}-{store}"]
    # The service that runs before the chat: the embedder for Qdrant, Cohere's rerank for ES.
    helper = answers.get("embedding_provider", "cohere")
    standins[store if service == "store" else helper].mode = mode
    chats_before = len(standins["openai"].requests)
    question = QUESTION if store == "qdrant" else ES_QUESTION
    events = named(app.chat(question).rest())
    assert [(e.name, e.data["type"]) for e in events] == [("error", expected)], events
    assert "search service" in events[0].data["message"]
    body = json.dumps(events[0].data)
    assert all(secret not in body for secret in (*KEYS.values(), QDRANT_KEY, ES_PASSWORD))
    assert len(standins["openai"].requests) == chats_before  # the provider was never asked


# -- readiness -----------------------------------------------------------------------------


@pytest.mark.parametrize("app", QDRANT_APPS, indirect=True)
def test_readiness_checks_the_qdrant_collection_and_its_vector_size(
    app: ChatApp, standins: dict[str, Any]
) -> None:
    qdrant = standins["qdrant"]
    assert retrieval_health(app) == ("ok", None)
    qdrant.add_collection(COLLECTION, 1536)
    status, detail = retrieval_health(app)
    assert status == "error" and detail
    assert "vectors of size 1536" in detail
    assert f"EMBEDDING_DIMENSIONS is {EMBEDDING_SIZE}" in detail
    qdrant.add_collection(COLLECTION, {"dense": EMBEDDING_SIZE, "title": 8})
    status, detail = retrieval_health(app)
    assert status == "error" and detail
    assert "named vectors (dense, title)" in detail and "QDRANT_VECTOR_NAME" in detail
    qdrant.collections.discard(COLLECTION)
    status, detail = retrieval_health(app)
    assert status == "error" and f"collection {COLLECTION!r} does not exist" in str(detail)


@pytest.mark.parametrize("app", ES_APPS, indirect=True)
def test_readiness_checks_the_index_exists_and_is_not_empty(
    app: ChatApp, standins: dict[str, Any]
) -> None:
    elasticsearch = standins["elasticsearch"]
    assert retrieval_health(app) == ("ok", None)
    elasticsearch.indices[INDEX] = []
    status, detail = retrieval_health(app)
    assert status == "error" and f"index {INDEX!r} is empty" in str(detail)
    del elasticsearch.indices[INDEX]
    status, detail = retrieval_health(app)
    assert status == "error" and f"index {INDEX!r} does not exist" in str(detail)


@pytest.mark.parametrize("app", ["fastapi-qdrant", "flask-elasticsearch"], indirect=True)
def test_generated_tests_pass_with_retrieval_on(app: ChatApp, project_venvs) -> None:
    python = project_venvs.python_for(app.project)
    passed = generated_tests_passed(python, app.project, "test_retrieval.py")
    assert "test_passages_reach_the_prompt_and_the_sources_event" in passed
    assert "test_a_failed_search_is_one_typed_error_event" in passed


# -- which answers go together -------------------------------------------------------------


def problems(**answers: Any) -> str:
    try:
        extension.check_answers(answers)
    except UserMessageError as error:
        return str(error)
    return ""


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"services": ["qdrant", "openai"], "chat": False, "retrieval": True}, "chat=true"),
        ({"services": ["qdrant", "groq"], "chat": True, "retrieval": True}, "embedding service"),
        (
            {
                "services": ["elasticsearch", "openai"],
                "elasticsearch_flavor": "opensearch",
                "chat": True,
                "retrieval": True,
            },
            "not the opensearch flavor",
        ),
        (
            {"services": ["elasticsearch", "openai"], "chat": True, "retrieval": True}
            | {"rerank": True},
            "rerank: Cohere reranks",
        ),
        (
            {"services": ["qdrant", "cohere"], "chat": True, "retrieval": True}
            | {"retrieval_store": "qdrant", "rerank": True},
            "rerank: Cohere reranks",
        ),
        (
            {"services": ["qdrant", "openai"], "chat": True, "retrieval": True}
            | {"embedding_provider": "cohere"},
            "embedding_provider: 'cohere' is not offered",
        ),
        (
            {"services": ["qdrant", "openai"], "chat": True, "retrieval": True}
            | {"retrieval_store": "elasticsearch"},
            "retrieval_store: 'elasticsearch' is not offered",
        ),
    ],
)
def test_answers_that_cannot_go_together_are_refused(
    answers: dict[str, Any], expected: str
) -> None:
    assert expected in problems(**answers)


def test_retrieval_variables_follow_the_store_and_the_providers() -> None:
    def variables(**answers: Any) -> dict[str, Any]:
        chosen = {"chat": True, "retrieval": True, "chat_provider": "openai", **answers}
        feature = next(f for f in extension.chosen_features(chosen) if f["name"] == "retrieval")
        return {v["name"]: v.get("default") for v in feature["variables"]}

    qdrant = variables(retrieval_store="qdrant", embedding_provider="cohere")
    assert qdrant["EMBEDDING_MODEL"] == "embed-english-v3.0"  # Cohere's, not the chat's
    assert qdrant["EMBEDDING_DIMENSIONS"] == 1024
    assert "ELASTICSEARCH_INDEX" not in qdrant and "RERANK_MODEL" not in qdrant
    plain = variables(retrieval_store="elasticsearch", rerank=False)
    assert "ELASTICSEARCH_INDEX" in plain and "EMBEDDING_MODEL" not in plain
    assert "RERANK_MODEL" not in plain
    assert variables(retrieval_store="elasticsearch", rerank=True)["RERANK_MODEL"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_render_without_retrieval_has_none_of_it(framework: str, tmp_path) -> None:
    project = render(
        tmp_path / "space", framework=framework, services=["qdrant", "openai"], chat=True
    )
    assert not (project / "app" / "retrieval").exists()
    assert "retrieval" not in (project / "app" / "chat_routes.py").read_text().lower()
    assert "RETRIEVAL_TOP_K" not in (project / ".env.example").read_text()


def test_the_command_line_refuses_retrieval_without_a_store_it_can_search(tmp_path) -> None:
    """Services arrive as YAML text with --data: the combination is still checked."""
    destination = tmp_path / "space"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "--data", "services=[elasticsearch, openai]", "--data", "elasticsearch_flavor=opensearch",
        "--data", "chat=true", "--data", "retrieval=true", str(ROOT), str(destination),
    )  # fmt: skip
    assert result.returncode != 0
    assert "retrieval: it needs qdrant" in result.stderr
    assert "Traceback" not in result.stderr and not destination.exists()

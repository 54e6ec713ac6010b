"""The service catalogue (services.yml) and what it gives a set of answers: the chosen services
and features, their variables, requirements and readiness forms, and the questions' choices."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jinja2.ext import Extension

CATALOGUE_PATH = Path(__file__).with_name("services.yml")
# Ports a Space may open outbound connections on (Spaces overview, "Networking"); the
# generated variables.py is rendered from this one list.
SPACE_OUTBOUND_PORTS = (80, 443, 8080)


@cache
def load_catalogue() -> dict[str, Any]:
    """The parsed services.yml, with each variable tagged by its service."""
    data = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    for variable in data["app"]["variables"]:
        variable["service"] = "app"
    for name, part in [*data["services"].items(), *data.get("features", {}).items()]:
        part["name"] = name
        for variable in part["variables"]:
            # A feature's variables go by its readiness check's name (e.g. both auth modes: auth).
            variable["service"] = part.get("check", name)
    return data


def url_port(url: str, default_port: int | None = None) -> int | None:
    """The port a URL connects to: explicit, else the client's default, else the scheme's."""
    parts = urlsplit(url)
    scheme_ports = {"https": 443, "http": 80}
    return parts.port or default_port or scheme_ports.get(parts.scheme)


def chosen_services(services: list[str] | None) -> list[dict[str, Any]]:
    catalogue = load_catalogue()["services"]
    wanted = set(services or [])
    return [service for name, service in catalogue.items() if name in wanted]


def llm_service_names() -> list[str]:
    """The services that can serve the chat route: those naming a default chat model."""
    return [name for name, s in load_catalogue()["services"].items() if s.get("chat_model")]


def embedding_service_names() -> list[str]:
    """The services that can embed a question: those naming a default embedding model."""
    return [name for name, s in load_catalogue()["services"].items() if s.get("embedding_model")]


def retrieval_stores(services: list[str], flavor: str | None) -> list[str]:
    """The chosen services retrieval can search: Qdrant when a chosen service can embed the
    question, Elasticsearch unless it is the OpenSearch flavor."""
    embedders = [name for name in embedding_service_names() if name in services]
    stores = []
    if "qdrant" in services and embedders:
        stores.append("qdrant")
    if "elasticsearch" in services and flavor != "opensearch":
        stores.append("elasticsearch")
    return stores


def _when_holds(when: dict[str, Any], answers: dict[str, Any]) -> bool:
    """Each question has the answer given; `true` for a text question: any non-empty answer."""
    return all(
        bool(answers.get(question)) if value is True else answers.get(question) == value
        for question, value in when.items()
    )


def chosen_features(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The optional parts of the app the answers turn on, e.g. `auth: jwt` -> the jwt feature.

    A feature keeps the variables whose own `when` holds too, and a `provider_default`
    variable gets the chosen provider's value as its default."""
    features = load_catalogue().get("features", {}).values()
    chosen = [f for f in features if _when_holds(f["when"], answers)]
    services = load_catalogue()["services"]
    providers = {
        "chat_model": services.get(str(answers.get("chat_provider") or ""), {}),
        "embedding_model": services.get(str(answers.get("embedding_provider") or ""), {}),
        "embedding_dimensions": services.get(str(answers.get("embedding_provider") or ""), {}),
    }

    def with_default(variable: dict[str, Any]) -> dict[str, Any]:
        key = variable.get("provider_default")
        value = providers[key].get(key) if key else None
        return {**variable, "default": value, "example": str(value)} if value else variable

    picked = []
    for feature in chosen:
        variables = [
            with_default(v) for v in feature["variables"] if _when_holds(v.get("when", {}), answers)
        ]
        extra = {"forms": retrieval_forms(answers)} if feature["name"] == "retrieval" else {}
        picked.append({**feature, "variables": variables, **extra})
    return picked


def retrieval_forms(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """What configures retrieval: its store (any one of the store's own forms), and for Qdrant
    QDRANT_COLLECTION and the embedding provider's key, for Elasticsearch ELASTICSEARCH_INDEX
    and, with rerank, Cohere's key."""
    services = load_catalogue()["services"]
    store = str(answers.get("retrieval_store") or "")
    if store not in services:
        return []
    if store == "qdrant":
        embedder = services.get(str(answers.get("embedding_provider") or ""))
        extra = ["QDRANT_COLLECTION", *(required_sets(embedder)[0] if embedder else [])]
    else:
        extra = ["ELASTICSEARCH_INDEX"]
        if answers.get("rerank") is True:
            extra += required_sets(services["cohere"])[0]
    titles = [f["title"] for f in services[store].get("forms", [])] or [""]
    return [
        {
            "title": services[store]["title"] + (f", {title}" if title else ""),
            "variables": [*names, *extra],
        }
        for title, names in zip(titles, required_sets(services[store]), strict=True)
    ]


def service_requirements(service: dict[str, Any], flavor: str) -> list[str]:
    flavors = service.get("flavors")
    return list(flavors[flavor]["requirements"]) if flavors else list(service["requirements"])


def required_sets(service: dict[str, Any]) -> list[list[str]]:
    """The alternative sets of variables that make a service configured."""
    if "forms" in service:
        return [list(form["variables"]) for form in service["forms"]]
    return [[v["name"] for v in service["variables"] if v.get("required")]]


def choice_context(chosen: list[str] | None = None, flavor: str | None = None) -> dict[str, Any]:
    """The catalogue-derived choices copier.yml renders: services, the flavor, and the chat
    providers, retrieval stores and embedding providers among the `chosen` services."""
    services = load_catalogue()["services"]
    llms = [name for name in llm_service_names() if name in (chosen or [])]
    embedders = [name for name in embedding_service_names() if name in (chosen or [])]
    stores = retrieval_stores(chosen or [], flavor)
    return {
        "service_choices": {f"{s['title']}: {s['summary']}": s["name"] for s in services.values()},
        "elasticsearch_default_flavor": services["elasticsearch"]["default_flavor"],
        "elasticsearch_flavor_choices": {
            flavor["title"]: key for key, flavor in services["elasticsearch"]["flavors"].items()
        },
        "llm_services": llms,
        "chat_provider_choices": {services[name]["title"]: name for name in llms},
        "retrieval_stores": stores,
        "retrieval_store_choices": {
            f"{services[name]['title']}: {RETRIEVAL_SEARCH[name]}": name for name in stores
        },
        "embedding_services": embedders,
        "embedding_provider_choices": {services[name]["title"]: name for name in embedders},
    }


RETRIEVAL_SEARCH = {
    "qdrant": "vector search on the question's embedding",
    "elasticsearch": "keyword (match) search, optionally reranked by Cohere",
}


class CatalogueFilters(Extension):
    """What templates ask the catalogue: the sets of variables that configure a service."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters["required_sets"] = required_sets

"""Every answer checked against copier.yml itself: answers given up front (--data, user
defaults) before anything renders, and the stored answers of a Space before an update."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from copier.errors import UserMessageError
from jinja2.ext import Extension

from .answers import (
    api_prefix_problem,
    emoji_problem,
    owner_problem,
    package_name_problem,
    project_name_problem,
    short_description_problem,
    slugify,
    space_dir_problem,
    space_name_problem,
)
from .catalogue import choice_context, embedding_service_names, llm_service_names, retrieval_stores
from .models import models_problem
from .origin_checks import cors_origin_regex_problem, origins_problem

ANSWER_CHECKS: dict[str, Callable[[str], str]] = {
    "project_name": project_name_problem,
    "hf_owner": owner_problem,
    "space_name": space_name_problem,
    "package_name": package_name_problem,
    "short_description": short_description_problem,
    "emoji": emoji_problem,
    "frontend_origins": origins_problem,
    "cors_origin_regex": cors_origin_regex_problem,
    "api_prefix": api_prefix_problem,
    "space_dir": space_dir_problem,
    "models": models_problem,
}


COPIER_YML = Path(__file__).resolve().parents[1] / "copier.yml"
BOOL_WORDS = frozenset({"true", "false", "yes", "no", "y", "n", "t", "f", "on", "off", "1", "0"})


@cache
def load_questions() -> dict[str, dict[str, Any]]:
    """copier.yml's questions (its keys not starting with '_')."""
    data = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {
        name: spec
        for name, spec in data.items()
        if not name.startswith("_") and isinstance(spec, dict)
    }


def choice_values(spec: dict[str, Any], answers: dict[str, Any]) -> list[str]:
    """The values a question offers, rendered like copier does when they are Jinja."""
    choices = spec["choices"]
    if isinstance(choices, str):
        services = answers.get("services") or []
        if isinstance(services, str):
            with suppress(yaml.YAMLError):
                services = yaml.safe_load(services)
        flavor = answers.get("elasticsearch_flavor")
        context = choice_context(
            services if isinstance(services, list) else [], str(flavor) if flavor else None
        )
        rendered = jinja2.Environment().from_string(choices).render(context)
        choices = yaml.safe_load(rendered)
    if isinstance(choices, dict):
        choices = list(choices.values())
    return [str(item["value"] if isinstance(item, dict) else item) for item in choices]


def answer_problem(name: str, value: Any, answers: dict[str, Any]) -> str:
    """Why `value` is no valid answer to question `name` of copier.yml, or ""."""
    spec = load_questions()[name]
    if spec.get("type") == "bool":
        if isinstance(value, bool) or str(value).strip().lower() in BOOL_WORDS:
            return ""
        return f"{value!r} is not a yes/no answer; use true or false"
    if "choices" in spec:
        offered = choice_values(spec, answers)
        if spec.get("multiselect"):
            try:
                items = yaml.safe_load(value) if isinstance(value, str) else value
            except yaml.YAMLError:
                items = None
            if not isinstance(items, list):
                return f"{value!r} is not a list; write [{value}] (or [] for none)"
            unknown = [str(item) for item in items if str(item) not in offered]
            if unknown:
                return f"{', '.join(unknown)}: not offered; choose from {', '.join(offered)}"
            return ""
        if str(value) not in offered:
            quote = " (YAML read a number: quote the value)" if isinstance(value, float) else ""
            return f"{str(value)!r} is not offered{quote}; choose one of {', '.join(offered)}"
        return ""
    if name == "space_name":
        return space_name_problem(str(value), str(answers.get("hf_owner", "")))
    check = ANSWER_CHECKS.get(name)
    return check(str(value)) if check else ""


def check_answers(data: dict[str, Any], user_defaults: dict[str, Any] | None = None) -> str:
    """Validate answers given up front (--data, --data-file, user defaults); raise one message.

    Copier turns a bad choice or a failing validator on such data into a traceback;
    raising UserMessageError here instead makes the CLI print one line per problem
    and exit 1 before any file is written. Interactive answers go through each
    question's validator, which uses the same checks.
    """
    answers = {**(user_defaults or {}), **data}
    if "hf_owner" not in answers:
        answers["hf_owner"] = load_questions()["hf_owner"].get("default", "")
    problems = [
        f"{name}: {problem}"
        for name in load_questions()
        if name in answers and (problem := answer_problem(name, answers[name], answers))
    ]
    services = answers.get("services") or []
    if isinstance(services, str):  # as --data gives it: YAML text
        with suppress(yaml.YAMLError):
            services = yaml.safe_load(services) or []
    if isinstance(services, list):  # a bare string is refused above
        chosen = [str(s) for s in services]
        # One line per question: a choice refused above is not explained twice.
        refused = {problem.split(":")[0] for problem in problems}
        problems += [
            problem
            for problem in chat_problems(answers, chosen) + retrieval_problems(answers, chosen)
            if problem.split(":")[0] not in refused
        ]
    if problems:
        raise UserMessageError("\n".join(problems))
    return ""


def chat_problems(data: dict[str, Any], services: list[str]) -> list[str]:
    """The chat route needs an LLM service, and its provider must be one of those chosen."""
    llms = [name for name in llm_service_names() if name in services]
    names = " or ".join(llm_service_names())
    chat = data.get("chat")
    problems = []
    if (chat is True or str(chat).lower() in ("true", "yes", "1")) and not llms:
        problems.append(f"chat: the chat route needs an LLM service; add {names} to services")
    provider = data.get("chat_provider")
    if provider not in (None, "") and str(provider) not in llms:
        chosen = ", ".join(llms) or f"none is chosen; add {names} to services"
        problems.append(
            f"chat_provider: {provider!r} is not a chosen LLM service; choose from {chosen}"
        )
    return problems


def _yes(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "y", "t", "on", "1")


def retrieval_problems(data: dict[str, Any], services: list[str]) -> list[str]:
    """Retrieval needs the chat route and a store it can search; rerank needs Cohere and
    Elasticsearch."""
    if not _yes(data.get("retrieval")):
        return []
    problems = []
    if not _yes(data.get("chat")):
        problems.append("retrieval: it adds passages to the chat route; answer chat=true too")
    flavor = data.get("elasticsearch_flavor")
    stores = retrieval_stores(services, str(flavor) if flavor else None)
    if not stores:
        embedders = " or ".join(embedding_service_names())
        problems.append(
            "retrieval: it needs qdrant with an embedding service "
            f"({embedders}) or elasticsearch (not the opensearch flavor) in services"
        )
        return problems
    store = str(data.get("retrieval_store") or stores[0])
    if _yes(data.get("rerank")) and (store != "elasticsearch" or "cohere" not in services):
        problems.append(
            "rerank: Cohere reranks Elasticsearch hits; choose retrieval_store=elasticsearch "
            "and add cohere to services, or answer rerank=false"
        )
    return problems


class AnswerChecks(Extension):
    """The checks copier.yml's validators and its up-front `answers_precheck` call."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters.update(
            {f"{name}_problem": check for name, check in ANSWER_CHECKS.items()}
            | {"check_answers": check_answers, "slugify_space": slugify}
        )

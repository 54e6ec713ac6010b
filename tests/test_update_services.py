"""`copier update` adds and removes services: the modules, requirements and variables follow,
the user's own edits stay, and a removed service the user edited or imports is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import FRAMEWORKS, git
from update_tools import answers, conflict_leftovers, releases, render_committed, update
from workflow_tools import edit

__all__ = ["releases"]  # the fixture, imported for pytest


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_adding_then_removing_a_service(releases: Path, tmp_path: Path, framework: str) -> None:
    project = render_committed(releases, "0.2.0", tmp_path / "space", f"framework={framework}")
    module = project / "app" / "services" / "redis.py"
    assert not module.exists()
    settings = project / "app" / "settings.py"
    settings.write_text(settings.read_text() + '    collection_name: str = Field("docs")\n')
    ours = settings.read_text()
    git(project, "commit", "-qam", "our own setting")

    added = update(project, "--data", "services=[redis]")

    assert added.returncode == 0, added.stderr
    assert module.exists()
    assert settings.read_text() == ours
    assert any(line.startswith("redis") for line in (project / "requirements.txt").open())
    assert "\nREDIS_URL=" in (project / ".env.example").read_text()
    assert "`REDIS_URL`" in (project / "SECRETS.md").read_text()
    assert answers(project)["services"] == ["redis"]
    git(project, "add", "-A")
    git(project, "commit", "-qm", "add redis")

    removed = update(project, "--data", "services=[]")

    assert removed.returncode == 0, removed.stderr
    assert not module.exists()
    assert "redis" not in removed.stderr  # nobody used it: removed without a word
    assert not any(line.startswith("redis") for line in (project / "requirements.txt").open())
    assert "REDIS_URL" not in (project / ".env.example").read_text()
    assert "REDIS_URL" not in (project / "SECRETS.md").read_text()
    assert settings.read_text() == ours
    assert conflict_leftovers(project) == []


def test_removing_a_service_the_user_changed_or_imports_says_so(
    releases: Path, tmp_path: Path
) -> None:
    project = render_committed(releases, "0.2.0", tmp_path / "space", "services=[redis, groq]")
    redis_module = project / "app" / "services" / "redis.py"
    edit(redis_module, "socket_timeout=10", "socket_timeout=30")
    ours = redis_module.read_text()
    api = project / "app" / "api.py"
    api.write_text(api.read_text() + "\nfrom .services import groq  # noqa: E402\n")
    git(project, "commit", "-qam", "a longer redis timeout; a route that uses groq")

    removed = update(project, "--data", "services=[]")

    assert removed.returncode == 0, removed.stderr
    message = " ".join(removed.stderr.split())
    # The edited module stays, with a message naming it; the unedited one goes.
    assert redis_module.read_text() == ours
    assert "app/services/redis.py: the update removed the redis service" in message
    assert not (project / "app" / "services" / "groq.py").exists()
    line = api.read_text().splitlines().index("from .services import groq  # noqa: E402") + 1
    assert f"app/api.py:{line} imports the groq service module" in message


def test_a_monorepo_space_updates_from_the_repository_root(releases: Path, tmp_path: Path) -> None:
    """space_dir=backend: the Space in backend/, beside a frontend; copier update from the root."""
    mono = tmp_path / "mono"
    frontend = {"frontend/package.json": '{"name": "web"}\n', "README.md": "# Our monorepo\n"}
    for name, text in frontend.items():
        (mono / name).parent.mkdir(parents=True, exist_ok=True)
        (mono / name).write_text(text)
    ci = mono / ".github" / "workflows" / "ci.yml"  # the frontend's own workflow
    ci.parent.mkdir(parents=True)
    ci.write_text("name: web\n")
    render_committed(releases, "0.1.0", mono, "space_dir=backend", "services=[redis]")
    backend = mono / "backend"
    redis_module = backend / "app" / "services" / "redis.py"
    edit(redis_module, "socket_timeout=10", "socket_timeout=30")
    edit(backend / "app" / "api.py", "Hello, ", "Howdy, ")
    git(mono, "commit", "-qam", "our changes")
    theirs = {path: path.read_bytes() for path in (redis_module, backend / "app" / "api.py")}

    result = update(mono, "--data", "services=[]")

    assert result.returncode == 0, result.stderr
    assert conflict_leftovers(mono) == []
    # The fix landed in the Space's folder, and nothing of the Space outside it.
    assert "timeout=2" in (backend / "app" / "healthcheck.py").read_text()
    assert "*.log" in (backend / ".dockerignore").read_text().splitlines()
    assert not (mono / "app").exists() and not (mono / "Dockerfile").exists()
    for name, text in frontend.items():
        assert (mono / name).read_text() == text
    assert ci.read_text() == "name: web\n"
    workflows = sorted(p.name for p in ci.parent.iterdir())
    assert workflows == [
        "backend-ci.yml", "backend-sync-to-hub.yml", "backend-update.yml", "ci.yml"
    ]  # fmt: skip
    # The user's files and their edited module of the removed service stay, named by path.
    for path, content in theirs.items():
        assert path.read_bytes() == content, path
    message = " ".join(result.stderr.split())
    assert "backend/app/services/redis.py: the update removed the redis service" in message
    recorded = answers(mono)
    assert (recorded["_commit"], recorded["space_dir"]) == ("0.2.0", "backend")


def test_adding_services_keeps_the_chat_provider_and_the_retrieval_store(
    releases: Path, tmp_path: Path
) -> None:
    project = render_committed(
        releases, "0.1.0", tmp_path / "space", "services=[elasticsearch, cohere]", "chat=true",
        "retrieval=true",
    )  # fmt: skip
    recorded = answers(project)
    assert (recorded["chat_provider"], recorded["retrieval_store"]) == ("cohere", "elasticsearch")

    # groq comes before cohere in the catalogue, qdrant before elasticsearch.
    result = update(project, "--data", "services=[qdrant, elasticsearch, groq, cohere]")

    assert result.returncode == 0, result.stderr
    recorded = answers(project)
    assert (recorded["chat_provider"], recorded["retrieval_store"]) == ("cohere", "elasticsearch")
    assert "from .chat.cohere import ChatClient" in (project / "app" / "chat_routes.py").read_text()
    assert (project / "app" / "retrieval" / "elasticsearch.py").is_file()
    assert not (project / "app" / "retrieval" / "qdrant.py").exists()

"""`copier update` carries template fixes into a generated Space and keeps the user's edits.

A temp copy of this template gets two releases made here: 0.1.0 (this tree) and 0.2.0
(a fix in two template files, the very lines users edit in their own files changed, and the
`pinned` question renamed to `pin_space` with a `_migrations` entry). Spaces rendered at
0.1.0 are committed, edited like a user would, then updated with the real copier CLI.
A second pair of releases is the real 0.1.0 (its commit in this repository's history) and
this tree, for the move of settings.py to the user.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support import FRAMEWORKS, ROOT, copier_cli, git, run
from workflow_tools import edit

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".cache", "__pycache__", ".pytest_cache", ".ruff_cache", "site"
)
MIGRATION = """_migrations:
  - version: "0.2.0"
    when: "{{ _stage == 'before' }}"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/extensions/migrate_answers.py",
              "--rename", "pinned=pin_space"]
"""
# Release 0.1.0, before settings.py became the user's; a clone of main has its history.
RELEASE_0_1_0 = "ed11438e8b6682770aa80006dbcd7a1495b25b09"
SPACE = "template/{{ space_root }}"  # the Space's files in the template repo
PACKAGE = SPACE + "/{{package_name}}"
# Lines of the user-owned files that release 0.2.0 changes; the test user edits the same lines.
USER_FILE_CHANGES = {
    PACKAGE + "/{% if framework == 'fastapi' %}api.py{% endif %}.jinja": (
        'return {"message": f"Hello, {name}!"}',
        'return {"message": f"Hi, {name}!"}',
    ),
    PACKAGE + "/{% if framework == 'flask' %}api.py{% endif %}.jinja": (
        "jsonify(message=f\"Hello, {request.args.get('name', 'world')}!\")",
        "jsonify(message=f\"Hi, {request.args.get('name', 'world')}!\")",
    ),
    PACKAGE + "/settings.py": (
        '    """Every variable the app reads. Examples:',
        '    """Every variable the app reads, yours and the template\'s. Examples:',
    ),
    PACKAGE + "/hooks.py.jinja": (
        "Make hooks idempotent: every worker runs them.",
        "Make hooks idempotent: each worker runs them.",
    ),
}


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repo tagged 0.1.0 (this tree) and 0.2.0 (a fix and a renamed question)."""
    repo = tmp_path_factory.mktemp("releases") / "template"
    shutil.copytree(ROOT, repo, ignore=IGNORED)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 0.1.0")
    git(repo, "tag", "0.1.0")
    edit(repo / PACKAGE / "healthcheck.py", "timeout=3", "timeout=2")
    edit(repo / SPACE / ".dockerignore", ".ruff_cache\n", ".ruff_cache\n*.log\n")
    edit(repo / "copier.yml", "\npinned:\n", "\npin_space:\n")
    edit(repo / "copier.yml", "_migrations:\n", MIGRATION)
    for path, (old, new) in USER_FILE_CHANGES.items():
        edit(repo / path, old, new)
    edit(repo / SPACE / "README.md.jinja", "{{ pinned | lower }}", "{{ pin_space | lower }}")
    git(repo, "commit", "-qam", "release 0.2.0: shorter probe timeout, pinned -> pin_space")
    git(repo, "tag", "0.2.0")
    return repo


@pytest.fixture(scope="module")
def from_0_1_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repo tagged 0.1.0 (the real release) and 0.2.0 (this tree)."""
    repo = tmp_path_factory.mktemp("from-0.1.0") / "template"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", RELEASE_0_1_0], capture_output=True, check=True
    )
    subprocess.run(["tar", "x"], input=archive.stdout, cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "release 0.1.0")
    git(repo, "tag", "0.1.0")
    git(repo, "rm", "-rq", ".")
    shutil.copytree(ROOT, repo, ignore=IGNORED, dirs_exist_ok=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "this release")
    git(repo, "tag", "0.2.0")
    return repo


def render_committed(template: Path, ref: str, destination: Path, *data: str) -> Path:
    data_args = [arg for item in data for arg in ("--data", item)]
    result = copier_cli(
        "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", ref,
        *data_args, str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "generated")
    return destination


def update(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return copier_cli("update", "--trust", "--defaults", "--vcs-ref", "0.2.0", *args, cwd=project)


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def conflict_leftovers(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej" or "<<<<<<<" in path.read_text(encoding="utf-8", errors="ignore"):
            found.append(str(path.relative_to(project)))
    return found


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_update_brings_the_fix_and_keeps_user_edits(
    releases: Path, tmp_path: Path, framework: str
) -> None:
    project = render_committed(
        releases, "0.1.0", tmp_path / "space", f"framework={framework}", "pinned=true"
    )
    # What a user does after generating: a route module, notes, a requirement, and edits to
    # their own files on the very lines release 0.2.0 changes.
    (project / "app" / "search_routes.py").write_text("ROUTES = ['/api/search']\n")
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team's notes: deploy on Fridays only.\n")
    requirements = project / "requirements.txt"
    requirements.write_text(requirements.read_text() + "numpy>=1.26\n")
    api = project / "app" / "api.py"
    edit(api, "Hello, ", "Howdy, ")
    api.write_text(api.read_text() + "\n# our own route goes here\n")
    settings = project / "app" / "settings.py"
    edit(settings, "Every variable the app reads.", "Our variables.")
    settings.write_text(
        settings.read_text() + '    collection_name: str = Field("docs", description="ours")\n'
    )
    hooks = project / "app" / "hooks.py"
    edit(hooks, "every worker runs them.", "all our workers run them.")
    ours = {path: path.read_bytes() for path in (api, settings, hooks)}
    git(project, "add", "-A")
    git(project, "commit", "-qm", "our changes")

    result = update(project)

    assert result.returncode == 0, result.stderr
    assert conflict_leftovers(project) == []
    assert (project / "app" / "search_routes.py").read_text() == "ROUTES = ['/api/search']\n"
    assert readme.read_text().endswith("Our team's notes: deploy on Fridays only.\n")
    assert "numpy>=1.26" in requirements.read_text().splitlines()
    # The user's files are exactly as they left them, though the template changed those lines.
    for path, content in ours.items():
        assert path.read_bytes() == content, path
    # The template's fix arrived and the answers file points at the new release.
    assert "timeout=2" in (project / "app" / "healthcheck.py").read_text()
    assert "*.log" in (project / ".dockerignore").read_text().splitlines()
    recorded = answers(project)
    assert recorded["_commit"] == "0.2.0"
    # The migration carried the renamed question's answer.
    assert recorded["pin_space"] is True
    assert "pinned" not in recorded
    assert "\npinned: true\n" in readme.read_text()


def test_new_render_takes_the_changed_user_files(releases: Path, tmp_path: Path) -> None:
    """The other half of the test above: release 0.2.0 really changed those lines."""
    project = render_committed(releases, "0.2.0", tmp_path / "space")
    assert "Hi, " in (project / "app" / "api.py").read_text()
    assert "each worker runs them." in (project / "app" / "hooks.py").read_text()
    assert "yours and the template's" in (project / "app" / "settings.py").read_text()


@pytest.mark.parametrize(
    ("mode", "evidence"), [("inline", "markers"), ("rej", "reject file")], ids=["inline", "rej"]
)
def test_overlapping_edit_gives_the_documented_conflict(
    releases: Path, tmp_path: Path, mode: str, evidence: str
) -> None:
    project = render_committed(releases, "0.1.0", tmp_path / "space")
    edit(project / "app" / "healthcheck.py", "timeout=3", "timeout=10")
    git(project, "commit", "-qam", "a longer probe timeout")

    result = update(project, "--conflict", mode)

    assert result.returncode == 0, result.stderr
    probe = project / "app" / "healthcheck.py"
    if mode == "inline":
        text = probe.read_text()
        assert "<<<<<<<" in text and ">>>>>>>" in text
        assert "timeout=10" in text and "timeout=2" in text
    else:
        # The file takes the template's version; the user's hunk waits in the .rej file.
        rejected = project / "app" / "healthcheck.py.rej"
        assert rejected.exists(), evidence
        assert "+        with urllib.request.urlopen(url, timeout=10)" in rejected.read_text()
        assert "timeout=2" in probe.read_text()


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


OLD_SETTINGS_EDIT = """    database_url: SecretPostgresqlUrl = None
    # Our own: the collection the search route reads, and the key that signs our tokens.
    collection_name: str = "documents"
    jwt_secret_key: SecretStr | None = None
    answer_timeout: Seconds = 20.0
"""


def test_update_from_0_1_0_moves_the_users_fields_into_their_settings(
    from_0_1_0: Path, tmp_path: Path, project_venvs
) -> None:
    project = render_committed(from_0_1_0, "0.1.0", tmp_path / "space", "services=[neon]")
    edit(
        project / "app" / "settings.py",
        "    database_url: SecretPostgresqlUrl = None\n",
        OLD_SETTINGS_EDIT,
    )
    git(project, "commit", "-qam", "our own settings")

    result = update(project)

    assert result.returncode == 0, result.stderr
    assert "kept your fields collection_name, jwt_secret_key, answer_timeout" in result.stdout
    assert conflict_leftovers(project) == []
    settings = (project / "app" / "settings.py").read_text()
    assert settings.startswith("# Yours")
    assert "class Settings(AppSettings):" in settings
    assert "ENV_VARS" not in settings and "database_url" not in settings
    assert "from .config import AppSettings, Seconds" in settings
    assert "    # Our own: the collection the search route reads" in settings
    assert '    collection_name: str = "documents"' in settings
    # sse.py now comes with chat only; api.py's /stream example still imports it: kept, as theirs.
    assert (project / "app" / "sse.py").read_text().startswith("# Yours: kept by copier update")
    assert "app/sse.py: this template version no longer renders it, but app/api.py imports it" in (
        " ".join(result.stderr.split())
    )
    # The updated Space works: lint-clean, its own tests pass, and the fields are read and
    # classified (a SecretStr field is a secret, the others variables).
    python = project_venvs.python_for(project)
    assert run(python, "-m", "ruff", "check", ".", cwd=project).returncode == 0
    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert tests.returncode == 0, tests.stdout[-3000:]
    probe = (
        "from app.variables import env_vars\n"
        "for v in env_vars():\n"
        "    print(v.name, v.secret, v.service)\n"
    )
    listed = run(python, "-c", probe, cwd=project).stdout.splitlines()
    for line in ("COLLECTION_NAME False yours", "JWT_SECRET_KEY True yours",
                 "ANSWER_TIMEOUT False yours", "DATABASE_URL True neon"):  # fmt: skip
        assert line in listed


def test_update_stops_when_a_stored_answer_breaks_a_newer_rule(
    from_0_1_0: Path, tmp_path: Path
) -> None:
    """0.1.0 let a package shadow the standard library; copier would silently rename it."""
    project = render_committed(from_0_1_0, "0.1.0", tmp_path / "space", "package_name=tabnanny")
    assert (project / "tabnanny" / "main.py").exists()

    result = update(project)

    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert "refuses answers this Space was made with; nothing was changed" in message
    assert "package_name: 'tabnanny'" in message
    assert git(project, "status", "--porcelain") == ""
    assert answers(project)["_commit"] == "0.1.0"

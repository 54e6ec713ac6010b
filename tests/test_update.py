"""`copier update` carries template fixes into a generated Space and keeps the user's edits:
a fix and a renamed question (releases 0.1.0 -> 0.2.0, see update_tools.py), conflicts in
both modes, and the update from the real 0.1.0 that moved settings.py to the user.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import FRAMEWORKS, git, run
from update_tools import (
    answers,
    conflict_leftovers,
    from_0_1_0,
    from_landed,
    releases,
    render_committed,
    update,
)
from workflow_tools import edit

__all__ = ["from_0_1_0", "from_landed", "releases"]  # the fixtures, imported for pytest


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


@pytest.mark.parametrize("pattern", ["", r"https://[a-z0-9-]+\.preview\.example\.com"])
def test_update_from_the_landed_main_drops_the_copied_tooling_and_keeps_user_files(
    from_landed: Path, tmp_path: Path, pattern: str
) -> None:
    """A Space made before hf-space-tools: its scripts/*.py copies go, the pin arrives, the
    CORS pattern's rules stay exactly when the Space has a pattern, and the user's files stay."""
    given = ["services=[redis]", *([f"cors_origin_regex={pattern}"] if pattern else [])]
    project = render_committed(from_landed, "0.1.0", tmp_path / "space", *given)
    copied = sorted(path.name for path in (project / "scripts").glob("*.py"))
    assert {"deploy.py", "upload_plan.py", "space_local.py"} <= set(copied)
    seed = project / "scripts" / "seed_documents.py"  # the user's own, beside the copies
    seed.write_text("print('seeding')\n")
    settings = project / "app" / "settings.py"
    settings.write_text(
        settings.read_text() + '    collection_name: str = Field("docs", description="ours")\n'
    )
    edit(project / "app" / "api.py", "Hello, ", "Howdy, ")
    ours = {path: path.read_bytes() for path in (seed, settings, project / "app" / "api.py")}
    git(project, "add", "-A")
    git(project, "commit", "-qm", "our changes")

    result = update(project)

    assert result.returncode == 0, result.stderr
    assert conflict_leftovers(project) == []
    for path, content in ours.items():
        assert path.read_bytes() == content, path
    assert sorted(path.name for path in (project / "scripts").glob("*.py")) == [seed.name]
    release = git(from_landed, "rev-parse", "0.2.0").strip()
    pin = f"hf-space-tools @ git+{from_landed.as_uri()}@{release}#subdirectory=tooling"
    assert pin in (project / "requirements-dev.txt").read_text().splitlines()
    assert "template-variables = [" in (project / "pyproject.toml").read_text()
    assert (project / "app" / "origin_regex.py").exists() == bool(pattern)
    config = (project / "app" / "config.py").read_text()
    assert ("cors_origin_regex: Pattern" in config) == bool(pattern)
    assert ("google-re2" in (project / "requirements.txt").read_text()) == bool(pattern)

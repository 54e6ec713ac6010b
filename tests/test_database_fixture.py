"""The generated tests' `database` fixture (tests/database.py of a Neon Space), for real.

A user's own test of an extension, written as a user writes it (a table, a row through the
app's neon.connect(), a route that reads it), runs in the rendered project's virtualenv with
its own pytest, for both frameworks: against a real PostgreSQL when TEST_DATABASE_URL names
one, each test in a schema of its own that is gone afterwards; skipped, saying what to set,
when it names none. Nothing of the template is patched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from engines import PostgresServer
from support import FRAMEWORKS

pytestmark = [pytest.mark.slow, pytest.mark.engine]

EXTENSION_TEST = """
    from app.services import neon


    def test_a_note_written_through_the_app_is_read_back(database, make_api) -> None:
        database.execute("CREATE TABLE notes (body text)")
        with neon.connect() as connection:
            connection.execute("INSERT INTO notes VALUES ('kept')")
            connection.commit()
        assert database.execute("SELECT body FROM notes").fetchall() == [("kept",)]
        assert make_api().get("/health").json()["services"]["neon"]["status"] == "ok"


    def test_each_test_has_a_schema_of_its_own(database) -> None:
        database.execute("CREATE TABLE notes (body text)")  # the same name, no clash
        assert database.execute("SELECT count(*) FROM notes").fetchone() == (0,)
"""
USER_TESTS = ["tests/test_notes.py", "tests/test_health.py"]


def run_pytest(python: Path, project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"} | env
    return subprocess.run(
        [str(python), "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", *USER_TESTS],
        cwd=project, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def schemas(python: Path, url: str) -> list[str]:
    """The test schemas in the database, read with the project's psycopg."""
    query = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'test\\_%' ORDER BY 1"
    script = (
        "import json, psycopg\n"
        f"print(json.dumps([r[0] for r in psycopg.connect({url!r}).execute({query!r})]))"
    )
    result = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_users_database_tests_run_on_a_real_postgresql(
    framework: str, full_project, project_venvs, tmp_path: Path
) -> None:
    project = tmp_path / "space"  # a copy: the session's render stays as it was made
    shutil.copytree(full_project(framework), project)
    (project / "tests" / "test_notes.py").write_text(textwrap.dedent(EXTENSION_TEST))
    python = project_venvs.python_for(project)
    with PostgresServer() as postgres:
        ran = run_pytest(python, project, TEST_DATABASE_URL=postgres.url)
        output = ran.stdout + ran.stderr
        assert ran.returncode == 0, output[-4000:]
        passed = re.findall(r"^tests/(\S+) PASSED", ran.stdout, re.MULTILINE)
        assert sorted(p for p in passed if "notes" in p or "database" in p) == [
            "test_health.py::test_the_database_fixture_is_what_the_app_uses",
            "test_notes.py::test_a_note_written_through_the_app_is_read_back",
            "test_notes.py::test_each_test_has_a_schema_of_its_own",
        ], output[-4000:]
        assert schemas(python, postgres.url) == []  # each test's schema was dropped
    skipped = run_pytest(python, project)
    assert skipped.returncode == 0, skipped.stdout[-4000:]
    reasons = re.findall(r"^SKIPPED \[(\d+)\] .*?: (.*)$", skipped.stdout, re.MULTILINE)
    reason = "set TEST_DATABASE_URL to a PostgreSQL database the tests may write to"
    assert reasons and all(why == reason for _, why in reasons), skipped.stdout[-3000:]
    assert sum(int(count) for count, _ in reasons) == 3

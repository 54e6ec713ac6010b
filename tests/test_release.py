"""The deploy's release gate and report, against the Hub stand-in: the `last-good` tag, rollback
of a failed build or a failing /health in one new commit, `deploy.py rollback`, and
`deploy.py status` with each kind of drift and its exit status.

The project, its virtualenv and the `deploy` runner are test_deploy.py's (one render per module).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_deploy
from standins.hub import HubStandIn
from test_deploy import HEALTH, SECRETS, SPACE, VARIABLES, deploy, output_of

# test_deploy's fixtures: its render, that render's virtualenv, a fresh copy with a full .env.
rendered, python, project = test_deploy.rendered, test_deploy.python, test_deploy.project

BROKEN_LOG = ["--> RUN python -c 'import missing_pkg'", "ModuleNotFoundError: No module named 'x'"]
TIMEOUT = 3  # --timeout, seconds: a failing /health fails the release once it has run out


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(stages=["BUILDING", "RUNNING"], health_body=HEALTH) as server:
        yield server


def tag_of(hub: HubStandIn) -> str | None:
    return hub.repo(SPACE).tags.get("last-good")


def good_release(python: Path, project: Path, hub: HubStandIn) -> dict[str, bytes]:
    """A first deploy that passes /health and is tagged; then a local change to upload."""
    result = deploy(python, project, hub)
    assert result.returncode == 0, output_of(result)
    assert tag_of(hub) == hub.repo(SPACE).sha
    good = hub.files
    assert {"Dockerfile", "requirements-dev.txt", "app/settings.py"} <= set(good)
    assert f"Deployed: {hub.space_url}" in result.stdout
    (project / "Dockerfile").write_text((project / "Dockerfile").read_text() + "# changed\n")
    (project / "NEW.txt").write_text("a file the good release does not have\n")
    return good


@pytest.mark.parametrize(
    "build", [{"stages": ["BUILDING", "BUILD_ERROR"]}, {"health": 503}], ids=["build", "health"]
)
def test_a_failed_release_rolls_back_to_the_tagged_tree(
    python: Path, project: Path, hub: HubStandIn, build: dict[str, object]
) -> None:
    good = good_release(python, project, hub)
    tagged = tag_of(hub)
    hub.build_logs = BROKEN_LOG
    hub.next_builds = [build]
    started = time.monotonic()
    result = deploy(python, project, hub, "--timeout", str(TIMEOUT))
    took = time.monotonic() - started
    out = output_of(result)
    assert result.returncode == 1, out
    assert "Deployed:" not in out  # the rolled-back Space is not this deploy's
    assert hub.files == good  # the tree of last-good, NEW.txt gone, Dockerfile as it was
    assert len(hub.commits) == 3  # good, broken, the rollback: one new commit, no force-push
    rollback = hub.commits[-1]
    assert "NEW.txt" in rollback.deleted and rollback.parent_commit is None
    assert tag_of(hub) == tagged  # the broken commit was never tagged
    assert "Rolled back to last-good" in result.stderr
    if "stages" in build:
        assert "BUILD_ERROR" in result.stderr and BROKEN_LOG[-1] in out
        assert "likely cause: a module is missing" in out
    else:  # /health failed until --timeout ran out, asked every --poll-interval, not 6 times
        assert f"still answered 503 after --timeout {TIMEOUT} s" in result.stderr
        assert took > TIMEOUT and len(hub.space_requests) > 20
    assert hub.space_requests[-1].path == "/health"  # the rolled-back Space was checked


def test_a_health_that_passes_before_the_timeout_is_a_good_release(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    """Not failing while --timeout lasts: 503 twenty times, then 200, is a release, tagged."""
    good_release(python, project, hub)
    hub.next_builds = [{"health": [503] * 20 + [200]}]
    result = deploy(python, project, hub, "--timeout", "60")
    assert result.returncode == 0, output_of(result)
    assert len(hub.commits) == 2 and "NEW.txt" in hub.files  # no rollback
    assert tag_of(hub) == hub.repo(SPACE).sha == hub.commits[-1].oid
    assert [r.path for r in hub.space_requests[-21:]] == ["/health"] * 21


def test_no_rollback_keeps_the_broken_build(python: Path, project: Path, hub: HubStandIn) -> None:
    good_release(python, project, hub)
    hub.next_builds = [{"stages": ["BUILDING", "BUILD_ERROR"]}]
    result = deploy(python, project, hub, "--no-rollback")
    assert result.returncode == 1, output_of(result)
    assert "NEW.txt" in hub.files and len(hub.commits) == 2
    assert "--no-rollback" in result.stderr and "Rolled back" not in result.stderr


def test_a_first_deploy_that_fails_says_there_is_nothing_to_roll_back_to(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    hub.stages = ["BUILDING", "BUILD_ERROR"]
    result = deploy(python, project, hub)
    assert result.returncode == 1, output_of(result)
    assert "No rollback" in result.stderr and "no last-good tag" in result.stderr
    assert len(hub.commits) == 1 and tag_of(hub) is None


def test_the_tag_moves_and_rollback_by_hand_restores_it(
    python: Path, project: Path, hub: HubStandIn
) -> None:
    good_release(python, project, hub)
    result = deploy(python, project, hub)  # a second good release moves the tag
    assert result.returncode == 0, output_of(result)
    second = hub.files
    assert tag_of(hub) == hub.repo(SPACE).sha and "NEW.txt" in second
    (project / "NEW.txt").write_text("a change that fails /health\n")  # the deploy only adds
    hub.next_builds = [{"health": 503}]
    result = deploy(python, project, hub, "--no-rollback", "--timeout", "1")
    assert result.returncode == 1, output_of(result)
    assert hub.files != second
    result = deploy(python, project, hub, "rollback")
    assert result.returncode == 0, output_of(result)
    assert hub.files == second and len(hub.commits) == 4


# -- status -------------------------------------------------------------------------------


@pytest.fixture
def seeded() -> Iterator[HubStandIn]:
    """A running Space whose secrets and variables are the project's, tagged last-good."""
    with HubStandIn(stages=["RUNNING"], health_body=HEALTH) as server:
        repo = server.add_repo(SPACE, files={"Dockerfile": b"FROM x\n"}, secrets=SECRETS)
        repo.variables = {k: {"value": v, "updatedAt": None} for k, v in VARIABLES.items()}
        repo.tags["last-good"] = repo.sha
        yield server


def test_status_in_step_says_nothing_to_do(python: Path, project: Path, seeded: HubStandIn) -> None:
    result = deploy(python, project, seeded, "status")
    out = output_of(result)
    assert result.returncode == 0, out
    assert "RUNNING" in out and "nothing to do" in out and "cannot be read back" in out
    assert "sleeps after 172800 s" in out and "cpu-basic" in out


def missing(repo, name: str) -> None:
    repo.secrets.pop(name)
    repo.secret_meta.pop(name)


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        (lambda repo: missing(repo, "GROQ_API_KEY"), "GROQ_API_KEY: set locally, missing"),
        (
            lambda repo: repo.variables.update(MYSTERY={"value": "1", "updatedAt": None}),
            "MYSTERY: on the Space, read by nothing",
        ),
        (
            lambda repo: repo.secret_meta["GROQ_API_KEY"].update(updatedAt="2020-01-01T00:00:00Z"),
            "GROQ_API_KEY: the Space's secret is older than .env",
        ),
        (
            lambda repo: repo.variables["LOG_LEVEL"].update(value="INFO"),
            "LOG_LEVEL: the Space's value differs from .env",
        ),
        (lambda repo: repo.tags.clear(), "the running commit is not last-good"),
    ],
    ids=["missing", "unread", "stale-secret", "differs", "untagged"],
)
def test_status_reports_each_drift_and_exits_1(
    python: Path,
    project: Path,
    seeded: HubStandIn,
    drift,
    expected: str,
) -> None:
    drift(seeded.repo(SPACE))
    result = deploy(python, project, seeded, "status")
    out = output_of(result)
    assert result.returncode == 1, out
    assert expected in out and "1 thing(s) to do" in out


def test_status_of_a_failing_health_exits_1(
    python: Path, project: Path, seeded: HubStandIn
) -> None:
    seeded.health_status = 503
    result = deploy(python, project, seeded, "status")
    assert result.returncode == 1 and "/health does not answer 200" in result.stdout

"""The `models` question: Hub models baked into the image and loaded in the background.

The answer check is property-tested against huggingface_hub's own repo-id rules and through
the README frontmatter. Renders check the frontmatter, requirements and Dockerfile (torch
from PyTorch's CPU index is checked as text: the suite never installs torch). Then the real
app, `python -m app` in both frameworks, against a hub cache written here in huggingface_hub's
layout (models--owner--name/refs/main, snapshots/<commit>/...): no network, no real weights.
A stand-in loader in hooks.py computes for LOAD_SECONDS while /health/live is timed.
"""

from __future__ import annotations

import ast
import http.client
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier.errors import UserMessageError
from engines import free_port, stop_process
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from hypothesis import given, settings
from hypothesis import strategies as st
from support import (
    FRAMEWORKS,
    ROOT,
    SPACE_TEMPLATE,
    copier_cli,
    extension,
    render,
    run,
    start_app,
)

README_TEMPLATE = (SPACE_TEMPLATE / "README.md.jinja").read_text(encoding="utf-8")
FRONTMATTER_TEMPLATE = README_TEMPLATE.split("---\n")[1]
TINY = "acme/tiny-model"
OTHER = "acme/other-model"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
LOAD_SECONDS = 6.0  # the stand-in loader computes this long
# /health/live answers within this while it does: tens of ms, more on a loaded machine as the
# loader holds the GIL; one that waits for the load takes its remaining seconds.
LIVE_WITHIN = 2.0
SENTINEL = f"sentinel-{secrets.token_hex(6)}"


# -- the answer check ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("gpt2", "not an owner/name model id"),
        ("a/b/c", "not an owner/name model id"),
        ("-acme/model", "not a Hub model id"),
        ("acme/model.", "not a Hub model id"),
        ("acme/caf\u00e9", "not a Hub model id"),
        ("acme/a--b", "'--' or '..'"),
        ("acme/model.git", "ends in .git"),
        ("acme/a, acme/A", "listed twice"),
        ("acme/a,", "an entry is empty"),
        ("acme/a x.json,y.json", "not an owner/name model id"),  # ',' separates models
        ("acme/a x.json,x.json; acme/b", "lists a file twice"),
        ("acme/a ../secrets", "not a file path"),
        ("acme/a x.json main", "not a commit"),
        ("acme/a x.json abc y", "parts"),
        ("acme/a\nsdk: gradio", "line break"),
        (" acme/a", "starts or ends with a space"),
    ],
)
def test_bad_models_answer_is_refused_naming_the_rule(answer: str, fragment: str) -> None:
    problem = extension.models_problem(answer)
    assert fragment in problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("answer", "preload"),
    [
        ("", []),
        ("sentence-transformers/all-MiniLM-L6-v2", ["sentence-transformers/all-MiniLM-L6-v2"]),
        ("BAAI/bge-small-en-v1.5,  intfloat/e5", ["BAAI/bge-small-en-v1.5", "intfloat/e5"]),
        (
            f"acme/a  onnx/model.onnx,tokenizer.json  {COMMIT}; acme/b",
            [f"acme/a onnx/model.onnx,tokenizer.json {COMMIT}", "acme/b"],
        ),
    ],
)  # fmt: skip
def test_good_models_answer_gives_preload_lines(answer: str, preload: list[str]) -> None:
    assert extension.models_problem(answer) == ""
    assert [spec["preload"] for spec in extension.model_specs(answer)] == preload


HUB_CHARS = st.sampled_from("abcAZ09_-./")


@settings(max_examples=400, deadline=None)
@given(name=st.text(HUB_CHARS, min_size=1, max_size=8), owner=st.text(HUB_CHARS, max_size=8))
def test_repo_id_rule_is_huggingface_hubs(owner: str, name: str) -> None:
    """An owner/name id is accepted exactly when huggingface_hub's validate_repo_id accepts it."""
    repo_id = f"{owner}/{name}"
    try:
        validate_repo_id(repo_id)
        hub_accepts = repo_id.count("/") == 1  # the Hub also takes a bare name; we want an owner
    except HFValidationError:
        hub_accepts = False
    assert (extension.repo_id_problem(repo_id) == "") == hub_accepts, repo_id


MODEL_PIECES = [
    TINY, "BAAI/bge-small-en-v1.5", ",", ";", " ", "  ", "config.json", "a/b.bin", ",x.json",
    COMMIT, "main", "'", '"', "#", ": ", "- ", "{", "[", "&a", "*a", "!x", "|", "\n", "\t",
    "\u00a0", "\u2028", "\ufeff", "é", "--", "..", ".git", "/", "---",
]  # fmt: skip
MODELS_TEXT = st.one_of(
    st.text(), st.lists(st.one_of(st.text(max_size=3), st.sampled_from(MODEL_PIECES))).map("".join)
)


@settings(max_examples=500, deadline=None)
@given(answer=MODELS_TEXT)
def test_models_answer_is_refused_in_one_line_or_round_trips_the_frontmatter(answer: str) -> None:
    """Any text: refused by the up-front check with one line naming `models`, or the README
    frontmatter reads back exactly the ids and their preload_from_hub lines."""
    try:
        extension.check_answers({"models": answer})
    except UserMessageError as refused:
        lines = str(refused).splitlines()
        assert len(lines) == 1 and lines[0].startswith("models: "), lines
        return
    specs = extension.model_specs(answer)
    frontmatter = (
        extension_jinja()
        .from_string(FRONTMATTER_TEMPLATE)
        .render(**frontmatter_answers(), model_specs=specs)
    )
    data = yaml.safe_load(frontmatter)
    if not specs:
        assert "preload_from_hub" not in data and "startup_duration_timeout" not in data
        return
    ids = [spec["id"] for spec in specs]
    assert data["models"] == ids
    assert [line.split(" ")[0] for line in data["preload_from_hub"]] == ids
    assert data["preload_from_hub"] == [" ".join(item.split()) for item in _items(answer)]
    assert data["startup_duration_timeout"] == "1h"
    for repo_id in ids:
        validate_repo_id(repo_id)


def _items(answer: str) -> list[str]:
    return [item for item in answer.split(";" if ";" in answer else ",")]


def extension_jinja() -> Any:
    import jinja2

    return jinja2.Environment(
        extensions=[extension.AnswerChecks, extension.CodeFilters], undefined=jinja2.StrictUndefined
    )


def frontmatter_answers() -> dict[str, Any]:
    return {
        "project_name": "P",
        "emoji": "🚀",
        "color_from": "blue",
        "color_to": "indigo",
        "short_description": "d",
        "license": "mit",
        "pinned": False,
        "package_name": "app",
    }


# -- renders ---------------------------------------------------------------------------------


def frontmatter_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "README.md").read_text(encoding="utf-8").split("---\n")[1])


def preloaded_in_code(project: Path) -> list[str]:
    """The PRELOADED list of the rendered models.py, read without importing it."""
    tree = ast.parse((project / "app" / "models.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PRELOADED":
            return ast.literal_eval(node.value)
    raise AssertionError("models.py has no PRELOADED")


def test_no_models_changes_nothing(tmp_path: Path) -> None:
    project = render(tmp_path / "space", framework="flask")
    assert not (project / "app" / "models.py").exists()
    assert {"models", "preload_from_hub", "startup_duration_timeout"}.isdisjoint(
        frontmatter_of(project)
    )
    assert "huggingface_hub" not in (project / "requirements.txt").read_text()
    assert "download.pytorch.org" not in (project / "Dockerfile").read_text()
    assert "models" not in (project / "app" / "health.py").read_text()


def test_sentence_transformers_models_render_preload_and_cpu_torch(tmp_path: Path) -> None:
    answer = (
        f"sentence-transformers/all-MiniLM-L6-v2; {TINY} config.json,model.safetensors {COMMIT}"
    )
    project = render(tmp_path / "space", models=answer, model_runtime="sentence_transformers")
    frontmatter = frontmatter_of(project)
    preload = [
        "sentence-transformers/all-MiniLM-L6-v2",
        f"{TINY} config.json,model.safetensors {COMMIT}",
    ]
    assert frontmatter["preload_from_hub"] == preload
    assert frontmatter["models"] == ["sentence-transformers/all-MiniLM-L6-v2", TINY]
    assert frontmatter["startup_duration_timeout"] == "1h"
    assert preloaded_in_code(project) == preload  # the app loads what the build downloads
    requirements = (project / "requirements.txt").read_text().splitlines()
    torch = next(line for line in requirements if line.startswith("torch"))
    assert {"sentence-transformers>=6,<7", "huggingface_hub>=1.3,<3"} <= set(requirements)
    # torch comes from PyTorch's CPU-only index alone (not an extra index anything could come
    # from), before requirements.txt, which then finds it installed.
    dockerfile = (project / "Dockerfile").read_text()
    cpu_torch = (
        "RUN pip install --user --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "
        f'"{torch}"'
    )
    assert cpu_torch in dockerfile.splitlines()
    assert dockerfile.index(cpu_torch) < dockerfile.index("-r requirements.txt")
    instructions = [line for line in [*dockerfile.splitlines(), *requirements] if line[:1] != "#"]
    assert not [line for line in instructions if "--extra-index-url" in line]
    assert "SentenceTransformer(" in (project / "app" / "models.py").read_text()
    for command in (["check"], ["format", "--check"]):
        lint = run(sys.executable, "-m", "ruff", *command, "--no-cache", ".", cwd=project)
        assert lint.returncode == 0, lint.stdout


def test_bad_models_answer_stops_the_cli_in_one_line(tmp_path: Path) -> None:
    destination = tmp_path / "space"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--quiet", "--vcs-ref", "HEAD",
        "--data", "models=gpt2", str(ROOT), str(destination),
    )  # fmt: skip
    assert result.returncode != 0
    assert "models: 'gpt2' is not an owner/name model id" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (destination / "README.md").exists()


# -- the app, for real -----------------------------------------------------------------------

HOOKS = '''"""Stand-in loaders: TINY computes for a while (or fails), as a real load would."""

import json
import os
import time
from pathlib import Path

from .lifecycle import on_shutdown, on_startup  # noqa: F401
from .models import model_loader


@model_loader("acme/tiny-model")
def load_tiny(path: Path) -> dict:
    deadline = time.monotonic() + float(os.environ["TEST_LOAD_SECONDS"])
    while time.monotonic() < deadline:  # pure-Python work: holds the GIL, as parsing weights can
        sum(range(1000))
    if os.environ.get("TEST_LOAD_FAILS"):
        raise RuntimeError("never shown: " + os.environ["TEST_SENTINEL"])
    return json.loads((path / "config.json").read_text())
'''

ROUTES = {
    "fastapi": """

from .models import get_model


@router.get("/tiny")
def tiny() -> dict:
    return get_model("acme/tiny-model")


@router.get("/other")
def other() -> dict:
    return {"path": str(get_model("acme/other-model"))}
""",
    "flask": """

from .models import get_model


@blueprint.get("/tiny")
def tiny() -> Response:
    return jsonify(get_model("acme/tiny-model"))


@blueprint.get("/other")
def other() -> Response:
    return jsonify(path=str(get_model("acme/other-model")))
""",
}


def write_snapshot(hub: Path, repo_id: str, files: dict[str, str], ref: bool = True) -> Path:
    """A model in huggingface_hub's cache layout, as preload_from_hub leaves it: refs/main
    names the commit, unless a commit was asked for (`ref=False`)."""
    storage = hub / f"models--{repo_id.replace('/', '--')}"
    snapshot = storage / "snapshots" / COMMIT
    for name, text in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_text(text)
    if ref:
        (storage / "refs").mkdir(parents=True, exist_ok=True)
        (storage / "refs" / "main").write_text(COMMIT)  # no newline, as huggingface_hub writes it
    return snapshot


@dataclass
class ModelApp:
    project: Path
    python: Path
    home: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0

    def start(self, **environment: str) -> float:
        """Start `python -m app`; seconds until /health/live first answered."""
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            # The cache is read from ~/.cache/huggingface/hub, as the Space's build writes it,
            # whatever these say.
            "HF_HOME": str(self.home / "elsewhere"),
            "HF_HUB_CACHE": str(self.home / "elsewhere" / "hub"),
            "HF_HUB_OFFLINE": "0",
            "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port),
            "TEST_LOAD_SECONDS": str(LOAD_SECONDS),
            "TEST_SENTINEL": SENTINEL,
            **environment,
        }
        self.process, seconds = start_app(self.python, self.project, env, self.log_path, self.port)
        self.started = time.monotonic() - seconds  # when the process was launched
        return seconds

    def get(self, path: str, timeout: float = 10) -> tuple[int, Any, dict[str, str]]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            headers = {name.lower(): value for name, value in response.getheaders()}
            return response.status, json.loads(body or b"null"), headers
        finally:
            connection.close()

    def wait_for_health(self, status: str, within: float) -> dict[str, Any]:
        """The /health body once it says `status` and every model has finished loading: one
        failed model makes the status "error" while the next may still be loading."""
        deadline = time.monotonic() + within
        while True:
            body = self.get("/health")[1]
            models = body.get("models", {}).values()
            if body["status"] == status and all(m["status"] != "starting" for m in models):
                return body
            assert time.monotonic() < deadline, f"/health never {status}: {body}\n{self.log()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, within=20)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module", params=FRAMEWORKS)
def models_project(
    request: pytest.FixtureRequest,
    project_venvs,
    full_project,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Path, Path]]:
    """(framework, project, python): models answered, files runtime (no torch), stand-in
    loaders in hooks.py."""
    framework = request.param
    project = render(
        tmp_path_factory.mktemp(f"models-{framework}") / "space",
        framework=framework,
        models=f"{TINY}, {OTHER}",
        model_runtime="files",
    )
    (project / "app" / "hooks.py").write_text(HOOKS)
    with (project / "app" / "api.py").open("a") as api:
        api.write(ROUTES[framework])
    # The session's venv of the every-service render (shared with the readiness and chat tests):
    # it has huggingface_hub, from requirements-dev.txt, which is all models.py needs here.
    yield framework, project, project_venvs.python_for(full_project(framework))


@pytest.mark.slow
def test_server_answers_while_models_load_then_reports_them_ready(
    models_project: tuple[str, Path, Path], tmp_path: Path
) -> None:
    _, project, python = models_project
    hub = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    write_snapshot(hub, TINY, {"config.json": json.dumps({"dimensions": 3})})
    other = write_snapshot(hub, OTHER, {"weights.bin": "0"})
    app = ModelApp(project, python, tmp_path / "home", tmp_path / "app.log")
    try:
        app.start()
        # Live before the loader is done: it was not loaded before the server bound.
        status, body, _ = app.get("/health")
        assert (status, body["status"], body["models"][TINY]["status"]) == (
            503,
            "starting",
            "starting",
        )
        status, body, headers = app.get("/api/tiny")
        assert (
            status == 503 and "still loading" in body["detail"] and headers["retry-after"] == "10"
        )
        # Liveness keeps answering at once while the loader holds the CPU.
        slowest = 0.0
        while app.get("/health")[1]["models"][TINY]["status"] == "starting":
            began = time.monotonic()
            assert app.get("/health/live", timeout=5)[0] == 200
            slowest = max(slowest, time.monotonic() - began)
            time.sleep(0.1)
        assert slowest < LIVE_WITHIN, f"/health/live took {slowest:.2f} s during a load"
        assert time.monotonic() - app.started >= LOAD_SECONDS
        body = app.wait_for_health("ok", within=30)
        assert body["models"] == {
            TINY: {"status": "ok", "detail": None},
            OTHER: {"status": "ok", "detail": None},
        }
        assert app.get("/health")[0] == 200
        assert app.get("/api/tiny")[1] == {"dimensions": 3}
        assert app.get("/api/other")[1] == {"path": str(other)}  # files runtime: the folder
    finally:
        app.stop()


@pytest.mark.slow
def test_failed_loads_report_the_class_never_the_message(
    models_project: tuple[str, Path, Path], tmp_path: Path
) -> None:
    _, project, python = models_project
    hub = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    write_snapshot(hub, TINY, {"config.json": "{}"})  # OTHER was never downloaded
    app = ModelApp(project, python, tmp_path / "home", tmp_path / "app.log")
    try:
        app.start(TEST_LOAD_SECONDS="0.5", TEST_LOAD_FAILS="1")
        body = app.wait_for_health("error", within=30)
        assert app.get("/health")[0] == 503
        assert body["models"][TINY] == {"status": "error", "detail": "unavailable (RuntimeError)"}
        assert body["models"][OTHER]["status"] == "error"
        assert "LocalEntryNotFoundError" in body["models"][OTHER]["detail"]
        status, reply, _ = app.get("/api/tiny")
        assert status == 503 and "RuntimeError" in reply["detail"]
        assert SENTINEL not in json.dumps(body) + json.dumps(reply)
    finally:
        app.stop()
    assert SENTINEL not in app.log()
    assert f"model {TINY} failed to load: unavailable (RuntimeError)" in app.log()


@pytest.mark.slow
def test_generated_readiness_tests_pass_with_models(models_project: tuple[str, Path, Path]) -> None:
    """The project's own readiness tests account for models (here: not in the cache)."""
    _, project, python = models_project
    pytest_args = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_health.py")
    result = run(python, *pytest_args, cwd=project, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_sentence_transformers_runtime_makes_a_cpu_model_from_the_cached_folder(
    models_project: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """The default loader of the sentence_transformers runtime, with a stand-in module for the
    library (the suite installs no torch): it gets the snapshot folder, on the CPU, offline.
    The model names its files and a commit, so the cache has no refs/main to go by."""
    framework, _, python = models_project
    project = render(
        tmp_path / "space",
        framework=framework,
        models=f"{TINY} modules.json {COMMIT}",
        model_runtime="sentence_transformers",
    )
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "sentence_transformers.py").write_text(
        "class SentenceTransformer:\n"
        "    def __init__(self, path, **options):\n"
        "        self.made_from = (path, options)\n"
    )
    hub = tmp_path / "home" / ".cache" / "huggingface" / "hub"
    snapshot = write_snapshot(hub, TINY, {"modules.json": "[]"}, ref=False)
    script = (
        "import time\n"
        "from app import models\n"
        "models.start_loading()\n"
        "while models.model_states()['acme/tiny-model']['status'] == 'starting':\n"
        "    time.sleep(0.05)\n"
        "print(models.model_states())\n"
        "print(repr(models.get_model('acme/tiny-model').made_from))\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "PYTHONPATH": str(stub)}
    result = run(python, "-c", script, cwd=project, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    states, made_from = result.stdout.splitlines()
    assert "'ok'" in states
    assert ast.literal_eval(made_from) == (
        str(snapshot),
        {"device": "cpu", "local_files_only": True},
    )

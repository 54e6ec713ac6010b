"""Preview Spaces (`preview_spaces`): the generated `preview.yml` and `hf-space preview`.

The workflow is linted (zizmor regular and pedantic, GitHub's schema), its job conditions are
evaluated for each pull-request event (a fork never gets a job that holds a secret), and its
deploy and delete steps' shell runs with bash, as GitHub runs it, against the Hub stand-in:
a private `<space>-pr-<number>` Space with the values PREVIEW_ENV holds, one comment body in
the step's outputs, and only that Space deleted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from standins.hub import HubStandIn
from support import ProjectVenvs, render
from test_deploy import HEALTH, NEVER_SHOWN, SECRETS, VARIABLES, env_text
from workflow_tools import assert_workflow_lints_clean, hub_step_env, load_workflow, tool

OWNER, NAME = "standin-user", "preview-demo"
SPACE = f"{OWNER}/{NAME}"
PREVIEW = f"{SPACE}-pr-7"
SERVICES = ["neon", "redis", "groq"]  # as test_deploy.py: the same project virtualenv
REPOSITORY = "someone/app"  # the GitHub repository the workflow runs in
MARKER = f"<!-- hf-space-preview: {SPACE} -->"  # one per Space: a monorepo may have two


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("preview") / "space"
    return render(
        destination, services=SERVICES, hf_owner=OWNER, space_name=NAME, preview_spaces=True
    )


@pytest.fixture(scope="module")
def path(project: Path) -> Path:
    return project / ".github" / "workflows" / "preview.yml"


@pytest.fixture(scope="module")
def workflow(path: Path) -> dict[str, Any]:
    return load_workflow(path)


@pytest.fixture(scope="module")
def python(project: Path, project_venvs: ProjectVenvs) -> Path:
    return project_venvs.python_for(project)


def test_off_by_default(tmp_path: Path) -> None:
    plain = render(tmp_path / "plain")
    assert not (plain / ".github" / "workflows" / "preview.yml").exists()


def test_zizmor_and_githubs_schema_find_nothing(path: Path) -> None:
    assert_workflow_lints_clean(path)


# -- who gets what: the job conditions, evaluated per event -----------------------------------


def lookup(context: dict[str, Any], path: str) -> Any:
    """`github.event.pull_request.labels.*.name` read as GitHub's expressions read it."""
    value: Any = context
    for part in path.split("."):
        if part == "*":
            value = list(value or [])
        elif isinstance(value, list):
            value = [item.get(part) for item in value]
        else:
            value = (value or {}).get(part)
    return value


def evaluate(condition: str, context: dict[str, Any]) -> bool:
    """A job's `if`, for the few operators it uses: ==, !=, &&, ||, (), contains()."""
    text = condition.strip().removeprefix("${{").removesuffix("}}")
    text = re.sub(r"\b(?:github|needs)(?:\.[\w*-]+)+", lambda m: f"get({m[0]!r})", text)
    text = text.replace("!cancelled()", "True").replace("&&", " and ").replace("||", " or ")
    assert "!" not in text.replace("!=", ""), text  # an operator this reader does not know
    found = {"get": lambda p: lookup(context, p), "contains": lambda seq, x: x in (seq or [])}
    return bool(eval(text, found))  # the condition is the rendered file's, not input


def event(
    action: str, labels: list[str], label: str | None = None, fork: bool = False, state: str = ""
) -> dict:
    head = "stranger/app" if fork else REPOSITORY
    pull_request = {
        "number": 7,
        "state": state or ("closed" if action == "closed" else "open"),
        "head": {"repo": {"full_name": head}},
        "labels": [{"name": name} for name in labels],
    }
    github = {"repository": REPOSITORY, "event_name": "pull_request"}
    github["event"] = {"action": action, "pull_request": pull_request}
    if label:
        github["event"]["label"] = {"name": label}
    return {"github": github}


EVENTS = [  # (action, labels after it, label added or removed, fork[, state]) -> jobs that run
    (("labeled", ["preview"], "preview", False), {"deploy"}),
    (("labeled", ["preview", "bug"], "bug", False), set()),  # another label: no redeploy
    (("opened", ["preview"], None, False), {"deploy"}),
    (("synchronize", ["preview"], None, False), {"deploy"}),
    (("synchronize", [], None, False), set()),
    (("unlabeled", [], "preview", False), {"delete"}),
    (("unlabeled", ["preview"], "bug", False), set()),
    (("closed", ["preview"], None, False), {"delete"}),
    (("closed", [], None, False), set()),
    # Labelled after it closed: no Space that nothing would delete.
    (("labeled", ["preview"], "preview", False, "closed"), set()),
    # A fork's pull request: nothing that holds HF_TOKEN or PREVIEW_ENV runs, label or not.
    (("labeled", ["preview"], "preview", True), set()),
    (("synchronize", ["preview"], None, True), set()),
    (("closed", ["preview"], None, True), set()),
]


@pytest.mark.parametrize(
    ("given", "expected"), EVENTS, ids=[" ".join(map(str, e[0])) for e in EVENTS]
)
def test_each_event_runs_the_jobs_it_should(
    workflow: dict[str, Any], given: tuple, expected: set[str]
) -> None:
    context = event(*given)
    jobs = workflow["jobs"]
    ran = {name for name in ("deploy", "delete") if evaluate(jobs[name]["if"], context)}
    assert ran == expected
    outputs = {name: {"comment": "x" if name in ran else ""} for name in ("deploy", "delete")}
    commented = evaluate(jobs["comment"]["if"], {**context, "needs": {
        name: {"outputs": value} for name, value in outputs.items()}})  # fmt: skip
    assert commented == bool(ran)


def test_triggers_permissions_and_where_the_secrets_go(workflow: dict[str, Any]) -> None:
    assert workflow["on"] == {
        "pull_request": {
            "types": ["opened", "reopened", "synchronize", "labeled", "unlabeled", "closed"]
        }
    }  # never pull_request_target: a fork's code would run with the secrets
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert set(jobs) == {"deploy", "delete", "comment"}
    for name in ("deploy", "delete"):
        job = jobs[name]
        assert "permissions" not in job  # contents: read, nothing that writes to GitHub
        assert job["concurrency"] == {
            "group": "preview-${{ github.event.pull_request.number }}",
            "cancel-in-progress": False,
        }
        checkout = job["steps"][0]
        assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
        assert checkout["with"]["persist-credentials"] is False
    comment = jobs["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert comment["needs"] == ["deploy", "delete"]
    assert [step.get("uses") for step in comment["steps"]] == [None]  # no code checked out
    text = str(comment)
    assert "secrets." not in text
    finds = comment["steps"][0]["run"]  # the comment it edits: the bot's, for this Space
    assert f'select(.user.login == "github-actions[bot]" and (.body | startswith("{MARKER}")))' in (
        finds
    )
    deploy_env = step_named(jobs["deploy"], "Deploy")["env"]
    assert deploy_env["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    assert deploy_env["PREVIEW_ENV"] == "${{ secrets.PREVIEW_ENV }}"
    assert set(step_named(jobs["delete"], "Delete")["env"]) == {"HF_TOKEN", "PR"}


def step_named(job: dict[str, Any], name: str) -> dict[str, Any]:
    (step,) = [step for step in job["steps"] if step.get("name") == name]
    return step


# -- the deploy and delete steps, run as GitHub runs them -------------------------------------


def run_step(
    workflow: dict[str, Any],
    job: str,
    step: str,
    project: Path,
    python: Path,
    hub: HubStandIn,
    pr: int = 7,
    **overrides: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """The step's shell with bash in its working-directory, as GitHub gives it its env;
    returns the run and the step's outputs ($GITHUB_OUTPUT, parsed)."""
    run = step_named(workflow["jobs"][job], step)["run"]
    temp = project.parent / "runner"
    temp.mkdir(exist_ok=True)
    output = temp / f"output-{job}-{pr}"
    output.write_text("")
    env = {
        **hub_step_env(python, temp, hub),
        "PREVIEW_ENV": env_text({**SECRETS, **VARIABLES}).strip(),  # secrets.PREVIEW_ENV
        "PR": str(pr),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_RUN_ID": "4242",
        "DEPLOY_POLL_INTERVAL": "0.02",
        **overrides,
    }
    here = project / workflow["jobs"][job]["defaults"]["run"]["working-directory"]
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
        cwd=here, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    outputs = parse_outputs(output.read_text())
    for secret in [*NEVER_SHOWN, hub.token]:
        assert secret not in out and secret not in str(outputs), f"a secret was shown:\n{out}"
    return result, outputs


def parse_outputs(text: str) -> dict[str, str]:
    """GitHub's `name<<DELIMITER` ... `DELIMITER` blocks."""
    found = {}
    for name, delimiter, value in re.findall(r"^(\w+)<<(\S+)\n(.*?)\n\2$", text, re.S | re.M):
        assert len(delimiter) > 20  # random: a value cannot end its block early
        found[name] = value
    return found


def test_deploy_makes_a_private_preview_with_the_values_and_one_comment(
    workflow: dict[str, Any], project: Path, python: Path
) -> None:
    with HubStandIn(stages=["BUILDING", "RUNNING"], health_body=HEALTH) as hub:
        hub.add_repo(SPACE, files={"Dockerfile": b"FROM production\n"})
        result, outputs = run_step(workflow, "deploy", "Deploy", project, python, hub)
        assert result.returncode == 0, result.stdout + result.stderr
        preview = hub.created[PREVIEW]
        assert preview.private and preview.sdk == "docker"
        assert preview.secrets == SECRETS and preview.variable_values == VARIABLES
        assert "Dockerfile" in preview.files and "requirements-dev.txt" in preview.files
        assert hub.repo(SPACE).files == {"Dockerfile": b"FROM production\n"}  # untouched
        # The private Space's /health answered 200 to the token sent to its own host only.
        assert {auth for _, auth in hub.space_authorizations} == {f"Bearer {hub.token}"}
        comment = outputs["comment"]
        assert comment.startswith(MARKER)
        assert f"[{PREVIEW}]({hub.url}/spaces/{PREVIEW}) (private)" in comment
        assert f"App: {hub.space_url}" in comment and "`GET /health`: 200" in comment
        assert re.search(r"neon\s+ok\s+12 ms", comment)
        assert outputs["url"] == f"{hub.url}/spaces/{PREVIEW}"
        assert "failed" not in comment

        commits = len(hub.commits)  # a push to the pull request: the same Space, updated
        (project / "NEW.txt").write_text("the next push\n")
        try:
            again, _ = run_step(workflow, "deploy", "Deploy", project, python, hub)
        finally:
            (project / "NEW.txt").unlink()
        assert again.returncode == 0, again.stdout + again.stderr
        assert len(hub.commits) == commits + 1 and "NEW.txt" in hub.repo(PREVIEW).files
        assert list(hub.created) == [PREVIEW]


def test_a_failed_preview_says_so_in_the_comment_and_is_not_rolled_back(
    workflow: dict[str, Any], project: Path, python: Path
) -> None:
    with HubStandIn(stages=["BUILDING", "BUILD_ERROR"], health_body=HEALTH) as hub:
        result, outputs = run_step(workflow, "deploy", "Deploy", project, python, hub)
        assert result.returncode == 1
        assert "BUILD_ERROR" in result.stderr and "--no-rollback" in result.stderr
        comment = outputs["comment"]
        assert comment.startswith(MARKER)
        run = "https://github.com/someone/app/actions/runs/4242"
        assert f"The deploy failed (exit 1): see {run}." in comment


def test_an_existing_public_space_of_that_name_gets_nothing(
    workflow: dict[str, Any], project: Path, python: Path
) -> None:
    with HubStandIn(stages=["RUNNING"], health_body=HEALTH) as hub:
        hub.add_repo(PREVIEW, private=False)
        result, outputs = run_step(workflow, "deploy", "Deploy", project, python, hub)
        assert result.returncode == 1
        assert f"{PREVIEW} exists and is public" in result.stderr
        assert hub.repo(PREVIEW).secrets == {} and hub.commits == []
        assert [method for method, _ in hub.calls() if method != "GET"] == []
        # The pull request is told, not only the run's log.
        assert outputs["comment"].startswith(f"{MARKER}\n### Preview Space {PREVIEW}: {PREVIEW} ")
        assert "exists and is public: make it private" in outputs["comment"]


def test_a_missing_token_is_one_line_in_the_log_and_the_comment(
    workflow: dict[str, Any], project: Path, python: Path
) -> None:
    with HubStandIn() as hub:
        result, outputs = run_step(workflow, "deploy", "Deploy", project, python, hub, HF_TOKEN="")
        assert result.returncode == 1 and hub.requests == []
        assert result.stderr == "error: no Hugging Face token: set the repository secret HF_TOKEN\n"
        assert outputs["comment"].endswith(
            ": no Hugging Face token: set the repository secret HF_TOKEN"
        )


def test_delete_removes_that_pull_requests_space_only(
    workflow: dict[str, Any], project: Path, python: Path
) -> None:
    with HubStandIn() as hub:
        for space in (SPACE, PREVIEW, f"{SPACE}-pr-8", f"{SPACE}-pr-70"):
            hub.add_repo(space, private=space != SPACE)
        result, outputs = run_step(workflow, "delete", "Delete", project, python, hub)
        assert result.returncode == 0, result.stdout + result.stderr
        assert set(hub.repos) == {SPACE, f"{SPACE}-pr-8", f"{SPACE}-pr-70"}
        assert outputs["comment"] == f"{MARKER}\n### Preview Space {PREVIEW}: deleted"
        again, _ = run_step(workflow, "delete", "Delete", project, python, hub)  # closed after
        assert again.returncode == 0 and "nothing to delete" in again.stdout  # unlabeling
        assert set(hub.repos) == {SPACE, f"{SPACE}-pr-8", f"{SPACE}-pr-70"}


def preview_id(project: Path, python: Path, space: str, number: int) -> str:
    code = (
        "import sys; from hf_space_tools.preview import preview_id as p; print(p(sys.argv[1], 7))"
    )
    result = subprocess.run(
        [python, "-c", code.replace("7", str(number)), space],
        cwd=project, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def test_a_long_name_is_shortened_to_fit_the_spaces_host_name(project: Path, python: Path) -> None:
    assert preview_id(project, python, SPACE, 7) == PREVIEW
    owner, name = "an-org", "a" * 50 + "-b" * 4  # an-org-aaa…-b-b-b-b: 63 characters
    long = preview_id(project, python, f"{owner}/{name}", 12345)
    assert long.endswith("-pr-12345") and len(long.replace("/", "-")) <= 63
    assert long.startswith(f"{owner}/aaaa") and "--" not in long


# -- the comment step, with a stand-in for the gh CLI and GitHub's comments API ----------------

FAKE_GH = """
import json, os, subprocess, sys
from pathlib import Path

state_file = Path(os.environ["FAKE_GH_STATE"])
state = json.loads(state_file.read_text())
args, method, jq, fields, path = sys.argv[2:], "GET", None, {}, None
while args:  # gh api [--paginate] [--method M] PATH [--jq FILTER] [-f key=value]
    flag = args.pop(0)
    if flag == "--method":
        method = args.pop(0)
    elif flag == "--jq":
        jq = args.pop(0)
    elif flag == "-f":
        key, value = args.pop(0).split("=", 1)
        fields[key] = value
    elif flag != "--paginate":
        path = flag
state["calls"].append([method, path])
issue = f"repos/{os.environ['GH_REPO']}/issues/"
if sys.argv[1] != "api" or not os.environ.get("GH_TOKEN"):
    sys.exit("gh: only `gh api`, with GH_TOKEN")
if (method, path) == ("GET", f"{issue}{os.environ['PR']}/comments"):
    result = state["comments"]
elif (method, path) == ("POST", f"{issue}{os.environ['PR']}/comments"):
    result = {"id": 100 + len(state["comments"]), "user": {"login": "github-actions[bot]"}}
    state["comments"].append({**result, "body": fields["body"]})
elif method == "PATCH" and path.startswith(f"{issue}comments/"):
    (result,) = [c for c in state["comments"] if str(c["id"]) == path.rsplit("/", 1)[1]]
    result["body"] = fields["body"]
else:
    sys.exit(f"gh: {method} {path}: not a route of this stand-in")
state_file.write_text(json.dumps(state))
text = json.dumps(result)
print(subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True)
      .stdout if jq else text, end="")
"""


def test_the_comment_step_keeps_one_comment_per_space_and_edits_only_its_own(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    tool("jq")  # gh's --jq filter is read with jq here; missing: fails under CI, else skips
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH}")
    gh.chmod(0o755)
    state = tmp_path / "state.json"
    others = [  # a person's comment quoting the marker, another Space's preview comment
        {"id": 1, "user": {"login": "mallory"}, "body": f"{MARKER}\nhttps://evil.example"},
        {
            "id": 2,
            "user": {"login": "github-actions[bot]"},
            "body": "<!-- hf-space-preview: o/x -->",
        },
    ]
    state.write_text(json.dumps({"comments": others, "calls": []}))
    run = step_named(workflow["jobs"]["comment"], "Create or update the preview comment")["run"]
    for body in (f"{MARKER}\nfirst", f"{MARKER}\nsecond"):
        env = {
            "PATH": f"{gh.parent}{os.pathsep}{os.environ['PATH']}",
            "GH_TOKEN": "ghs_standin", "GH_REPO": REPOSITORY, "PR": "7", "BODY": body,
            "FAKE_GH_STATE": str(state),
        }  # fmt: skip
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", run],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    final = json.loads(state.read_text())
    assert final["comments"] == [
        *others,
        {"id": 102, "user": {"login": "github-actions[bot]"}, "body": f"{MARKER}\nsecond"},
    ]
    writes = [call for call in final["calls"] if call[0] != "GET"]
    assert writes == [
        ["POST", f"repos/{REPOSITORY}/issues/7/comments"],
        ["PATCH", f"repos/{REPOSITORY}/issues/comments/102"],
    ]

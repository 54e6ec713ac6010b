# Part of hf-space-tools, which the Space's requirements-dev.txt installs from the template.
"""Preview Spaces for pull requests; .github/workflows/preview.yml runs this.

  hf-space preview deploy --pr 7 --env-file FILE   deploy to OWNER/NAME-pr-7
  hf-space preview delete --pr 7                   delete OWNER/NAME-pr-7

`deploy` runs the deploy (deploy.py) on the preview Space: created private, with the secrets and
variables FILE holds for the names the app reads, and never rolled back (a preview shows the
pull request as it is). A preview Space that exists and is public is refused before anything
is sent. `delete` removes the preview Space of that pull request only; one already gone is
fine. With --github-output FILE, both append `comment` to FILE as GitHub's step outputs read
it: the text of the pull request's one preview comment (the Space, its URL, /health); deploy
also appends `url`, the Space's page.
Exit status: deploy.py's for deploy, 0 for delete once the Space is gone, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from . import deploy
from .watch import DeployError, get_health, service_line

MARKER = "<!-- hf-space-preview: {} -->"  # the workflow edits the one comment starting so
HOST_LABEL = 63  # `<owner>-<name>` is the first label of the Space's host name


def preview_id(space_id: str, number: int) -> str:
    """OWNER/NAME-pr-N, NAME shortened so that the Space's host name still fits."""
    owner, name = space_id.split("/")
    suffix = f"-pr-{number}"
    room = min(96, HOST_LABEL - len(owner) - 1) - len(suffix)
    base = name[: max(room, 0)].rstrip("-._")
    if not base:
        raise DeployError(f"{owner}/...{suffix} cannot fit a Space's 63-character host name")
    return f"{owner}/{base}{suffix}"


def hub() -> tuple[Any, str]:
    from huggingface_hub import HfApi, get_token

    token = get_token()
    if not token:
        raise DeployError("no Hugging Face token: set the repository secret HF_TOKEN")
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token), token


def info_of(api: Any, space: str) -> Any:
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        return api.space_info(space)
    except RepositoryNotFoundError:
        return None


def deploy_preview(args: argparse.Namespace, space: str, say: Any) -> tuple[int, dict[str, str]]:
    api, token = hub()
    say.secrets.append(token)
    info = info_of(api, space)
    if info is not None and not info.private:  # a preview runs with the repo's secrets
        raise DeployError(f"{space} exists and is public: make it private in its Settings, "
                          "or delete it, and rerun; nothing was sent")  # fmt: skip
    code = deploy.main(["--space", space, "--private", "--no-rollback", "--timeout",
                        str(args.timeout), "--env-file", str(args.env_file)])  # fmt: skip
    info, page = info_of(api, space), f"{api.endpoint}/spaces/{space}"
    lines = [f"{args.marker}\n### Preview Space: [{space}]({page}) (private)"]
    if info is not None and info.host:
        url = info.host if "://" in info.host else f"https://{info.host}"
        status, body = get_health(f"{url}/health", token)  # the Hub's own host for the Space
        services = body.get("services") or {} if isinstance(body, dict) else {}
        lines += [f"App: {url}", f"`GET /health`: {status or 'unreachable'}", "```text"]
        lines += [service_line(n, r).replace("`", "'") for n, r in services.items()] + ["```"]
    if code:
        run = "{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}"
        where = run.format(**os.environ) if "GITHUB_RUN_ID" in os.environ else "its log"
        lines.append(f"The deploy failed (exit {code}): see {where}.")
    lines.append("Deleted when this pull request closes or loses the `preview` label.")
    return code, {"comment": say.mask("\n".join(lines), say.secrets), "url": page}


def delete_preview(args: argparse.Namespace, space: str, say: Any) -> tuple[int, dict[str, str]]:
    from huggingface_hub.errors import RepositoryNotFoundError

    api, _ = hub()
    try:
        api.delete_repo(space, repo_type="space")
        say(f"deleted  {space}", 0)
    except RepositoryNotFoundError:
        say(f"gone     {space}: nothing to delete", 0)
    return 0, {"comment": f"{args.marker}\n### Preview Space {space}: deleted"}


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # each line as it happens, in CI logs too
    parser = argparse.ArgumentParser(
        "hf-space preview", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("command", choices=("deploy", "delete"))
    parser.add_argument("--pr", type=int, required=True, help="the pull request's number")
    parser.add_argument("--env-file", type=Path, help="deploy: the preview's values, as .env")
    parser.add_argument("--timeout", type=float, default=1500.0, help="deploy.py's --timeout")
    parser.add_argument("--github-output", type=Path, help="append the comment here")
    args = parser.parse_args(argv)
    if args.pr < 1:
        parser.error(f"--pr {args.pr}: a pull request's number is 1 or more")
    if args.command == "deploy" and not (args.env_file and args.env_file.is_file()):
        parser.error("deploy needs --env-file: a file of the preview's values, as .env holds")
    say, args.marker = deploy.Report(), None
    try:
        _, table, app = deploy.load_app(say)
        space_id = table["space-id"]
        space, args.marker = preview_id(space_id, args.pr), MARKER.format(space_id)
        if args.command == "deploy":
            say.secrets += list(deploy.Config(app, args.env_file.absolute()).never_upload)
            code, outputs = deploy_preview(args, space, say)
        else:
            code, outputs = delete_preview(args, space, say)
    except Exception as error:  # one line, masked, never a traceback: it could quote a secret
        kind = "" if isinstance(error, DeployError) else f"{type(error).__name__}: "
        problem = say.mask(kind + " ".join(str(error).split()), say.secrets)
        say(f"error: {problem}", 0, sys.stderr)
        code, outputs = 1, {}
        if args.marker:  # the pull request hears of it too, not only the run's log
            outputs["comment"] = f"{args.marker}\n### Preview Space {space}: {problem}"
    if args.github_output:  # a random delimiter: no text in a value can end it early
        delimiter = f"EOF_{secrets.token_hex(16)}"
        with args.github_output.open("a", encoding="utf-8") as output:
            for name, value in outputs.items():
                output.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return code

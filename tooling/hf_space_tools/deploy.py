# Part of hf-space-tools, which the Space's requirements-dev.txt installs from the template.
"""Deploy this repo to its Hugging Face Docker Space in six steps, each reported as it happens.

  hf-space             all six steps (also: hf-space deploy)
  hf-space check       step 1 only; sends nothing
  hf-space --dry-run   steps 1 to 4 as a plan: reads the Space, writes nothing
  hf-space status      the Space's stage, commits, /health and drift; exit 1: to do
  hf-space rollback    put the `last-good` tree back, in one new commit
  hf-space local       run the image here the way a Space runs it (hf-space local --help)

1. check: read .env (or --env-file) and the environment, which wins; validate every variable
   with the app's Settings (settings.py, where your own fields go). Missing and malformed
   values are named, never shown, and stop the deploy before anything is sent.
2. space: create the Docker Space, with its secrets and variables, if it does not exist
   (--private, --hardware); the Hub's refusal for lack of a paid plan (402, 403) is explained.
3. secrets and variables: a SecretStr field becomes a Secret, any other a public Variable; only
   what changed is sent. --prune removes only names the template once declared that this app
   no longer reads; other names on the Space are not this app's and are kept.
4. upload: in one commit, the files git would not ignore, never env files, private keys,
   credentials or caches (upload_plan.py); nothing is sent while a file is 10 MiB or
   more, holds a secret's value in any usual encoding, or is a symlink leading out of the repo.
5. build: wait for the Space to run (--timeout) with stage changes and the build log; on an
   error, the log's last lines and the likely cause.
6. health: GET /health until it answers 200 or --timeout (from step 5) runs out, one line per
   service. On 200 the commit is tagged `last-good`; when step 5 or 6 fails, that tree goes back
   in one new commit (release.py), exit 1 all the same; --no-rollback keeps it.

--code-only (the GitHub sync workflow) skips step 3, keeping the Space's secrets and variables.
The token (write access) comes from HF_TOKEN, `hf auth login` or GitHub OIDC (HF_OIDC_RESOURCE).
Exit status: 0 when /health answers 200, 1 on any failure, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import project_root, release  # release: steps 5 and 6, rollback, status
from .watch import DeployError

PLAN = (
    "Since July 2026 a Docker Space needs a paid plan: PRO for a user "
    "(https://huggingface.co/subscribe/pro), Team or Enterprise for an organization; a 403 may "
    "also mean the token may not create repos there. Subscribe, or deploy under an account "
    "that has one (--space OWNER/NAME)."
)


class Report:
    """Prints the report's lines, every secret masked by the app's own logs.mask."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.mask: Any = lambda text, secrets: text  # until the app is loaded

    def __call__(self, text: str, indent: int = 6, stream: Any = None) -> None:
        print(self.mask(" " * indent + text, self.secrets), file=stream or sys.stdout)


def load_app(say: Report) -> tuple[Path, dict[str, Any], Any]:
    """The Space repo, its [tool.hf-space] table and `<package>.variables`."""
    try:
        root, table = project_root()  # NotASpace names the folder and the fix
        package = table["package"]
        sys.path.insert(0, str(root))  # the app's package, as `python -m` from the repo finds it
        say.mask = importlib.import_module(f"{package}.logs").mask
        return root, table, importlib.import_module(f"{package}.variables")
    except (ImportError, OSError, ValueError, LookupError, TypeError) as error:
        hint = "pyproject.toml's [tool.hf-space] names space-id and package"
        raise DeployError(
            f"cannot load the app ({error}): {hint}; pip install -r requirements-dev.txt"
        ) from None


class Config:
    """What step 1 found: the values set, how each is sent, and the text no file may hold."""

    def __init__(self, app: Any, env_file: Path) -> None:
        from dotenv import dotenv_values  # what pydantic-settings reads .env with

        found: dict[str, str] = {}  # names are case-insensitive, the environment wins
        for source in (dotenv_values(env_file) if env_file.is_file() else {}, os.environ):
            found |= {name.lower(): value for name, value in source.items() if value}
        self.values: dict[str, str] = {}
        self.secrets, self.variables, self.local = [], [], []
        self.never_upload: dict[str, str] = {}  # secret text -> the variable holding it
        for var in app.env_vars():  # sent under the name .env uses, one of the field's aliases
            name = next((n for n in var.names if n.lower() in found), None)
            if name is None:
                continue
            self.values[name] = value = found[name.lower()]
            kind = self.secrets if var.secret else self.variables
            (kind if var.on_space else self.local).append(name)
            if var.secret:
                self.never_upload |= dict.fromkeys(app.secret_parts(value), name)
        read = {name.lower() for var in app.env_vars() for name in var.names}
        self.unread = {name.upper() for name in found.keys() - read}  # set, but nothing reads it


def check(args: argparse.Namespace, app: Any, say: Report) -> Config:
    """Step 1: every problem at once; raises DeployError before anything is sent."""
    env_file = args.env_file
    shown = env_file.relative_to(args.root) if env_file.is_relative_to(args.root) else env_file
    say(f"[1/6] check: {shown} {'and' if env_file.is_file() else 'not found;'} the environment", 0)
    config = Config(app, env_file)
    say.secrets += list(config.never_upload)
    for name in config.local:
        say(f"skip     {name}: local only, never set on the Space")
    for name in sorted(config.unread & args.template_variables):  # e.g. a part left unrendered
        say(f"warning  {name} is set, but this Space's answers leave out what reads it, so it is "
            "neither checked nor sent (copier update --data turns that part on)")  # fmt: skip
    try:
        settings = app.load_settings(str(env_file) if env_file.is_file() else None)
        problems = [p for p in services(app, settings, config, say) if not args.code_only]
    except app.ConfigError as error:  # malformed values, each named
        problems = [line.strip() for line in str(error).splitlines()[1:]] or [str(error)]
    for problem in problems:
        say(f"problem  {problem}")
    if problems:
        raise DeployError(f"{len(problems)} problem(s); nothing was sent. Fix them in {shown} "
                          "(SECRETS.md says where each value comes from), then rerun.")  # fmt: skip
    say(f"ok       {len(config.secrets)} secret(s), {len(config.variables)} variable(s)")
    return config


def services(app: Any, settings: Any, config: Config, say: Report) -> list[str]:
    """What each service still needs; warnings about ports and CORS."""
    problems = []
    for service in app.SERVICE_VARIABLE_SETS:
        if todo := app.unconfigured(settings, service):
            problems.append(f"{service} is not configured: {todo}")
        else:
            names = [n for v in app.env_vars() if v.service == service for n in v.names]
            say(f"ok       {service}: {', '.join(n for n in names if n in config.values)}")
    for name, port in app.blocked_endpoints(settings).items():
        ports = ", ".join(map(str, app.SPACE_OUTBOUND_PORTS))
        say(f"warning  {name} uses port {port}, but a Space connects out only on ports {ports}: "
            f"{app.space_fix(name)}")  # fmt: skip
    local = {"localhost", "127.0.0.1"}
    if {urlsplit(origin).hostname for origin in settings.cors_origins} <= local:
        say("warning  CORS_ORIGINS holds only local origins: add your frontend's exact origin")
    return problems


def status_of(error: Exception) -> int | None:
    return getattr(getattr(error, "response", None), "status_code", None)


class Deploy(release.Release):
    def __init__(self, args: argparse.Namespace, app: Any, say: Report) -> None:
        self.args, self.app, self.space, self.dry = args, app, args.space, args.dry_run
        self.say = say
        self.url, self.host = (args.space_url or "").rstrip("/"), ""

    def run(self) -> int:
        say, command = self.say, self.args.command
        if command in ("status", "rollback"):  # report or undo: no step 1 gate
            config = Config(self.app, self.args.env_file)
        else:
            config = check(self.args, self.app, say)
        if command == "check":
            say(f"secrets:   {', '.join(config.secrets) or 'none'}", indent=0)
            say(f"variables: {', '.join(config.variables) or 'none'}", indent=0)
            return 0
        import httpx2
        from huggingface_hub import HfApi, get_token
        from huggingface_hub.utils import get_session, logging

        get_session().timeout = httpx2.Timeout(60.0)  # the shared client never times out
        logging.set_verbosity_error()
        token = get_token()  # HF_OIDC_RESOURCE, HF_TOKEN, then the login of `hf auth login`
        if token:
            say.secrets.append(token)
            config.never_upload[token] = "your Hugging Face token"
        from . import upload_plan  # pathspec: loaded only when there is something to plan

        plan = upload_plan.plan_files(
            self.args.root, self.args.env_file.resolve(), config.never_upload
        )
        if plan.refused and command == "deploy":
            raise DeployError("nothing was sent; these files must not leave this machine:\n  "
                              + "\n  ".join(plan.refused))  # fmt: skip
        if not token and not self.dry:
            raise DeployError("no Hugging Face token: set HF_TOKEN to a write token "
                              "(https://huggingface.co/settings/tokens) or run `hf auth login`. "
                              "Nothing was sent.")  # fmt: skip
        self.api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
        try:
            return self.act(command, config, plan, token)
        except httpx2.TransportError as error:  # refused, unknown host, timeout: say where
            reason = " ".join(str(error).split()) or type(error).__name__
            raise DeployError(f"cannot reach the Hub at {self.api.endpoint}: {reason}") from None
        except (OSError, httpx2.HTTPError) as error:  # one line: status, URL, what the Hub said
            raise DeployError(" ".join(str(error).split())) from None

    def act(self, command: str, config: Config, plan: Any, token: str | None) -> int:
        if command == "status":
            return self.status(config, self.args.env_file, token)
        if command == "deploy":
            return self.deploy(config, plan, token)
        if self.space_info() is None:
            raise DeployError(f"{self.space} does not exist: nothing to roll back")
        return 0 if self.roll_back("rollback asked for", token) else 1

    def write(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A change on the Space; a dry run only says what it would change."""
        return None if self.dry else getattr(self.api, method)(self.space, *args, **kwargs)

    def deploy(self, config: Config, plan: Any, token: str | None) -> int:
        self.say(f"[2/6] space: {self.space}" + " (dry run: read, never written)" * self.dry, 0)
        if token:
            self.whoami()
        else:
            self.say("no token: what the Space holds, and what --prune would remove, is unknown")
        info = self.space_info() if token else None
        if info is None:
            self.create(config)
            info = None if self.dry else self.space_info()  # the new Space's host and commit
        else:
            self.update(config)
        committed = self.upload(plan, previous=info.sha if info else None)
        if self.dry:
            self.say("Dry run done: nothing was written.", indent=0)
            return 0
        return self.release(committed, token)

    def whoami(self) -> None:
        try:
            me = self.api.whoami()
        except OSError as error:
            refused = DeployError("the Hub refused the token (401): set HF_TOKEN to a valid one")
            raise (refused if status_of(error) == 401 else error) from None
        role = me.get("auth", {}).get("accessToken", {}).get("role")
        self.say(f"token    {me.get('name')} ({role or 'unknown role'})")
        if role == "read" and not self.dry:
            raise DeployError("the token is read-only: deploying needs a write token")

    def space_info(self) -> Any:
        from huggingface_hub.errors import RepositoryNotFoundError

        try:
            info = self.api.space_info(self.space)
        except RepositoryNotFoundError:
            return None
        if info.sdk != "docker":
            raise DeployError(f"{self.space} is a {info.sdk} Space: use another --space")
        self.host = str(info.host or "")  # the Hub's name for where the Space's app answers
        self.url = self.url or (self.host if "://" in self.host else f"https://{self.host}")
        return info

    def create(self, config: Config) -> None:
        if self.args.code_only:
            raise DeployError(f"{self.space} does not exist: deploy once from your machine first")
        visibility = "private" if self.args.private else "public"
        self.say(f"create   sdk docker, {visibility}, {self.args.hardware or 'cpu-basic'}")
        helps = {n: {"description": v.help} for v in self.app.env_vars() for n in v.names if v.help}
        secrets, variables = (
            [{"key": name, "value": config.values[name], **helps.get(name, {})} for name in names]
            for names in (config.secrets, config.variables)
        )
        try:  # the values come with the Space: its first build has them, and no restarts
            self.write(
                "create_repo", repo_type="space", space_sdk="docker", exist_ok=True,
                private=self.args.private or None, space_hardware=self.args.hardware,
                space_secrets=secrets, space_variables=variables,
            )  # fmt: skip
        except OSError as error:
            if (status := status_of(error)) not in (402, 403):
                raise
            raise DeployError(
                f"the Hub refused to create {self.space} ({status}). {PLAN}"
            ) from None
        self.say("[3/6] secrets and variables: set with the new Space; names only", 0)
        self.tidy(config, set(), {})

    def update(self, config: Config) -> None:
        self.say("exists   sdk docker (--private and --hardware apply at creation only)")
        if self.args.code_only:
            self.say("[3/6] secrets and variables: kept as set on the Space (--code-only)", 0)
            return
        self.say("[3/6] secrets and variables: names only, values are never shown", 0)
        secrets = set(self.api.get_space_secrets(self.space))
        variables = {k: v.value for k, v in self.api.get_space_variables(self.space).items()}
        for name in config.secrets:  # a secret's value is never read back: always sent
            if name in variables:  # public once by mistake: it must not stay readable
                self.write("delete_space_variable", name)
            self.write("add_space_secret", name, config.values[name])
        for name in config.variables:
            if name in secrets:
                self.write("delete_space_secret", name)
            if variables.get(name) != config.values[name]:
                self.write("add_space_variable", name, config.values[name])
        self.tidy(config, secrets, variables)

    def tidy(self, config: Config, secrets: set[str], variables: dict[str, str]) -> None:
        """Say what step 3 sent, then prune: only names the template declared, never others."""
        would = "would " * self.dry
        for name in config.secrets:
            self.say(f"secret   {name}" + ": updated" * (name in secrets))
            if name in variables:
                self.say(f"{would}remove the public variable {name}: it is a secret")
        for name in config.variables:
            state = {None: "", config.values[name]: ": unchanged"}.get(variables.get(name))
            self.say(f"variable {name}{': updated' if state is None else state}")
        reads = {name for v in self.app.env_vars() if v.on_space for name in v.names}
        on_space = secrets | set(variables)
        if unset := sorted(on_space & (reads - set(config.values))):
            self.say(f"kept     {', '.join(unset)}: on the Space, not set locally")
        for name in sorted(on_space - reads):
            if name not in self.args.template_variables:
                self.say(f"kept     {name}: not read by this app, kept")
            elif self.args.prune:
                self.write(f"delete_space_{'secret' if name in secrets else 'variable'}", name)
                self.say(f"{would}prune {name}")
            else:
                self.say(f"stale    {name}: this app no longer reads it (--prune removes it)")

    def upload(self, plan: Any, previous: str | None) -> str | None:
        from huggingface_hub import CommitOperationAdd

        say, files = self.say, plan.files
        say(f"[4/6] upload: {len(files)} files, {sum(map(len, files.values())) / 1000:.1f} kB", 0)
        for line in plan.report(listing=self.dry):
            say(line)
        # The very bytes planned and scanned, never the client's own pick of the folder.
        operations = [CommitOperationAdd(name, data) for name, data in files.items()]
        message = "Deploy with hf-space"
        commit = self.write("create_commit", operations, repo_type="space", commit_message=message)
        if commit and commit.oid == previous:
            say("unchanged: no file differs from the Space")
        elif commit:
            say(f"commit   {commit.oid[:12]}")
        return commit.oid if commit and commit.oid != previous else None


def parse_args(argv: list[str] | None, root: Path, table: dict[str, Any]) -> argparse.Namespace:
    space_id = table["space-id"]
    parser = argparse.ArgumentParser(
        "hf-space", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = parser.add_argument
    add("command", nargs="?", choices=("deploy", "check", "status", "rollback"), default="deploy")
    add("--space", default=space_id, help=f"OWNER/NAME (default {space_id})")
    add("--env-file", type=Path, help="the file of values to send (default .env)")
    add("--private", action="store_true", help="create the Space private")
    add("--hardware", help="hardware at creation, e.g. cpu-upgrade")
    add("--dry-run", action="store_true", help="steps 1 to 4 as a plan; write nothing")
    add("--no-rollback", action="store_true", help="keep a failed build (no rollback)")
    add("--prune", action="store_true", help="remove template names this app no longer reads")
    add("--code-only", action="store_true", help="skip step 3: keep the Space's values")
    add("--space-url", help="where the Space answers, for step 6 (default: from the Hub)")
    add("--timeout", type=float, default=1200.0, help="seconds for the build and /health (1200)")
    add("--poll-interval", type=float, default=float(os.environ.get("DEPLOY_POLL_INTERVAL") or 5))
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", args.space):
        parser.error(f"--space {args.space!r}: expected OWNER/NAME, e.g. {space_id}")
    if args.env_file and not args.env_file.is_file():
        parser.error(f"--env-file {args.env_file}: no such file")
    args.env_file = (args.env_file or root / ".env").absolute()
    args.root = root
    args.template_variables = frozenset(table.get("template-variables", ()))
    return args


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # each line as it happens, in CI logs too
    say = Report()
    try:
        root, table, app = load_app(say)
        return Deploy(parse_args(argv, root, table), app, say).run()
    except (DeployError, KeyboardInterrupt) as error:
        say(f"error: {error or 'interrupted; rerunning is safe'}", 0, sys.stderr)
    except Exception as error:  # never a traceback: it could quote a secret
        if os.environ.get("DEPLOY_DEBUG"):
            raise
        say(f"error: {type(error).__name__}: {error} (DEPLOY_DEBUG=1 shows more)", 0, sys.stderr)
    return 1

# Owned by the template: `copier update` keeps this file current; don't edit it.
"""Deploy this repo to its Hugging Face Docker Space in six steps, each reported as it happens.

  python scripts/deploy.py            all six steps
  python scripts/deploy.py check      step 1 only; sends nothing
  python scripts/deploy.py --dry-run  steps 1 to 4 as a plan: reads the Space, writes nothing

1. check: read .env (or --env-file) and the environment, which wins; validate every variable
   with the app's Settings (settings.py, where your own fields go). Missing and malformed
   values are named, never shown, and stop the deploy before anything is sent.
2. space: create the Docker Space, with its secrets and variables, if it does not exist
   (--private, --hardware); the Hub's refusal for lack of a paid plan (402, 403) is explained.
3. secrets and variables: a SecretStr field becomes a Secret, any other a public Variable; only
   what changed is sent. --prune removes only names the template once declared that this app
   no longer reads; other names on the Space are not this app's and are kept.
4. upload: the repo's files in one commit, never .git, env files (.env, .env.*, *.env, .envrc),
   virtualenvs or caches; nothing is sent while a file is 10 MiB or more, holds a secret's
   value (or a secret URL's password), or is a symlink leading out of the repo.
5. build: wait for the Space to run (--timeout) with stage changes and the build log; on an
   error, the log's last lines and the likely cause.
6. health: GET /health on the Space, one line per service.

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
import time
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file, Python puts scripts/ on sys.path, not the root

WORKING = ("BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING")
STALE_SECONDS = 15.0  # after a commit the runtime may still show the previous build RUNNING
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".cache"}
ENV_FILE = re.compile(r"(?!\.env\.example$)(\.env(\..*)?|.*\.env|\.envrc)")  # as .gitignore
# What a Space's log (or its stage) says -> the likely cause.
HINTS = r"""
Permission denied|Read-only file system -> uid 1000 may write only to $HOME and /tmp on a Space
address already in use|Launch timed out|app_port -> the app must listen on 0.0.0.0:7860 (app_port)
(running|listening) on \D*(?!0\.0\.0\.0:7860\b)[\w.]+:\d -> listen on 0.0.0.0:7860: leave PORT unset
ConfigError|Invalid configuration|malformed -> a value is malformed: run deploy.py check, fix .env
No matching distribution|ResolutionImpossible -> a requirement cannot be installed: check the pins
ModuleNotFoundError|No module named -> a module is missing at runtime: add it to requirements.txt
COPY failed|failed to compute cache key -> a file the Dockerfile needs is not in the repo
out of memory|OOMKilled|\bKilled\b -> out of memory: use less, or bigger hardware (--hardware)
CONFIG_ERROR -> README.md's front matter must say sdk: docker and app_port: 7860
NO_APP_FILE -> the Space has no Dockerfile: check that it was uploaded
PAUSED|STOPPED -> the Space is paused or stopped: restart it from its Settings page
"""
HINTS = [line.split(" -> ") for line in HINTS.strip().splitlines()]
PLAN = (
    "Since July 2026 a Docker Space needs a paid plan: PRO for a user "
    "(https://huggingface.co/subscribe/pro), Team or Enterprise for an organization; a 403 may "
    "also mean the token may not create repos there. Subscribe, or deploy under an account "
    "that has one (--space OWNER/NAME)."
)
SHOWN: dict[str, Any] = {"secrets": [], "mask": lambda text, secrets: text}  # see load_app


class DeployError(Exception):
    """A failure explained for the user; the message never holds a secret value."""


def say(text: str, indent: int = 6, stream: Any = None) -> None:
    """A line of the report, every secret masked by the app's own logs.mask."""
    print(SHOWN["mask"](" " * indent + text, SHOWN["secrets"]), file=stream or sys.stdout)


def load_app() -> tuple[str, Any]:
    """The Space id and `<package>.variables`, as pyproject.toml's [tool.hf-space] names them."""
    try:
        table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hf-space"]
        space_id, package = table["space-id"], table["package"]
        SHOWN["mask"] = importlib.import_module(f"{package}.logs").mask
        return space_id, importlib.import_module(f"{package}.variables")
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
        for var in app.env_vars():
            if var.name.lower() not in found:
                continue
            self.values[var.name] = value = found[var.name.lower()]
            kind = self.secrets if var.secret else self.variables
            (kind if var.on_space else self.local).append(var.name)
            if var.secret:
                self.never_upload |= dict.fromkeys(app.secret_parts(value), var.name)


def check(args: argparse.Namespace, app: Any) -> Config:
    """Step 1: every problem at once; raises DeployError before anything is sent."""
    env_file = args.env_file
    shown = env_file.relative_to(ROOT) if env_file.is_relative_to(ROOT) else env_file
    say(f"[1/6] check: {shown} {'and' if env_file.is_file() else 'not found;'} the environment", 0)
    config = Config(app, env_file)
    SHOWN["secrets"] += list(config.never_upload)
    for name in config.local:
        say(f"skip     {name}: local only, never set on the Space")
    try:
        settings = app.load_settings(str(env_file) if env_file.is_file() else None)
        problems = [p for p in services(app, settings, config) if not args.code_only]
    except app.ConfigError as error:  # malformed values, each named
        problems = [line.strip() for line in str(error).splitlines()[1:]] or [str(error)]
    for problem in problems:
        say(f"problem  {problem}")
    if problems:
        raise DeployError(f"{len(problems)} problem(s); nothing was sent. Fix them in {shown} "
                          "(SECRETS.md says where each value comes from), then rerun.")  # fmt: skip
    say(f"ok       {len(config.secrets)} secret(s), {len(config.variables)} variable(s)")
    return config


def services(app: Any, settings: Any, config: Config) -> list[str]:
    """What each service still needs; warnings about ports and CORS."""
    problems = []
    for service in getattr(app, "SERVICE_VARIABLE_SETS", {}):
        if todo := app.unconfigured(settings, service):
            problems.append(f"{service} is not configured: {todo}")
        else:
            names = [v.name for v in app.env_vars() if v.service == service]
            say(f"ok       {service}: {', '.join(n for n in names if n in config.values)}")
    blocked = app.blocked_endpoints(settings) if hasattr(app, "blocked_endpoints") else {}
    for name, port in blocked.items():
        say(f"warning  {name} uses port {port}, but a Space connects out only on ports 80, 443 "
            f"and 8080: {app.space_fix(name)}")  # fmt: skip
    local = {"localhost", "127.0.0.1"}
    if {urlsplit(origin).hostname for origin in settings.cors_origins} <= local:
        say("warning  CORS_ORIGINS holds only local origins: add your frontend's exact origin")
    return problems


def plan_files(env_file: Path, never_upload: dict[str, str]) -> tuple[dict[str, bytes], list[str]]:
    """(path -> the very bytes to send, paths kept back); DeployError if a file must stay."""
    files: dict[str, bytes] = {}
    kept_back, refused = [], []
    for folder, dirs, names in os.walk(ROOT):  # symlinked folders are listed, never followed
        here = Path(folder)
        if "pyvenv.cfg" in names:  # a virtualenv, whatever its name
            kept_back.append(here.relative_to(ROOT).as_posix() + "/")
            dirs[:] = []
            continue
        dirs[:] = [d for d in sorted(dirs) if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        links = [here / d for d in dirs if (here / d).is_symlink()]
        for path in links + [here / name for name in sorted(names)]:
            name, target = path.relative_to(ROOT).as_posix(), path.resolve()
            if not target.is_relative_to(ROOT):
                refused.append(f"{name} is a symlink to {target}, outside the repo: copy in what "
                               "the Space needs instead")  # fmt: skip
            elif ENV_FILE.fullmatch(path.name) or ENV_FILE.fullmatch(target.name):
                kept_back.append(name)
            elif target.is_file() and target != env_file:
                refused += judge(name, target, never_upload, files)
    if refused:
        raise DeployError("nothing was sent; these files must not leave this machine:\n  "
                          + "\n  ".join(refused))  # fmt: skip
    return files, kept_back


def judge(name: str, path: Path, secrets: dict[str, str], files: dict[str, bytes]) -> list[str]:
    """Why the file must stay here, or [] once its bytes are in `files`."""
    if (size := path.stat().st_size) >= 10 * 1024 * 1024:
        return [f"{name} is {size / 1024 / 1024:.1f} MiB; a Space repo takes 10 MiB or more "
                "only through Git LFS/Xet: host it in a model or dataset repo"]  # fmt: skip
    files[name] = data = path.read_bytes()
    held = sorted({variable for text, variable in secrets.items() if text.encode() in data})
    return [f"{name} holds the value of {', '.join(held)}: take it out, or move the file out of "
            "the repo"] * bool(held)  # fmt: skip


def status_of(error: Exception) -> int | None:
    return getattr(getattr(error, "response", None), "status_code", None)


class Deploy:
    def __init__(self, args: argparse.Namespace, app: Any) -> None:
        self.args, self.app, self.space, self.dry = args, app, args.space, args.dry_run
        self.url, self.host = (args.space_url or "").rstrip("/"), ""

    def run(self) -> int:
        config = check(self.args, self.app)
        if self.args.command == "check":
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
            SHOWN["secrets"].append(token)
            config.never_upload[token] = "your Hugging Face token"
        files, kept_back = plan_files(self.args.env_file.resolve(), config.never_upload)
        if not token and not self.dry:
            raise DeployError("no Hugging Face token: set HF_TOKEN to a write token "
                              "(https://huggingface.co/settings/tokens) or run `hf auth login`. "
                              "Nothing was sent.")  # fmt: skip
        self.api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)
        try:
            return self.deploy(config, files, kept_back, token)
        except httpx2.TransportError as error:  # refused, unknown host, timeout: say where
            reason = " ".join(str(error).split()) or type(error).__name__
            raise DeployError(f"cannot reach the Hub at {self.api.endpoint}: {reason}") from None
        except (OSError, httpx2.HTTPError) as error:  # one line: status, URL, what the Hub said
            raise DeployError(" ".join(str(error).split())) from None

    def write(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A change on the Space; a dry run only says what it would change."""
        return None if self.dry else getattr(self.api, method)(self.space, *args, **kwargs)

    def deploy(self, config: Config, files: dict[str, bytes], kept_back: list[str], token) -> int:
        say(f"[2/6] space: {self.space}" + " (dry run: read, never written)" * self.dry, 0)
        if not token:
            say("no token: what the Space holds, and what --prune would remove, is unknown")
        if token:
            self.whoami()
        info = self.space_info() if token else None
        if info is None:
            self.create(config)
            info = None if self.dry else self.space_info()  # the new Space's host and commit
        else:
            self.update(config)
        committed = self.upload(files, kept_back, previous=getattr(info, "sha", None))
        if self.dry:
            say("Dry run done: nothing was written.", indent=0)
            return 0
        self.wait(committed)
        return self.health(token)

    def whoami(self) -> None:
        try:
            me = self.api.whoami()
        except OSError as error:
            refused = DeployError("the Hub refused the token (401): set HF_TOKEN to a valid one")
            raise (refused if status_of(error) == 401 else error) from None
        role = me.get("auth", {}).get("accessToken", {}).get("role")
        say(f"token    {me.get('name')} ({role or 'unknown role'})")
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
        say(f"create   sdk docker, {visibility}, {self.args.hardware or 'cpu-basic'}")
        helps = {v.name: {"description": v.help} if v.help else {} for v in self.app.env_vars()}
        secrets, variables = (
            [{"key": name, "value": config.values[name], **helps[name]} for name in names]
            for names in (config.secrets, config.variables)
        )
        try:  # the values come with the Space: its first build has them, and no restarts
            self.write(
                "create_repo", repo_type="space", space_sdk="docker", exist_ok=True,
                private=self.args.private or None, space_hardware=self.args.hardware,
                space_secrets=secrets, space_variables=variables,
            )  # fmt: skip
        except OSError as error:
            if status_of(error) not in (402, 403):
                raise
            status = status_of(error)
            raise DeployError(
                f"the Hub refused to create {self.space} ({status}). {PLAN}"
            ) from None
        say("[3/6] secrets and variables: set with the new Space; names only", 0)
        self.tidy(config, set(), {})

    def update(self, config: Config) -> None:
        say("exists   sdk docker (--private and --hardware apply at creation only)")
        if self.args.code_only:
            say("[3/6] secrets and variables: kept as set on the Space (--code-only)", 0)
            return
        say("[3/6] secrets and variables: names only, values are never shown", 0)
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
            say(f"secret   {name}" + ": updated" * (name in secrets))
            if name in variables:
                say(f"{would}remove the public variable {name}: it is a secret")
        for name in config.variables:
            state = {None: "", config.values[name]: ": unchanged"}.get(variables.get(name))
            say(f"variable {name}{': updated' if state is None else state}")
        reads = {v.name for v in self.app.env_vars() if v.on_space}
        on_space = secrets | set(variables)
        if unset := sorted(on_space & (reads - set(config.values))):
            say(f"kept     {', '.join(unset)}: on the Space, not set locally")
        for name in sorted(on_space - reads):
            if name not in self.app.TEMPLATE_VARIABLES:
                say(f"kept     {name}: not read by this app, kept")
            elif self.args.prune:
                self.write(f"delete_space_{'secret' if name in secrets else 'variable'}", name)
                say(f"{would}prune {name}")
            else:
                say(f"stale    {name}: this app no longer reads it (--prune removes it)")

    def upload(self, files: dict[str, bytes], kept_back: list[str], previous: str | None):
        from huggingface_hub import CommitOperationAdd

        say(f"[4/6] upload: {len(files)} files, {sum(map(len, files.values())) / 1000:.1f} kB", 0)
        for name, data in files.items() if self.dry else ():
            say(f"{name}  ({len(data) / 1000:.1f} kB)")
        if kept_back:
            say(f"kept back {', '.join(kept_back)}")
        # The very bytes planned and scanned, never the client's own pick of the folder.
        operations = [CommitOperationAdd(name, data) for name, data in files.items()]
        message = "Deploy with scripts/deploy.py"
        commit = self.write("create_commit", operations, repo_type="space", commit_message=message)
        if commit and commit.oid == previous:
            say("unchanged: no file differs from the Space")
        elif commit:
            say(f"commit   {commit.oid[:12]}")
        return commit.oid if commit and commit.oid != previous else None

    def wait(self, committed: str | None) -> None:
        say(f"[5/6] build: waiting up to {self.args.timeout:g} s for the Space to run", 0)
        started, stage, shown, fresh = time.monotonic(), None, 0, committed is None
        while True:
            runtime = self.api.get_space_runtime(self.space)
            elapsed, last, stage = time.monotonic() - started, stage, str(runtime.stage)
            if stage != last:
                say(f"{elapsed:5.0f} s  {stage}")
            if stage in ("BUILDING", "RUNNING_BUILDING"):  # the build log, as it comes
                lines = self.log(build=True)
                for text in lines[shown:] if len(lines) >= shown else lines:
                    say(f"| {text}")
                shown = len(lines)
            # The commit's build shows as a working stage or as the runtime's sha; before
            # that, RUNNING may be the previous build.
            fresh = fresh or stage in WORKING or runtime.raw.get("sha") == committed
            if stage not in WORKING and (fresh or elapsed > STALE_SECONDS):
                break
            if elapsed > self.args.timeout:
                raise DeployError(f"the Space is still {stage} after {self.args.timeout:g} s: "
                                  "rerun with a longer --timeout (nothing is undone)")  # fmt: skip
            time.sleep(self.args.poll_interval)
        if stage != "RUNNING":
            self.failed(stage, str(runtime.raw.get("errorMessage") or ""))
        say(f"running after {elapsed:.0f} s")

    def log(self, build: bool) -> list[str]:
        try:  # not following: what the Hub holds now
            return [text.rstrip() for text in self.api.fetch_space_logs(self.space, build=build)]
        except Exception:  # the log is a courtesy: the stage decides, and says what failed
            return []

    def failed(self, stage: str, message: str) -> None:
        kind = "run" if stage == "RUNTIME_ERROR" else "build"
        lines = self.log(build=kind == "build")[-25:]
        if message:
            say(f"the Hub says: {message}")
        say(f"last {len(lines)} lines of the {kind} log:")
        for text in lines:
            say(f"| {text}")
        for cause in likely_causes(self.app, "\n".join([stage, message, *lines])):
            say(f"likely cause: {cause}")
        raise DeployError(f"the Space stopped at {stage}; see the log above")

    def health(self, token: str | None) -> int:
        url = f"{self.url}/health"
        say(f"[6/6] health: GET {url}", 0)
        host = urlsplit(url).netloc  # a private Space wants the token: only its own host gets it
        own = host.endswith(".hf.space") or host == urlsplit(self.host).netloc
        for attempt in range(6):
            status, body = get_health(url, token if own else None)
            if status == 200 or attempt == 5:
                break
            time.sleep(self.args.poll_interval)
        say(f"status   {status or f'unreachable ({body})'}")
        for name, result in (body.get("services") or {} if isinstance(body, dict) else {}).items():
            result = result if isinstance(result, dict) else {"status": result}
            ms = "-" if result.get("latency_ms") is None else f"{result['latency_ms']} ms"
            say(f"{name:<14}{result.get('status', '?'):<14}{ms:>9}  {result.get('detail') or ''}")
        if status in (401, 403):
            raise DeployError(f"{url} answered {status}: a private Space answers only with a "
                              "token, which goes only to the host the Hub names for it")  # fmt: skip
        if status != 200:
            raise DeployError(f"{url} answered {status or body}: the Space runs but is not ready; "
                              "the lines above name each service (SECRETS.md)")  # fmt: skip
        say(f"Deployed: {self.url} (your frontend's API URL; CORS_ORIGINS must hold its origin)", 0)
        return 0


def get_health(url: str, token: str | None) -> tuple[int | None, Any]:
    from huggingface_hub.utils import get_session

    try:
        answer = get_session().get(
            url, headers={"Authorization": f"Bearer {token}"} if token else {}
        )
    except Exception as error:  # refused, unknown host, timeout
        return None, error
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, answer.text[:200]


def likely_causes(app: Any, text: str) -> list[str]:
    hints = [hint for pattern, hint in HINTS if re.search(pattern, text, re.IGNORECASE)]
    names = [v.name for v in app.env_vars() if re.search(rf"\b{v.name}\b", text)]
    return hints + [f"the log names {', '.join(names)} (see SECRETS.md)"] * bool(names)


def parse_args(argv: list[str] | None, space_id: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        "python scripts/deploy.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = parser.add_argument
    add("command", nargs="?", choices=("deploy", "check"), default="deploy")
    add("--space", default=space_id, help=f"OWNER/NAME (default {space_id})")
    add("--env-file", type=Path, help="the file of values to send (default .env)")
    add("--private", action="store_true", help="create the Space private")
    add("--hardware", help="hardware at creation, e.g. cpu-upgrade")
    add("--dry-run", action="store_true", help="steps 1 to 4 as a plan; write nothing")
    add("--prune", action="store_true", help="remove template names this app no longer reads")
    add("--code-only", action="store_true", help="skip step 3: keep the Space's values")
    add("--space-url", help="where the Space answers, for step 6 (default: from the Hub)")
    add("--timeout", type=float, default=1200.0, help="seconds to wait for the build (1200)")
    add("--poll-interval", type=float, default=float(os.environ.get("DEPLOY_POLL_INTERVAL") or 5))
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+", args.space):
        parser.error(f"--space {args.space!r}: expected OWNER/NAME, e.g. {space_id}")
    if args.env_file and not args.env_file.is_file():
        parser.error(f"--env-file {args.env_file}: no such file")
    args.env_file = (args.env_file or ROOT / ".env").absolute()
    return args


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # each line as it happens, in CI logs too
    try:
        space_id, app = load_app()
        return Deploy(parse_args(argv, space_id), app).run()
    except (DeployError, KeyboardInterrupt) as error:
        say(f"error: {error or 'interrupted; rerunning is safe'}", 0, sys.stderr)
    except Exception as error:  # never a traceback: it could quote a secret
        if os.environ.get("DEPLOY_DEBUG"):
            raise
        say(f"error: {type(error).__name__}: {error} (DEPLOY_DEBUG=1 shows more)", 0, sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

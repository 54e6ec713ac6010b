# Part of hf-space-tools, which the Space's requirements-dev.txt installs from the template.
"""Steps 5 and 6 of deploy.py: watch the Space build and start, then GET /health.

`Watch` is mixed into deploy.py's `Deploy`, whose Hub client (`api`), arguments, report
(`say`) and Space (`space`, `url`, `host`) it uses.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

WORKING = ("BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING")
STALE_SECONDS = 15.0  # after a commit the runtime may still show the previous build RUNNING
# What a Space's log (or its stage) says -> the likely cause.
HINTS = [
    tuple(line.split(" -> "))
    for line in r"""
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
""".strip().splitlines()
]


class DeployError(Exception):
    """A failure explained for the user; the message never holds a secret value."""


class Watch:
    api: Any
    app: Any
    args: Any
    say: Any
    space: str
    url: str
    host: str

    def wait(self, committed: str | None) -> None:
        self.say(f"[5/6] build: waiting up to {self.args.timeout:g} s for the Space to run", 0)
        started, stage, shown, fresh = time.monotonic(), None, 0, committed is None
        self.deadline = started + self.args.timeout  # for the build and then for /health
        while True:
            runtime = self.api.get_space_runtime(self.space)
            elapsed, last, stage = time.monotonic() - started, stage, str(runtime.stage)
            if stage != last:
                self.say(f"{elapsed:5.0f} s  {stage}")
            if stage in ("BUILDING", "RUNNING_BUILDING"):  # the build log, as it comes
                lines = self.log(build=True)
                for text in lines[shown:] if len(lines) >= shown else lines:
                    self.say(f"| {text}")
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
        self.say(f"running after {elapsed:.0f} s")

    def log(self, build: bool) -> list[str]:
        try:  # not following: what the Hub holds now
            return [text.rstrip() for text in self.api.fetch_space_logs(self.space, build=build)]
        except Exception:  # the log is a courtesy: the stage decides, and says what failed
            return []

    def failed(self, stage: str, message: str) -> None:
        kind = "run" if stage == "RUNTIME_ERROR" else "build"
        lines = self.log(build=kind == "build")[-25:]
        if message:
            self.say(f"the Hub says: {message}")
        self.say(f"last {len(lines)} lines of the {kind} log:")
        for text in lines:
            self.say(f"| {text}")
        for cause in likely_causes(self.app, "\n".join([stage, message, *lines])):
            self.say(f"likely cause: {cause}")
        raise DeployError(f"the Space stopped at {stage}; see the log above")

    def token_for(self, url: str, token: str | None) -> str | None:
        host = urlsplit(url).netloc  # a private Space wants the token: only its own host gets it
        return token if host.endswith(".hf.space") or host == urlsplit(self.host).netloc else None

    def health(self, token: str | None) -> None:
        url = f"{self.url}/health"
        self.say(f"[6/6] health: GET {url} until it answers 200 or --timeout runs out", 0)
        while True:  # a failing /health fails the release only once --timeout has run out
            status, body = get_health(url, self.token_for(url, token))
            if status in (200, 401, 403) or time.monotonic() > self.deadline:
                break
            time.sleep(self.args.poll_interval)
        self.say(f"status   {status or f'unreachable ({body})'}")
        for name, result in (body.get("services") or {} if isinstance(body, dict) else {}).items():
            self.say(service_line(name, result))
        if status in (401, 403):
            private = "a private Space answers only with a token, which goes only to the host"
            raise DeployError(f"{url} answered {status}: {private} the Hub names for it")
        if status != 200:
            raise DeployError(f"{url} still answered {status or body} after --timeout "
                              f"{self.args.timeout:g} s: the Space runs but is not ready; the "
                              "lines above name each service (SECRETS.md)")  # fmt: skip


def service_line(name: str, result: Any) -> str:
    """A /health entry as the deploy and `hf-space local` print it."""
    result = result if isinstance(result, dict) else {"status": result}
    ms = "-" if result.get("latency_ms") is None else f"{result['latency_ms']} ms"
    return f"{name:<14}{result.get('status', '?'):<14}{ms:>9}  {result.get('detail') or ''}"


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

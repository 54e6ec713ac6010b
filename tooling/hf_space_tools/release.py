# Part of hf-space-tools, which the Space's requirements-dev.txt installs from the template.
"""The release gate of deploy.py: the `last-good` tag, rollback, and `status`.

`Release` is mixed into deploy.py's `Deploy`, like watch.py's `Watch`.
"""

from __future__ import annotations

import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .watch import DeployError, Watch, get_health, service_line

TAG = "last-good"


class Release(Watch):
    def last_good(self) -> str | None:
        tags = self.api.list_repo_refs(self.space, repo_type="space").tags
        return next((tag.target_commit for tag in tags if tag.name == TAG), None)

    def mark_good(self, sha: str) -> None:
        """Move the tag: the Hub has no force-create, so delete, then create."""
        if self.last_good() not in (None, sha):
            self.api.delete_tag(self.space, tag=TAG, repo_type="space")
        self.api.create_tag(self.space, tag=TAG, revision=sha, repo_type="space", exist_ok=True)
        self.say(f"tagged   {TAG} = {sha[:12]}: `deploy.py rollback` goes back to it")

    def release(self, committed: str | None, token: str | None) -> int:
        """Steps 5 and 6; when either fails, put the last good tree back (unless --no-rollback)."""
        try:
            self.wait(committed)
            self.health(token)
        except DeployError as error:
            if self.args.no_rollback:
                raise DeployError(f"{error}. Kept as it is (--no-rollback)") from None
            good = self.roll_back(str(error), token)
            raise DeployError(f"{error}. Rolled back to {TAG} {good[:12]}, which runs and is "
                              "healthy; --no-rollback keeps a failed build") from None  # fmt: skip
        self.mark_good(self.api.space_info(self.space).sha)
        self.say(f"Deployed: {self.url} (your frontend's API URL; CORS_ORIGINS must hold its "
                 "origin)", 0)  # fmt: skip
        return 0

    def roll_back(self, failure: str, token: str | None) -> str:
        """The last good tree, back in ONE new commit (history is kept; nothing is forced)."""
        from huggingface_hub import CommitOperationAdd, CommitOperationDelete

        good = self.last_good()
        if good is None:
            raise DeployError(f"{failure}. No rollback: no release of {self.space} passed "
                              f"/health yet (no {TAG} tag): fix the cause, redeploy")  # fmt: skip
        if good == self.api.space_info(self.space).sha:
            raise DeployError(f"{failure}. The Space already runs {TAG} ({good[:12]})")
        self.say(f"rollback to {TAG} {good[:12]}: {failure}", 0)
        kept = set(self.api.list_repo_files(self.space, repo_type="space", revision=good))
        now = self.api.list_repo_files(self.space, repo_type="space")
        with tempfile.TemporaryDirectory() as folder:
            operations: list[Any] = [
                CommitOperationAdd(name, Path(self.api.hf_hub_download(
                    self.space, name, repo_type="space", revision=good, local_dir=folder
                )).read_bytes())
                for name in sorted(kept)
            ]  # fmt: skip
        operations += [CommitOperationDelete(name) for name in sorted(set(now) - kept)]
        commit = self.api.create_commit(
            self.space, operations, repo_type="space", commit_message=f"Roll back to {good[:12]}"
        )
        self.say(f"commit   {commit.oid[:12]}: the tree of {good[:12]}")
        try:
            self.wait(commit.oid)
            self.health(token)
        except DeployError as error:
            raise DeployError(f"{failure}. The rollback failed too: {error}") from None
        return good

    def status(self, config: Any, env_file: Path, token: str | None) -> int:
        """One screen; exit 1 when anything needs doing."""
        say, todo = self.say, []
        info = self.space_info()
        if info is None:
            raise DeployError(f"{self.space} does not exist: run deploy.py first")
        runtime = self.api.get_space_runtime(self.space)
        good, head = self.last_good(), local_head(env_file.parent)
        hardware = runtime.hardware or runtime.requested_hardware
        say(f"space    {self.space}: {runtime.stage}, {hardware}, "
            f"sleeps after {runtime.sleep_time or 'never'} s", 0)  # fmt: skip
        say(f"commit   running {info.sha[:12]}, {TAG} {good[:12] if good else 'none'}, "
            f"local HEAD {head}", 0)  # fmt: skip
        if str(runtime.stage) != "RUNNING":
            todo.append(f"the Space is {runtime.stage}")
        if good != info.sha:
            todo.append(f"the running commit is not {TAG}: its /health never passed a deploy")
        status, body = get_health(f"{self.url}/health", self.token_for(self.url, token))
        say(f"health   {status or f'unreachable ({body})'}", 0)
        for name, result in (body.get("services") or {} if isinstance(body, dict) else {}).items():
            say(service_line(name, result))
        if status != 200:
            todo.append("/health does not answer 200")
        todo += self.drift(config, env_file)
        say("secret values cannot be read back: only their names and update times are compared", 0)
        for line in todo:
            say(f"todo     {line}", 0)
        say("nothing to do" if not todo else f"{len(todo)} thing(s) to do", 0)
        return 1 if todo else 0

    def drift(self, config: Any, env_file: Path) -> list[str]:
        secrets = self.api.get_space_secrets(self.space)
        variables = self.api.get_space_variables(self.space)
        reads = {name for v in self.app.env_vars() if v.on_space for name in v.names}
        mtime = env_file.stat().st_mtime if env_file.is_file() else None
        changed = None if mtime is None else datetime.fromtimestamp(mtime, UTC)
        found = []
        for name in [*config.secrets, *config.variables]:
            if name not in secrets and name not in variables:
                found.append(f"{name}: set locally, missing on the Space (deploy.py sends it)")
        for name in sorted(set(secrets) | set(variables)):
            if name not in reads:
                old = name in self.args.template_variables
                found.append(f"{name}: on the Space, read by nothing" +
                             (" (deploy.py --prune removes it)" if old else ""))  # fmt: skip
        for name in config.secrets:
            updated = getattr(secrets.get(name), "updated_at", None)
            if updated and changed and updated < changed:
                found.append(f"{name}: the Space's secret is older than {env_file.name}")
        for name in config.variables:
            if name in variables and variables[name].value != config.values[name]:
                found.append(f"{name}: the Space's value differs from {env_file.name}")
        return found


def local_head(root: Path) -> str:
    try:
        command = ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git repository)"

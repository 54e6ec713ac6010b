"""Where a Space's template lives, from copier's answers (`_src_path`, `_commit`), as git and
pip read it. Plain standard library: the template's render loads this file by path."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}  # as copier reads them
SCP_LIKE = re.compile(r"^([\w.-]+@[\w.-]+):(?!//)")  # git@github.com:org/repo.git


def git_url(source: str) -> str:
    """A template source as `git clone` takes it."""
    for short, url in SHORTHANDS.items():
        if source.startswith(short):
            return url + source[len(short) :]
    return source.removeprefix("git+")


def requirement(source: str, local_path: str, commit: str | None) -> str:
    """The pip requirement for hf-space-tools at the template's commit.

    `source` is the template as the user named it; `local_path` is where copier read it
    (a clone for a remote template); `commit` is None when the template is not a git repo.
    """
    url = git_url(source)
    if "://" not in url and not SCP_LIKE.match(url):  # a folder on this machine
        # copier reads a git folder from a clone it deletes: the folder named is the one to keep
        folder = Path(source if commit else local_path).resolve()
        if not commit:
            return f"hf-space-tools @ {(folder / 'tooling').as_uri()}"
        # A clone of the template (scripts/new-space renders from one): its origin, where CI
        # can fetch the commit too, else the folder itself.
        origin = _git_output(folder, "remote", "get-url", "origin")
        url = git_url(origin) if _elsewhere(git_url(origin)) else folder.as_uri()
    url = SCP_LIKE.sub(r"ssh://\1/", url) + (f"@{commit}" if commit else "")
    return f"hf-space-tools @ git+{url}#subdirectory=tooling"


def _elsewhere(url: str) -> bool:
    """A URL of another machine (not a folder, not file://)."""
    return ("://" in url and not url.startswith("file:")) or bool(SCP_LIKE.match(url))


def _git_output(folder: Path, *args: str) -> str:
    try:
        found = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return found.stdout.strip() if found.returncode == 0 else ""

# Part of hf-space-tools, which the Space's requirements-dev.txt installs from the template.
"""Print the body of the template-update pull request; the update workflow runs this from the
repository's root after `copier update`, before committing. The body has the template's
CHANGELOG.md sections between the committed and the updated `_commit`, every file left with a
conflict, the tests' outcome, and the held-back workflow-file changes as a patch.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

from .source import git_url

ANSWERS = ".copier-answers.yml"
# Built, not written out: a literal marker here would make this file look conflicted.
MARKERS = {b"<" * 7 + b" before updating", b">" * 7 + b" after updating"}
LIMIT = 60_000  # GitHub refuses a pull request body over 65,536 characters
RESOLVE = (
    "Resolve each on this branch before merging: both versions stand between copier's `before "
    "updating` and `after updating` markers, or your change waits in a .rej file.\n"
)
HELD_BACK = (
    "## Workflow files to update by hand\nA workflow's own token may not change "
    ".github/workflows/, so this branch leaves those changes out. On this branch, save the patch "
    "as `workflows.patch`, run `git apply workflows.patch`, commit and push.\n\n"
    "<details><summary>workflows.patch</summary>"
)
TESTS = {
    "success": "The Space's tests pass on the updated tree.",
    "failure": "**The Space's tests fail on the updated tree**: see this workflow run's log.",
}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def release(ref: str) -> Version | None:
    """The release of a tag, or of `git describe` output (0.2.0-3-gabc1234 counts as 0.2.0)."""
    try:
        return Version(re.sub(r"-\d+-g[0-9a-f]+$", "", ref))
    except InvalidVersion:
        return None


def changelog(source: str, ref: str, old: str) -> str:
    """CHANGELOG.md's sections for the releases after `old`, up to `ref`, as `ref` has it."""
    with tempfile.TemporaryDirectory() as clone:
        git("clone", "--quiet", "--bare", git_url(source), clone)
        text = git("--git-dir", clone, "show", f"{ref}:CHANGELOG.md")
    low, high, kept, keep = release(old), release(ref), [], False
    for line in text.splitlines():
        if heading := re.match(r"## +(\S+)", line):
            version = release(heading[1])
            keep = bool(version and low and high and low < version <= high)
        kept += [("#" + line if line.startswith("#") else line)] if keep else []
    return "\n".join(kept).strip() or f"CHANGELOG.md has no section for a release after {old}."


def conflicts() -> list[str]:
    """Files the update left with copier's conflict markers, and its .rej files (even ignored)."""
    changed = git("diff", "--name-only", "-z", "HEAD").split("\0")
    changed += git("ls-files", "-z", "--others", "--exclude-standard").split("\0")
    untracked = git("ls-files", "-z", "--others").split("\0")
    found = {path for path in changed + untracked if path.endswith(".rej")}
    for path in changed:
        lines = Path(path).read_bytes().splitlines() if Path(path).is_file() else []
        if MARKERS & {line.rstrip() for line in lines}:
            found.add(path)
    return sorted(found)


def body(tests: str, held_back: str) -> str:
    old = yaml.safe_load(git("show", f"HEAD:{ANSWERS}"))["_commit"]
    new = yaml.safe_load(Path(ANSWERS).read_text(encoding="utf-8"))
    found = conflicts()
    listed = "".join(f"\n- `{path}`" for path in found)
    parts = [
        f"`copier update --trust --defaults` from template release {old} to {new['_commit']}, "
        "with this repository's answers.",
        TESTS.get(tests, "The tests did not run."),
        f"## Conflicts ({len(found)})\n" + (RESOLVE + listed if found else "None."),
    ]
    if held_back:
        parts.append(f"{HELD_BACK}\n\n```diff\n{held_back}```\n</details>")
    try:
        notes = changelog(new["_src_path"], new["_commit"], old)
    except subprocess.CalledProcessError as error:
        notes = f"The template's CHANGELOG.md could not be read: {error.stderr.strip()}"
    text = "\n\n".join([*parts, "## Changes in the template\n" + notes]) + "\n"
    return text if len(text) <= LIMIT else text[:LIMIT] + "\n\n(cut: see CHANGELOG.md)\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser("hf-space update-pr", description=__doc__.splitlines()[0])
    parser.add_argument("--tests", default="", help="the tests' outcome: success or failure")
    parser.add_argument("--held-back", type=Path, help="patch of workflow files left out")
    args = parser.parse_args(argv)
    patch = args.held_back.read_text(encoding="utf-8") if args.held_back else ""
    print(body(args.tests, patch), end="")
    return 0

# Part of hf-space-tools, which the Space's requirements-dev.txt installs from the template.
"""Step 4 of deploy.py: which files the Space gets, as the very bytes to send.

The files git would not ignore (`git ls-files --cached --others --exclude-standard`, without
needing git): .gitignore at any depth and .git/info/exclude, matched by pathspec with git's
rules; a file git tracks although ignored stays here too. Whatever they say, these are kept
back with their reason: env files of any spelling, private keys, credential files, other
repositories (a submodule), caches, links that lead nowhere, odd files and names. A file that
holds a secret's value, as written, in base64, UTF-16, gzip, %-encoded or split across lines,
stops the upload.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pathspec

MAX_BYTES = 10 * 1024 * 1024  # a Space repo takes bigger files only through Git LFS/Xet
MIN_SECRET = 8  # shorter values, and COMMON ones, would match ordinary text: never scanned for
COMMON = {"localhost", "127.0.0.1", "0.0.0.0", "true", "false", "changeme", "password"}
FOLDERS = {  # kept back whatever .gitignore says: name -> why
    **dict.fromkeys((".git", ".hg", ".svn", ".bzr", ".jj"), "version control"),
    **dict.fromkeys((".aws", ".ssh", ".gnupg", ".docker"), "credentials"),
    **dict.fromkeys(
        ("node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox",
         ".nox", ".venv", "venv", ".cache", ".ipynb_checkpoints", "htmlcov"), "a cache"),
}  # fmt: skip
NAMES = (  # file names kept back whatever .gitignore says
    (r"id_(rsa|dsa|ecdsa|ed25519)[\w-]*(\.(old|bak|orig))?|.*\.(pem|key|p12|pfx|ppk)",
     "a private key"),
    (r"[._]netrc|\.pypirc|\.git-credentials|\.npmrc|credentials(\.json)?", "credentials"),
    (r"\.coverage(\..+)?|.*\.py[cdo]|\.DS_Store|.*~|.*\.sw[op]", "a cache or editor file"),
)  # fmt: skip
CONTENT = re.compile(  # text only private keys and credential files hold ([e]: not this file)
    rb"-----BEGIN [A-Z ]*PRIVATE KEY-----|PuTTY-User-Key-Fil[e]|\"private_key\"\s*:"
    rb"|aws_secret_access_key\s*="
)
# An env file is any name with a part `env` or `envrc` (.env~, .env_prod, env.bak, prod.env)
# but code, docs and examples of one (env.py, env.md, .env.example).
NOT_ENV = {"py", "md", "rst", "example", "sample", "template", "dist", "jinja"}
EXAMPLE = re.compile(r"\.env\.example|SECRETS\.md|README(\.md)?")  # owned by the template
SQUASH = re.compile(rb"[\s\"'\\+]+")  # what splits a value across lines or string literals


def shown(name: str) -> str:
    """A name as it can be printed: a newline in a file name never forges a line of the plan."""
    return name if name.isprintable() else ascii(name)[1:-1]


def why_kept_back(name: str) -> str | None:
    parts = re.split(r"[._~-]", name.lower())
    if {"env", "envrc"} & set(parts) and parts[-1] not in NOT_ENV:
        return "an env file"
    if not name.isprintable():
        return "an unusual name: rename it to upload it"
    return next((why for rule, why in NAMES if re.fullmatch(rule, name)), None)


def needles(secrets: dict[str, str]) -> tuple[dict[bytes, str], list[str]]:
    """(each secret's written forms, squashed -> its variable), variables not scanned for."""
    found: dict[bytes, str] = {}
    unscanned = []
    for text, variable in secrets.items():
        raw = text.encode()
        if len(SQUASH.sub(b"", raw)) < MIN_SECRET or text.lower() in COMMON:
            unscanned.append(variable)
            continue
        forms = [raw]
        for pad in range(3):  # base64 of the value wherever it starts in the encoded text
            encoded = base64.b64encode(b"\0" * pad + raw)
            encoded = encoded[(pad * 4 + 2) // 3 : (pad + len(raw)) * 4 // 3]
            forms += [encoded, encoded.replace(b"+", b"-").replace(b"/", b"_")]
        found |= dict.fromkeys((SQUASH.sub(b"", form) for form in forms), variable)
    return found, sorted(set(unscanned) - set(found.values()))


def views(data: bytes) -> list[bytes]:
    """The file as written, as UTF-16 read as ASCII, %-decoded, and gunzipped, each squashed."""
    texts = [data, data.replace(b"\0", b""), unquote_to_bytes(data)]
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(zlib.error):
            texts += views(zlib.decompressobj(wbits=47).decompress(data, MAX_BYTES))
    return [SQUASH.sub(b"", text) for text in texts]


def verdict(spec: pathspec.PathSpec, path: str) -> bool | None:
    """What the last pattern matching `path` itself says (ignore, or not). A match through a
    folder above (pathspec's group ps_d) is left out: the walk decided that folder already."""
    for pattern in reversed(spec.patterns):
        match = pattern.include is not None and pattern.regex.match(path)
        folder = match and "ps_d" in match.re.groupindex and match.end("ps_d")
        if match and folder in (False, -1, len(path)):
            return pattern.include
    return None


@dataclass
class Plan:
    files: dict[str, bytes] = field(default_factory=dict)  # path in the repo -> bytes to send
    kept_back: list[str] = field(default_factory=list)  # "path (why)"
    refused: list[str] = field(default_factory=list)  # one line each: what stops the upload
    ignored: int = 0  # paths git ignores
    unscanned: list[str] = field(default_factory=list)  # variables too short or common to scan

    def report(self, listing: bool) -> list[str]:
        lines = [f"{shown(name)}  ({len(data) / 1000:.1f} kB)" for name, data in self.files.items()]
        lines = lines if listing else []
        lines.append(
            f"ignored  {self.ignored} path(s), as git does (.gitignore, .git/info/exclude)"
        )
        lines += [f"kept back {line}" for line in self.kept_back]
        if self.unscanned:
            lines.append(f"not scanned for {', '.join(self.unscanned)}: too short or too common "
                         "a value to tell from ordinary text")  # fmt: skip
        return lines


class Planner:
    def __init__(self, root: Path, env_file: Path, secrets: dict[str, str]) -> None:
        self.root, self.env_file, self.plan = root, env_file, Plan()
        self.needles, self.plan.unscanned = needles(secrets)
        self.rules: dict[str, pathspec.PathSpec] = {}  # folder in the root -> its .gitignore
        self.outer: list[tuple[str, pathspec.PathSpec]] = []  # (the root's path from there, rules)
        folder = root  # a Space in a folder of a bigger repo: the .gitignore files above it too
        while not (folder / ".git").exists() and folder != folder.parent:
            folder = folder.parent
            self.outer += [(f"{root.relative_to(folder)}/", self.spec(folder / ".gitignore"))]
        top = f"{root.relative_to(folder)}/".removeprefix("./")
        self.outer = [*self.outer, (top, self.spec(folder / ".git" / "info" / "exclude"))]
        self.outer = self.outer if (folder / ".git").exists() else []  # outside any repo

    @staticmethod
    def spec(path: Path) -> pathspec.PathSpec:
        lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
        return pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, rel: str) -> bool:
        """As git decides: the deepest .gitignore that matches wins, .git/info/exclude last."""
        inner = [
            (spec, rel[len(base) :]) for base, spec in self.rules.items() if rel.startswith(base)
        ]
        outer = [(spec, prefix + rel) for prefix, spec in self.outer]
        for spec, path in [*inner[::-1], *outer]:  # os.walk met the folders top-down
            if (include := verdict(spec, path)) is not None:
                return include
        return False

    def hidden(self) -> bool:
        """Whether git ignores a folder between the repo's top and the root, the root included."""
        levels = max((prefix.count("/") for prefix, _ in self.outer), default=0)
        for level in range(1, levels + 1):  # top-down, as git walks
            for prefix, spec in self.outer:  # the nearest .gitignore first
                parts = prefix.split("/")[:-1]
                if (keep := level - levels + len(parts)) <= 0:
                    continue  # that .gitignore is in this folder or below it
                if (include := verdict(spec, "/".join(parts[:keep]) + "/")) is not None:
                    if include:
                        return True
                    break
        return False

    def run(self) -> Plan:
        if self.hidden():
            self.plan.ignored += 1
            return self.plan
        for folder, dirs, names in os.walk(self.root):  # links to folders are never followed
            here = Path(folder)
            base = "" if here == self.root else here.relative_to(self.root).as_posix() + "/"
            if ".gitignore" in names:
                self.rules[base] = self.spec(here / ".gitignore")
            dirs[:] = [d for d in sorted(dirs) if self.enter(here / d, base + d)]
            for name in sorted(names):
                self.add(here / name, base + name)
        return self.plan

    def skip(self, rel: str, why: str) -> bool:
        self.plan.kept_back.append(f"{shown(rel)} ({why})")
        return False

    def enter(self, path: Path, rel: str) -> bool:
        if self.ignored(rel + "/"):
            self.plan.ignored += 1
            return False
        if why := FOLDERS.get(path.name):
            return self.skip(rel + "/", why)
        if path.is_symlink():
            return self.add(path, rel)
        if (path / ".git").exists():
            return self.skip(rel + "/", "another git repository, e.g. a submodule: copy it in")
        if (path / "pyvenv.cfg").exists() or path.name.endswith(".egg-info"):
            return self.skip(rel + "/", "a virtualenv or build output")
        return True

    def add(self, path: Path, rel: str) -> bool:
        if self.ignored(rel):
            self.plan.ignored += 1
        elif why := FOLDERS.get(path.name) or why_kept_back(path.name):
            self.skip(rel, why)  # a `.git` file: a worktree's or a submodule's
        elif path.is_symlink():
            self.link(path, rel)
        elif not path.is_file():
            self.skip(rel, "not a regular file")
        elif path.resolve() != self.env_file:
            self.read(path, rel)
        return False

    def link(self, path: Path, rel: str) -> bool | None:
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):  # a loop, or a link to nothing
            return self.skip(rel, "a symlink that leads nowhere: a loop, or a missing file")
        if not target.is_relative_to(self.root):
            self.plan.refused.append(f"{shown(rel)} is a symlink to {shown(str(target))}, outside "
                                     "the repo: copy in what the Space needs instead")  # fmt: skip
        elif target.is_dir():
            self.skip(rel + "/", "a symlink to a folder: not followed")
        elif why := why_kept_back(target.name):
            self.skip(rel, why)
        elif target != self.env_file:
            self.read(target, rel)

    def read(self, path: Path, rel: str) -> None:
        if (size := path.stat().st_size) >= MAX_BYTES:
            return self.plan.refused.append(
                f"{shown(rel)} is {size / 1024 / 1024:.1f} MiB; a Space repo takes 10 MiB or more "
                "only through Git LFS/Xet: host it in a model or dataset repo")  # fmt: skip
        try:
            data = path.read_bytes()
        except OSError as error:
            return self.plan.refused.append(f"{shown(rel)} cannot be read ({error.strerror})")
        if CONTENT.search(data[:MAX_BYTES]):
            return self.skip(rel, "holds a private key or credentials")
        texts = views(data)
        held = sorted(
            {name for form, name in self.needles.items() if any(form in t for t in texts)}
        )
        if not held:
            self.plan.files[rel] = data
        elif EXAMPLE.fullmatch(path.name) and b"Owned by the template" in data[:200]:
            self.plan.refused.append(
                f"{shown(rel)} shows the value of {', '.join(held)}: in {self.env_file.name} it "
                "is still the example value, set your own there (and if a real one went into "
                f"{shown(rel)}, put the example back)"
            )
        elif EXAMPLE.fullmatch(path.name):
            self.plan.refused.append(
                f"{shown(rel)}, an example, holds the real value of {', '.join(held)}: "
                "put an example value there instead"
            )
        else:
            self.plan.refused.append(f"{shown(rel)} holds the value of {', '.join(held)}: take "
                                     "it out, or move the file out of the repo")  # fmt: skip


def plan_files(root: Path, env_file: Path, secrets: dict[str, str]) -> Plan:
    return Planner(root, env_file, secrets).run()

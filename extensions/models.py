"""The `models` answer: Hub models baked into the image (README.md's preload_from_hub)."""

from __future__ import annotations

import re
from typing import Any

from .answers import text_problem

MODELS_EXAMPLE = "e.g. sentence-transformers/all-MiniLM-L6-v2, BAAI/bge-small-en-v1.5"
# huggingface_hub's validate_repo_id: ASCII letters, digits, '-', '_', '.'; each part 1-96
# long, starting and ending with a letter, digit or '_'; no '--' or '..'; not ending in .git.
HUB_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?")
# A file of the repository, as preload_from_hub lists it: a relative path, no '..' or spaces.
HUB_FILE = re.compile(r"[A-Za-z0-9_.+=@-]+(?:/[A-Za-z0-9_.+=@-]+)*")
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
# CPU-only torch (installed from PyTorch's CPU index in the Dockerfile) and what loads the
# models; sentence-transformers 6 needs huggingface_hub 1.3 or later.
TORCH_REQUIREMENT = "torch>=2.2,<3"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
MODEL_REQUIREMENTS = {
    "files": ["huggingface_hub>=1.3,<3"],
    "sentence_transformers": [
        "huggingface_hub>=1.3,<3",
        "sentence-transformers>=6,<7",
        TORCH_REQUIREMENT,
    ],
}


def repo_id_problem(repo_id: str) -> str:
    """Why `repo_id` is not an `owner/name` model id the Hub accepts, or ""."""
    rules = (
        "write owner/name with letters, digits, '-', '_' and '.', each part at most 96 "
        "characters, not starting or ending with '-' or '.'"
    )
    parts = repo_id.split("/")
    if len(parts) != 2:
        return f"{repo_id!r} is not an owner/name model id; {rules}, {MODELS_EXAMPLE}"
    if not all(HUB_NAME.fullmatch(part) for part in parts):
        return f"{repo_id!r} is not a Hub model id; {rules}"
    if "--" in repo_id or ".." in repo_id or repo_id.endswith(".git"):
        return f"{repo_id!r} has '--' or '..' or ends in .git, which the Hub refuses; {rules}"
    return ""


def _parts(item: str) -> list[str]:
    """An entry's id, files and commit, separated by spaces (ASCII only: any other is refused)."""
    return [part for part in item.split(" ") if part]


def split_models(value: str) -> list[str]:
    """The answer's models: separated by ';' when any lists several files, else by ','."""
    separator = ";" if ";" in value else ","
    return [item.strip() for item in value.split(separator)] if value.strip() else []


def model_specs(value: str) -> list[dict[str, Any]]:
    """Each model of a valid `models` answer: its id, files (None: all), revision (None: main)
    and its preload_from_hub line. Assumes models_problem(value) == ""."""
    specs = []
    for item in split_models(str(value)):
        repo_id, *rest = _parts(item)
        files = rest[0].split(",") if rest else None
        revision = rest[1] if len(rest) > 1 else None
        specs.append(
            {"id": repo_id, "files": files, "revision": revision, "preload": " ".join(_parts(item))}
        )
    return specs


def _model_item_problem(item: str) -> str:
    how = (
        "give owner/name, optionally followed by files (a,b) and a commit (40 hex digits) "
        "as preload_from_hub takes them; separate models with ';' when one lists several files"
    )
    if not item:
        return f"an entry is empty (a stray separator); {MODELS_EXAMPLE}"
    repo_id, *rest = _parts(item)
    if problem := repo_id_problem(repo_id):
        return problem
    if len(rest) > 2:
        return f"{item!r} has {len(rest) + 1} parts; {how}"
    files = rest[0].split(",") if rest else []
    for file in files:
        if not HUB_FILE.fullmatch(file) or file in (".", "..") or "/../" in f"/{file}/":
            return f"{item!r}: {file!r} is not a file path of the repository; {how}"
    if len(set(files)) != len(files):
        return f"{item!r} lists a file twice; name each once"
    if len(rest) == 2 and not COMMIT_SHA.fullmatch(rest[1]):
        return f"{item!r}: {rest[1]!r} is not a commit (40 lowercase hex digits); {how}"
    return ""


def models_problem(value: str) -> str:
    """'' (no models), or comma-separated Hub model ids, each once, as preload_from_hub takes
    them: `owner/name [file1,file2 [commit]]`."""
    if problem := text_problem(value):
        return problem
    seen: set[str] = set()
    items = split_models(value)
    for item in items:
        if problem := _model_item_problem(item):
            if "';'" not in problem and ";" not in value and any(" " in i for i in items):
                problem += "; separate models with ';' when one lists several files"
            return problem
        repo_id = _parts(item)[0]
        if repo_id.lower() in seen:
            return f"{repo_id!r} is listed twice; name each model once"
        seen.add(repo_id.lower())
    return ""

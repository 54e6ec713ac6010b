"""Before `copier update`, check the answers the Space was made with against this release's rules.

When a stored answer breaks a rule added since (a `package_name` that now shadows a module, a
`space_name` whose host would be too long), copier drops it silently and, with --defaults,
renders the default instead: the package would be renamed under the user. Run from
copier.yml `_migrations` before every update, this stops the update with one line per answer
and what to do, before any file changes.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml


def load_rules():
    spec = importlib.util.spec_from_file_location(
        "hfst_context", Path(__file__).with_name("context.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(answers_file: str = ".copier-answers.yml") -> int:
    stored = yaml.safe_load(Path(answers_file).read_text(encoding="utf-8")) or {}
    answers = {name: value for name, value in stored.items() if not name.startswith("_")}
    rules = load_rules()
    problems = [
        f"{name}: {problem}"
        for name in rules.load_questions()
        if name in answers and (problem := rules.answer_problem(name, answers[name], answers))
    ]
    if not problems:
        return 0
    print(
        "This release refuses answers this Space was made with; nothing was changed:\n  "
        + "\n  ".join(problems)
        + "\nChange them with --data (renaming files to match, e.g. the package folder), or "
        "stay on your current template release (--vcs-ref).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

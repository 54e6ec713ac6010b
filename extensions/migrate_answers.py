"""Rewrite a generated Space's answers file when a release renames a question or a value.

Copier runs this from copier.yml's `_migrations` before an update, in the Space's
directory, so the update reads the answers under their new names:

    _migrations:
      - version: "0.2.0"
        when: "{{ _stage == 'before' }}"
        command:
          - "{{ _copier_python }}"
          - "{{ _copier_conf.src_path }}/extensions/migrate_answers.py"
          - --rename
          - old_question=new_question
          - --value
          - "framework:old=new"

Only the standard library and PyYAML (a dependency of copier) are used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml


def migrate(answers: dict, renames: list[str], values: list[str]) -> list[str]:
    """Apply the changes in place; return what changed, for the log."""
    changed = []
    for rule in renames:
        old, new = rule.split("=", 1)
        if old in answers and new not in answers:
            answers[new] = answers.pop(old)
            changed.append(f"renamed answer {old} -> {new}")
    for rule in values:
        question, change = rule.split(":", 1)
        old, new = change.split("=", 1)
        current = answers.get(question)
        if current == old:
            answers[question] = new
            changed.append(f"{question}: {old} -> {new}")
        elif isinstance(current, list) and old in current:
            answers[question] = [new if item == old else item for item in current]
            changed.append(f"{question}: {old} -> {new}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers-file", type=Path, default=Path(".copier-answers.yml"))
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    parser.add_argument("--value", action="append", default=[], metavar="QUESTION:OLD=NEW")
    options = parser.parse_args(argv)
    text = options.answers_file.read_text(encoding="utf-8")
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    answers = yaml.safe_load(text) or {}
    changes = migrate(answers, options.rename, options.value)
    if changes:
        body = yaml.safe_dump(answers, sort_keys=True, allow_unicode=True)
        options.answers_file.write_text(header + body, encoding="utf-8")
    for change in changes:
        print(f"migrated {options.answers_file}: {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

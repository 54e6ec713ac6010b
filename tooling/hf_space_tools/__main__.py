"""`hf-space` (also `python -m hf_space_tools`): the deploy, and two more commands.

hf-space [deploy|check|status|rollback] ...   deploy.py (hf-space --help)
hf-space local ...                            local.py: the image run here as on a Space
hf-space preview ...                          preview.py: a pull request's preview Space
hf-space update-pr ...                        update_pr.py: the template update's PR body
"""

from __future__ import annotations

import sys
from importlib import import_module

COMMANDS = {
    "local": "local",
    "preview": "preview",
    "update-pr": "update_pr",
}  # everything else is the deploy's


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name = COMMANDS.get(argv[0], "deploy") if argv else "deploy"
    arguments = argv[1:] if argv and argv[0] in COMMANDS else argv
    return import_module(f"hf_space_tools.{name}").main(arguments)


if __name__ == "__main__":
    sys.exit(main())

"""After `copier update`, speak up about service modules the update removed that were in use.

Copier deletes a file the new render no longer has, even when the user changed it. When an
update drops a service, this script (copier.yml `_migrations`, every update) looks at each
removed `<package>/services/<name>.py`: if the user had edited it, their version is put back
and they are told; if any of their other modules imports it, each import is named. It only
reads git and the template; it never fails the update.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

SERVICE_SOURCE = (
    "{{{{package_name}}}}/services/{{% if '{name}' in services %}}{name}.py{{% endif %}}"
)
# The Space's folder in the template at a commit: template/ itself up to 0.1.x.
SPACE_FOLDERS = ("template/{{ space_root }}", "template")


def git(*args: str, cwd: Path | str = ".") -> str | None:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else None


def template_source(src: str, commit: str, name: str) -> str | None:
    """The module as the template shipped it at `commit` (service modules hold no Jinja)."""
    path = SERVICE_SOURCE.format(name=name)
    for folder in SPACE_FOLDERS:
        for suffix in ("", ".jinja"):
            source = git("show", f"{commit}:{folder}/{path}{suffix}", cwd=src)
            if source is not None:
                return source
    return None


def removed_modules(package: str) -> list[Path]:
    listed = git("diff", "--name-only", "--diff-filter=D", "HEAD", "--", f"{package}/services/")
    return [Path(line) for line in (listed or "").splitlines() if line.endswith(".py")]


def importers(package: str, name: str) -> list[str]:
    """`file:line` of each import of the removed service module in the user's code."""
    pattern = re.compile(rf"(from\s+\S*services\s+import\s+.*\b{name}\b|services\.{name}\b)")
    found = []
    for path in sorted(Path(package).rglob("*.py")):
        if "services" in path.parts:
            continue
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        ):
            if pattern.search(line):
                found.append(f"{path}:{number}")
    return found


def kept_imported_modules(package: str) -> None:
    """Put back a removed module outside services/ (e.g. sse.py, now rendered only with chat)
    that the user's code still imports, as theirs; the update must not break their import."""
    listed = git("diff", "--name-only", "--diff-filter=D", "HEAD", "--", package) or ""
    for line in listed.splitlines():
        module = Path(line)
        if module.suffix != ".py" or "services" in module.parts:
            continue
        pattern = re.compile(
            rf"from\s+\.+{module.stem}\s+import|from\s+\.+\s+import.*\b{module.stem}\b"
        )
        users = [
            str(path)
            for path in sorted(Path(package).rglob("*.py"))
            if pattern.search(path.read_text(encoding="utf-8", errors="replace"))
        ]
        theirs = git("show", f"HEAD:{module}")
        if users and theirs is not None:
            if theirs.startswith("# Owned by the template"):
                theirs = theirs.partition("\n")[2]
            mark = "# Yours: kept by copier update because your code imports it.\n"
            module.write_text(mark + theirs, encoding="utf-8")
            print(
                f"{module}: this template version no longer renders it, but {', '.join(users)} "
                "imports it, so it is kept as yours.",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("template", help="the template checkout copier updates from")
    parser.add_argument("previous", help="the template commit the Space was rendered from")
    options = parser.parse_args(argv)
    for module in removed_modules(options.package):
        name = module.stem
        theirs = git("show", f"HEAD:{module}")
        if theirs is not None and theirs != template_source(
            options.template, options.previous, name
        ):
            module.write_text(theirs, encoding="utf-8")
            print(
                f"{module}: the update removed the {name} service, but you had edited this "
                "module, so your version is kept. Its settings are gone from config.py: move "
                "what you need into your own code and settings.py, or add the service back "
                f"(copier update --data 'services=[..., {name}]'), then delete the module.",
                file=sys.stderr,
            )
        for place in importers(options.package, name):
            print(
                f"{place} imports the {name} service module, which this update removed: "
                f"remove that code or add the service back.",
                file=sys.stderr,
            )
    kept_imported_modules(options.package)
    return 0


if __name__ == "__main__":
    sys.exit(main())

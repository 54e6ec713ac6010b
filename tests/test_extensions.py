"""extensions/ (issue 17): one module per concern, each small, every definition used, and no
rule written twice across extensions/ and the template (the origin rules live in the app's
origins.py, which the answer checks load)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from support import ROOT, SPACE_TEMPLATE, extension

EXTENSIONS = sorted((ROOT / "extensions").glob("*.py"))
# Where a definition of extensions/ may be used: copier.yml, the templates, the docs build,
# the migration scripts and the other extension modules (the tests do not count).
USERS = [
    ROOT / "copier.yml",
    ROOT / "docs" / "hooks.py",
    *EXTENSIONS,
    *(path for path in (ROOT / "template").rglob("*") if path.is_file()),
]


def _definitions(path: Path) -> list[ast.FunctionDef | ast.ClassDef | ast.Assign]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign)
    ]


def _names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [target.id for target in targets if isinstance(target, ast.Name)]


@pytest.mark.parametrize("path", EXTENSIONS, ids=lambda path: path.name)
def test_extension_module_is_small(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_every_extension_definition_is_used() -> None:
    texts = {path: path.read_text(encoding="utf-8") for path in USERS}
    unused = []
    for path in EXTENSIONS:
        for node in _definitions(path):
            for name in _names(node):
                if name.startswith("__"):
                    continue
                word = re.compile(rf"\b{re.escape(name)}\b")
                uses = sum(len(word.findall(text)) for text in texts.values())
                if uses < 2:  # its own definition is one
                    unused.append(f"{path.name}: {name}")
    assert not unused, unused


def _shape(function: ast.FunctionDef) -> str:
    """A function's body with every name, argument and constant blanked: equal shapes are
    the same code under other names."""
    tree = ast.parse(ast.unparse(function))
    for node in ast.walk(tree):
        for field in ("id", "arg", "name", "attr"):
            if isinstance(getattr(node, field, None), str):
                setattr(node, field, "_")
        if isinstance(node, ast.Constant):
            node.value = None
    return ast.dump(tree.body[0])


def test_no_function_is_written_twice_across_extensions_and_the_template() -> None:
    plain = [*EXTENSIONS, *SPACE_TEMPLATE.rglob("*.py"), ROOT / "docs" / "hooks.py"]
    shapes: dict[str, str] = {}
    twice = []
    for path in plain:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and len(node.body) > 2:
                where = f"{path.relative_to(ROOT)}:{node.name}"
                seen = shapes.setdefault(_shape(node), where)
                if seen != where and "extensions/" in seen + where:  # the template's own pairs
                    twice.append((seen, where))  # (on_startup/on_shutdown) are not this test's
    # Jinja-rendered modules cannot be parsed: no function of extensions/ is named there.
    extension_functions = {
        node.name
        for path in EXTENSIONS
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("__")
    }
    for path in SPACE_TEMPLATE.rglob("*.py.jinja"):
        defined = set(re.findall(r"^\s*def (\w+)\(", path.read_text(encoding="utf-8"), re.M))
        twice += [(name, str(path.relative_to(ROOT))) for name in defined & extension_functions]
    assert not twice, twice


def test_answer_checks_and_the_app_share_the_origin_rules() -> None:
    """The render-time checks run the app's origins.py and origin_regex.py, not copies of them."""
    app_rules = extension.rules()
    assert Path(app_rules.__file__) == SPACE_TEMPLATE / "{{package_name}}" / "origins.py"
    regex = Path(extension.regex_rules().__file__)
    assert regex.parent == SPACE_TEMPLATE / "{{package_name}}"
    assert regex.name == "{% if origin_regex %}origin_regex.py{% endif %}"
    for origin in ("https://Example.com", "https://a.com/", "ftp://files.example"):
        with pytest.raises(ValueError) as refused:
            app_rules.check_origin(origin)
        assert extension.origin_problem(origin) == f"{origin!r}: {refused.value}"

"""Entry point of the template's Jinja extensions, loaded by path: by copier-template-extensions
(copier.yml `_jinja_extensions`), docs/hooks.py, the migration scripts and the tests.

It loads this folder as a package, once per checkout, so its modules import each other, and
offers every public name of those modules here.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
MODULES = ("catalogue", "answers", "models", "origin_checks", "questions", "filters", "derived")


def load_modules() -> list[ModuleType]:
    """This folder's modules, imported as a package named after the folder's path: copier
    update renders two checkouts of the template in one process, each with its own code."""
    name = "hfst_extensions_" + hashlib.sha256(str(HERE).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, HERE / "__init__.py", submodule_search_locations=[str(HERE)]
        )
        assert spec and spec.loader
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return [importlib.import_module(f"{name}.{module}") for module in MODULES]


for _module in load_modules():
    globals().update({key: value for key, value in vars(_module).items() if key[0] != "_"})

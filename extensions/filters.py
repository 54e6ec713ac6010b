"""Filters that write answers into generated files: Python literals laid out as ruff format
lays them out, YAML scalars, Markdown text, .env values, settings field metadata."""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2.ext import Extension


def expected_format(variable: dict[str, Any]) -> str:
    """What a variable must look like, for the settings module's error messages."""
    kind = variable["kind"]
    if kind == "url":
        schemes = " or ".join(f"{scheme}://" for scheme in variable["schemes"])
        return f"a URL starting with {schemes} with a host"
    if variable.get("choices"):
        return "one of " + ", ".join(str(choice) for choice in variable["choices"])
    return {
        "host": "a host name only, without scheme, port or path",
        "port": "a port number from 1 to 65535",
        "count": "a whole number from 1 to 64",
        "dimensions": "a whole number from 1 to 65536",
        "limit": "a whole number, 0 for no limit",
        "streams": "a whole number below the chat provider's connection pool (100; OpenAI 1000)",
        "service_names": (
            "comma-separated /health entries of this Space (services, auth, retrieval, models)"
        ),
        "float": "a positive number of seconds",
        "bool": "true or false",
        "origins": "comma-separated origins like https://myapp.vercel.app, no path or *",
        "regex": "a valid regular expression, matched against the whole origin",
    }.get(kind, "text")


def py_literal(value: Any) -> str:
    """A Python literal as ruff format writes it, ASCII only (see py_string)."""
    if isinstance(value, str):
        return py_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(py_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def field_extra(variable: dict[str, Any]) -> dict[str, Any]:
    """What a settings field records beyond its type and help, for the deploy and error messages."""
    extra: dict[str, Any] = {"service": variable["service"], "expected": expected_format(variable)}
    if variable.get("on_space") is False:
        extra["on_space"] = False
    return extra


def _py_escape(text: str, quote: str) -> str:
    """`text` as the inside of a Python string literal delimited by `quote`.

    Anything not printable ASCII is written as an escape (\\xe9, \\u2013, \\U0001f680):
    the value is the same, and the generated code never trips ruff's confusable-character
    rules (RUF001/RUF002) nor depends on the file's encoding.
    """
    escaped = []
    for char in text:
        if char in ("\\", quote):
            escaped.append("\\" + char)
        elif char.isascii() and char.isprintable():
            escaped.append(char)
        else:
            escaped.append(ascii(char)[1:-1])
    return "".join(escaped)


def py_string(value: str) -> str:
    """A string literal as ruff format writes it: double quotes unless the text has more
    double than single quotes (then single quotes, which need fewer escapes)."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    return quote + _py_escape(value, quote) + quote


def docstring_text(title: str, description: str) -> str:
    """The generated package's one-line docstring: 'Title: description.'"""
    description = description.rstrip(".")
    return f"{title}: {description}." if description else f"{title}."


def py_docstring(text: str) -> str:
    """`text` as a triple-quoted docstring literal; every '"' is escaped, so no quote in
    the text can close it or end it next to the closing quotes."""
    return '"""' + _py_escape(text, '"') + '"""'


def yaml_scalar(value: Any) -> str:
    """`value` as one quoted YAML scalar, written by PyYAML: single-quoted when printable
    (emoji stay readable), else double-quoted, where every other character is escaped.
    Always quoted, so YAML never reads it as a number, bool, key or anchor."""
    text = str(value)
    style = "'" if text.isprintable() else '"'
    dumped = yaml.safe_dump(text, allow_unicode=True, default_style=style, width=2**30)
    return dumped.removesuffix("\n")


def markdown_text(value: str) -> str:
    """`value` as literal Markdown text: CommonMark lets any ASCII punctuation be
    backslash-escaped, which stops emphasis, links, headings, entities and raw HTML."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(value))


def py_tuple(value: Any) -> str:
    """Nested lists as a tuple literal ruff format leaves alone: (("A",), ("B", "C"))."""
    if isinstance(value, list | tuple):
        items = [py_tuple(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    return py_literal(value)


LINE_LENGTH = 100  # the generated project's ruff line-length


def py_assign(prefix: str, value: Any) -> str:
    """`prefix` + a literal of `value`, laid out as ruff format would lay it out.

    Answers are inlined into generated code; a long one must not make `ruff format
    --check` fail. Flat when the line fits; else a list or dict is exploded one item
    per line, and a string is wrapped in parentheses when that makes it fit.
    """
    indent = " " * (len(prefix) - len(prefix.lstrip(" ")))
    flat = prefix + py_literal(value)
    if len(flat) <= LINE_LENGTH:
        return flat
    inner = indent + "    "
    if isinstance(value, list | tuple):
        items = "".join(f"{inner}{py_literal(item)},\n" for item in value)
        return f"{prefix}[\n{items}{indent}]"
    if isinstance(value, dict):
        pairs = "".join(f"{inner}{py_literal(k)}: {py_literal(v)},\n" for k, v in value.items())
        return f"{prefix}{{\n{pairs}{indent}}}"
    if len(inner) + len(py_literal(value)) <= LINE_LENGTH:
        return f"{prefix}(\n{inner}{py_literal(value)}\n{indent})"
    return flat


def py_kwarg(name: str, value: Any, indent: str = "        ") -> str:
    """One `name=value,` argument line as ruff format lays it out in an exploded call.

    A dict too long for the line is exploded one item per line; a string is never split.
    """
    flat = f"{indent}{name}={py_literal(value)},"
    if len(flat) <= LINE_LENGTH or not isinstance(value, dict):
        return flat
    items = "".join(f"{indent}    {py_literal(k)}: {py_literal(v)},\n" for k, v in value.items())
    return f"{indent}{name}={{\n{items}{indent}}},"


def env_quote(value: Any) -> str:
    """A value as a .env line reads back unchanged: single-quoted (taken literally) when needed."""
    text = str(value)
    if re.search(r"[\s#'\"\\$]", text) and "'" not in text:
        return f"'{text}'"
    return text


@cache
def _tooling_source() -> Any:
    """hf-space-tools' source.py, loaded by path: the rule for the template's URL lives there."""
    path = Path(__file__).resolve().parents[1] / "tooling" / "hf_space_tools" / "source.py"
    spec = importlib.util.spec_from_file_location("hfst_tooling_source", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tooling_requirement(answers: dict[str, Any], conf: Any) -> str:
    """requirements-dev.txt's line for hf-space-tools, at the commit this Space is rendered from."""
    local_path = str(conf["src_path"])  # copier's LazyDict: items, not attributes
    source = answers.get("_src_path") or local_path
    return _tooling_source().requirement(source, local_path, conf["vcs_ref_hash"])


class CodeFilters(Extension):
    """The filters templates write answers with: Python, YAML, Markdown and .env text."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals["py_assign"] = py_assign
        environment.filters.update(
            {
                "yaml_scalar": yaml_scalar,
                "markdown_text": markdown_text,
                "py_docstring": py_docstring,
                "docstring_text": docstring_text,
                "env_quote": env_quote,
                "py_repr": py_literal,
                "py_tuple": py_tuple,
                "field_extra": field_extra,
                "py_kwarg": py_kwarg,
                "tooling_requirement": tooling_requirement,
            }
        )

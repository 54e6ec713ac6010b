"""Jinja extensions for hf-space-template: the service catalogue, answer checks, derived values.

Loaded by copier-template-extensions from copier.yml. Everything computed here
(the Space URL, the chosen services' variables, requirements) lives in the render
context only, never in the user's answers file. The module has no import-time
side effects beyond reading services.yml, so the template's tests import it too.
"""

from __future__ import annotations

import json
import keyword
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from copier.errors import UserMessageError
from copier_template_extensions import ContextHook
from jinja2.ext import Extension

CATALOGUE_PATH = Path(__file__).with_name("services.yml")

HF_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SPACE_NAME_MAX = 96
SHORT_DESCRIPTION_MAX = 60
# Ports a Space may open outbound connections on (Spaces overview, "Networking").
SPACE_OUTBOUND_PORTS = (80, 443, 8080)


@cache
def load_catalogue() -> dict[str, Any]:
    """The parsed services.yml, with each variable tagged by its service."""
    data = yaml.safe_load(CATALOGUE_PATH.read_text(encoding="utf-8"))
    for variable in data["app"]["variables"]:
        variable["service"] = "app"
    for name, part in [*data["services"].items(), *data.get("features", {}).items()]:
        part["name"] = name
        for variable in part["variables"]:
            variable["service"] = name
    return data


def service_names() -> list[str]:
    return list(load_catalogue()["services"])


# --- answer checks: each returns "" when the value is fine, else what is wrong and what is allowed


def space_name_problem(value: str) -> str:
    allowed = (
        "use letters, digits, '-', '_' and '.', at most 96 characters, "
        "not starting or ending with '-' or '.', and no '--' or '..'"
    )
    if not value:
        return f"it is empty; {allowed}"
    if len(value) > SPACE_NAME_MAX:
        return f"it has {len(value)} characters; {allowed}"
    if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
        return f"{value!r} has characters Hugging Face does not allow; {allowed}"
    if value[0] in "-." or value[-1] in "-.":
        return f"{value!r} starts or ends with '-' or '.'; {allowed}"
    if "--" in value or ".." in value:
        return f"{value!r} contains '--' or '..'; {allowed}"
    return ""


def owner_problem(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,40}[A-Za-z0-9])?", value or ""):
        return (
            f"{value!r} is not a Hugging Face user or organization name; "
            "use letters, digits and single '-' between them, e.g. my-org"
        )
    return ""


def package_name_problem(value: str) -> str:
    if not value.isidentifier() or not value.isascii():
        return (
            f"{value!r} is not a Python identifier; use lowercase letters, digits and '_', e.g. app"
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{value!r} is a Python keyword; pick another name, e.g. app"
    if value != value.lower():
        return f"{value!r} has capitals; Python package names are lowercase, e.g. {value.lower()}"
    return ""


def short_description_problem(value: str) -> str:
    if len(value) > SHORT_DESCRIPTION_MAX:
        return (
            f"it has {len(value)} characters; Hugging Face allows at most "
            f"{SHORT_DESCRIPTION_MAX}, shorten it"
        )
    return ""


def origin_problem(origin: str) -> str:
    """Why one CORS origin is not `scheme://host[:port]` with http(s), or ""."""
    hint = "write it as scheme://host[:port] with http or https, e.g. https://myapp.vercel.app"
    if "*" in origin:
        return (
            f"{origin!r} has a wildcard, which CORS with credentials never matches; "
            f"list exact origins and use cors_origin_regex for patterns; {hint}"
        )
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not origin.startswith(f"{parts.scheme}://"):
        return f"{origin!r} has no http:// or https:// scheme; {hint}"
    if not parts.hostname or parts.username or parts.password:
        return f"{origin!r} has no host; {hint}"
    if parts.path or parts.query or parts.fragment:
        what = "a trailing slash" if parts.path == "/" else "a path, query or fragment"
        return f"{origin!r} has {what}, but a browser's Origin never does; {hint}"
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return f"{origin!r} has an invalid port; {hint}"
    return ""


def split_origins(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def origins_problem(value: str) -> str:
    origins = split_origins(value)
    if not origins:
        return "it is empty; give at least one origin, e.g. http://localhost:3000"
    return "; ".join(problem for problem in map(origin_problem, origins) if problem)


def regex_problem(value: str) -> str:
    if not value:
        return ""
    try:
        re.compile(value)
    except re.error as error:
        return f"{value!r} is not a valid regular expression ({error}); e.g. https://myapp-[a-z0-9-]+\\.vercel\\.app"
    return ""


def api_prefix_problem(value: str) -> str:
    if value == "":
        return ""  # routes at the root
    if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", value):
        return f"{value!r} is not a path prefix; start with '/', no trailing slash, e.g. /api/v1"
    return ""


ANSWER_CHECKS = {
    "hf_owner": owner_problem,
    "space_name": space_name_problem,
    "package_name": package_name_problem,
    "short_description": short_description_problem,
    "frontend_origins": origins_problem,
    "cors_origin_regex": regex_problem,
    "api_prefix": api_prefix_problem,
}


def check_answers(data: dict[str, Any], user_defaults: dict[str, Any] | None = None) -> str:
    """Validate answers given up front (--data, --data-file, user defaults); raise one message.

    Copier turns a failing validator on such data into a traceback; raising
    UserMessageError here instead makes the CLI print the message and exit 1
    before any file is written. Interactive answers go through each
    question's validator, which uses the same checks.
    """
    data = {**(user_defaults or {}), **data}
    problems = [
        f"{name}: {problem}"
        for name, check in ANSWER_CHECKS.items()
        if name in data and (problem := check(str(data[name])))
    ]
    services = data.get("services") or []
    if isinstance(services, str):  # raw --data text, e.g. "[qdrant, neon]"
        parsed = yaml.safe_load(services)
        services = parsed if isinstance(parsed, list) else [parsed]
    unknown = sorted(set(map(str, services)) - set(service_names()))
    if unknown:
        choices = ", ".join(service_names())
        problems.append(f"services: unknown service(s) {', '.join(unknown)}; choose from {choices}")
    problems += chat_problems(data, [str(s) for s in services])
    if problems:
        raise UserMessageError("Invalid answers:\n  " + "\n  ".join(problems))
    return ""


def chat_problems(data: dict[str, Any], services: list[str]) -> list[str]:
    """The chat route needs an LLM service, and its provider must be one of those chosen."""
    llms = [name for name in llm_service_names() if name in services]
    names = " or ".join(llm_service_names())
    chat = data.get("chat")
    problems = []
    if (chat is True or str(chat).lower() in ("true", "yes", "1")) and not llms:
        problems.append(f"chat: the chat route needs an LLM service; add {names} to services")
    provider = data.get("chat_provider")
    if provider not in (None, "") and str(provider) not in llms:
        chosen = ", ".join(llms) or f"none is chosen; add {names} to services"
        problems.append(
            f"chat_provider: {provider!r} is not a chosen LLM service; choose from {chosen}"
        )
    return problems


# --- derived values


def slugify(value: str) -> str:
    """A Space name from a title: 'My RAG API!' -> 'my-rag-api'."""
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return slug[:SPACE_NAME_MAX].strip("-") or "my-space"


def space_subdomain(owner: str, space_name: str) -> str:
    """The *.hf.space host label: lowercase, '.' and '_' become '-'."""
    return re.sub(r"[^a-z0-9-]", "-", f"{owner}-{space_name}".lower())


def url_port(url: str, default_port: int | None = None) -> int | None:
    """The port a URL connects to: explicit, else the client's default, else the scheme's."""
    parts = urlsplit(url)
    scheme_ports = {"https": 443, "http": 80}
    return parts.port or default_port or scheme_ports.get(parts.scheme)


def chosen_services(services: list[str] | None) -> list[dict[str, Any]]:
    catalogue = load_catalogue()["services"]
    wanted = set(services or [])
    return [service for name, service in catalogue.items() if name in wanted]


def llm_service_names() -> list[str]:
    """The services that can serve the chat route: those naming a default chat model."""
    return [name for name, s in load_catalogue()["services"].items() if s.get("chat_model")]


def chosen_features(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The optional parts of the app the answers turn on, e.g. `auth: jwt` -> the jwt feature."""
    features = load_catalogue().get("features", {}).values()
    chosen = [f for f in features if all(answers.get(q) == v for q, v in f["when"].items())]
    provider = load_catalogue()["services"].get(str(answers.get("chat_provider") or ""), {})
    model = provider.get("chat_model")
    return [
        {
            **f,
            "variables": [
                {**v, "default": model, "example": model}
                if v.get("provider_default") and model
                else v
                for v in f["variables"]
            ],
        }
        for f in chosen
    ]


def service_requirements(service: dict[str, Any], flavor: str) -> list[str]:
    flavors = service.get("flavors")
    return list(flavors[flavor]["requirements"]) if flavors else list(service["requirements"])


def required_sets(service: dict[str, Any]) -> list[list[str]]:
    """The alternative sets of variables that make a service configured."""
    if "forms" in service:
        return [list(form["variables"]) for form in service["forms"]]
    return [[v["name"] for v in service["variables"] if v.get("required")]]


class ContextUpdater(ContextHook):
    """Adds the catalogue and the values derived from the answers to every render."""

    def hook(self, context: dict[str, Any]) -> None:
        catalogue = load_catalogue()
        chosen = chosen_services(context.get("services"))
        flavor = context.get("elasticsearch_flavor") or "elasticsearch9"
        owner, name = context.get("hf_owner", ""), context.get("space_name", "")
        context["catalogue"] = catalogue
        context["service_choices"] = {
            f"{s['title']}: {s['summary']}": s["name"] for s in catalogue["services"].values()
        }
        context["elasticsearch_flavor_choices"] = {
            flavor["title"]: key
            for key, flavor in catalogue["services"]["elasticsearch"]["flavors"].items()
        }
        context["chosen_services"] = chosen
        framework = context.get("framework") or "fastapi"
        context["app_variables"] = [
            v
            for v in catalogue["app"]["variables"]
            if framework in v.get("frameworks", [framework])
        ]
        llms = [name for name in llm_service_names() if name in (context.get("services") or [])]
        context["llm_services"] = llms
        context["chat_provider_choices"] = {
            catalogue["services"][name]["title"]: name for name in llms
        }
        features = chosen_features(context)
        context["chosen_features"] = features
        context["service_variables"] = [v for s in chosen for v in s["variables"]]
        context["feature_variables"] = [v for f in features for v in f["variables"]]
        context["all_variables"] = (
            context["app_variables"] + context["service_variables"] + context["feature_variables"]
        )
        context["service_requirements"] = [
            r for s in chosen for r in service_requirements(s, flavor)
        ] + [r for f in features for r in f["requirements"]]
        parts = [*catalogue["services"].values(), *catalogue.get("features", {}).values()]
        context["template_variable_names"] = sorted(
            {v["name"] for v in catalogue["app"]["variables"]}
            | {v["name"] for part in parts for v in part["variables"]}
            | set(catalogue.get("retired_variables", []))
        )
        context["space_id"] = f"{owner}/{name}"
        context["space_host"] = f"{space_subdomain(owner, name)}.hf.space"
        context["space_url"] = f"https://{context['space_host']}"
        context["space_repo_url"] = f"https://huggingface.co/spaces/{owner}/{name}"
        context["origins_list"] = split_origins(context.get("frontend_origins", ""))


class SpaceFilters(Extension):
    """Filters used by copier.yml validators and by the templates."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.globals["py_assign"] = py_assign
        environment.filters.update(
            {f"{name}_problem": check for name, check in ANSWER_CHECKS.items()}
            | {
                "check_answers": check_answers,
                "slugify_space": slugify,
                "required_sets": required_sets,
                "url_port": url_port,
                "env_quote": env_quote,
                "py_repr": py_literal,
                "expected_format": expected_format,
                "py_tuple": py_tuple,
                "field_extra": field_extra,
                "py_kwarg": py_kwarg,
            }
        )


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
        "float": "a positive number of seconds",
        "bool": "true or false",
        "origins": "comma-separated origins like https://myapp.vercel.app, no path or *",
        "regex": "a valid regular expression, matched against the whole origin",
    }.get(kind, "text")


def py_literal(value: Any) -> str:
    """A Python literal as ruff format writes it: double-quoted strings."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
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
    --check` fail. Flat when the line fits; else a list is exploded one item per
    line, and a string is wrapped in parentheses when that makes it fit.
    """
    indent = " " * (len(prefix) - len(prefix.lstrip(" ")))
    flat = prefix + py_literal(value)
    if len(flat) <= LINE_LENGTH:
        return flat
    inner = indent + "    "
    if isinstance(value, list | tuple):
        items = "".join(f"{inner}{py_literal(item)},\n" for item in value)
        return f"{prefix}[\n{items}{indent}]"
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

"""The service catalogue is complete, consistent, and the only list of services."""

from __future__ import annotations

import copy
import re
from typing import Any

import expected
import pytest
import yaml
from support import CATALOGUE, ROOT, SERVICES, SPACE_TEMPLATE

KINDS = {
    "url",
    "host",
    "port",
    "count",
    "dimensions",
    "limit",
    "streams",  # CHAT_MAX_STREAMS: below the chat provider's connection pool
    "float",
    "bool",
    "text",
    "origins",
    "regex",
    "service_names",
}
SERVICE_MODULES = SPACE_TEMPLATE / "{{package_name}}" / "services"


FEATURES = CATALOGUE.get("features", {})


def all_variables() -> list[dict]:
    parts = [*CATALOGUE["services"].values(), *FEATURES.values()]
    return CATALOGUE["app"]["variables"] + [v for part in parts for v in part["variables"]]


def test_each_service_has_exactly_one_module() -> None:
    modules = {
        match.group(1)
        for path in SERVICE_MODULES.iterdir()
        if (
            match := re.fullmatch(
                r"\{% if '(\w+)' in services %\}\1\.py\{% endif %\}(\.jinja)?", path.name
            )
        )
    }
    assert modules == set(SERVICES)


@pytest.mark.parametrize("variable", all_variables(), ids=lambda v: v["name"])
def test_variable_entries_are_complete(variable: dict) -> None:
    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", variable["name"])
    assert isinstance(variable["secret"], bool)
    assert variable["kind"] in KINDS
    for key in ("example", "help", "where"):
        assert str(variable[key]).strip(), key
    if variable["kind"] == "url":
        assert variable["schemes"]
    if variable.get("port_variable"):
        assert variable["port_variable"] in {v["name"] for v in all_variables()}


def test_variable_names_are_unique() -> None:
    names = [v["name"] for v in all_variables()]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", SERVICES)
def test_service_entries_are_complete(name: str) -> None:
    service = CATALOGUE["services"][name]
    for key in ("title", "summary", "health_check", "docs"):
        assert service[key].strip(), key
    assert service["requirements"] or service.get("flavors")
    names = {v["name"] for v in service["variables"]}
    for form in service.get("forms", []):
        assert set(form["variables"]) <= names
    if "forms" not in service:
        assert any(v.get("required") for v in service["variables"]), "nothing makes it configured"


def test_api_services_take_a_base_url_override() -> None:
    for name in ("groq", "gemini", "openai", "cohere"):
        names = {v["name"] for v in CATALOGUE["services"][name]["variables"]}
        assert f"{name.upper()}_BASE_URL" in names


def test_question_choices_come_from_the_catalogue() -> None:
    copier_yml = (ROOT / "copier.yml").read_text(encoding="utf-8")
    assert 'choices: "{{ service_choices | tojson }}"' in copier_yml
    assert 'choices: "{{ elasticsearch_flavor_choices | tojson }}"' in copier_yml


@pytest.mark.parametrize("name", list(FEATURES))
def test_feature_entries_are_complete_and_turned_on_by_a_real_answer(name: str) -> None:
    feature = FEATURES[name]
    for key in ("title", "summary", "docs"):
        assert feature[key].strip(), key
    assert isinstance(feature["requirements"], list)
    questions = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    for question, answer in feature["when"].items():
        spec = questions[question]
        if spec["type"] == "bool" or answer is True:  # true: any non-empty text answer
            assert isinstance(answer, bool), (question, answer)
        else:
            assert answer in spec["choices"].values(), (question, answer)
    names = {v["name"] for v in feature["variables"]}
    for form in feature.get("forms", []):
        assert set(form["variables"]) <= names
    if feature.get("check"):
        assert feature.get("forms") or any(v.get("required") for v in feature["variables"])
        assert feature["health_check"].strip()
        assert {v["service"] for v in feature["variables"]} == {feature["check"]}


# --- the catalogue against the hand-written table in tests/expected.py --------------------


def pip_name(requirement: str) -> str:
    """The canonical project name of a requirement line ("psycopg[binary]>=3" -> "psycopg")."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, f"not a requirement: {requirement!r}"
    return re.sub(r"[-_.]+", "-", match[1]).lower()


def differences(catalogue: dict[str, Any]) -> list[str]:
    """Every way ``catalogue`` departs from tests/expected.py, one line each."""
    found: list[str] = []

    def compare(where: str, actual: object, wanted: object) -> None:
        if actual != wanted:
            found.append(f"{where}: catalogue has {actual!r}, expected.py says {wanted!r}")

    app = {v["name"]: v for v in catalogue["app"]["variables"]}
    compare("app variables", sorted(app), sorted(expected.APP))
    for name in app.keys() & expected.APP.keys():
        variable, wanted = app[name], expected.APP[name]
        compare(f"{name} secret", variable["secret"], wanted["secret"])
        compare(f"{name} required", bool(variable.get("required")), wanted["required"])
        compare(f"{name} on_space", variable.get("on_space", True), wanted["on_space"])

    services = catalogue["services"]
    compare("services", sorted(services), sorted(expected.SERVICES))
    for service in services.keys() & expected.SERVICES.keys():
        entry, wanted = services[service], expected.SERVICES[service]
        variables = {v["name"]: v for v in entry["variables"]}
        compare(f"{service} variables", sorted(variables), sorted(wanted["variables"]))
        for name in variables.keys() & wanted["variables"].keys():
            want = wanted["variables"][name]
            compare(f"{name} secret", variables[name]["secret"], want["secret"])
            if wanted["forms"] is None:  # with forms, `required` is ignored by design
                compare(f"{name} required", bool(variables[name].get("required")), want["required"])
        forms = [frozenset(form["variables"]) for form in entry.get("forms", [])] or None
        compare(f"{service} forms", forms, wanted["forms"])
        compare(
            f"{service} requirements",
            {pip_name(r) for r in entry["requirements"]},
            wanted["requirements"],
        )
        flavors = entry.get("flavors")
        compare(
            f"{service} flavors",
            flavors and {f: {pip_name(r) for r in v["requirements"]} for f, v in flavors.items()},
            wanted["flavors"],
        )
    features = catalogue.get("features") or {}
    compare("features", sorted(features), sorted(expected.FEATURES))
    for feature in features.keys() & expected.FEATURES.keys():
        entry, wanted = features[feature], expected.FEATURES[feature]
        variables = {v["name"]: v for v in entry.get("variables", [])}
        compare(f"{feature} variables", sorted(variables), sorted(wanted["variables"]))
        for name in variables.keys() & wanted["variables"].keys():
            want = wanted["variables"][name]
            compare(f"{name} secret", variables[name]["secret"], want["secret"])
            compare(f"{name} required", bool(variables[name].get("required")), want["required"])
        compare(
            f"{feature} requirements",
            {pip_name(r) for r in entry.get("requirements", [])},
            wanted["requirements"],
        )
    return found


def test_catalogue_matches_the_hand_written_table() -> None:
    assert differences(CATALOGUE) == []


def _variable(catalogue: dict[str, Any], name: str) -> tuple[list[dict], dict]:
    parts = [*catalogue["services"].values(), *(catalogue.get("features") or {}).values()]
    for variables in [catalogue["app"]["variables"], *(part["variables"] for part in parts)]:
        for variable in variables:
            if variable["name"] == name:
                return variables, variable
    raise KeyError(name)


EVERY_VARIABLE = [v["name"] for v in all_variables()] + [
    v["name"] for f in (CATALOGUE.get("features") or {}).values() for v in f["variables"]
]


@pytest.mark.parametrize("name", EVERY_VARIABLE)
def test_dropping_a_variable_is_caught(name: str) -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    variables, variable = _variable(catalogue, name)
    variables.remove(variable)
    assert [line for line in differences(catalogue) if name in line]


@pytest.mark.parametrize("name", EVERY_VARIABLE)
def test_reclassifying_a_variable_is_caught(name: str) -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    _, variable = _variable(catalogue, name)
    variable["secret"] = not variable["secret"]
    assert [line for line in differences(catalogue) if line.startswith(f"{name} secret")]


@pytest.mark.parametrize(
    ("service", "name"),
    [
        (service, name)
        for service, entry in expected.SERVICES.items()
        if entry["forms"] is None
        for name in entry["variables"]
    ],
)
def test_changing_what_is_required_is_caught(service: str, name: str) -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    _, variable = _variable(catalogue, name)
    variable["required"] = not variable.get("required")
    assert [line for line in differences(catalogue) if line.startswith(f"{name} required")]


@pytest.mark.parametrize("service", SERVICES)
def test_changing_a_requirement_is_caught(service: str) -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    entry = catalogue["services"][service]
    target = entry["flavors"]["opensearch"] if entry.get("flavors") else entry
    target["requirements"] = [*target["requirements"][1:], "requests>=2"]
    assert [line for line in differences(catalogue) if line.startswith(service)]


def test_dropping_a_form_is_caught() -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    catalogue["services"]["redis"]["forms"].pop()
    assert [line for line in differences(catalogue) if line.startswith("redis forms")]


def test_a_feature_missing_from_the_table_is_caught() -> None:
    catalogue = copy.deepcopy(CATALOGUE)
    catalogue.setdefault("features", {})["auth"] = {
        "variables": [{"name": "APP_API_KEY", "secret": False, "required": True}],
        "requirements": [],
    }
    assert [line for line in differences(catalogue) if line.startswith("features")]

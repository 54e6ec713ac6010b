"""The service catalogue is complete, consistent, and the only list of services."""

from __future__ import annotations

import re

import pytest
import yaml
from support import CATALOGUE, ROOT, SERVICES

KINDS = {
    "url",
    "host",
    "port",
    "count",
    "float",
    "bool",
    "text",
    "origins",
    "regex",
    "service_names",
}
SERVICE_MODULES = ROOT / "template" / "{{package_name}}" / "services"


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
        assert answer in questions[question]["choices"].values(), (question, answer)
    names = {v["name"] for v in feature["variables"]}
    for form in feature.get("forms", []):
        assert set(form["variables"]) <= names
    if feature.get("check"):
        assert feature.get("forms") or any(v.get("required") for v in feature["variables"])
        assert feature["health_check"].strip()
        assert {v["service"] for v in feature["variables"]} == {feature["check"]}

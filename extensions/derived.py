"""The context updater: the values derived from the answers, added to every render and never
stored in the answers file."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from copier_template_extensions import ContextHook

from .answers import space_subdomain
from .catalogue import (
    SPACE_OUTBOUND_PORTS,
    choice_context,
    chosen_features,
    chosen_services,
    load_catalogue,
    service_requirements,
)
from .models import MODEL_REQUIREMENTS, TORCH_CPU_INDEX, TORCH_REQUIREMENT, model_specs
from .origin_checks import split_origins
from .questions import load_questions


class ContextUpdater(ContextHook):
    """Adds the catalogue and the values derived from the answers to every render."""

    def hook(self, context: dict[str, Any]) -> None:
        # Copier calls this for every string it renders, some 800 times a render: the values
        # depend on the answers only, so they are derived once per set of answers.
        answers = {name: context[name] for name in load_questions() if name in context}
        context.update(derive(json.dumps(answers, sort_keys=True, default=str)))


@lru_cache(maxsize=32)
def derive(answers_json: str) -> dict[str, Any]:
    """The derived values for the answers (JSON, so that they can key the cache)."""
    answers = json.loads(answers_json)
    context = dict(answers)
    catalogue = load_catalogue()
    chosen = chosen_services(context.get("services"))
    default_flavor = catalogue["services"]["elasticsearch"]["default_flavor"]
    flavor = context.get("elasticsearch_flavor") or default_flavor
    context.update(choice_context(context.get("services"), flavor))
    owner, name = context.get("hf_owner", ""), context.get("space_name", "")
    context["chosen_services"] = chosen
    # The SDK each chosen service's check imports (the first of its `imports`).
    context["sdk_modules"] = {
        s["name"]: (s["flavors"][flavor] if "flavors" in s else s)["imports"][0] for s in chosen
    }
    context["chat_service"] = catalogue["services"].get(context.get("chat_provider") or "")
    # The chat route requires the Space's auth unless its owner chose public (or has none).
    context["chat_protected"] = (
        bool(context.get("chat"))
        and context.get("chat_access", "auth") == "auth"
        and context.get("auth", "none") != "none"
    )
    framework = context.get("framework") or "fastapi"
    context["app_variables"] = [
        v for v in catalogue["app"]["variables"] if framework in v.get("frameworks", [framework])
    ]
    features = chosen_features(context)
    context["chosen_features"] = features
    context["origin_regex"] = any(f["name"] == "origin_regex" for f in features)
    context["service_variables"] = [v for s in chosen for v in s["variables"]]
    # What readiness checks and reports "unconfigured": the services, then the features
    # with a check, under the check's name.
    context["checked_parts"] = chosen + [
        {**f, "name": f["check"]} for f in features if f.get("check")
    ]
    context["checked_variables"] = [v for s in context["checked_parts"] for v in s["variables"]]
    context["all_variables"] = [
        *context["app_variables"],
        *context["service_variables"],
        *(v for f in features for v in f["variables"]),
    ]
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
    context["space_url"] = f"https://{space_subdomain(owner, name)}.hf.space"
    context["space_repo_url"] = f"https://huggingface.co/spaces/{owner}/{name}"
    context["origins_list"] = split_origins(context.get("frontend_origins", ""))
    # A monorepo's Space folder: its files go there, its workflows to the root's
    # .github/workflows/ under the folder's name, beside the repo's own.
    space_dir = context.get("space_dir") or ""
    context["space_root"] = space_dir or "."
    context["space_prefix"] = f"{space_dir}/" if space_dir else ""
    context["workflow_prefix"] = f"{space_dir.replace('/', '-')}-" if space_dir else ""
    models = model_specs(context.get("models") or "")
    context["model_specs"] = models
    runtime = context.get("model_runtime") or "files"
    context["model_requirements"] = MODEL_REQUIREMENTS[runtime] if models else []
    context["torch_requirement"] = (
        TORCH_REQUIREMENT if TORCH_REQUIREMENT in context["model_requirements"] else ""
    )
    context["torch_cpu_index"] = TORCH_CPU_INDEX
    context["space_outbound_ports"] = SPACE_OUTBOUND_PORTS
    return {name: value for name, value in context.items() if name not in answers}

"""The documentation site builds with `mkdocs build --strict`, and its generated reference pages
say what copier.yml and extensions/services.yml say. The Pages workflow passes the same audits
as the template's CI.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support import CATALOGUE, ROOT, SERVICES, extension, run
from workflow_tools import load_workflow, tool

DOCS_WORKFLOW = ROOT / ".github" / "workflows" / "docs.yml"
QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
BUILD_BUDGET_SECONDS = 60  # about 1 s here; generous for a loaded 2-core machine
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def mkdocs(*args: str | Path, cwd: Path = ROOT):
    return run(sys.executable, "-m", "mkdocs", "build", *args, cwd=cwd, env=QUIET, timeout=300)


BLOCKS = {"p", "li", "td", "th", "tr", "pre", "div", "h1", "h2", "h3", "h4", "a"}


class _Text(HTMLParser):
    """The visible text of a page's article (no navigation), whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article" or self.depth:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1
            if tag in BLOCKS:
                self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def page_text(site: Path, page: str) -> str:
    parser = _Text()
    parser.feed((site / page / "index.html").read_text(encoding="utf-8"))
    return " ".join("".join(parser.parts).split())


def squash(text: Any) -> str:
    """Source text as it reads on the page: whitespace collapsed, Markdown code marks gone."""
    return " ".join(str(text).replace("`", "").split())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("site")
    started = time.monotonic()
    result = mkdocs("--strict", "--site-dir", destination)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert elapsed < BUILD_BUDGET_SECONDS, f"mkdocs build took {elapsed:.1f} s"
    print(f"mkdocs build --strict: {elapsed:.2f} s")
    return destination


def load_hooks() -> Any:
    """docs/hooks.py, imported by path as mkdocs does."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copier_questions() -> dict[str, dict[str, Any]]:
    """The questions copier may ask (not the hidden answer check)."""
    return {n: s for n, s in extension.load_questions().items() if s.get("when") is not False}


# --- the build ---------------------------------------------------------------------------------


def test_every_docs_page_is_in_the_site(site: Path) -> None:
    for page in sorted((ROOT / "docs").glob("**/*.md")):
        relative = page.relative_to(ROOT / "docs")
        built = relative.with_suffix("") if relative.stem != "index" else relative.parent
        assert (site / built / "index.html").is_file(), relative


def test_questions_page_holds_each_questions_help_and_default(site: Path) -> None:
    text = page_text(site, "reference/questions")
    for name, spec in copier_questions().items():
        assert f"{name}" in text
        assert squash(spec["help"]) in text, name
        default = spec.get("default")
        if isinstance(default, bool):
            assert f"Default: {str(default).lower()}" in text, name
        elif isinstance(default, str) and default and "{{" not in default:
            assert f"Default: {squash(default)}" in text, name
        if isinstance(spec.get("choices"), list):
            for choice in spec["choices"]:
                assert f"{choice}" in text, (name, choice)


def test_questions_page_shows_the_checks_real_messages(site: Path) -> None:
    text = page_text(site, "reference/questions")
    for name, value in [("space_name", "a--b"), ("frontend_origins", "https://*.vercel.app")]:
        message = extension.ANSWER_CHECKS[name](value)
        assert message and squash(message) in text, name
    # Catalogue-driven choices and the derived default, rendered as copier renders them.
    for service in SERVICES:
        assert f"{service}: {CATALOGUE['services'][service]['title']}" in text
    assert "with the other defaults: my-rag-api" in text
    assert "services: postgres: not offered; choose from cohere, elasticsearch" in text


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_page_holds_its_catalogue_entry(site: Path, name: str) -> None:
    service = CATALOGUE["services"][name]
    text = page_text(site, f"reference/services/{name}")
    assert service["title"] in text and service["docs"] in text
    for variable in service["variables"]:
        for key in ("name", "help", "where", "example"):
            assert squash(variable[key]) in text, (variable["name"], key)
    assert "Pitfalls" in text
    # The services overview links every page.
    overview = (site / "reference" / "services" / "index.html").read_text(encoding="utf-8")
    assert f'href="{name}/"' in overview


def test_service_pages_apply_the_outbound_port_rule(site: Path) -> None:
    neon = page_text(site, "reference/services/neon")
    # As Neon's console gives it (no port): Neon's WebSocket endpoint on 443 from a Space.
    assert "DATABASE_URL as in the example: port 443, a port a Space can reach" in neon
    assert "sslmode" in neon and "channel_binding" in neon and "-pooler" in neon
    redis = page_text(site, "reference/services/redis")
    assert "UPSTASH_REDIS_REST_URL as in the example: port 443, a port a Space can reach" in redis
    assert "REDIS_URL as in the example: port 6379, not a port a Space can reach" in redis
    qdrant = page_text(site, "reference/services/qdrant")
    assert "QDRANT_URL as in the example: port 443, a port a Space can reach" in qdrant
    assert "rediss://" in redis


def test_settings_and_readiness_tables_come_from_the_catalogue(site: Path) -> None:
    settings = page_text(site, "reference/settings")
    for variable in CATALOGUE["app"]["variables"]:
        assert variable["name"] in settings and squash(variable["help"]) in settings
    readiness = page_text(site, "reference/readiness")
    for service in CATALOGUE["services"].values():
        assert squash(html.unescape(service["health_check"])) in readiness
    for page in ("reference/settings", "reference/readiness"):
        assert "generated:" not in (site / page / "index.html").read_text(encoding="utf-8")


def test_architecture_diagram_is_a_mermaid_block(site: Path) -> None:
    page = (site / "architecture" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<pre class="mermaid"><code>flowchart LR', page)


def test_new_catalogue_entries_get_pages_and_strict_mode_wants_pitfalls(tmp_path: Path) -> None:
    """The hook follows the catalogue: a service or feature added there appears without touching
    the docs, and the strict build fails until docs/hooks.py has the service's pitfalls."""
    for name in ("docs", "extensions"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for name in ("mkdocs.yml", "copier.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    package = Path("template", "{{ space_root }}", "{{package_name}}")
    (tmp_path / package).mkdir(parents=True)
    for rules in ("origins.py", "{% if origin_regex %}origin_regex.py{% endif %}"):
        shutil.copy2(ROOT / package / rules, tmp_path / package / rules)  # the answer checks
    catalogue_path = tmp_path / "extensions" / "services.yml"
    catalogue = yaml.safe_load(catalogue_path.read_text(encoding="utf-8"))
    catalogue["services"]["pinecone"] = {
        **CATALOGUE["services"]["cohere"],
        "title": "Pinecone",
        "summary": "Pinecone vector database",
        "variables": [
            {**CATALOGUE["services"]["cohere"]["variables"][0], "name": "PINECONE_API_KEY"}
        ],
    }
    for service in catalogue["services"].values():  # drop the tags load_catalogue() added
        service.pop("name", None)
        for variable in service["variables"]:
            variable.pop("service", None)
    for variable in catalogue["app"]["variables"]:
        variable.pop("service", None)
    for feature in catalogue.get("features", {}).values():
        feature.pop("name", None)
        for variable in feature["variables"]:
            variable.pop("service", None)
    catalogue.setdefault("features", {})["jwt"] = {
        "title": "JWT sessions",
        "when": {"auth": "jwt"},
        "requirements": ["pyjwt>=2.8,<3"],
        "variables": [
            {**CATALOGUE["services"]["cohere"]["variables"][0], "name": "JWT_SIGNING_KEY"}
        ],
    }
    catalogue_path.write_text(yaml.safe_dump(catalogue, sort_keys=False), encoding="utf-8")

    result = mkdocs("--no-strict", "--site-dir", tmp_path / "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "service pinecone has no PITFALLS entry" in result.stderr
    assert "PINECONE_API_KEY" in page_text(tmp_path / "site", "reference/services/pinecone")
    settings_page = page_text(tmp_path / "site", "reference/settings")
    assert "JWT sessions (jwt)¶ Turned on by the answer auth: jwt" in settings_page
    assert "JWT_SIGNING_KEY Secret" in settings_page

    strict = mkdocs("--strict", "--site-dir", tmp_path / "strict", cwd=tmp_path)
    assert strict.returncode != 0
    assert "pinecone" in strict.stderr


PROSE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="`"),
    min_size=1,
)


@settings(max_examples=300, deadline=None)
@given(text=PROSE)
@example(text="{0}")  # attr_list once took a cell's trailing braces as attributes
@example(text=r"https://myapp-[a-z0-9-]+\.vercel\.app")
@example(text="&lt; means <, &amp; means &, https://*.vercel.app *and* a|b <http://x>")
def test_catalogue_text_reads_on_the_page_exactly_as_written(text: str) -> None:
    """Regexes, wildcards, pipes and angle brackets in the sources are shown, not interpreted,
    in a list item and in a table cell alike."""
    prose = load_hooks_once()._prose(text)
    expected = " ".join(f"x: {text}".split())
    extensions = ["tables", "attr_list", "pymdownx.superfences", "pymdownx.inlinehilite"]
    item = markdown.markdown(f"- x: {prose}", extensions=extensions)
    table = markdown.markdown(f"| a | b |\n|---|---|\n| x: {prose} | y |", extensions=extensions)
    for rendered in (item, table):
        parser = _Text()
        parser.feed(f"<article>{rendered}</article>")
        shown = " ".join("".join(parser.parts).split())
        assert expected in shown, (text, prose, rendered)


_HOOKS: list[Any] = []


def load_hooks_once() -> Any:
    if not _HOOKS:
        _HOOKS.append(load_hooks())
    return _HOOKS[0]


def test_docs_hooks_are_ruff_clean() -> None:
    # tests/test_lint.py leaves docs/ out (its Markdown snippets); the hook is code.
    hooks = ROOT / "docs" / "hooks.py"
    for command in (("check",), ("format", "--check")):
        result = run(sys.executable, "-m", "ruff", *command, "--no-cache", hooks, cwd=ROOT)
        assert result.returncode == 0, result.stdout


# --- the Pages workflow ------------------------------------------------------------------------


def test_docs_workflow_passes_zizmor_and_githubs_schema() -> None:
    for persona in ("regular", "pedantic"):
        result = run(
            tool("zizmor"), "--offline", "--no-progress", "--persona", persona,
            DOCS_WORKFLOW, cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", DOCS_WORKFLOW,
        cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_docs_workflow_builds_strict_and_only_deploy_may_publish() -> None:
    workflow = load_workflow(DOCS_WORKFLOW)
    text = DOCS_WORKFLOW.read_text(encoding="utf-8")
    assert workflow["permissions"] == {"contents": "read"}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert "permissions" not in build
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["needs"] == "build"
    assert "refs/heads/main" in deploy["if"] and "pull_request" in deploy["if"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "mkdocs build --strict" in runs and "pip install --group test" in runs
    uses = [step["uses"] for job in (build, deploy) for step in job["steps"] if "uses" in step]
    for action in ("upload-pages-artifact", "configure-pages", "deploy-pages", "checkout"):
        assert any(u.startswith(f"actions/{action}@") for u in uses), action
    for use in uses:
        assert SHA_PIN.match(use), use
        assert re.search(re.escape(use) + r" # v\d", text), use
    checkout = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False


def test_mkdocs_material_is_a_test_dependency() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"mkdocs-material[<>=]', pyproject)

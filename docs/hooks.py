"""mkdocs hooks: the reference pages, generated from the template's sources at build time.

- reference/questions.md from copier.yml: help, type, default, allowed values, and the
  messages the answer checks in extensions/context.py give for sample bad values (the
  checks are called, so the messages are the real ones).
- reference/services/index.md and one page per service from extensions/services.yml, with
  the pitfalls below (prose kept here, keyed by service name).
- `<!-- generated: NAME -->` markers in hand-written pages are replaced by tables made from
  the catalogue (see MARKERS).

Anything that no longer matches (a question whose sample bad value is now accepted, a service
without pitfalls, an unknown marker) is logged as a warning, which `mkdocs build --strict`
turns into a failed build.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("mkdocs.hooks.reference")

SERVICES_INDEX = "reference/services/index.md"


def _load_context() -> ModuleType:
    """extensions/context.py, imported by path as copier-template-extensions does."""
    spec = importlib.util.spec_from_file_location(
        "hfst_docs_context", ROOT / "extensions" / "context.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


context = _load_context()

# Values each validated question refuses; the page shows the message the check gives.
SAMPLE_BAD_ANSWERS: dict[str, list[str]] = {
    "project_name": ["   "],
    "hf_owner": ["my org"],
    "space_name": ["My Space!", "a--b", "-demo"],
    "package_name": ["my-app", "class", "App"],
    "short_description": ["A backend that answers questions about the docs, with sources"],
    "emoji": ["rocket"],
    "frontend_origins": [
        "https://myapp.vercel.app/",
        "https://*.vercel.app",
        "myapp.vercel.app",
        "https://myapp.vercel.app/chat",
    ],
    "cors_origin_regex": ["https://(myapp", r"https://myapp-[a-z0-9-]+\.vercel\.app"],
    "api_prefix": ["api/"],
    "space_dir": ["../backend", "backend/"],
    "models": ["all-MiniLM-L6-v2", "acme/a x.json,y.json", "acme/a, acme/a"],
}

# What the catalogue's one-line fields cannot say: how each provider's values trip people up.
PITFALLS: dict[str, str] = {
    "qdrant": """
- **On a Space, give the cluster URL without a port.** The console shows it with `:6333`, a
  port a Space cannot connect out on. Qdrant Cloud serves the same REST API on 443 (Qdrant's
  own guide to monitoring a managed cluster with Prometheus scrapes it at `<cluster>:443`), so
  `https://<cluster>.cloud.qdrant.io` works from a Space and from your laptop.
- The URL means what it says: qdrant-client alone adds `:6333` to a URL without a port, so the
  generated module passes the URL's own port (443 for `https`, 80 for `http`). A local Qdrant
  keeps its port in the URL: `http://localhost:6333`.
- A Qdrant Cloud cluster needs `QDRANT_API_KEY`; a local Qdrant without auth does not.
- With `QDRANT_COLLECTION` set, readiness fails until that collection exists. A new cluster is
  empty: run your ingestion against the cloud URL from your machine first.
""",
    "neon": """
- Paste the connection string exactly as the console shows it, **without a port**.
  `sslmode=require` and `channel_binding=require` stay in the URL; removing them fixes nothing.
- Prefer the **pooled** string: its host has `-pooler` after the endpoint id
  (`ep-...-pooler.<region>.aws.neon.tech`). Several app workers and the readiness probe each
  open connections; the pooler keeps them within the compute's limit.
- A Neon compute suspends when idle and takes a moment to wake: the first `SELECT 1` after a
  pause is slower. Readiness results are cached for `HEALTH_CACHE_SECONDS`, so frequent probes
  do not keep the compute awake (and billed).

## How the app reaches Neon from a Space

Postgres listens on 5432, which a Space cannot connect out on. Neon's proxy also speaks the
Postgres wire protocol inside a WebSocket at `wss://<endpoint host>/v2` on 443: the transport
of Neon's serverless driver. (Neon's other 443 transport, SQL over HTTPS at `/sql`, answers
one statement per request and no Python Postgres driver speaks it, so it would mean rewriting
your queries.) On a Space the app starts a bridge: a listener on 127.0.0.1 that carries each
psycopg connection through its own WebSocket. `neon.connect()` and the readiness check point
psycopg at the bridge; open your connections with `neon.connect()` (a `psycopg.connect()` of
`DATABASE_URL` itself would still go to 5432) and the rest of your code does not change.

- **When:** `NEON_TRANSPORT=auto` (the default) uses the WebSocket when `SPACE_ID` is set and
  `DATABASE_URL` names no port, or when `NEON_WEBSOCKET_URL` is set; otherwise it connects
  directly, so a plain `postgresql://` URL (with or without a port) works locally as before.
  `NEON_TRANSPORT=websocket` tries the Space's way from your machine; `direct` turns it off.
- **What works:** everything a session does, because the tunnel carries the unchanged wire
  protocol, one session per connection: transactions, prepared statements, `COPY`, and
  `LISTEN`/`NOTIFY` (tested; use the non-pooler host for `LISTEN`, as on a direct connection,
  since the pooler runs in transaction mode).
- **What changes:** TLS is the WebSocket's, verified against the image's CA certificates, and
  capped at TLS 1.2 (Neon's proxy allows 1.2 and 1.3): with TLS 1.3, the session tickets that
  arrive after the handshake stalled about one connection in 30 in the Python WebSocket client.
  Inside it Neon's proxy asks for the password in clear text (it allows that only on
  WebSockets), which channel binding refuses, so the bridge turns channel binding off for that
  hop; there is no TLS inside the tunnel to bind to.
- **Failures** name the WebSocket's reason, e.g. `WebSocket endpoint: not found
  (InvalidStatus)` or `WebSocket endpoint: unavailable (SSLCertVerificationError)`, instead of
  psycopg's "server closed the connection unexpectedly".

Latency, measured by `tests/test_transports.py` on loopback (a TLS WebSocket stand-in in front
of a real PostgreSQL, on a loaded 2-core machine), so it is the bridge's own cost; the network
to Neon comes on top of both:

| Median of | Through the bridge | Direct |
|-----------|--------------------|--------|
| 10 new connections + `SELECT 1` | 16.3 ms | 14.3 ms |
| 50 `SELECT 1` on open connections | 0.52 ms | 0.17 ms |

A new connection pays one TLS handshake and one WebSocket upgrade more (a few ms here; the
loaded machine's noise is as large: another run gave 20.9 ms bridged, 24.7 ms direct); each
round trip pays about 0.4 ms for two thread hops. Keep connections open (a pool) for chatty
work.

**Testing your own database code.** The generated tests have a `database` fixture
(`tests/database.py`): with `TEST_DATABASE_URL` naming a PostgreSQL the tests may write to
(never production: a local server, a CI service container or a Neon branch), each test that
asks for it gets an autocommit connection in a new schema, and `DATABASE_URL` points the app
(`neon.connect()`, `make_api()`) at the same schema, which is dropped afterwards. Without
`TEST_DATABASE_URL` those tests are skipped, saying what to set:

```python
def test_notes(database, make_api):
    database.execute("CREATE TABLE notes (body text)")
    with neon.connect() as connection:  # your code, unchanged
        connection.execute("INSERT INTO notes VALUES ('kept')")
        connection.commit()
    assert database.execute("SELECT body FROM notes").fetchall() == [("kept",)]
```
""",
    "elasticsearch": """
- **Client and server majors must match.** The 9.x client sends
  `compatible-with=9`, which an 8.x server (Bonsai, older Elastic Cloud) answers with
  `400 media_type_header_exception`. Pick the `elasticsearch_flavor` for your server:
  `elasticsearch8` for 8.x, `opensearch` for OpenSearch clusters. An OpenSearch server
  answering the Elasticsearch client fails its product check.
- **Bonsai gives one URL with the credentials inside**:
  `https://user:password@host.bonsaisearch.net:443`. Paste it whole as `ELASTICSEARCH_URL` (a
  Secret). Splitting it into host, port, user and password (the split form) works too, but one
  URL is one thing to get right.
- **Ports:** Bonsai's URL ends in `:443`, and Elastic Cloud's Elasticsearch endpoint is served
  on 443 (older deployments show `:9243`, which Elastic Cloud also serves; use `:443` on a
  Space). A self-managed cluster on 9200 is out of a Space's reach.
- Readiness calls `info()`, not `ping()`: `ping()` turns an authentication or version error into
  a bare `False`, hiding the cause.
- A new cluster is empty: a search returning nothing after a deploy usually means the index
  was never filled, not that the app is broken.
""",
    "redis": """
- **On a Space, use the Upstash REST form.** Redis listens on 6379, which a Space cannot
  connect out on. Upstash's **REST API runs over HTTPS on 443**: set `UPSTASH_REDIS_REST_URL`
  and `UPSTASH_REDIS_REST_TOKEN` (Upstash console > your database > REST API) and unset
  `REDIS_URL`/`REDIS_HOST`. The app's startup warning and `deploy.py check` propose exactly
  this when they see a TCP form on 6379. `get_client()` then returns an `upstash_redis.Redis`,
  whose commands are named as redis-py's; each command is one HTTPS request.
- **Upstash is TLS-only.** Its URL scheme is `rediss://` (two s); `redis://` to an Upstash
  host fails, because the server expects a TLS handshake first. In the host form, keep
  `REDIS_TLS=true`.
- The three forms are alternatives: configure one. When a TCP form is set, it is used.
""",
    "groq": """
- Keys start with `gsk_`. A 401 from readiness means the key is wrong or revoked; the check
  lists models, which costs no tokens.
- `GROQ_BASE_URL` is the bare origin (`https://api.groq.com`); the SDK adds
  `/openai/v1`. Leave it unset unless you go through a proxy.
""",
    "gemini": """
- Use a key from Google AI Studio for the Gemini API, not a Vertex AI service account.
- **Keep the key out of error messages and logs.** The Gemini REST API also accepts the key
  as a `?key=` query parameter, and many examples pass it that way; then every logged request
  URL, and every error that quotes the URL, carries the key. google-genai sends it in the
  `x-goog-api-key` header, and readiness reports an error's class
  and status, never the exception text. Do the same in your own routes: log what failed, not
  `str(error)` of a client error.
- A bad key is a **400** `INVALID_ARGUMENT` ("API key not valid"), not a 401.
- The SDK also reads `GOOGLE_API_KEY` from the environment, and that one wins over
  `GEMINI_API_KEY`; the app passes `GEMINI_API_KEY` explicitly, so a stray `GOOGLE_API_KEY`
  does not change which key is used.
""",
    "openai": """
- `OPENAI_BASE_URL` includes the version path (`https://api.openai.com/v1`), unlike Groq's and
  Cohere's bare origins.
- OpenAI's 401 message quotes the start and end of the key it got. The readiness check reports
  the error class and status only, so the key's fragments never reach `/health`.
""",
    "cohere": """
- The SDK reads its own variable names (`CO_API_KEY`, `CO_API_URL`); the app passes
  `COHERE_API_KEY` and `COHERE_BASE_URL` explicitly, so set those.
- The SDK retries refused connections and 5xx answers twice by default; readiness turns retries
  off so a probe is one request.
- Trial keys are rate-limited per minute: a readiness probe is one cheap request, but do not
  point an uptime monitor at `/health` every few seconds.
""",
}


# --- copier.yml ------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    """Jinja with the template's own extensions, as copier loads them."""
    extensions = [context.ContextUpdater, context.AnswerChecks, context.CodeFilters]
    return jinja2.Environment(extensions=extensions)


def _render(env: jinja2.Environment, text: str, answers: dict[str, Any]) -> str:
    return env.from_string(text).render({"_copier_conf": {}, **answers})


def _questions() -> dict[str, dict[str, Any]]:
    """The questions copier may ask (not the hidden answer check)."""
    return {n: s for n, s in context.load_questions().items() if s.get("when") is not False}


def _default_answers(env: jinja2.Environment, questions: dict[str, dict[str, Any]]) -> dict:
    """Each question's default, rendered in order as copier does."""
    answers: dict[str, Any] = {}
    for name, spec in questions.items():
        default = spec.get("default")
        if isinstance(default, str) and "{{" in default:
            default = _render(env, default, answers)
        answers[name] = default
    return answers


def _choices(env: jinja2.Environment, spec: dict[str, Any], answers: dict) -> list[tuple]:
    """(label, value) pairs; Jinja choices are rendered with the catalogue in context."""
    choices = spec.get("choices")
    if isinstance(choices, str):
        choices = json.loads(_render(env, choices, answers))
    if isinstance(choices, dict):
        return list(choices.items())
    return [(None, value) for value in choices or []]


def _prose(text: Any) -> str:
    """Catalogue or copier.yml text as Markdown that shows it verbatim (code spans kept).

    A regex's backslashes, a wildcard's `*`, a `|` in a table cell or a `<name>` would
    otherwise be read as Markdown escapes, emphasis, a cell border or HTML.
    """
    parts = re.split(r"(`[^`]*`)", " ".join(str(text).split()))
    return "".join(part if part.startswith("`") else _escape(part) for part in parts)


def _escape(text: str) -> str:
    # Braces too: attr_list reads a cell ending in "{0}" or "{: .x}" as the cell's attributes.
    escaped = re.sub(r"([\\*_\[\]|{}])", r"\\\1", text)
    return escaped.replace("&", "&amp;").replace("<", "&lt;")


def _literal(text: str) -> str:
    """`text` as one code span, whatever backticks it holds."""
    fence = "`" * (max(map(len, re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"


def _code(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, bool | list) else str(value)
    return f"`{text}`" if text.strip() else "empty"


def questions_page() -> str:
    env = _environment()
    questions = _questions()
    answers = _default_answers(env, questions)
    lines = [
        "# Questions",
        "",
        "Generated from `copier.yml` at build time. Copier asks these in this order; answer any of",
        "them up front with `--data name=value` (add `--defaults` to take the rest). Answers given",
        "that way are all checked before anything is written, and copier stops with one message",
        "per bad answer. Interactive answers are checked by the same functions as you type.",
        "",
        "| Question | Type | Default |",
        "|----------|------|---------|",
    ]
    lines += [
        f"| [`{name}`](#{name}) | {spec.get('type', 'str')}"
        f"{' (several)' if spec.get('multiselect') else ''} | {_code(answers[name])} |"
        for name, spec in questions.items()
    ]
    for name, spec in questions.items():
        lines += ["", f"## `{name}`", "", _prose(spec.get("help", "")), ""]
        default = spec.get("default")
        if isinstance(default, str) and "{{" in default:
            lines.append(
                f"- Default: derived, `{default}`; with the other defaults: {_code(answers[name])}"
            )
        else:
            lines.append(f"- Default: {_code(answers[name])}")
        if "when" in spec:
            condition = str(spec["when"]).removeprefix("{{").removesuffix("}}").strip()
            lines.append(f"- Asked only when `{condition}`")
        choices = _choices(env, spec, answers)
        if choices:
            lines.append("- Allowed values:")
            lines += [
                f"    - `{value}`" + (f": {_prose(label)}" if label and label != value else "")
                for label, value in choices
            ]
        lines += _refusals(env, name, spec, answers)
    lines += _unknown_service_refusal()
    return "\n".join(lines) + "\n"


def _refusals(env: jinja2.Environment, name: str, spec: dict, answers: dict) -> list[str]:
    validator = spec.get("validator")
    samples = SAMPLE_BAD_ANSWERS.get(name, [])
    if not validator:
        return []
    if not samples:
        log.warning("docs/hooks.py: question %s has a validator but no SAMPLE_BAD_ANSWERS", name)
        return []
    lines = ["- Refused, with the message copier shows:"]
    for value in samples:
        message = _render(env, validator, {**answers, name: value}).strip()
        if not message:
            log.warning("docs/hooks.py: %s=%r is accepted now; fix SAMPLE_BAD_ANSWERS", name, value)
            continue
        shown = f"`{value}`" if value.strip() else "spaces only"
        lines.append(f"    - {shown}: {_literal(message)}")
    return lines


def _unknown_service_refusal() -> list[str]:
    try:
        context.check_answers({"services": "[qdrant, postgres]"})
    except Exception as error:  # copier's UserMessageError: the text copier prints
        message = str(error)
    else:
        log.warning("docs/hooks.py: an unknown service is no longer refused")
        return []
    return [
        "",
        "An unknown service given with `--data 'services=[qdrant, postgres]'` stops copier with:",
        "",
        "```text",
        message,
        "```",
    ]


# --- services.yml ----------------------------------------------------------------------------


def _setting(variable: dict) -> str:
    if variable.get("on_space") is False:
        return "local only"
    return "Secret" if variable["secret"] else "Variable"


def _required(service: dict, variable: dict) -> str:
    if "forms" in service:
        forms = [f["title"] for f in service["forms"] if variable["name"] in f["variables"]]
        return "in its form" if forms else "no"
    return "**yes**" if variable.get("required") else "no"


def _requirements(entry: dict) -> str:
    return ", ".join(f"`{requirement}`" for requirement in entry["requirements"])


# What works from a Space, per service: the first line of its page's "Ports" section (the
# transports are tested end to end in tests/test_docker.py, through `hf-space local`).
FROM_A_SPACE = {
    "qdrant": "From a Space: `QDRANT_URL` without a port (`https://HOST`), as Qdrant Cloud shows "
    "it; the app gives the client port 443, where Qdrant Cloud serves the same REST API as on "
    "6333. Not 6333, nor gRPC's 6334.",
    "neon": "From a Space: `DATABASE_URL` as Neon's console gives it, without a port; on a Space "
    "the app carries each connection through Neon's WebSocket endpoint on 443 (the bridge, "
    "under Pitfalls). With `:5432` it connects directly, which a Space blocks.",
    "elasticsearch": "From a Space: an `https://` URL without a port or with `:443` (Elastic "
    "Cloud, Bonsai). Not a self-managed cluster's 9200; for Elastic Cloud's `:9243` use `:443`.",
    "redis": "From a Space: only the Upstash REST form (`UPSTASH_REDIS_REST_URL` and "
    "`UPSTASH_REDIS_REST_TOKEN`, HTTPS on 443). Not `redis://` or `rediss://` on 6379, nor the "
    "host form.",
    "groq": "From a Space: the API as it is, HTTPS on 443.",
    "gemini": "From a Space: the API as it is, HTTPS on 443.",
    "openai": "From a Space: the API as it is, HTTPS on 443.",
    "cohere": "From a Space: the API as it is, HTTPS on 443.",
}


def _ports_text() -> str:
    *first, last = map(str, context.SPACE_OUTBOUND_PORTS)
    return f"{', '.join(first)} and {last}"


def _endpoint_port(variable: dict, variables: dict[str, dict]) -> int | None:
    if variable["kind"] == "url":
        return context.url_port(str(variable["example"]), variable.get("default_port"))
    port_variable = variables.get(variable.get("port_variable", ""))
    return int(port_variable["default"]) if port_variable and "default" in port_variable else None


def _configured_when(service: dict) -> str:
    sets = context.required_sets(service)
    return ", or ".join(" and ".join(f"`{name}`" for name in names) for names in sets)


def service_page(name: str, service: dict) -> str:
    variables = {v["name"]: v for v in service["variables"]}
    lines = [
        f"# {service['title']} (`{name}`)",
        "",
        f"{_prose(service['summary'])}. Generated from `extensions/services.yml` at build time.",
        "",
        f"- Provider docs: <{service['docs']}>",
        f"- Readiness check: {_prose(service['health_check'])}",
        f"- Configured when {_configured_when(service)} is set",
    ]
    if service.get("flavors"):
        lines.append("- pip requirement, by the `elasticsearch_flavor` answer:")
        lines += [
            f"    - `{key}` ({_prose(flavor['title'])}): {_requirements(flavor)}"
            for key, flavor in service["flavors"].items()
        ]
    else:
        lines.append(f"- pip requirements: {_requirements(service)}")
    if "forms" in service:
        lines += ["", "## Forms", "", "Configure **one** of these:", ""]
        lines += [
            f"- {_prose(form['title'])}: " + ", ".join(f"`{v}`" for v in form["variables"])
            for form in service["forms"]
        ]
    lines += [
        "",
        "## Variables",
        "",
        "| Name | On the Space | Required | Format | Default |",
        "|------|--------------|----------|--------|---------|",
    ]
    lines += [
        f"| `{v['name']}` | {_setting(v)} | {_required(service, v)} "
        f"| {_prose(context.expected_format(v))} "
        f"| {_code(v['default']) if 'default' in v else ''} |"
        for v in service["variables"]
    ]
    for v in service["variables"]:
        lines += [
            "",
            f"### `{v['name']}`",
            "",
            _prose(v["help"]),
            "",
            f"- Where to get it: {_prose(v['where'])}",
            f"- Example: `{v['example']}`",
        ]
    endpoint_lines = []
    for v in service["variables"]:
        if not v.get("endpoint"):
            continue
        port = _endpoint_port(v, variables)
        if port is None:
            continue
        reachable = port in context.SPACE_OUTBOUND_PORTS
        verdict = "a port a Space can reach" if reachable else "**not** a port a Space can reach"
        endpoint_lines.append(f"- `{v['name']}` as in the example: port {port}, {verdict}")
    from_a_space = FROM_A_SPACE.get(name)
    if not from_a_space:
        log.warning("docs/hooks.py: service %s has no FROM_A_SPACE entry", name)
    lines += [
        "",
        "## Ports",
        "",
        *([from_a_space, ""] if from_a_space else []),
        f"A Space may open outbound connections only on ports {_ports_text()}. On a Space, the",
        "app logs a warning at startup for every endpoint on another port, and `/health` adds",
        "the hint to that service's error when the connection fails.",
    ]
    lines += ["", *endpoint_lines] if endpoint_lines else []
    pitfalls = PITFALLS.get(name)
    if pitfalls:
        lines += ["", "## Pitfalls", "", pitfalls.strip()]
    else:
        log.warning("docs/hooks.py: service %s has no PITFALLS entry", name)
    return "\n".join(lines) + "\n"


def services_index(catalogue: dict) -> str:
    lines = [
        "# Services",
        "",
        "Generated from `extensions/services.yml` at build time. Each service is one catalogue",
        "entry and one module in `template/{{ space_root }}/{{package_name}}/services/`; choose",
        "them with the [`services`](../questions.md#services) question. Secrets are never asked by",
        "copier: they go in `.env` locally and in the Space's settings (the generated `SECRETS.md`",
        "lists them).",
        "",
        "| Service | What | Readiness check |",
        "|---------|------|-----------------|",
    ]
    lines += [
        f"| [{s['title']}]({name}.md) | {_prose(s['summary'])} | {_prose(s['health_check'])} |"
        for name, s in catalogue["services"].items()
    ]
    lines += [
        "",
        "## The outbound-port rule",
        "",
        f"A Space may open outbound connections only on ports **{_ports_text()}**. Services on",
        "other ports (Postgres 5432, Redis 6379, Qdrant 6333) work from your laptop and may time",
        "out from the Space. The generated app warns about each such endpoint when it starts on a",
        "Space, the deploy command warns before uploading, and `/health` names the port in the",
        "service's error. Prefer a provider endpoint on 443 where one exists (an HTTPS URL, a REST",
        "API such as Upstash's).",
        "",
        "## Secret or Variable",
        "",
        "A **Secret** is private: the Space injects it at runtime and nobody can read it back. A",
        "**Variable** is public: anyone who can see the Space can read it. Every credential, and",
        "every URL that can carry one, is a Secret.",
    ]
    return "\n".join(lines) + "\n"


# --- markers in hand-written pages -----------------------------------------------------------


def _app_variables_table(catalogue: dict) -> str:
    rows = [
        "| Name | On the Space | Default | Format | What |",
        "|------|--------------|---------|--------|------|",
    ]
    rows += [
        f"| `{v['name']}` | {_setting(v)} | {_code(v['default']) if 'default' in v else ''} "
        f"| {_prose(context.expected_format(v))} | {_prose(v['help'])}{_frameworks_note(v)} |"
        for v in catalogue["app"]["variables"]
    ]
    return "\n".join(rows)


def _feature_variables(catalogue: dict) -> str:
    features = catalogue.get("features") or {}
    if not features:
        return "No optional features in this release."
    lines = []
    for name, feature in features.items():
        when = ", ".join(f"`{question}: {value}`" for question, value in feature["when"].items())
        lines += [
            f"### {_prose(feature.get('title', name))} (`{name}`)",
            "",
            f"Turned on by the answer {when}.",
            "",
            "| Name | On the Space | Default | Format | What |",
            "|------|--------------|---------|--------|------|",
        ]
        lines += [
            f"| `{v['name']}` | {_setting(v)} | {_code(v['default']) if 'default' in v else ''} "
            f"| {_prose(context.expected_format(v))} | {_prose(v['help'])}{_when_note(v)} |"
            for v in feature["variables"]
        ]
        lines.append("")
    return "\n".join(lines)


def _when_note(variable: dict) -> str:
    """E.g. " (only with retrieval_store: qdrant)" for a variable that needs more answers."""
    when = variable.get("when") or {}
    answers = ", ".join(
        f"{question}: {str(value).lower() if isinstance(value, bool) else value}"
        for question, value in when.items()
    )
    return f" (only with {_prose(answers)})" if when else ""


def _frameworks_note(variable: dict) -> str:
    frameworks = variable.get("frameworks")
    return f" ({', '.join(frameworks)} only)" if frameworks else ""


def _readiness_table(catalogue: dict) -> str:
    rows = [
        "| Service | The check | `unconfigured` until |",
        "|---------|-----------|----------------------|",
    ]
    rows += [
        f"| [`{name}`](services/{name}.md) | {_prose(s['health_check'])} "
        f"| {_configured_when(s)} is set |"
        for name, s in catalogue["services"].items()
    ]
    return "\n".join(rows)


MARKERS = {
    "app-variables": _app_variables_table,
    "readiness-checks": _readiness_table,
    "feature-variables": _feature_variables,
}
MARKER = re.compile(r"<!-- generated: ([\w-]+) -->")


# --- mkdocs events ---------------------------------------------------------------------------


def on_config(config: Any) -> Any:
    """Expand the nav's services entry into the overview plus one page per service."""
    catalogue = context.load_catalogue()
    pages = [{"Overview": SERVICES_INDEX}] + [
        {service["title"]: f"reference/services/{name}.md"}
        for name, service in catalogue["services"].items()
    ]

    def expand(items: list) -> list:
        expanded = []
        for item in items:
            if isinstance(item, dict):
                item = {
                    title: pages
                    if value == SERVICES_INDEX
                    else expand(value)
                    if isinstance(value, list)
                    else value
                    for title, value in item.items()
                }
            expanded.append(item)
        return expanded

    config["nav"] = expand(config["nav"] or [])
    return config


def on_files(files: Files, config: Any) -> Files:
    catalogue = context.load_catalogue()
    generated = {
        "reference/questions.md": questions_page(),
        SERVICES_INDEX: services_index(catalogue),
    }
    for name, service in catalogue["services"].items():
        generated[f"reference/services/{name}.md"] = service_page(name, service)
    for path, content in generated.items():
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    catalogue = context.load_catalogue()

    def replace(match: re.Match) -> str:
        make = MARKERS.get(match.group(1))
        if make is None:
            log.warning("%s: unknown marker %s", page.file.src_uri, match.group(0))
            return match.group(0)
        return make(catalogue)

    return MARKER.sub(replace, markdown)

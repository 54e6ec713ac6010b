"""Every service on 443 for `hf-space local`: stand-ins that its sandboxed container reaches.

test_docker.py runs its all-services image for each framework with the real command
(tooling/hf_space_tools/local.py), which runs it in its sandbox (uid 1000, read-only root,
outbound TCP only to 80, 443 and 8080).
Every service a Space reaches over 443 has a stand-in there, behind TLS with a CA made here
and passed with --ca-file: Neon's WebSocket endpoint piping to a real PostgreSQL, Qdrant,
Elasticsearch, Upstash's REST API, Groq, OpenAI, Gemini and Cohere. Each service has an address
of its own (198.18.0.0/15, the range kept for tests, added to `lo` for the module and removed
after), so each has port 443 to itself; Neon, Qdrant and Elasticsearch also listen on their
native ports (5432, 6333, 9200), as the real ones do:
- with the URLs as each provider gives them (no port), /health is 200, every service ok, and
  every connection went to 443, none to a native port;
- with DATABASE_URL on :5432 Neon is a timeout naming the port, as on a Space, while that
  port does reach the real PostgreSQL from this machine: the sandbox is what blocks it.
Needs root, iptables, `ip` and PostgreSQL: fails in CI, skips loudly elsewhere.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engines import PostgresServer, unavailable
from standins import (
    CohereStandin,
    ElasticsearchStandin,
    GeminiStandin,
    GroqStandin,
    OpenAIStandin,
    QdrantStandin,
    UpstashStandin,
)
from standins.neon_ws import NeonWebSocketStandin
from standins.tls import TestCA, TlsFront
from support import HF_SPACE, SERVICES, TOOLING_ENV
from test_space_local import NOTHING_LEFT, leftovers, sandbox_of, service_line, sweep

SESSION = uuid.uuid4().hex[:8]
RUN_WITHIN = 600  # seconds for one run of the command, its build from the cache included
TESTS_RANGE = ipaddress.ip_network("198.18.0.0/15")  # RFC 2544: for tests, never routed
ON_443 = ("neon", "qdrant", "elasticsearch", "upstash", "groq", "openai", "gemini", "cohere")
NATIVE = {"neon": 5432, "qdrant": 6333, "elasticsearch": 9200}  # also served, never reached
KEYS = {name: f"sentinel-{name}-{SESSION}" for name in ON_443}
ES_USER = "elastic"
COLLECTION = "documents"
HEALTH_CHECK_TIMEOUT = 3  # the SDKs' imports do not count: the network's time only


@contextmanager
def spare_addresses(count: int) -> Iterator[list[str]]:
    """`count` addresses of 198.18.0.0/15 on `lo`, from a /24 no interface uses: each service
    gets port 443 to itself, reached from a container through its gateway like any address of
    this machine. Removed afterwards."""
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True)
    free = [n for n in TESTS_RANGE.subnets(new_prefix=24) if str(n)[:-4] not in shown.stdout]
    added: list[str] = []
    try:
        for address in list(random.choice(free).hosts())[:count]:
            subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True)
            added.append(str(address))
        yield added
    finally:
        for address in added:
            subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], check=False)


@dataclass
class Backends:
    postgres: PostgresServer
    ca: TestCA
    addresses: dict[str, str]
    on_443: dict[str, TlsFront | NeonWebSocketStandin]
    native: dict[str, TlsFront]

    def connections(self) -> dict[str, int]:
        counts = {f"{name}:443": s.connections for name, s in self.on_443.items()}
        return counts | {f"{name}:{NATIVE[name]}": f.connections for name, f in self.native.items()}

    def environment(self, database_port: int | None = None) -> dict[str, str]:
        """The values as each provider gives them: https URLs without a port."""
        at = self.addresses
        pg, neon = self.postgres, at["neon"] + (f":{database_port}" if database_port else "")
        return {
            "DATABASE_URL": f"postgresql://{pg.user}:{pg.password}@{neon}/{pg.dbname}"
            "?sslmode=require&channel_binding=require",
            "QDRANT_URL": f"https://{at['qdrant']}",
            "QDRANT_API_KEY": KEYS["qdrant"],
            "QDRANT_COLLECTION": COLLECTION,
            "ELASTICSEARCH_URL": f"https://{ES_USER}:{KEYS['elasticsearch']}@{at['elasticsearch']}",
            "UPSTASH_REDIS_REST_URL": f"https://{at['upstash']}",
            "UPSTASH_REDIS_REST_TOKEN": KEYS["upstash"],
            "GROQ_API_KEY": KEYS["groq"],
            "GROQ_BASE_URL": f"https://{at['groq']}",  # the SDK adds /openai/v1
            "OPENAI_API_KEY": KEYS["openai"],
            "OPENAI_BASE_URL": f"https://{at['openai']}/v1",
            "GEMINI_API_KEY": KEYS["gemini"],
            "GEMINI_BASE_URL": f"https://{at['gemini']}",
            "COHERE_API_KEY": KEYS["cohere"],
            "COHERE_BASE_URL": f"https://{at['cohere']}",
            "HEALTH_CHECK_TIMEOUT": str(HEALTH_CHECK_TIMEOUT),
        }

    def secrets(self) -> list[str]:
        return [*KEYS.values(), self.postgres.password]


def serve_every_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    """Every service's stand-in on 443 of an address of its own, for a module fixture; at the
    end, the sweep of what the command's runs left (a failed test's, never a pass)."""
    if os.geteuid() != 0 or not (shutil.which("iptables") and shutil.which("ip")):
        unavailable("the Space's outbound rule and test addresses need root, iptables and ip")
    with ExitStack() as stack:
        addresses = dict(
            zip(ON_443, stack.enter_context(spare_addresses(len(ON_443))), strict=True)
        )
        ca = TestCA(tmp_path_factory.mktemp("ca"), addresses=tuple(addresses.values()))
        postgres = stack.enter_context(PostgresServer())
        standins = {
            "qdrant": QdrantStandin(api_key=KEYS["qdrant"], collections=[COLLECTION]),
            "elasticsearch": ElasticsearchStandin(username=ES_USER, password=KEYS["elasticsearch"]),
            "upstash": UpstashStandin(api_key=KEYS["upstash"]),
            "groq": GroqStandin(api_key=KEYS["groq"]),
            "openai": OpenAIStandin(api_key=KEYS["openai"]),
            "gemini": GeminiStandin(api_key=KEYS["gemini"]),
            "cohere": CohereStandin(api_key=KEYS["cohere"]),
        }
        on_443: dict[str, TlsFront | NeonWebSocketStandin] = {
            "neon": NeonWebSocketStandin(ca, postgres.port, host=addresses["neon"], port=443)
        }
        for name, standin in standins.items():
            stack.enter_context(standin)
            on_443[name] = TlsFront(ca, standin.port, host=addresses[name], port=443)
        native = {  # Neon's direct port is plain TCP to PostgreSQL, which asks for no TLS here
            "neon": TlsFront(None, postgres.port, host=addresses["neon"], port=NATIVE["neon"]),
            **{
                name: TlsFront(ca, standins[name].port, host=addresses[name], port=NATIVE[name])
                for name in ("qdrant", "elasticsearch")
            },
        }
        for server in (*on_443.values(), *native.values()):
            stack.enter_context(server)
        stack.callback(sweep_runs)
        yield Backends(postgres, ca, addresses, on_443, native)


def sweep_runs() -> None:
    import docker

    sweep(docker.from_env())


def run_like_a_space(
    project: Path, base: str, backends: Backends, environment: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`hf-space local --once` with `environment` as .env (the project's own is put back)."""
    dotenv = project / ".env"
    kept = dotenv.read_bytes() if dotenv.exists() else None
    dotenv.write_text("".join(f"{k}={v}\n" for k, v in environment.items()), encoding="utf-8")
    command = [
        *HF_SPACE, "local", "--once", "--port", "0",
        "--build-arg", f"PYTHON_IMAGE={base}", "--ca-file", str(backends.ca.ca_file),
    ]  # fmt: skip
    try:
        return subprocess.run(
            command, cwd=project, env=TOOLING_ENV, capture_output=True, text=True,
            timeout=RUN_WITHIN, check=False,
        )  # fmt: skip
    finally:
        if kept is None:
            dotenv.unlink()
        else:
            dotenv.write_bytes(kept)


def statuses(output: str) -> dict[str, str]:
    return {name: service_line(output, name).split()[1] for name in SERVICES}


def check_every_service_on_443(client: Any, project: Path, base: str, backends: Backends) -> None:
    before = backends.connections()
    result = run_like_a_space(project, base, backends, backends.environment())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^\s+status\s+200$", result.stdout, re.MULTILINE), output
    assert statuses(result.stdout) == dict.fromkeys(SERVICES, "ok"), output
    after = backends.connections()
    reached = {where for where in after if after[where] > before[where]}
    assert reached == {f"{name}:443" for name in ON_443}, (before, after)
    assert not any(secret in output for secret in backends.secrets())
    assert leftovers(client, sandbox_of(result.stdout)) == NOTHING_LEFT


def check_a_database_on_5432_fails(
    client: Any, project: Path, base: str, backends: Backends
) -> None:
    before = backends.connections()
    result = run_like_a_space(project, base, backends, backends.environment(5432))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"^\s+status\s+503$", result.stdout, re.MULTILINE), output
    assert statuses(result.stdout) == {name: "ok" for name in SERVICES} | {"neon": "error"}
    neon = service_line(result.stdout, "neon")
    assert "timeout" in neon and "DATABASE_URL uses port 5432, which a Space cannot reach" in neon
    after = backends.connections()
    assert after["neon:5432"] == before["neon:5432"], "the rule let a connection to 5432 through"
    assert after["neon:443"] == before["neon:443"]  # a port in the URL: direct, no WebSocket
    assert not any(secret in output for secret in backends.secrets())
    assert leftovers(client, sandbox_of(result.stdout)) == NOTHING_LEFT
    # From this machine the same address and port reach the real PostgreSQL, which answers an
    # SSLRequest with "N" (no TLS here): on 5432 only the sandbox's rule stood in the way.
    with socket.create_connection((backends.addresses["neon"], 5432), timeout=10) as database:
        database.sendall((8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))
        assert database.recv(1) == b"N"

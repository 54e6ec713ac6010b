"""The auth question: the rendered app, run as `python -m app`, verifies tokens as it should.

jwt: keys are made here and served as a JWKS by a local http.server that counts its fetches;
the app reads it through BETTER_AUTH_URL (so the /api/auth/jwks path and the issuer and
audience defaults are exercised). api_key: the key is checked in both header forms. Both
frameworks. Every variant must fail closed while unconfigured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from standins.checking import free_port
from support import FRAMEWORKS, render, run

pytestmark = pytest.mark.slow
ORIGIN = "http://localhost:3000"  # the frontend_origins default


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """A private key with its key id, signing tokens; `jwk` is what the JWKS publishes."""

    def __init__(self, kid: str, algorithm: str) -> None:
        self.kid, self.algorithm = kid, algorithm
        if algorithm == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
            jwk_class: Any = jwt.algorithms.OKPAlgorithm
        elif algorithm == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk_class = jwt.algorithms.RSAAlgorithm
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            jwk_class = jwt.algorithms.ECAlgorithm
        self.jwk = {**jwk_class.to_jwk(self.private.public_key(), as_dict=True), "kid": kid}
        if algorithm != "EdDSA":  # Better Auth omits alg for its Ed25519 keys; others carry it
            self.jwk["alg"] = algorithm

    def token(self, issuer: str, **claims: Any) -> str:
        now = int(time.time())
        payload = {"sub": "user-1", "iss": issuer, "aud": issuer, "iat": now, "exp": now + 900}
        headers = {"kid": self.kid}
        return jwt.encode({**payload, **claims}, self.private, self.algorithm, headers=headers)

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class JwksServer:
    """Serves `keys` at /api/auth/jwks on 127.0.0.1 and counts the fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.signers: dict[str, Signer] = {}
        self.fetches = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/api/auth/jwks":
                    self.send_error(404)
                    return
                with lock:
                    outer.fetches += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def request(url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """(status, headers, body: parsed when JSON) of one request."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            status, reply_headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, reply_headers, body = error.code, error.headers, error.read()
    is_json = (reply_headers.get("Content-Type") or "").startswith("application/json")
    return status, reply_headers, json.loads(body) if is_json else body


class App:
    """`python -m app` of a rendered project on a free port, with the given environment."""

    def __init__(self, project: Path, python: Path, environment: dict[str, str]) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {"PATH": os.environ["PATH"], "HOME": str(project), "PORT": str(port), **environment}
        self.process = subprocess.Popen(
            [str(python), "-m", "app"],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the app exited with {self.process.returncode}"
            try:
                request(f"{self.url}/health/live")
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the app did not answer /health/live within 60 s")

    def get(self, path: str, **headers: str):
        return request(self.url + path, headers)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, project_venvs):
    """rendered(framework, auth) -> (project, python); one venv per framework serves both modes."""
    made: dict[tuple[str, str], tuple[Path, Path]] = {}

    def get(framework: str, auth: str) -> tuple[Path, Path]:
        if (framework, auth) not in made:
            project = render(
                tmp_path_factory.mktemp(f"{framework}-{auth}") / "space",
                framework=framework,
                auth=auth,
            )
            jwt_project = project if auth == "jwt" else get(framework, "jwt")[0]
            # api_key needs nothing beyond the framework: the jwt project's venv has it all.
            assert requirements(project) <= requirements(jwt_project)
            made[framework, auth] = (project, project_venvs.python_for(jwt_project))
        return made[framework, auth]

    return get


def requirements(project: Path) -> set[str]:
    lines = (project / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line.strip() and not line.startswith("#")}


@pytest.fixture(scope="module", params=FRAMEWORKS)
def jwt_app(request: pytest.FixtureRequest, rendered) -> Iterator[tuple[App, JwksServer]]:
    """A jwt app configured with BETTER_AUTH_URL only, and its JWKS server with 3 keys."""
    project, python = rendered(request.param, "jwt")
    server = JwksServer()
    server.signers = {a: Signer(f"key-{a}", a) for a in ("EdDSA", "RS256", "ES256")}
    server.keys = [signer.jwk for signer in server.signers.values()]
    environment = {"BETTER_AUTH_URL": server.url, "HEALTH_CACHE_SECONDS": "0.05"}
    app = App(project, python, environment)
    yield app, server
    app.close()
    server.close()


def test_tokens_of_each_pinned_algorithm_are_accepted(jwt_app) -> None:
    app, server = jwt_app
    for algorithm, signer in server.signers.items():
        token = signer.token(server.url, sub=f"user-{algorithm}")
        status, _, body = app.get("/api/me", Authorization=f"Bearer {token}")
        assert (status, body) == (200, {"sub": f"user-{algorithm}"}), algorithm


def forged(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token signed with HMAC-SHA256 over `secret`, or unsigned when secret is None."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def test_bad_tokens_get_401_saying_what_is_wrong(jwt_app) -> None:
    app, server = jwt_app
    ed, rs = server.signers["EdDSA"], server.signers["RS256"]
    now = int(time.time())
    claims = {"sub": "attacker", "iss": server.url, "aud": server.url, "exp": now + 900}
    header, payload, signature = ed.token(server.url).split(".")
    cases = {
        "no header": (None, "missing token"),
        "expired": (ed.token(server.url, exp=now - 3600), "expired token"),
        "not yet valid": (ed.token(server.url, nbf=now + 3600), "invalid token"),
        "wrong issuer": (ed.token(server.url, iss="https://evil.example"), "invalid token"),
        "wrong audience": (ed.token(server.url, aud="https://other.example"), "invalid token"),
        "tampered signature": (
            f"{header}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}",
            "invalid token",
        ),
        "tampered claims": (
            f"{header}.{b64url(json.dumps(claims).encode())}.{signature}",
            "invalid token",
        ),
        "alg none": (forged({"alg": "none", "kid": ed.kid}, claims, None), "invalid token"),
        "HS256 with the public key": (
            forged({"alg": "HS256", "kid": rs.kid}, claims, rs.public_pem()),
            "invalid token",
        ),
        "RS256 header on an EdDSA key": (
            forged({"alg": "RS256", "kid": ed.kid}, claims, b"x"),
            "invalid token",
        ),
        "garbage": ("not.a.jwt", "invalid token"),
    }
    for case, (token, message) in cases.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        status, reply_headers, body = app.get("/api/me", **headers)
        assert (status, body) == (401, {"detail": message}), case
        assert reply_headers["WWW-Authenticate"].startswith("Bearer"), case


def test_a_rotated_key_is_fetched_once_and_a_flood_of_unknown_kids_is_not(jwt_app) -> None:
    app, server = jwt_app
    known = server.signers["EdDSA"].token(server.url)
    assert app.get("/api/me", Authorization=f"Bearer {known}")[0] == 200  # keys are cached
    before = server.fetches
    rotated = Signer("key-rotated", "EdDSA")
    server.keys = [*server.keys, rotated.jwk]  # the issuer rotates: the new key is published
    status, _, body = app.get("/api/me", Authorization=f"Bearer {rotated.token(server.url)}")
    assert (status, body) == (200, {"sub": "user-1"})
    assert server.fetches == before + 1
    for number in range(25):  # within the 60 s refetch interval: no further fetch
        stranger = Signer(f"unknown-{number}", "EdDSA")
        status, _, _ = app.get("/api/me", Authorization=f"Bearer {stranger.token(server.url)}")
        assert status == 401
    assert server.fetches == before + 1
    status, _, _ = app.get("/api/me", Authorization=f"Bearer {rotated.token(server.url)}")
    assert status == 200  # the cached rotated key still verifies, with no fetch
    assert server.fetches == before + 1


def test_readiness_reports_the_jwks(jwt_app) -> None:
    app, server = jwt_app
    status, _, body = app.get("/health")
    assert body["services"]["auth"]["status"] == "ok"
    keys, server.keys = server.keys, [{"kty": "oct", "k": b64url(b"a-symmetric-key"), "kid": "x"}]
    try:
        time.sleep(0.1)  # past HEALTH_CACHE_SECONDS
        status, _, body = app.get("/health")
        assert status == 503
        assert body["services"]["auth"] == {
            "status": "error",
            "latency_ms": body["services"]["auth"]["latency_ms"],
            "detail": "no EdDSA, RS256 or ES256 key in the JWKS",
        }
    finally:
        server.keys = keys


def test_liveness_and_preflight_stay_open(jwt_app) -> None:
    app, _ = jwt_app
    assert app.get("/health/live")[:1] == (200,)
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    status, headers, _ = request(f"{app.url}/api/me", preflight, method="OPTIONS")
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(("auth", "variable"), [("jwt", "BETTER_AUTH_URL"), ("api_key", "API_KEY")])
def test_unconfigured_auth_fails_closed(rendered, framework: str, auth: str, variable: str) -> None:
    project, python = rendered(framework, auth)
    app = App(project, python, {})
    try:
        status, _, body = app.get("/api/me", Authorization="Bearer anything", **{"X-API-Key": "x"})
        assert status == 503
        assert variable in body["detail"]
        status, _, body = app.get("/health")
        assert status == 503
        assert body["services"]["auth"]["status"] == "unconfigured"
        assert app.get("/health/live")[:1] == (200,)
    finally:
        app.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_api_key_in_either_header(rendered, framework: str) -> None:
    project, python = rendered(framework, "api_key")
    key = "k" * 40
    app = App(project, python, {"API_KEY": key})
    try:
        for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
            assert app.get("/api/me", **headers)[::2] == (200, {"sub": "api-key"}), headers
        for headers, message in [
            ({}, "missing API key"),
            ({"X-API-Key": key[:-1] + "x"}, "invalid API key"),
            ({"Authorization": f"Bearer {key}x"}, "invalid API key"),
        ]:
            status, reply_headers, body = app.get("/api/me", **headers)
            assert (status, body) == (401, {"detail": message}), headers
            assert reply_headers["WWW-Authenticate"] == "Bearer"
        assert app.get("/health")[2]["services"]["auth"]["status"] == "ok"
    finally:
        app.close()


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("auth", ["jwt", "api_key"])
def test_generated_tests_pass(rendered, framework: str, auth: str) -> None:
    project, python = rendered(framework, auth)
    result = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

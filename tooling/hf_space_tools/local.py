# Part of hf-space-tools, which the Space's requirements-dev.txt installs from the template.
"""Build this Space's image and run it here the way the Hub runs it, then report /health.

  hf-space local          build, run, report /health, keep running until Ctrl-C
  hf-space local --once   build, run, report /health, stop: 0 when it is 200

As on a Space: uid 1000 on port 7860 (published on 127.0.0.1:--port); the values of .env
(--env-file) as the Space's secrets and variables; SPACE_ID, SPACE_HOST, SPACE_AUTHOR_NAME and
SPACE_REPO_NAME set; CPU and memory capped like --hardware (cpu-basic: 2 vCPU, 16 GB; no GPU);
a read-only filesystem except /home/user and /tmp; outbound TCP only to ports 80, 443 and
8080. That port rule is iptables rules on a Docker network this command creates, so it needs
root and a Linux Docker engine; without them it stops, unless --no-egress-rule is given.
Services on this machine are reached as host.docker.internal (on an allowed port).
--ca-file makes the container trust a CA of yours instead of its own (a TLS-inspecting proxy's).
Container, network, volume and rules are removed on exit, Ctrl-C and SIGTERM; the image stays.
Exit status: 0 when /health answers 200, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from . import project_root
from .watch import service_line

HARDWARE = {  # vCPU and memory of each Space hardware (Spaces overview, "Hardware resources")
    "cpu-basic": (2, "16g"), "cpu-upgrade": (8, "32g"), "t4-small": (4, "15g"),
    "t4-medium": (8, "30g"), "a10g-small": (4, "15g"), "a10g-large": (12, "46g"),
    "a100-large": (12, "142g"),
}  # fmt: skip
CA_IN_CONTAINER = "/etc/space-local/ca.pem"
FIX = "run as root (sudo .venv/bin/hf-space local), or pass --no-egress-rule"


class Stop(Exception):
    """A failure explained in one line; the message never holds a secret value."""


def iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True, check=False)


def egress_problem() -> str | None:
    """Why the outbound rule cannot be set here, or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return "setting iptables rules needs root"
    if shutil.which("iptables") is None:
        return "iptables is not installed"
    listed = iptables("-S", "INPUT")
    return None if listed.returncode == 0 else f"iptables fails: {listed.stderr.strip()[:120]}"


def egress_rules(bridge: str, ports: str) -> list[list[str]]:
    """DROP new TCP connections from the bridge to other ports, and UDP but DNS (Docker's resolver
    forwards from the container), routed out (DOCKER-USER, Docker's place for user rules) or to
    this machine (INPUT). Only packets entering from this bridge match: nothing else changes."""
    forward = "DOCKER-USER" if iptables("-S", "DOCKER-USER").returncode == 0 else "FORWARD"
    new = ["-i", bridge, "-m", "conntrack", "--ctstate", "NEW"]
    tag = ["-m", "comment", "--comment", f"hf-space-local {bridge}", "-j", "DROP"]
    tcp = ["-p", "tcp", "-m", "multiport", "!", "--dports", ports]
    udp = ["-p", "udp", "!", "--dport", "53"]
    return [[chain, *new, *match, *tag] for chain in (forward, "INPUT") for match in (tcp, udp)]


class Sandbox:
    """The network, rules, volume and container of one run; close() removes them all."""

    def __init__(self, client: Any, egress: bool) -> None:
        self.client, self.egress = client, egress
        self.name = f"hfs-{uuid.uuid4().hex[:8]}"  # also the bridge's name: 15 characters at most
        self.labels = {"hf-space-local": self.name}

    def start(self, image: str, environment: dict[str, str], args: argparse.Namespace) -> Any:
        options = {"com.docker.network.bridge.name": self.name}
        self.client.networks.create(  # IPv4 only: the rules are iptables, not ip6tables
            self.name, options=options, labels=self.labels, enable_ipv6=False
        )
        if self.egress:
            if not Path("/sys/class/net", self.name).exists():
                raise Stop("the Docker engine's networks are not on this machine (Docker Desktop "
                           "or rootless Docker), so the outbound rule cannot be set; pass "
                           "--no-egress-rule")  # fmt: skip
            for rule in egress_rules(self.name, args.ports):
                result = iptables("-I", rule[0], "1", *rule[1:])
                if result.returncode:
                    raise Stop(f"iptables refused a rule: {result.stderr.strip()[:120]}; {FIX}")
        self.client.volumes.create(self.name, labels=self.labels)
        cpus, memory = HARDWARE[args.hardware]
        volumes = {self.name: {"bind": "/home/user", "mode": "rw"}}  # Docker copies the
        if args.ca_file:  # image's home into the new volume; the CA file read-only
            volumes[str(args.ca_file.resolve())] = {"bind": CA_IN_CONTAINER, "mode": "ro"}
        return self.client.containers.run(
            image, name=self.name, detach=True, user="1000", environment=environment,
            network=self.name, ports={"7860/tcp": ("127.0.0.1", args.port)},
            read_only=True, tmpfs={"/tmp": "mode=1777"}, volumes=volumes,
            nano_cpus=int(min(cpus, os.cpu_count() or cpus) * 1e9), mem_limit=memory,
            extra_hosts={"host.docker.internal": "host-gateway"}, labels=self.labels,
        )  # fmt: skip

    def close(self) -> None:
        """Remove all of this run, found by its name, so also what a Ctrl-C cut short; each
        part even when another fails; say what stayed."""
        ours, docker = {"label": f"hf-space-local={self.name}"}, self.client
        steps = [
            lambda: [c.remove(force=True) for c in docker.containers.list(all=True, filters=ours)],
            self.remove_rules,
            lambda: [n.remove() for n in docker.networks.list(filters=ours)],
            lambda: [v.remove(force=True) for v in docker.volumes.list(filters=ours)],
        ]
        for what, remove in zip(("container", "rules", "network", "volume"), steps, strict=True):
            try:
                remove()
            except Exception as error:
                print(f"could not remove the {what} {self.name}: {error}", file=sys.stderr)

    def remove_rules(self) -> None:
        for line in iptables("-S").stdout.splitlines() if self.egress else []:
            if f'"hf-space-local {self.name}"' in line:  # "-A CHAIN spec" -> "-D CHAIN spec"
                iptables("-D", *shlex.split(line)[1:]).check_returncode()


def space_environment(env_file: Path, space_id: str) -> dict[str, str]:
    """The .env values, then the variables the Hub sets on every Space (Spaces overview)."""
    from dotenv import dotenv_values  # what the app's settings read .env with

    values = {k: v for k, v in dotenv_values(env_file).items() if v} if env_file.is_file() else {}
    author, repo = space_id.split("/")
    host = re.sub(r"[^a-z0-9-]", "-", f"{author}-{repo}".lower()) + ".hf.space"
    helpers = {"SPACE_ID": space_id, "SPACE_AUTHOR_NAME": author, "SPACE_REPO_NAME": repo}
    return values | helpers | {"SPACE_HOST": host}


def build(client: Any, args: argparse.Namespace, space_id: str) -> str:
    import docker

    tag = re.sub(r"[^a-z0-9._-]", "-", space_id.split("/")[1].lower()) + ":space-local"
    print(f"build: {tag} from {args.root}")
    build_args = dict(item.split("=", 1) for item in args.build_arg)
    try:
        client.images.build(path=str(args.root), tag=tag, buildargs=build_args, rm=True)
    except docker.errors.BuildError as error:
        log = "".join(chunk.get("stream", "") for chunk in error.build_log).splitlines()
        print("\n".join(log[-20:]), file=sys.stderr)
        raise Stop(f"the image does not build: {error}") from None
    return tag


def get(url: str, timeout: float) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def report_health(container: Any, port: int, within: float) -> int:
    """Wait for /health/live, and for /health to end "starting"; print it, one line per service;
    its status."""
    deadline = time.monotonic() + within
    while True:
        try:
            get(f"http://127.0.0.1:{port}/health/live", timeout=2)
            break
        except (OSError, ValueError):  # not listening yet
            container.reload()
            if container.status == "exited" or time.monotonic() > deadline:
                logs = container.logs(tail=20).decode(errors="replace")
                print(logs, file=sys.stderr)
                raise Stop(f"no answer on 7860 within {within:g} s: see the log above") from None
            time.sleep(0.5)
    while True:  # "starting": SDK imports, startup hooks or models still under way
        status, body = get(f"http://127.0.0.1:{port}/health", timeout=60)
        starting = isinstance(body, dict) and body.get("status") == "starting"
        if not starting or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(f"health: GET http://127.0.0.1:{port}/health\n      status   {status}")
    for name, result in (body.get("services") or {} if isinstance(body, dict) else {}).items():
        print(f"      {service_line(name, result)}")
    return status


def run(args: argparse.Namespace) -> int:
    problem = egress_problem() if args.egress_rule else None
    if problem:
        raise Stop(f"cannot set a Space's outbound rule (TCP {args.ports}): {problem}; {FIX}")
    if not args.egress_rule:
        print("note: no outbound rule (--no-egress-rule): unlike a Space, every port is reachable")
    import docker

    space_id = args.space_id
    client = docker.from_env()
    image = build(client, args, space_id)
    sandbox = Sandbox(client, args.egress_rule)
    try:
        environment = space_environment(args.env_file, space_id)
        if args.ca_file:  # Python's ssl and httpx read SSL_CERT_FILE; requests its own
            environment |= dict.fromkeys(("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"), CA_IN_CONTAINER)
        container = sandbox.start(image, environment, args)
        container.reload()  # the port Docker published, for --port 0
        port = int(container.ports["7860/tcp"][0]["HostPort"])
        print(f"run: {sandbox.name} as uid 1000, {args.hardware}, on http://127.0.0.1:{port}")
        status = report_health(container, port, args.start_timeout)
        if args.once:
            return 0 if status == 200 else 1
        print("running; Ctrl-C stops it and removes the container, network and rules; its log:")
        for line in container.logs(stream=True, follow=True):  # from the start: its warnings
            sys.stdout.write(line.decode(errors="replace"))
        return 1  # the app stopped by itself
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up
            signal.signal(sig, signal.SIG_IGN)
        sandbox.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        "hf-space local", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    add = parser.add_argument
    add("--hardware", choices=HARDWARE, default="cpu-basic", help="caps (default cpu-basic)")
    add("--env-file", type=Path, help="the Space's values (default .env)")
    add("--port", type=int, default=7860, help="port on 127.0.0.1 (default 7860; 0: any free one)")
    add("--once", action="store_true", help="report /health and stop: exit 0 when it is 200")
    add("--no-egress-rule", dest="egress_rule", action="store_false",
        help="run without the outbound port rule (when it cannot be set here)")  # fmt: skip
    add("--build-arg", action="append", default=[], metavar="NAME=VALUE",
        help="docker build argument, e.g. PYTHON_IMAGE=my.registry/python:3.11-slim")  # fmt: skip
    add("--ca-file", type=Path, help="PEM file of the CAs the container trusts instead of its "
        "own (a TLS-inspecting proxy's): mounted read-only, as SSL_CERT_FILE")  # fmt: skip
    add("--start-timeout", type=float, default=120.0, help="seconds to wait for the port (120)")
    args = parser.parse_args(argv)
    if not all("=" in item for item in args.build_arg):
        parser.error("--build-arg: expected NAME=VALUE")
    if args.env_file and not args.env_file.is_file():
        parser.error(f"--env-file {args.env_file}: no such file")
    if args.ca_file and not args.ca_file.is_file():
        parser.error(f"--ca-file {args.ca_file}: no such file")
    try:
        args.root, table = project_root()
        args.space_id = table["space-id"]
        # pyproject.toml's, rendered from the template's one list (Spaces overview, "Networking")
        args.ports = ",".join(str(port) for port in table["outbound-ports"])
    except KeyError as error:  # a pyproject.toml from before this tooling's template
        parser.error(f"pyproject.toml: [tool.hf-space] has no {error}; copier update adds it")
    except (ValueError, OSError) as error:
        parser.error(f"{error}")
    args.env_file = args.env_file or args.root / ".env"
    return args


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM cleans up like Ctrl-C
    try:
        return run(args)
    except Stop as error:
        print(f"error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("stopped; all this run made is removed, but the image", file=sys.stderr)
        return 130
    except ImportError as error:
        print(f"error: {error}: pip install -r requirements-dev.txt", file=sys.stderr)
    except Exception as error:  # never a traceback: it could quote a secret
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
    return 1

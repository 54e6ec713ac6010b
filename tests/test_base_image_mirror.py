"""scripts/make-base-image takes its Debian mirror from the machine's apt sources.

`--print-mirror` runs only the selection (no root, Docker or debootstrap needed), with
APT_ETC pointing at sample apt directories.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import ROOT, run

SCRIPT = ROOT / "scripts" / "make-base-image"

DEBIAN_SOURCES = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.net/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.net/debian-security
Suites: bookworm-security
Components: main
"""

CASES = {
    "deb822 with a comment inside the stanza": (
        {"sources.list.d/debian.sources": DEBIAN_SOURCES},
        "http://mirror.example.net/debian",
    ),
    "one-line format with options, after a deb-src line": (
        {
            "sources.list": "# local mirror\n"
            "deb-src http://src.example.org/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] "
            "https://apt.example.org/debian-mirror bookworm main contrib # inline\n"
        },
        "https://apt.example.org/debian-mirror",
    ),
    "the suite's source wins over an earlier /debian URI of another release": (
        {
            "sources.list": "deb http://ftp.de.debian.org/debian trixie main\n",
            "sources.list.d/corp.list": "deb http://corp.example/pkgs bookworm main\n",
        },
        "http://corp.example/pkgs",
    ),
    "another Debian release: its /debian mirror": (
        {"sources.list": "deb http://ftp.de.debian.org/debian/ trixie main\n"},
        "http://ftp.de.debian.org/debian/",
    ),
    "sources.list is read before sources.list.d": (
        {
            "sources.list": "deb http://first.example/debian bookworm main\n",
            "sources.list.d/a.list": "deb http://second.example/debian bookworm main\n",
        },
        "http://first.example/debian",
    ),
    "sources.list.d in name order, .list and .sources alike": (
        {
            "sources.list.d/b.list": "deb http://b.example/debian bookworm main\n",
            "sources.list.d/a.sources": DEBIAN_SOURCES.replace("mirror.example.net", "a.example"),
        },
        "http://a.example/debian",
    ),
    "a disabled stanza, a disabled file name and a cdrom source are skipped": (
        {
            "sources.list": "deb cdrom:[Debian 12]/ bookworm main\n",
            "sources.list.d/a.sources": "Enabled: no\n" + DEBIAN_SOURCES,
            "sources.list.d/b.list.disabled": "deb http://off.example/debian bookworm main\n",
            "sources.list.d/c.list": "deb http://on.example/debian bookworm main\n",
        },
        "http://on.example/debian",
    ),
    "only the security archive: debootstrap's default": (
        {"sources.list": "deb http://security.debian.org/debian-security bookworm-security main\n"},
        "default",
    ),
    "an Ubuntu machine: debootstrap's default": (
        {"sources.list": "deb http://archive.ubuntu.com/ubuntu noble main universe\n"},
        "default",
    ),
    "no sources at all: debootstrap's default": ({}, "default"),
}


@pytest.mark.parametrize(("files", "expected"), CASES.values(), ids=CASES.keys())
def test_mirror_comes_from_the_apt_sources(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = run(
        "bash", SCRIPT, "--print-mirror", cwd=ROOT, env={**os.environ, "APT_ETC": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{expected}\n"


def test_no_mirror_host_is_written_into_the_script() -> None:
    text = SCRIPT.read_text(encoding="utf-8")
    assert "deb.debian.org" not in text
    assert "debian.org/debian" not in text

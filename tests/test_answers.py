"""Bad answers are refused by the real copier CLI: one message naming the question and what is
allowed, no traceback, nothing written. Good edge cases pass and land in the render."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT, copier_cli, extension

BAD_ANSWERS = [
    ("space_name", "My Space!"),
    ("space_name", "a--b"),
    ("space_name", "-x"),
    ("space_name", "x."),
    ("space_name", "a..b"),
    ("space_name", "s" * 97),
    ("space_name", "s" * 53),  # my-hf-user-sss...: a host label over 63 characters
    ("frontend_origins", "https://myapp.vercel.app/chat"),
    ("frontend_origins", "https://myapp.vercel.app/"),
    ("frontend_origins", "https://*.vercel.app"),
    ("frontend_origins", "myapp.vercel.app"),
    ("frontend_origins", "ftp://files.example.com"),
    ("frontend_origins", "http://localhost:3000,https://ok.example/path"),
    ("short_description", "d" * 61),
    ("package_name", "my-app"),
    ("package_name", "class"),
    ("package_name", "App"),
    ("cors_origin_regex", "https://(unclosed"),
    ("api_prefix", "api/"),
    ("api_prefix", "/api/../v1"),
    ("api_prefix", "/health"),
    ("hf_owner", "bad owner"),
    ("hf_owner", "my--org"),
    ("package_name", "os"),
    ("package_name", "fastapi"),
    ("package_name", "tests"),
    ("cors_origin_regex", ".*"),
    ("cors_origin_regex", "(a+)+$"),
    ("cors_origin_regex", r"https://myapp-[a-z0-9-]+\.vercel\.app"),  # any Vercel project
    ("frontend_origins", "https://Example.com"),
    ("frontend_origins", "https://example.com:443"),
    ("emoji", "🚀: x"),
    ("project_name", "Title\nsdk: gradio"),
    ("services", "[postgres]"),
    ("chat", "true"),  # no LLM service chosen
    ("chat_provider", "openai"),  # not among the chosen services
]

GOOD_ANSWERS = [
    ("frontend_origins", "https://myapp.vercel.app,http://localhost:3000"),
    ("frontend_origins", "http://localhost:5173"),
    ("space_name", "my_space.v2"),
    ("space_name", "s" * 52),  # my-hf-user- + 52 = 63, the longest host label
    ("cors_origin_regex", r"https://[a-z0-9-]+\.myapp\.pages\.dev"),
    ("api_prefix", "/api/v1"),
    ("api_prefix", ""),
    ("project_name", 'Say "hi" \\N \\'),
    ("emoji", "👨\u200d👩\u200d👧"),
]


def _copy(destination: Path, question: str, value: str):
    return copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "--data", f"{question}={value}", str(ROOT), str(destination),
    )  # fmt: skip


@pytest.mark.parametrize(("question", "value"), BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(
    tmp_path: Path, question: str, value: str
) -> None:
    destination = tmp_path / "space"
    result = _copy(destination, question, value)
    assert result.returncode != 0
    assert f"{question}:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not destination.exists() or not any(destination.iterdir())


@pytest.mark.parametrize(("question", "value"), GOOD_ANSWERS)
def test_good_edge_case_is_accepted(tmp_path: Path, question: str, value: str) -> None:
    destination = tmp_path / "space"
    result = _copy(destination, question, value)
    assert result.returncode == 0, result.stderr
    answers = (destination / ".copier-answers.yml").read_text(encoding="utf-8")
    assert question in answers


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "--data", "space_name=a--b", "--data", "package_name=class",
        str(ROOT), str(tmp_path / "space"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "space_name:" in result.stderr
    assert "package_name:" in result.stderr


@pytest.mark.parametrize(
    ("origin", "problem"),
    [
        ("https://myapp.vercel.app", ""),
        ("http://localhost:3000", ""),
        ("https://myapp.vercel.app/", "trailing slash"),
        ("https://myapp.vercel.app/x", "path"),
        ("https://*.vercel.app", "wildcard"),
        ("myapp.vercel.app", "scheme"),
        ("http://localhost:99999", "port"),
    ],
)
def test_origin_rules(origin: str, problem: str) -> None:
    found = extension.origin_problem(origin)
    assert (problem in found) if problem else found == ""


@pytest.mark.parametrize(
    ("owner", "name", "host"),
    [
        ("alice", "rag-api", "alice-rag-api.hf.space"),
        ("Alice", "My_Space.v2", "alice-my-space-v2.hf.space"),
    ],
)
def test_space_host_follows_hf_subdomain_rules(owner: str, name: str, host: str) -> None:
    assert f"{extension.space_subdomain(owner, name)}.hf.space" == host


def test_space_url_is_rendered_from_owner_and_name(tmp_path: Path) -> None:
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--quiet",
        "--data", "hf_owner=Alice", "--data", "space_name=My_Space.v2",
        str(ROOT), str(tmp_path / "space"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    readme = (tmp_path / "space" / "README.md").read_text(encoding="utf-8")
    assert "https://alice-my-space-v2.hf.space" in readme

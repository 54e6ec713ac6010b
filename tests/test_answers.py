"""Bad answers are refused: one message naming the question and what is allowed, no traceback,
nothing written. Good edge cases pass and land in the render.

Each answer goes through copier's own API, as the CLI passes it (a string, parsed by the
question's type); the CLI itself, its message and exit status, is run once below."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest
from copier.errors import UserMessageError
from support import copier_cli, extension, render, template_snapshot

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


def _copy(destination: Path, question: str, value: str) -> str:
    """The message copier refuses the answer with, or "" when it renders."""
    try:
        copier.run_copy(
            str(template_snapshot()), str(destination), data={question: value},
            defaults=True, unsafe=True, quiet=True,
        )  # fmt: skip
    except UserMessageError as refused:  # what the CLI prints without a traceback
        return str(refused)
    return ""


@pytest.mark.parametrize(("question", "value"), BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(
    tmp_path: Path, question: str, value: str
) -> None:
    destination = tmp_path / "space"
    assert f"{question}:" in _copy(destination, question, value)
    assert not destination.exists() or not any(destination.iterdir())


@pytest.mark.parametrize(("question", "value"), GOOD_ANSWERS)
def test_good_edge_case_is_accepted(tmp_path: Path, question: str, value: str) -> None:
    destination = tmp_path / "space"
    assert _copy(destination, question, value) == ""
    answers = (destination / ".copier-answers.yml").read_text(encoding="utf-8")
    assert question in answers


def test_the_cli_reports_all_problems_at_once_without_a_traceback(tmp_path: Path) -> None:
    result = copier_cli(
        "copy", "--trust", "--defaults",
        "--data", "space_name=a--b", "--data", "package_name=class",
        str(template_snapshot()), str(tmp_path / "space"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "space_name:" in result.stderr
    assert "package_name:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "space").exists() or not any((tmp_path / "space").iterdir())


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
    render(tmp_path / "space", hf_owner="Alice", space_name="My_Space.v2")
    readme = (tmp_path / "space" / "README.md").read_text(encoding="utf-8")
    assert "https://alice-my-space-v2.hf.space" in readme

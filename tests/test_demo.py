"""The demo runs on the bundled sample, with no server and no network."""

from __future__ import annotations

import pytest

from ferromem import cli


def test_demo_tours_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "29 sample messages in 2 sessions" in out
    assert "manager's name is Ana" in out  # get_context found the relevant turn
    assert "reopened memory.json: 3 messages for 'leo'" in out


def test_sample_is_bundled_with_the_package() -> None:
    messages = cli.load_sample()
    assert {m.session_id for m in messages} == {"maya", "leo"}
    assert all(m.content for m in messages)


def test_demo_shows_tiers_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["demo"])
    out = capsys.readouterr().out
    core_section = out.split("== HierarchicalMemory")[1].split("==")[1]
    assert "Core knowledge:" in core_section and "PostgreSQL" in core_section
    summary = out.split("== SummaryMemory")[1].split("==")[1]
    assert "Porto" in summary and "vegetarian" in summary

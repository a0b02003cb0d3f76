"""Docs are tested: every command has help text and appears in the README."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_command_has_help_and_is_documented(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert cli.commands[name].help and len(cli.commands[name].help.split()) >= 5
    assert f"tracker {name}" in README


def test_readme_quick_start_has_the_two_commands():
    assert "pip install torch==2.13.0 && pip install -e '.[test]' && tracker demo" in README
    assert "python -m pytest" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci.splitlines()[-1]


def test_demo_finds_the_bundled_corpus_from_any_folder(tmp_path, monkeypatch):
    """`tracker demo` run outside the checkout still finds the corpus beside the package."""
    from tracker.commands.building import bundled_corpus

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRACKER_CORPUS", raising=False)
    assert bundled_corpus() == Path(__file__).resolve().parents[1] / "corpus" / "hewitt-2023"

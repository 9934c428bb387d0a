"""Prompt templates: shipped with the package, overridable per file."""

from __future__ import annotations

from pathlib import Path

import pytest

from repopack.errors import ConfigError
from repopack.model.templates import TEMPLATE_NAMES, render_template


def test_ask_template_renders_context_and_question() -> None:
    text = render_template("ask", context="<file path='a.py'>x = 1</file>", question="What is x?")
    assert text == ("<file path='a.py'>x = 1</file>\n\nQuestion: What is x?\n\n"
                    "Answer concisely and cite the files and lines you rely on.\n")


def test_system_template_explains_diffs_and_markers() -> None:
    text = render_template("system")
    assert "```diff\n--- a/path/to/file.py\n+++ b/path/to/file.py\n" in text
    assert "[REDACTED:AWS Access Key]" in text
    assert "/dev/null" in text


def test_every_template_renders() -> None:
    context = {"context": "C", "question": "Q", "request": "R", "diff": "D",
               "failures": [{"name": "test_x", "message": "boom"}]}
    for name in TEMPLATE_NAMES:
        assert render_template(name, **context).strip()


def test_review_template_asks_for_json_findings() -> None:
    text = render_template("review", context="C", diff="-a\n+b", title="Fix")
    assert 'Review the following change "Fix".' in text
    assert '"findings": [' in text and '"severity": "high | medium | low"' in text


def test_user_directory_overrides_per_file(tmp_path: Path) -> None:
    (tmp_path / "ask.j2").write_text("Q={{ question }}", encoding="utf-8")
    assert render_template("ask", prompts_dir=tmp_path, context="C", question="why") == "Q=why"
    assert render_template("system", prompts_dir=tmp_path) == render_template("system")


def test_errors_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no prompt template named 'nope.j2'"):
        render_template("nope")
    with pytest.raises(ConfigError, match="needs a value"):
        render_template("ask", context="C")
    (tmp_path / "ask.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(ConfigError, match="ask.j2 line 1"):
        render_template("ask", prompts_dir=tmp_path, context="C", question="Q")
    with pytest.raises(ConfigError, match="does not exist"):
        render_template("ask", prompts_dir=tmp_path / "missing", context="C", question="Q")

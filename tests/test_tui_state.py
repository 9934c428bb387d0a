"""The context panel's rules without an app: toggles, exclude patterns, estimates, transcripts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from repopack.tui.state import (
    STATE_IMAGE,
    ContextView,
    FileRow,
    Meter,
    TokenMemory,
    estimate_after_toggle,
    exclude_patterns,
    toggle_exclusion,
    view_from_pack,
)
from repopack.tui.transcript import Transcript, latest_transcript, transcript_dir

from repopack.config import Settings
from repopack.packing.pipeline import pack_repo
from repopack.packing.walk import WalkRules, walk_repo

PATHS = ["a/x.py", "a/b/c.py", "a/b/e.py", "a/d/f.py", "top.py"]


def test_toggle_a_file_out_and_back() -> None:
    out = toggle_exclusion(frozenset(), "a/x.py", PATHS)
    assert out == {"a/x.py"}
    assert toggle_exclusion(out, "a/x.py", PATHS) == frozenset()


def test_excluding_a_folder_subsumes_what_was_excluded_inside() -> None:
    assert toggle_exclusion(frozenset({"a/b/c.py"}), "a/", PATHS) == {"a/"}


def test_taking_one_file_back_from_an_excluded_folder_excludes_its_siblings() -> None:
    assert toggle_exclusion(frozenset({"a/"}), "a/b/c.py", PATHS) == {"a/x.py", "a/d/", "a/b/e.py"}
    assert toggle_exclusion(frozenset({"a/"}), "a/b/", PATHS) == {"a/x.py", "a/d/"}


def test_patterns_are_anchored_and_escaped(make_repo) -> None:
    assert exclude_patterns({"a/", "x[1]*.py"}) == ("/a/", "/x\\[1\\]\\*.py")
    root = make_repo({"x[1]*.py": "a = 1\n", "x1.py": "b = 2\n", "sub/a/keep.py": "", "a/gone.py": ""})
    walked = walk_repo(root, WalkRules(exclude=exclude_patterns({"a/", "x[1]*.py"})))
    assert sorted(f.path for f in walked.files) == ["sub/a/keep.py", "x1.py"]


def test_view_from_pack_and_the_estimate_after_a_toggle(make_repo) -> None:
    root = make_repo({"a.py": "def f():\n    return 1\n", "b.py": "import a\n", "docs/x.md": "# hi\n"})
    memory = TokenMemory()
    result = pack_repo(root, Settings(budget=5000, encoding="cl100k_base"))
    view = view_from_pack(result, 100_000, memory)
    assert set(view.rows) == {"a.py", "b.py", "docs/x.md"}
    assert all(r.state == "full" for r in view.rows.values())
    assert view.meter == Meter(result.packed.tokens, 5000, 100_000)

    excluded = toggle_exclusion(frozenset(), "docs/", list(view.rows))
    estimate = estimate_after_toggle(view, excluded)
    assert estimate.meter.estimated
    assert estimate.meter.used == view.meter.used - view.rows["docs/x.md"].tokens
    assert estimate.rows["docs/x.md"].state == "excluded"

    again = pack_repo(root, Settings(budget=5000, encoding="cl100k_base", exclude=exclude_patterns(excluded)))
    exact = view_from_pack(again, 100_000, memory, excluded=excluded)
    assert exact.rows["docs/x.md"] == FileRow("docs/x.md", "excluded", 0, view.rows["docs/x.md"].full_tokens)
    assert exact.meter.used < estimate.meter.used  # the path also left the directory listing
    assert exact.config_excluded == frozenset()


def test_folder_totals() -> None:
    rows = {"a/x.py": FileRow("a/x.py", "full", 10, 10), "a/b/c.py": FileRow("a/b/c.py", "skeleton", 3, 9),
            "a/b/e.py": FileRow("a/b/e.py", "path", 0, 7)}
    view = ContextView(rows, Meter(13, 100, 1000))
    assert view.folder_totals() == {"a/": (13, 2, 3), "a/b/": (3, 1, 2)}
    assert view.counts()["path"] == 1


def test_an_image_counts_as_packed_and_comes_back_as_an_image() -> None:
    rows = {"docs/login.png": FileRow("docs/login.png", STATE_IMAGE, 1105, 1105),
            "docs/guide.md": FileRow("docs/guide.md", "full", 40, 40)}
    view = ContextView(rows, Meter(1145, 4000, 128_000))
    assert view.folder_totals() == {"docs/": (1145, 2, 2)}
    out = estimate_after_toggle(view, frozenset({"docs/login.png"}))
    assert out.rows["docs/login.png"].state == "excluded" and out.meter.used == 40
    back = estimate_after_toggle(out, frozenset())
    assert back.rows["docs/login.png"] == rows["docs/login.png"] and back.meter.used == 1145


def test_transcript_round_trip_and_latest(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    transcript = Transcript("repo", "gpt-4.1", started="2026-01-01 00:00:00")
    transcript.add("user", "why?")
    transcript.add("assistant", "because")
    transcript.add("error", "rate limited")
    transcript.history = [{"role": "user", "content": "why?"}, {"role": "assistant", "content": "because"}]
    saved = transcript.save(transcript_dir(root))
    assert saved.parent == root / ".repopack" / "chat"
    assert (saved.parent / ".gitignore").read_text() == "*\n"
    assert saved.read_text() == ("# repopack chat: repo\n\nModel `gpt-4.1`, started 2026-01-01 00:00:00.\n\n"
                                 "## You\n\nwhy?\n\n## Assistant\n\nbecause\n\n> **error:** rate limited\n")
    latest = latest_transcript(root)
    assert latest == saved.with_suffix(".json")
    loaded = Transcript.load(latest)
    assert loaded.entries == transcript.entries and loaded.history == transcript.history


def test_unwritable_repo_saves_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    # Tests run as root in CI containers, where chmod cannot make a directory unwritable.
    monkeypatch.setattr("repopack.tui.transcript._writable", lambda directory: False)
    directory = transcript_dir(root)
    assert directory.parent == Path(os.environ["REPOPACK_DATA_DIR"]) / "chat"
    assert directory.name.startswith("ro-")

"""Pieces of the warm question pack that were rewritten for speed keep their meaning."""

from __future__ import annotations

import gc

import pytest

from repopack.packing.rank import is_low_priority, path_mentions
from repopack.util.collector import collector_paused


@pytest.mark.parametrize(("path", "low"), [
    ("tests/test_app.py", True), ("src/app.py", False), ("docs/index.rst", True), ("pkg/Docs/x.py", True),
    ("pkg/app_test.go", True), ("web/app.spec.ts", True), ("web/app.test.js", True), ("a/UserTests.java", True),
    ("tests", False), ("./tests/x.py", True), ("a//tests/b.py", True), ("x/.test", True),
    ("x/test.", False), ("testing.py", False), ("test", True), ("src/contest.py", False), ("examples.py", False),
])
def test_low_priority_paths(path: str, low: bool) -> None:
    assert is_low_priority(path) is low


def test_path_mentions_of_files_and_modules() -> None:
    paths = ("src/pkg/models.py", "src/pkg/views.py", "tests/test_models.py", "README.md")
    assert path_mentions("nothing here names a file", paths) == {}
    assert path_mentions("the bug is in src/pkg/views.py", paths) == {1: 1.0}
    assert path_mentions("see pkg.models for the fields", paths) == {0: 0.6}
    assert path_mentions("and pkg.models again", paths[:2]) == {0: 0.6}  # another tree, not a stale memo


def test_collector_is_restored_after_the_block() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()


def test_preloading_races_the_foreground_import_safely() -> None:
    """The background import and the pipeline's own import of the same modules meet on import locks."""
    import subprocess
    import sys

    code = ("import sys\nfrom repopack.packing.pipeline import preload_ranking_modules\n"
            "assert 'scipy.sparse' not in sys.modules\npreload_ranking_modules()\n"
            "import scipy.sparse as sp\nprint(sp.csr_matrix((2, 2)).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(2, 2)"


def test_git_history_read_in_the_background_ranks_the_same(make_repo) -> None:
    from conftest import git

    from repopack.config import Settings
    from repopack.packing.pipeline import index_repo
    from repopack.packing.rank import GitActivity, Signals, git_activity, rank_files

    root = make_repo({"a.py": "def a():\n    return 1\n", "b.py": "def b():\n    return a()\n", "c.md": "# c\n"})
    for n in range(3):
        (root / "b.py").write_text(f"def b():\n    return a() + {n}\n")
        git(root, "commit", "-qam", f"b {n}")
    _root, _walked, index = index_repo(root, Settings())
    signals = Signals(query="where is b computed")
    early = GitActivity(root)
    assert early.read(["a.py", "b.py"]) == git_activity(root, ["a.py", "b.py"])
    assert git_activity(root, ["b.py"]) == {"b.py": 1.0}
    assert rank_files(index, signals, root, early) == rank_files(index, signals, root)
    outside = GitActivity(root / "not-a-repo")  # git fails: read() answers as git_activity does
    assert outside.read(["a.py"]) == {}


def test_no_helper_thread_runs_while_tokens_are_counted(make_repo) -> None:
    """Forked token counting needs a single thread: the pack's helpers (git log, module preload) are
    joined once the walk is done."""
    import threading

    from repopack.config import Settings
    from repopack.packing.pipeline import pack_repo
    from repopack.packing.rank import Signals

    root = make_repo({"a.py": "def a():\n    return 1\n", "b.py": "def b():\n    return a()\n"})
    during: list[list[str]] = []

    def progress(label: str, done: int, total: int) -> None:
        if label == "count":
            during.append([t.name for t in threading.enumerate() if t.name.startswith("repopack-")])

    pack_repo(root, Settings(budget=2000), Signals(query="where is a"), progress)
    assert during and not any(during)


def test_deferred_fields_compute_once_and_only_when_read() -> None:
    from dataclasses import dataclass, replace

    from repopack.util.lazy import defer, is_computed, lazy_fields

    calls: list[int] = []

    @lazy_fields("body")
    @dataclass(frozen=True)
    class Item:
        name: str
        body: str

    item = Item("a", "")
    defer(item, "body", lambda: calls.append(1) or "text")
    assert not is_computed(item, "body") and calls == []
    assert replace(item, body="other").body == "other" and calls == []  # replace never computes the old value
    assert item.body == "text" and item.body == "text" and calls == [1]
    assert is_computed(item, "body")
    with pytest.raises(TypeError):
        defer(item, "name", lambda: "x")


@pytest.mark.parametrize("path", [
    "src/app.py", "pkg/Makefile", "x.PY", "a/b.tar.gz", ".bashrc", "a/.env.py", "x.", "x..py", "a.b/c", "C.H",
    "docs/index.rst", "a//b.py", "./x.ts", "a/./Dockerfile", "a/", "", ".", "..", "CMakeLists.txt", "lib/mod.rs",
])
def test_language_for_path_means_what_purepath_says(path: str) -> None:
    from pathlib import PurePosixPath

    from repopack.packing.languages import EXTENSIONS, FILENAMES, language_for_path

    p = PurePosixPath(path)
    expected = FILENAMES[p.name] if p.name in FILENAMES else EXTENSIONS.get(p.suffix.lower())
    assert language_for_path(path) == expected


def test_only_the_executable_leaves_the_collector_off_after_a_pack(make_repo) -> None:
    import subprocess
    import sys

    from helpers import run_cli

    root = make_repo({"a.py": "def a():\n    return 1\n"})
    assert run_cli("pack", ".", "-o", "-", cwd=root).returncode == 0
    assert gc.isenabled()  # in process (tests, sessions, the TUI): the collector is back on
    code = ("import gc, sys\nfrom repopack.cli.app import main\nfrom repopack.util.collector import "
            "mark_one_shot_process\nmark_one_shot_process()\ntry:\n    main(['pack', '.', '-o', '-'])\n"
            "except SystemExit:\n    pass\nprint('enabled' if gc.isenabled() else 'off', file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().endswith("off") and "def a():" in out.stdout


def test_a_new_question_is_known_not_to_be_stored(make_repo) -> None:
    """A question never asked has no stored pack, so the pack starts ranking's helpers before listing."""
    from repopack.config import Settings
    from repopack.packing import reuse
    from repopack.packing.cache import Cache
    from repopack.packing.pipeline import pack_repo
    from repopack.packing.rank import Signals

    root = make_repo({"a.py": "def a():\n    return 1\n"})
    asked = Signals(query="where is a")
    result = pack_repo(root, Settings(budget=2000), asked, reuse=True)
    reuse.remember(result, "-")
    with Cache() as cache:
        assert reuse.stored(cache, root, Settings(budget=2000), asked)
        assert not reuse.stored(cache, root, Settings(budget=2000), Signals(query="where is b"))
        assert not reuse.stored(cache, root, Settings(budget=3000), asked)
    again = pack_repo(root, Settings(budget=2000), Signals(query="where is b"), reuse=True)
    assert "return 1" in again.text

"""Undo trusts only its own records, outside the work tree, and never overwrites newer work.

The attack of issue #11, built for real: a repository commits `.repopack/undo/<late stamp>/`
naming `../outside`, an absolute path and `../../x`; after a clone, `repopack undo` must
change nothing and say it has no undo record of its own (exit 14).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli

from repopack.chat.apply import apply_edits
from repopack.chat.edits import parse_edits
from repopack.chat.undo import records_dir, undo_last
from repopack.errors import ApplyError, NothingToUndoError

EDIT = "```diff\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n```\n"


def tree(*roots: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every path under the roots (outside .git) with its mode and bytes: to prove nothing changed."""
    out: dict[str, tuple[int, bytes | None]] = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            if ".git" in p.relative_to(root).parts:
                continue
            st = p.lstat()
            out[str(p)] = (st.st_mode, p.read_bytes() if stat.S_ISREG(st.st_mode) else None)
    return out


def test_a_committed_journal_in_a_clone_is_never_used(make_repo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.txt").write_text("the user's file\n")
    (outside / "private.txt").write_text("ssh private key\n")
    absolute = tmp_path / "abs" / "evil.sh"
    origin = make_repo({"app.py": "x = 1\n"}, name="origin")
    entry = origin / ".repopack" / "undo" / ("9" * 8 + "T" + "9" * 6 + ".999999Z")
    entry.mkdir(parents=True)
    (entry / "0.bin").write_text("#!/bin/sh\necho owned\n")
    (entry / "1.bin").write_text("overwritten\n")
    (entry / "manifest.json").write_text(json.dumps({
        "version": 1, "root": "/anything",
        "files": [
            {"path": str(absolute), "existed": True, "blob": "0.bin", "mode": 0o755},
            {"path": "../outside/target.txt", "existed": True, "blob": "1.bin", "mode": 0o644},
            {"path": "stolen.txt", "existed": True, "blob": "../../../../outside/private.txt", "mode": 0o644},
            {"path": "../../x", "existed": False},
            {"path": "app.py", "existed": False},
        ],
        "created_dirs": ["../outside"],
    }))
    git(origin, "add", "-f", "-A")
    git(origin, "commit", "-q", "-m", "add a journal")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    before = tree(clone, outside)

    result = run_cli("undo", str(clone))

    assert result.returncode == 14, result.stderr
    assert result.stdout == ""
    assert result.stderr == (f"repopack: error: nothing to undo in {clone}: no undo record of its own "
                             f"(a .repopack/undo/ journal inside the repository is never used)\n")
    assert tree(clone, outside) == before
    assert not absolute.parent.exists() and not (tmp_path / "x").exists()


def test_records_live_outside_the_work_tree_and_are_private(make_repo) -> None:
    root = make_repo({"app.py": "x = 1\n"})
    result = apply_edits(root, parse_edits(EDIT))
    assert result.applied == ("app.py",) and result.journal is not None
    assert not (root / ".repopack").exists()
    entry = result.journal
    assert entry.parent == records_dir(root) and root not in entry.parents
    for directory in (entry, entry.parent, entry.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for f in entry.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    # Keyed by the real path: the same repository through a symlink has the same records.
    alias = root.parent / "alias"
    alias.symlink_to(root)
    assert undo_last(alias) == ["app.py"]
    assert (root / "app.py").read_text() == "x = 1\n"


def test_undo_refuses_to_overwrite_a_file_changed_since_the_apply(make_repo) -> None:
    root = make_repo({"app.py": "x = 1\n"})
    apply_edits(root, parse_edits(EDIT))
    (root / "app.py").write_text("x = 2\ny = 3  # the user's work after the apply\n")

    refused = run_cli("undo", str(root))
    assert refused.returncode == 12
    assert refused.stderr == ("repopack: error: nothing was undone: app.py changed since the apply, and undo would "
                              "lose that; use `repopack undo --force` to overwrite\n")
    assert (root / "app.py").read_text() == "x = 2\ny = 3  # the user's work after the apply\n"

    forced = run_cli("undo", str(root), "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == "app.py\n"
    assert (root / "app.py").read_text() == "x = 1\n"


def test_undo_refuses_when_a_removed_or_created_file_was_touched(make_repo) -> None:
    root = make_repo({"gone.txt": "bye\n"})
    delete = "```diff\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n```\n"
    create = "```diff\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+hello\n```\n"
    apply_edits(root, parse_edits(delete + create))
    (root / "gone.txt").write_text("recreated by the user\n")
    with pytest.raises(ApplyError, match="gone.txt changed since the apply"):
        undo_last(root)
    (root / "gone.txt").unlink()
    (root / "new.txt").write_text("hello, edited\n")
    with pytest.raises(ApplyError, match="new.txt changed since the apply"):
        undo_last(root)
    assert undo_last(root, confirm=lambda paths: list(paths) == ["new.txt"]) == ["gone.txt", "new.txt"]
    assert (root / "gone.txt").read_text() == "bye\n" and not (root / "new.txt").exists()


@pytest.mark.parametrize("bad", [
    {"path": "../outside.txt", "existed": True, "blob": "0.bin"},
    {"path": "/tmp/repopack-absolute.txt", "existed": False},
    {"path": "sub/../../x", "existed": False},
    {"path": ".git/hooks/post-checkout", "existed": True, "blob": "0.bin"},
    {"path": "app.py", "existed": True, "blob": "../../../../etc/passwd"},
    {"path": "app.py", "existed": True, "blob": "0.bin", "mode": 0o104755},
])
def test_even_its_own_record_is_checked_like_apply(make_repo, tmp_path: Path, bad: dict) -> None:
    root = make_repo({"app.py": "x = 1\n"})
    outside = root.parent / "outside.txt"
    outside.write_text("keep\n")
    result = apply_edits(root, parse_edits(EDIT))
    assert result.journal is not None
    manifest = json.loads((result.journal / "manifest.json").read_text())
    manifest["files"].append(bad)
    (result.journal / "manifest.json").write_text(json.dumps(manifest))
    before = tree(root)

    with pytest.raises(ApplyError, match=r"^the undo record .* nothing was undone$"):
        undo_last(root)
    assert tree(root) == before and outside.read_text() == "keep\n"
    assert not Path("/tmp/repopack-absolute.txt").exists()


def test_a_record_of_another_repository_is_not_used(make_repo) -> None:
    root = make_repo({"app.py": "x = 1\n"})
    other = make_repo({"app.py": "x = 1\n"})
    result = apply_edits(root, parse_edits(EDIT))
    assert result.journal is not None
    forged = records_dir(other) / result.journal.name
    forged.parent.mkdir(parents=True)
    forged.mkdir()
    for f in result.journal.iterdir():
        (forged / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ApplyError, match="belongs to another repository"):
        undo_last(other)
    fresh = make_repo({"app.py": "x = 1\n"})
    with pytest.raises(NothingToUndoError, match="no undo record of its own$"):
        undo_last(fresh)

"""The walker's stat-keyed digests (packing/known.py): unchanged files are not read again, and a
changed file is always seen, whatever the clock, the size or the mtime say."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from repopack.config import Settings
from repopack.packing.cache import Cache
from repopack.packing.known import NS, KnownFiles
from repopack.packing.pipeline import pack_repo
from repopack.packing.walk import SKIP_BINARY, TextChanged, WalkRules, walk_repo
from repopack.util.lazy import is_computed

LATER = 60 * 10**9  # a walk this long after the files were written: none of them is racy


def walk(root: Path, *, later: bool = True):
    """One walk with the digests of the last one, recording its own (`later`: as if it ran a minute
    after the files changed, so the stat of an unchanged file can vouch for it)."""
    with Cache() as cache:
        known = KnownFiles.load(cache, root, time.time_ns() + (LATER if later else 0))
        result = walk_repo(root, WalkRules(), known=known)
        known.save(cache)
    return {f.path: f for f in result.files}, result


def test_unchanged_files_are_not_read_again(make_repo) -> None:
    root = make_repo({"a.py": "A = 1\n", "b.py": "B = 2\n"})
    first, _ = walk(root)
    assert all(is_computed(f, "text") for f in first.values())
    second, _ = walk(root)
    assert not any(is_computed(f, "text") for f in second.values())  # digest from the stat, bytes unread
    assert {p: f.digest for p, f in second.items()} == {p: f.digest for p, f in first.items()}
    assert second["a.py"].text == "A = 1\n"  # read on first use, checked against the digest


def test_same_size_edit_with_the_old_mtime_is_seen(make_repo) -> None:
    root = make_repo({"a.py": "A = 1\n"})
    target = root / "a.py"
    walk(root)
    old = target.stat()
    target.write_text("A = 9\n")  # same size, same second
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))  # mtime put back (as tar or cp -a do)
    files, _ = walk(root)  # even a walk long after: ctime moved
    assert files["a.py"].text == "A = 9\n"
    assert is_computed(files["a.py"], "text")


def test_racy_entries_are_read_again(make_repo) -> None:
    """A file changed within RACY_NS of the walk that read it may change again unseen in the same
    timestamp tick: its equal stat does not vouch for it."""
    root = make_repo({"a.py": "A = 1\n"})
    walk(root, later=False)
    files, _ = walk(root, later=False)
    assert is_computed(files["a.py"], "text")  # read again, not trusted
    assert files["a.py"].text == "A = 1\n"


def test_a_binary_file_replaced_by_text_is_seen(make_repo) -> None:
    root = make_repo({"a.py": "A = 1\n", "blob.txt": b"\x00\x01\x02\x03\x04\x05"})
    _, result = walk(root)
    assert [s.path for s in result.skipped if s.reason == SKIP_BINARY] == ["blob.txt"]
    _, result = walk(root)
    assert [s.path for s in result.skipped if s.reason == SKIP_BINARY] == ["blob.txt"]  # known binary
    (root / "blob.txt").write_bytes(b"TEXT=1")
    files, _ = walk(root)
    assert files["blob.txt"].text == "TEXT=1"


@pytest.mark.parametrize("row", ["not a row", {"a.py": [1, 2, 3]}, {"a.py": "x"}, [1, 2]])
def test_rows_of_the_wrong_shape_are_misses(make_repo, row) -> None:
    root = make_repo({"a.py": "A = 1\n"})
    with Cache() as cache:
        cache.put(NS, str(root), row)
    files, _ = walk(root)
    assert is_computed(files["a.py"], "text") and files["a.py"].text == "A = 1\n"


def _forge(root: Path, digest: str | None = None) -> None:
    """Rewrite the stored row as a walk long after the files changed would have left it, optionally
    with a wrong digest for every file (a cache row is never trusted blindly)."""
    with Cache() as cache:
        row = cache.get(NS, str(root), dict[str, tuple[int, int, int, int, int, int, str, int]])
        assert row
        cache.put(NS, str(root), {p: (*e[:5], e[5] + LATER, digest or e[6], e[7]) for p, e in row.items()})


def test_a_text_read_later_must_have_the_digest(make_repo) -> None:
    root = make_repo({"a.py": "A = 1\n"})
    walk(root)
    files, _ = walk(root)
    (root / "a.py").write_text("A = 2\n")  # after the walk vouched for the old bytes
    with pytest.raises(TextChanged, match="a.py changed while it was being packed"):
        _ = files["a.py"].text
    walk(root)  # records the new stat
    _forge(root, digest="0" * 32)
    files, _ = walk(root)
    with pytest.raises(TextChanged):
        _ = files["a.py"].text


def test_a_pack_from_trusted_stats_is_the_same_pack(make_repo) -> None:
    files = {f"pkg/m{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(20)}
    root = make_repo({**files, "pkg/__init__.py": "", "README.md": "# demo\n"})
    settings = Settings(budget=600)
    first = pack_repo(root, settings)
    _forge(root)
    trusted = pack_repo(root, settings)
    fresh = pack_repo(root, Settings(budget=600, cache=False))
    assert trusted.text == first.text == fresh.text
    assert not all(is_computed(f, "text") for f in trusted.walk.files)  # most were never read


def test_a_wrong_digest_in_the_cache_costs_a_second_walk_not_a_wrong_pack(make_repo) -> None:
    root = make_repo({"a.py": "def alpha():\n    return 1\n", "b.py": "def beta():\n    return 2\n"})
    pack_repo(root, Settings())
    _forge(root, digest="f" * 32)
    result = pack_repo(root, Settings())
    assert "return 1" in result.text and "return 2" in result.text
    assert {f.digest for f in result.walk.files} != {"f" * 32}


def test_a_secret_written_in_the_same_second_is_redacted(make_repo) -> None:
    """The edited text is scanned before it is used: its digest is new, so no cached verdict applies."""
    before = 'TOKEN = "' + "x" * 40 + '"\n'
    secret = 'TOKEN = "ghp_' + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8" + '"\n'
    assert len(secret) == len(before)
    root = make_repo({"app.py": before, "b.py": "B = 1\n"})
    pack_repo(root, Settings())
    old = (root / "app.py").stat()
    (root / "app.py").write_text(secret)
    os.utime(root / "app.py", ns=(old.st_atime_ns, old.st_mtime_ns))
    _forge(root)  # even if every stored stat were old enough to trust
    result = pack_repo(root, Settings())
    assert "ghp_A1b2" not in result.text
    assert any(f.path == "app.py" for f in result.findings)


def test_an_edit_after_the_shared_lstat_is_caught_when_the_text_is_read(make_repo) -> None:
    """The walk reuses the lstats of reuse's fingerprint; a file edited in between still never
    reaches a stage with its old digest unnoticed."""
    from repopack.packing.reuse import stat_fingerprint
    from repopack.packing.walk import list_candidates

    root = make_repo({"a.py": "A = 1\n", "b.py": "B = 2\n"})
    walk(root)
    _forge(root)
    names, used_git = list_candidates(root, WalkRules())
    seen: dict[str, os.stat_result] = {}
    stat_fingerprint(root, names, seen)
    assert set(seen) >= {"a.py", "b.py"}
    (root / "a.py").write_text("A = 3\n")  # same size, after the lstat
    with Cache() as cache:
        known = KnownFiles.load(cache, root, time.time_ns() + LATER)
        files = {f.path: f for f in walk_repo(root, WalkRules(), (names, used_git), known=known, lstats=seen).files}
    assert files["b.py"].text == "B = 2\n"
    with pytest.raises(TextChanged):
        _ = files["a.py"].text


def test_a_pack_reads_each_file_stat_once_and_still_sees_edits(make_repo) -> None:
    root = make_repo({"a.py": "def alpha():\n    return 1\n", "b.py": "def beta():\n    return 2\n"})
    first = pack_repo(root, Settings(budget=2000), reuse=True)
    (root / "a.py").write_text("def alpha():\n    return 7\n")
    second = pack_repo(root, Settings(budget=2000), reuse=True)
    assert "return 1" in first.text and "return 7" in second.text

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repopack.errors import RepoError
from repopack.packing.walk import (
    SKIP_BINARY,
    SKIP_DEFAULT,
    SKIP_SENSITIVE,
    SKIP_SIZE,
    SKIP_SYMLINK,
    WalkRules,
    decode_text,
    resolve_root,
    walk_repo,
)

NASTY_KEPT = {"README.md", ".gitignore", "src/app.py", "src/broken.py", "nested/.gitignore", "nested/keep/kept.py",
              "latin1.txt"}


def paths(result) -> set[str]:
    return {f.path for f in result.files}


@pytest.mark.parametrize("use_git", [True, False])
def test_nasty_repo_keeps_only_safe_text(fixture_repo, use_git: bool) -> None:
    root = fixture_repo("nasty", git_init=use_git)
    result = walk_repo(root, WalkRules(use_git=use_git))
    assert result.used_git is use_git
    assert paths(result) == NASTY_KEPT
    skipped = {s.path: s.reason for s in result.skipped}
    assert skipped["logo.png"] == SKIP_BINARY
    assert skipped["blob.dat2"] == SKIP_BINARY
    assert skipped["huge_line.txt"] == SKIP_SIZE
    assert skipped["link_out"] == SKIP_SYMLINK
    assert skipped[".env"] == SKIP_SENSITIVE
    assert skipped["package-lock.json"] == SKIP_DEFAULT
    assert skipped["app.min.js"] == SKIP_DEFAULT
    assert skipped["node_modules/leftpad/index.js"] == SKIP_DEFAULT
    # git-ignored files are not even candidates
    assert not {"debug.log", "build_out/gen.py", "nested/secret_sub/hidden.py"} & (paths(result) | set(skipped))


def test_non_utf8_is_replaced_not_fatal(fixture_repo) -> None:
    root = fixture_repo("nasty")
    latin = next(f for f in walk_repo(root).files if f.path == "latin1.txt")
    assert latin.had_decode_errors
    assert latin.text.startswith("caf\ufffd cr\ufffdme")


def test_decode_handles_bom_and_utf16() -> None:
    assert decode_text(b"\xef\xbb\xbfhello") == ("hello", False)
    assert decode_text("héllo".encode("utf-16")) == ("héllo", False)


def test_untracked_files_included_and_ignored_nested_dirs_excluded(make_repo) -> None:
    root = make_repo({"a.py": "a = 1\n", ".gitignore": "gen/\n", "pkg/.gitignore": "*.tmp\n"})
    (root / "new.py").write_text("n = 1\n")
    (root / "gen").mkdir()
    (root / "gen" / "x.py").write_text("x = 1\n")
    (root / "pkg" / "keep.py").write_text("k = 1\n")
    (root / "pkg" / "drop.tmp").write_text("d\n")
    assert paths(walk_repo(root)) == {"a.py", ".gitignore", "pkg/.gitignore", "new.py", "pkg/keep.py"}
    assert paths(walk_repo(root, WalkRules(use_git=False))) == paths(walk_repo(root))


def test_git_info_exclude_and_repopackignore(make_repo) -> None:
    root = make_repo({"a.py": "a\n", "b.py": "b\n", "docs/c.md": "c\n"}, commit=False)
    (root / ".git" / "info" / "exclude").write_text("b.py\n")
    (root / ".repopackignore").write_text("docs/\n")
    expected = {"a.py", ".repopackignore"}
    assert paths(walk_repo(root)) == expected
    assert paths(walk_repo(root, WalkRules(use_git=False))) == expected


def test_include_and_exclude_globs(make_repo) -> None:
    root = make_repo({"src/a.py": "", "src/b.js": "", "tests/t.py": "", "README.md": ""})
    assert paths(walk_repo(root, WalkRules(include=("*.py",)))) == {"src/a.py", "tests/t.py"}
    assert paths(walk_repo(root, WalkRules(include=("*.py",), exclude=("tests/",)))) == {"src/a.py"}


def test_default_excludes_can_be_turned_off(make_repo) -> None:
    root = make_repo({"a.py": "", "yarn.lock": "lock\n", "node_modules/x/i.js": "x\n"})
    assert paths(walk_repo(root)) == {"a.py"}
    assert paths(walk_repo(root, WalkRules(default_excludes=False))) == {"a.py", "yarn.lock", "node_modules/x/i.js"}


def test_size_cap_is_configurable(make_repo) -> None:
    root = make_repo({"big.txt": "y" * 5000, "small.txt": "s"})
    result = walk_repo(root, WalkRules(max_file_bytes=1000))
    assert paths(result) == {"small.txt"}
    assert [(s.path, s.reason, s.size) for s in result.skipped] == [("big.txt", SKIP_SIZE, 5000)]


def test_symlink_inside_root_is_followed(make_repo) -> None:
    root = make_repo({"real.py": "r = 1\n"}, commit=False)
    os.symlink("real.py", root / "alias.py")
    result = walk_repo(root)
    assert paths(result) == {"real.py", "alias.py"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_is_skipped_with_warning(make_repo) -> None:
    root = make_repo({"ok.py": "", "secret.py": "s"}, commit=False)
    (root / "secret.py").chmod(0)
    result = walk_repo(root)
    assert paths(result) == {"ok.py"}
    assert any("secret.py" in w for w in result.warnings)


def test_deleted_tracked_file_is_not_listed(make_repo) -> None:
    root = make_repo({"a.py": "", "gone.py": ""})
    (root / "gone.py").unlink()
    assert paths(walk_repo(root)) == {"a.py"}


def test_subdirectory_of_a_repo_is_walked_relative_to_itself(make_repo) -> None:
    root = make_repo({"pkg/a.py": "", "other.py": ""})
    assert paths(walk_repo(root / "pkg")) == {"a.py"}


def test_git_missing_falls_back_to_filesystem(make_repo, monkeypatch) -> None:
    root = make_repo({"a.py": "", ".gitignore": "b.py\n", "b.py": ""}, commit=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    result = walk_repo(root)
    assert not result.used_git
    assert paths(result) == {"a.py", ".gitignore"}


def test_resolve_root_errors(tmp_path: Path) -> None:
    with pytest.raises(RepoError, match="does not exist"):
        resolve_root(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(RepoError, match="not a directory"):
        resolve_root(tmp_path / "f.txt")


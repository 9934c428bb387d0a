from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import git

from repopack.errors import RepoError
from repopack.packing.walk import (
    SKIP_BINARY,
    SKIP_DEFAULT,
    SKIP_NESTED_REPO,
    SKIP_SENSITIVE,
    SKIP_SIZE,
    SKIP_SYMLINK,
    SKIP_SYMLINK_BROKEN,
    SKIP_SYMLINK_DIR,
    SKIP_SYMLINK_LOOP,
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



GO_ZERO_GITIGNORE = """# Ignore all
*

# Unignore all with extensions
!*.*
!**/Dockerfile
!**/Makefile

# Unignore all dirs
!*/
!api

**/.idea
**/logs
**/coverage.txt
"""
GO_ZERO_TREE = {".gitignore": GO_ZERO_GITIGNORE, "core/logx/logs.go": "package logx\n",
                "core/logx/logs/app.log": "x\n", "core/stores/redis/redis.go": "package redis\n",
                "rest/httpx/util.go": "package httpx\n", "tools/goctl/Dockerfile": "FROM golang\n",
                "tools/goctl/goctl": "binary-ish\n", "Makefile": "all:\n", "LICENSE": "MIT\n", "go.mod": "module x\n"}


@pytest.mark.parametrize("use_git", [True, False])
def test_go_zero_ignore_everything_then_re_include(make_repo, use_git: bool) -> None:
    root = make_repo(GO_ZERO_TREE, git_init=use_git)
    assert paths(walk_repo(root, WalkRules(use_git=use_git))) == {
        ".gitignore", "core/logx/logs.go", "core/stores/redis/redis.go", "rest/httpx/util.go",
        "tools/goctl/Dockerfile", "Makefile", "go.mod"}


@pytest.mark.parametrize("use_git", [True, False])
def test_grpc_credentials_package_is_code_not_a_credentials_file(make_repo, use_git: bool) -> None:
    root = make_repo({"credentials/credentials.go": "package credentials\n",
                      "credentials/alts/utils.go": "package alts\n", "deploy/credentials": "[default]\nkey=x\n",
                      "credentials.json": "{}", "go.mod": "module grpc\n"}, git_init=use_git)
    result = walk_repo(root, WalkRules(use_git=use_git))
    assert paths(result) == {"credentials/credentials.go", "credentials/alts/utils.go", "go.mod"}
    assert {s.path: s.reason for s in result.skipped} == {"deploy/credentials": SKIP_SENSITIVE,
                                                          "credentials.json": SKIP_SENSITIVE}


def test_a_virtualenv_is_a_default_exclude_whatever_its_name(make_repo) -> None:
    root = make_repo({"app.py": "", ".env/pyvenv.cfg": "home = /usr\n", ".env/lib/site.py": "",
                      "tools/py311/pyvenv.cfg": "", "tools/py311/bin/activate": ""}, git_init=False)
    assert paths(walk_repo(root)) == {"app.py"}


def test_a_nul_byte_anywhere_makes_a_file_binary(make_repo) -> None:
    late_nul = b"Sherlock Holmes\n" * 600 + b"\x00 after the first 8 KiB\n"
    root = make_repo({"sherlock-nul.txt": late_nul, "clean.txt": "text\n",
                      "utf16.txt": "héllo wörld".encode("utf-16"), "utf16-nul.txt": "a\x00b".encode("utf-16")})
    result = walk_repo(root)
    assert paths(result) == {"clean.txt", "utf16.txt"}
    assert {s.path: s.reason for s in result.skipped} == {"sherlock-nul.txt": SKIP_BINARY,
                                                          "utf16-nul.txt": SKIP_BINARY}
    assert all("\x00" not in f.text for f in result.files)


@pytest.mark.parametrize("use_git", [True, False])
def test_symlink_skip_reasons_are_the_true_ones(make_repo, tmp_path: Path, use_git: bool) -> None:
    root = make_repo({"real.py": "r = 1\n", "pkg/m.py": ""}, git_init=use_git, commit=False)
    (tmp_path / "outside.py").write_text("o = 1\n")
    os.symlink("self_loop", root / "self_loop")
    os.symlink("loop_b", root / "loop_a")
    os.symlink("loop_a", root / "loop_b")
    os.symlink("missing.py", root / "dangling")
    os.symlink(str(tmp_path / "outside.py"), root / "out")
    os.symlink("pkg", root / "pkg_link")
    os.symlink("real.py", root / "alias.py")
    result = walk_repo(root, WalkRules(use_git=use_git))
    assert paths(result) == {"real.py", "pkg/m.py", "alias.py"}
    assert {s.path: s.reason for s in result.skipped} == {
        "self_loop": SKIP_SYMLINK_LOOP, "loop_a": SKIP_SYMLINK_LOOP, "loop_b": SKIP_SYMLINK_LOOP,
        "dangling": SKIP_SYMLINK_BROKEN, "out": SKIP_SYMLINK, "pkg_link": SKIP_SYMLINK_DIR}


@pytest.mark.parametrize("use_git", [True, False])
def test_a_nested_repository_is_reported_not_read(make_repo, use_git: bool) -> None:
    root = make_repo({"a.py": ""}, git_init=use_git, commit=False)
    inner = root / "vendor" / "lib"
    inner.mkdir(parents=True)
    (inner / "lib.py").write_text("x = 1\n")
    git(inner, "init", "-q")
    result = walk_repo(root, WalkRules(use_git=use_git))
    assert paths(result) == {"a.py"}
    assert [(s.path, s.reason) for s in result.skipped] == [("vendor/lib", SKIP_NESTED_REPO)]


@pytest.mark.parametrize("use_git", [True, False])
def test_a_non_utf8_file_name_is_walked_under_its_escape(tmp_path: Path, use_git: bool) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    with open(os.path.join(os.fsencode(root), b"latin1_\xe9.py"), "wb") as fh:
        fh.write(b"def caf():\n    return 1\n")
    (root / "main.py").write_text("print(1)\n")
    if use_git:
        git(root, "init", "-q")
        git(root, "add", "-A")
    result = walk_repo(root, WalkRules(use_git=use_git))
    assert paths(result) == {"latin1_\\xe9.py", "main.py"}
    latin = next(f for f in result.files if f.path != "main.py")
    assert latin.text == "def caf():\n    return 1\n" and latin.language == "python"


def test_walk_outside_git_matches_git_on_the_fixture_repos(fixture_repo, tmp_path: Path) -> None:
    for name in ("nasty", "polyglot", "pyapp"):
        plain = fixture_repo(name, git_init=False)
        listed = set(walk_repo(plain, WalkRules(use_git=False)).files)
        subprocess.run(["git", "init", "-q", str(plain)], check=True, capture_output=True)
        assert {f.path for f in listed} == paths(walk_repo(plain)), name
        shutil.rmtree(plain)


def test_a_source_package_named_like_build_output_is_packed(make_repo) -> None:
    pip_build = "src/pip/_internal/operations/build/"
    sources = {pip_build + "__init__.py", pip_build + "wheel.py", "coverage/__init__.py", "coverage/control.py",
               "internal/out/out.go"}
    outputs = {"build/lib/pkg/__init__.py", "dist/app.js", "target/debug/x.rs"}
    root = make_repo(dict.fromkeys(sources | outputs, ""), git_init=False)
    assert paths(walk_repo(root)) == sources

"""git's ignore rules outside git: every rule is checked against `git ls-files -co --exclude-standard`
run on a copy of the same tree (and hypothesis builds trees and ignore files nobody thought of)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repopack.packing.ignore import IgnoreList, TreeRules, list_untracked, wildmatch_regex

Tree = Mapping[str | bytes, str | bytes]


def build(root: Path, files: Tree) -> Path:
    """Files by path (str or raw bytes); a path ending in '/' is an empty directory."""
    for rel, content in files.items():
        raw = rel if isinstance(rel, bytes) else rel.encode()
        path = os.path.join(os.fsencode(root), raw)
        if raw.endswith(b"/"):
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(content if isinstance(content, bytes) else content.encode())
    return root


class GitCopy:
    """A git repository that is given a copy of a tree and says what `git ls-files -co
    --exclude-standard` lists in it (one `git init` serves many trees)."""

    def __init__(self, scratch: Path) -> None:
        self.root = scratch / "git-copy"
        self.env = {**os.environ, "HOME": str(scratch), "XDG_CONFIG_HOME": str(scratch / "xdg"),
                    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
        subprocess.run(["git", "init", "-q", "--template=", str(self.root)], check=True, env=self.env,
                       capture_output=True)

    def lists(self, tree: Path) -> set[bytes]:
        for entry in os.scandir(self.root):
            if entry.name != ".git":
                shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)
        exclude = self.root / ".git" / "info" / "exclude"
        exclude.unlink(missing_ok=True)
        shutil.copytree(tree, self.root, symlinks=True, dirs_exist_ok=True)
        out = subprocess.run(["git", "-C", str(self.root), "ls-files", "-co", "--exclude-standard", "-z"],
                             check=True, env=self.env, capture_output=True).stdout
        return {name for name in out.split(b"\0") if name}


def git_lists(root: Path, scratch: Path) -> set[bytes]:
    return GitCopy(scratch).lists(root)


def ours(root: Path) -> set[bytes]:
    listing = list_untracked(root)
    return set(listing.files) | set(listing.nested_repos)


def assert_same_as_git(root: Path, scratch: Path | GitCopy) -> set[bytes]:
    mine = ours(root)
    theirs = scratch.lists(root) if isinstance(scratch, GitCopy) else git_lists(root, scratch)
    assert mine == theirs, f"only ours: {sorted(mine - theirs)}, only git's: {sorted(theirs - mine)}"
    return mine


GO_ZERO_GITIGNORE = "# Ignore all\n*\n\n# Unignore all with extensions\n!*.*\n!**/Dockerfile\n!**/Makefile\n\n" \
                    "# Unignore all dirs\n!*/\n!api\n\n**/.idea\n**/logs\n**/coverage.txt\n"

RULES: dict[str, tuple[Tree, set[str]]] = {
    "go-zero: ignore all, re-include files with a dot, Dockerfiles and every directory": (
        {".gitignore": GO_ZERO_GITIGNORE, "core/stores/redis/redis.go": "", "core/logx/logs/x.log": "",
         "tools/goctl/Dockerfile": "", "tools/goctl/goctl": "", "LICENSE": "", "Makefile": "", "api": "",
         "rest/httpx/util.go": "", ".idea/workspace.xml": "", "coverage.txt": ""},
        {".gitignore", "core/stores/redis/redis.go", "tools/goctl/Dockerfile", "Makefile", "api",
         "rest/httpx/util.go"}),
    "grpc-go: a credentials package is a directory, not a credentials file": (
        {"credentials/credentials.go": "", "credentials/alts/utils.go": "", "go.mod": ""},
        {"credentials/credentials.go", "credentials/alts/utils.go", "go.mod"}),
    "a parent directory excluded cannot be re-included": (
        {".gitignore": "build/\n!build/keep.txt\n", "build/keep.txt": "", "build/x.o": "", "a.c": ""},
        {".gitignore", "a.c"}),
    "a directory's contents can be re-included when only the contents are ignored": (
        {".gitignore": "build/*\n!build/keep.txt\n", "build/keep.txt": "", "build/x.o": "", "a.c": ""},
        {".gitignore", "a.c", "build/keep.txt"}),
    "dir/ matches directories only, dir matches both": (
        {".gitignore": "logs/\ncache\n", "logs/a": "", "src/logs": "", "cache/a": "", "src/cache": ""},
        {".gitignore", "src/logs"}),
    "a pattern with a slash is anchored to its .gitignore's directory": (
        {".gitignore": "/top.txt\ndoc/*.txt\n", "top.txt": "", "sub/top.txt": "", "doc/a.txt": "",
         "doc/deep/a.txt": ""},
        {".gitignore", "sub/top.txt", "doc/deep/a.txt"}),
    "** matches zero or more directories; a**b is a plain star": (
        {".gitignore": "**/gen\na/**/z.py\nlib/**\nx**y\n", "gen/a": "", "p/q/gen": "", "a/z.py": "",
         "a/b/c/z.py": "", "lib/k/l": "", "lib/.keep": "", "xay": "", "x/y": "", "xa/by": ""},
        {".gitignore", "x/y", "xa/by"}),
    "a deeper .gitignore overrides a shallower one; the last matching line wins": (
        {".gitignore": "*.log\n", "sub/.gitignore": "!keep.log\n", "sub/keep.log": "", "sub/drop.log": "",
         "keep.log": "", "order/.gitignore": "!a.tmp\na.tmp\n", "order/a.tmp": ""},
        {".gitignore", "sub/.gitignore", "sub/keep.log", "order/.gitignore"}),
    "escapes: \\#, \\!, \\*, and trailing spaces unless escaped": (
        {".gitignore": "\\#hash\n\\!bang\nstar\\*\ntrail   \nspace\\ \n", "#hash": "", "!bang": "",
         "star*": "", "starx": "", "trail": "", "space ": "", "space": ""},
        {".gitignore", "starx", "space"}),
    "comments, blank lines, CRLF and a BOM": (
        {".gitignore": b"\xef\xbb\xbf# comment\r\n\r\n*.tmp\r\n", "a.tmp": "", "b.txt": "", "# comment": ""},
        {".gitignore", "b.txt", "# comment"}),
    "bracket expressions, negated classes and character classes": (
        {".gitignore": "[ab].txt\nfile[!0-9]\n[[:digit:]]x\n", "a.txt": "", "c.txt": "", "file1": "", "filex": "",
         "7x": "", "yx": ""},
        {".gitignore", "c.txt", "file1", "yx"}),
    ".git/info/exclude applies, and a .gitignore overrides it": (
        {".git/info/exclude": "*.secret\nnotes/\n", ".gitignore": "!shared.secret\n", "a.secret": "",
         "shared.secret": "", "notes/n.md": ""},
        {".gitignore", "shared.secret"}),
    "nested repositories are one entry, .git is never listed": (
        {"vendor/lib/.git/HEAD": "ref: refs/heads/main\n", "vendor/lib/.git/objects/": "",
         "vendor/lib/.git/refs/": "", "vendor/lib/a.c": "", "fake/.git/HEAD": "junk", "fake/a.c": "",
         "x.git": "", ".git/info/exclude": ""},
        {"vendor/lib/", "fake/a.c", "x.git"}),
}


@pytest.mark.parametrize("name", list(RULES))
def test_rule_matches_git(name: str, tmp_path: Path) -> None:
    files, expected = RULES[name]
    root = build(tmp_path / "tree", files)
    listed = assert_same_as_git(root, tmp_path)
    assert listed == {e.encode() for e in expected}


def test_symlinked_gitignore_is_not_followed_like_git(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", {"rules": "*.tmp\n", "a.tmp": "", "sub/b.tmp": ""})
    os.symlink("rules", root / ".gitignore")
    os.symlink("../rules", root / "sub" / ".gitignore")
    assert b"a.tmp" in assert_same_as_git(root, tmp_path)


def test_non_utf8_names_and_patterns_are_bytes(tmp_path: Path) -> None:
    root = build(tmp_path / "tree", {b"latin1_\xe9.py": "", b"caf\xc3\xa9.txt": "", b"drop_\xe9.tmp": "",
                                     ".gitignore": b"drop_\xe9.*\ncaf?.txt\n"})
    # `?` is one byte to git, and "é" is two in UTF-8: caf?.txt does not match café.txt
    assert assert_same_as_git(root, tmp_path) == {b".gitignore", b"latin1_\xe9.py", b"caf\xc3\xa9.txt"}


def test_walk_root_below_a_work_tree_applies_the_ignore_files_above(tmp_path: Path) -> None:
    top = build(tmp_path / "top", {".git/info/exclude": "*.x\n", ".gitignore": "pkg/*.log\n",
                                   "pkg/.gitignore": "*.tmp\n", "pkg/a.log": "", "pkg/b.tmp": "",
                                   "pkg/c.x": "", "pkg/d.py": ""})
    assert ours(top / "pkg") == {b".gitignore", b"d.py"}


def test_builtin_rules_name_files_unless_they_end_in_a_slash() -> None:
    sensitive = TreeRules(["credentials", ".env", ".env.*", "!.env.example"])
    assert sensitive.match(b"credentials")
    assert sensitive.match(b"home/.aws/credentials")
    assert not sensitive.match(b"credentials/credentials.go")
    assert not sensitive.match(b"credentials/alts/utils.go")
    assert sensitive.match(b"config/.env.local") and not sensitive.match(b"config/.env.example")
    defaults = TreeRules(["node_modules/", "*.min.js", "!keep.min.js"])
    assert defaults.match(b"web/node_modules/x/keep.min.js")  # no way back out of a matched directory
    assert defaults.match(b"web/app.min.js") and not defaults.match(b"web/keep.min.js")
    assert not defaults.match(b"node_modules")  # a file of that name is not the directory
    assert not TreeRules(["*.map"]).match(b"src/road.map/route.py") and TreeRules(["*.map"]).match(b"a.js.map")
    venvs = TreeRules([], dirs=[b"tools/.env"])
    assert venvs.match(b"tools/.env/lib/site.py") and not venvs.match(b"tools/env.py")
    user = TreeRules(["docs", "!docs/keep.md"], git_semantics=True)  # .repopackignore: git's meaning
    assert user.match(b"docs/keep.md") and user.match(b"docs") and not user.match(b"src/a.py")


def test_patterns_wildmatch_aborts_on_never_match() -> None:
    assert IgnoreList([b"abc[", b"tail\\", b"[[:nope:]]"]).verdict(b"abc[", False) is None
    assert IgnoreList([b"[[:nope:]]", b"tail\\"]).verdict(b"tail\\", False) is None
    assert wildmatch_regex(b"a/**/b") == b"a/(?:.*/)?b"


# -- hypothesis: random trees and random ignore files, compared with git -----------------------

NAMES = ["a", "b", "ab", "a.py", "b.txt", ".hidden", "Makefile", "x y", "[a]", "a*", "!a", "#a", "-", "é",
         "a\\b", "a ", "ba.py", "abc"]
TOKENS = ["*", "**", "?", "a", "b", ".", "/", "[ab]", "[!a]", "[a-c]", "[]a]", "[[:alpha:]]", "\\*", "\\!", "\\#",
          " ", "\\ ", "py", "txt", "x", "**/", "/**", "\\", "[", "#", "!"]

paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join)
lines = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=5).map("".join)
ignore_files = st.lists(lines, max_size=5).map(lambda ls: "\n".join(ls) + "\n")


@st.composite
def trees(draw: st.DrawFn) -> dict[str, str]:
    files = {p: "" for p in draw(st.lists(paths, min_size=1, max_size=12))}
    # A path cannot be both a file and a directory.
    files = {p: c for p, c in files.items() if not any(q.startswith(p + "/") for q in files)}
    dirs = sorted({p.rsplit("/", 1)[0] + "/" for p in files if "/" in p})
    for base in draw(st.lists(st.sampled_from(["", *dirs]), max_size=3, unique=True)):
        if base + ".gitignore" not in files and not any(q.startswith(base + ".gitignore/") for q in files):
            files[base + ".gitignore"] = draw(ignore_files)
    if draw(st.booleans()):
        files[".git/info/exclude"] = draw(ignore_files)
    return files


@pytest.fixture(scope="module")
def git_copy(tmp_path_factory: pytest.TempPathFactory) -> GitCopy:
    return GitCopy(tmp_path_factory.mktemp("oracle"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=trees())
def test_random_trees_list_like_git(files: dict[str, str], tmp_path: Path, git_copy: GitCopy) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
        root = build(Path(scratch) / "tree", files)
        assert_same_as_git(root, git_copy)

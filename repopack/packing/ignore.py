"""git's ignore rules, byte for byte, for trees that are not (or cannot be read as) git work trees.

A line of a `.gitignore` becomes one regular expression over bytes, translated from git's own
`wildmatch` in pathname mode: `*` and `?` stop at `/`, `**` crosses directories only as a whole
path component (`**/x`, `x/**`, `a/**/b`; elsewhere it is a plain `*`), bracket expressions
with `!`/`^`, ranges and `[:class:]` never match `/`, and a backslash makes the next byte
literal.  Lines are read the way git reads them: a UTF-8 BOM and a CR before the newline are
dropped, `#` starts a comment, trailing spaces go unless escaped (`\\ `), `!` negates, a
trailing `/` matches directories only, a pattern without any other `/` matches the name at
any depth, and one with a `/` is anchored to the directory of its `.gitignore`.

Precedence is git's: the last matching line of a file wins, a deeper `.gitignore` beats a
shallower one, and every `.gitignore` beats `.git/info/exclude`.  A directory that is ignored
is not entered, so nothing below it can be re-included (`!dir/file` does not help when
`dir/` is ignored) — exactly as `git ls-files -co --exclude-standard` behaves.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_SLASH, _BACKSLASH, _STAR, _QUESTION, _OPEN, _CLOSE = b"/\\*?[]"
_DOTALL = re.DOTALL

# git's sane_ctype classes: ASCII only, as in the C locale.
_DIGITS = set(range(0x30, 0x3A))
_UPPER = set(range(0x41, 0x5B))
_LOWER = set(range(0x61, 0x7B))
_GRAPH = set(range(0x21, 0x7F))
_CLASSES: dict[bytes, set[int]] = {
    b"alnum": _DIGITS | _UPPER | _LOWER,
    b"alpha": _UPPER | _LOWER,
    b"blank": {0x20, 0x09},
    b"cntrl": set(range(0x00, 0x20)) | {0x7F},
    b"digit": _DIGITS,
    b"graph": _GRAPH,
    b"lower": _LOWER,
    b"print": _GRAPH | {0x20},
    b"punct": _GRAPH - (_DIGITS | _UPPER | _LOWER),
    b"space": set(range(0x09, 0x0E)) | {0x20},
    b"upper": _UPPER,
    b"xdigit": _DIGITS | set(b"abcdefABCDEF"),
}


class _NeverMatches(Exception):
    """wildmatch would abort on this pattern (unterminated bracket, trailing backslash, bad class)."""


def _byte_class(allowed: set[int]) -> bytes:
    if not allowed:
        return b"(?!)"
    runs: list[tuple[int, int]] = []
    for b in sorted(allowed):
        if runs and runs[-1][1] == b - 1:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((b, b))
    body = b"".join(b"\\x%02x" % lo if lo == hi else b"\\x%02x-\\x%02x" % (lo, hi) for lo, hi in runs)
    return b"[" + body + b"]"


def _bracket(p: bytes, i: int) -> tuple[bytes, int]:
    """Translate the bracket expression starting at p[i] == '['; return (regex, index after ']')."""
    n = len(p)
    j = i + 1
    negated = j < n and p[j] in b"!^"
    if negated:
        j += 1
    members: set[int] = set()
    prev = 0  # the previous literal, which may start a range (0: none)
    first = True
    while True:
        if j >= n:
            raise _NeverMatches
        c = p[j]
        if c == _CLOSE and not first:
            break
        first = False
        if c == _BACKSLASH:
            j += 1
            if j >= n:
                raise _NeverMatches
            c = p[j]
            members.add(c)
            prev = c
        elif c == ord("-") and prev and j + 1 < n and p[j + 1] != _CLOSE:
            j += 1
            hi = p[j]
            if hi == _BACKSLASH:
                j += 1
                if j >= n:
                    raise _NeverMatches
                hi = p[j]
            members.update(range(prev, hi + 1))  # empty when the range is backwards, as in git
            prev = 0
        elif c == _OPEN and j + 1 < n and p[j + 1] == ord(":"):
            start = j + 2
            k = start
            while k < n and p[k] != _CLOSE:
                k += 1
            if k >= n:
                raise _NeverMatches
            if k - start - 1 < 0 or p[k - 1] != ord(":"):
                members.add(_OPEN)  # no ":]": the '[' is an ordinary member
                prev = _OPEN
            else:
                cls = _CLASSES.get(p[start:k - 1])
                if cls is None:
                    raise _NeverMatches
                members.update(cls)
                prev = 0
                j = k
        else:
            members.add(c)
            prev = c
        j += 1
    allowed = (set(range(1, 256)) - members) if negated else members
    return _byte_class(allowed - {_SLASH}), j + 1


def wildmatch_regex(pattern: bytes) -> bytes:
    """A regex (for `fullmatch`) equivalent to git's `wildmatch(pattern, text, WM_PATHNAME)`.

    Raises _NeverMatches for patterns wildmatch aborts on."""
    out: list[bytes] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == _BACKSLASH:
            if i + 1 >= n:
                raise _NeverMatches
            out.append(re.escape(pattern[i + 1:i + 2]))
            i += 2
        elif c == _QUESTION:
            out.append(b"[^/]")
            i += 1
        elif c == _STAR:
            j = i
            while j < n and pattern[j] == _STAR:
                j += 1
            special = (j - i >= 2 and (i == 0 or pattern[i - 1] == _SLASH)
                       and (j == n or pattern[j] == _SLASH or pattern[j:j + 2] == b"\\/"))
            if not special:
                out.append(b"[^/]*")
            elif j < n and pattern[j] == _SLASH:
                out.append(b"(?:.*/)?")  # "**/": zero or more whole directories
                j += 1
            else:
                out.append(b".*")
            i = j
        elif c == _OPEN:
            regex, i = _bracket(pattern, i)
            out.append(regex)
        else:
            out.append(re.escape(pattern[i:i + 1]))
            i += 1
    return b"".join(out)


def _trim_trailing_spaces(line: bytes) -> bytes:
    last_space = None
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == 0x20:
            if last_space is None:
                last_space = i
        elif c == _BACKSLASH:
            i += 1
            if i >= n:
                return line
            last_space = None
        else:
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def ignore_lines(data: bytes) -> Iterator[bytes]:
    """The pattern lines of an ignore file, as git reads them."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for line in data.split(b"\n"):
        if not line or line[:1] == b"#":
            continue
        if line.endswith(b"\r"):
            line = line[:-1]
        line = line.split(b"\0", 1)[0]
        yield _trim_trailing_spaces(line)


@dataclass(frozen=True)
class Pattern:
    """One ignore line, ready to match."""

    source: bytes
    negative: bool
    dir_only: bool
    basename: bool  # no '/' inside: matched against the last path component
    regex: bytes | None  # None: never matches


def parse_pattern(line: bytes) -> Pattern:
    text = line
    negative = text[:1] == b"!"
    if negative:
        text = text[1:]
    dir_only = text.endswith(b"/")
    if dir_only:
        text = text[:-1]
    basename = _SLASH not in text
    if not basename and text[:1] == b"/":
        text = text[1:]
    try:
        regex: bytes | None = wildmatch_regex(text) if text else None
    except _NeverMatches:
        regex = None
    return Pattern(line, negative, dir_only, basename, regex)


class _Alternatives:
    """Patterns joined into one regex whose first matching alternative is the last matching line."""

    def __init__(self, entries: list[tuple[int, Pattern]]) -> None:
        entries = [(k, p) for k, p in entries if p.regex is not None]
        entries.sort(key=lambda e: e[0], reverse=True)
        self.lines = [k for k, _ in entries]
        self.negative = [p.negative for _, p in entries]
        body = b"|".join(b"(" + p.regex + b")" for _, p in entries if p.regex is not None)
        self.regex = re.compile(body, _DOTALL) if entries else None

    def last(self, text: bytes) -> int:
        """Index of the last line matching text, or -1."""
        if self.regex is None:
            return -1
        m = self.regex.fullmatch(text)
        return -1 if m is None else self.lines[m.lastindex - 1]  # type: ignore[operator]


class IgnoreList:
    """The patterns of one ignore file, relative to `base` (b"" or b"dir/sub/")."""

    def __init__(self, lines: Iterable[bytes], base: bytes = b"", prefix: bytes = b"") -> None:
        self.base = base
        self.prefix = prefix  # prepended to the paths asked about: for lists from above the walk root
        self.patterns = [parse_pattern(line) for line in lines]
        numbered = list(enumerate(self.patterns))
        self._groups = {
            is_dir: (_Alternatives([(k, p) for k, p in numbered if p.basename and (is_dir or not p.dir_only)]),
                     _Alternatives([(k, p) for k, p in numbered if not p.basename and (is_dir or not p.dir_only)]))
            for is_dir in (False, True)
        }

    @classmethod
    def from_bytes(cls, data: bytes, base: bytes = b"", prefix: bytes = b"") -> IgnoreList:
        return cls(ignore_lines(data), base, prefix)

    def __bool__(self) -> bool:
        return any(p.regex is not None for p in self.patterns)

    def verdict(self, rel: bytes, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by a negation, None: no line matches.

        `rel` is relative to the walk root and lies below this list's base."""
        by_name, by_path = self._groups[is_dir]
        if self.prefix:
            rel = self.prefix + rel
        name = rel[rel.rfind(b"/") + 1:]
        line = max(by_name.last(name), by_path.last(rel[len(self.base):]))
        if line < 0:
            return None
        return not self.patterns[line].negative


def decide(lists: Iterable[IgnoreList], rel: bytes, is_dir: bool) -> bool:
    """Whether rel is ignored by `lists`, highest precedence first (git's order)."""
    for lst in lists:
        verdict = lst.verdict(rel, is_dir)
        if verdict is not None:
            return verdict
    return False


class TreeRules:
    """Exclude rules applied to listed file paths, each saying what it means: a pattern ending in
    `/` names directories (everything below a matching directory is matched, and no negation
    brings a file back out), any other pattern names files.  So `credentials` matches a
    credentials file and not the Go package `credentials/`, and `*.map` no directory.
    `dirs` adds directories matched whatever the patterns say (for example virtualenvs found
    by their `pyvenv.cfg`); `keep` names directories the directory patterns do not match
    (a source package called `build/`).  With `git_semantics`, patterns mean what they mean in a
    `.gitignore` instead (`name` matches a file or a directory): for user-written ignore files."""

    def __init__(self, lines: Iterable[str | bytes], *, git_semantics: bool = False,
                 dirs: Iterable[bytes] = (), keep: Iterable[bytes] = ()) -> None:
        raw = [line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line for line in lines]
        self.files = IgnoreList(raw)
        named_dirs = [r for r in raw if r.rstrip(b" ").endswith(b"/")]
        self.directories = self.files if git_semantics else IgnoreList(named_dirs)
        self._dirs: dict[bytes, bool] = {b"": False, **dict.fromkeys(dirs, True)}
        self._keep = frozenset(keep)
        self._check_dirs = bool(self.directories) or len(self._dirs) > 1
        self._empty = not self.files and not self._check_dirs

    def _dir_matched(self, directory: bytes) -> bool:
        known = self._dirs.get(directory)
        if known is None:
            parent = directory[:directory.rfind(b"/")] if b"/" in directory else b""
            known = self._dir_matched(parent) or (directory not in self._keep
                                                  and self.directories.verdict(directory, True) is True)
            self._dirs[directory] = known
        return known

    def match(self, rel: bytes) -> bool:
        if self._empty:
            return False
        if self._check_dirs:
            cut = rel.rfind(b"/")
            if cut > 0 and self._dir_matched(rel[:cut]):
                return True
        return self.files.verdict(rel, False) is True


# -- the walk --------------------------------------------------------------------------------

GITIGNORE = b".gitignore"


def _read_regular(path: bytes) -> bytes | None:
    """The bytes of a regular file; None for a missing file, a directory or a symlink (git no
    longer follows a symlinked .gitignore in the work tree)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _is_git_dir(path: bytes) -> bool:
    """git's is_git_directory: objects/ and refs/ directories and a HEAD that is a ref or an id."""
    if not (os.path.isdir(os.path.join(path, b"objects")) and os.path.isdir(os.path.join(path, b"refs"))):
        return False
    head_path = os.path.join(path, b"HEAD")
    if os.path.islink(head_path):
        return os.readlink(head_path).startswith(b"refs/")
    head = (_read_regular(head_path) or b"").strip()
    return head.startswith(b"ref: refs/") or (len(head) in (40, 64) and all(c in b"0123456789abcdef" for c in head))


def _is_nested_repo(directory: bytes) -> bool:
    """Does this directory hold its own git repository (git lists it as `dir/`, not its files)?"""
    dot_git = os.path.join(directory, b".git")
    try:
        st = os.lstat(dot_git)
    except OSError:
        return False
    if stat.S_ISDIR(st.st_mode):
        return _is_git_dir(dot_git)
    if stat.S_ISREG(st.st_mode):
        head = (_read_regular(dot_git) or b"").split(b"\n", 1)[0]
        if head.startswith(b"gitdir:"):
            return _is_git_dir(os.path.join(directory, head[len(b"gitdir:"):].strip()))
    return False


def _enclosing_lists(root: bytes) -> list[IgnoreList]:
    """`.git/info/exclude` and the `.gitignore` files above root when root lies in a work tree,
    lowest precedence first (root's own `.gitignore` is read by the walk)."""
    top = root
    while not os.path.lexists(os.path.join(top, b".git")):
        parent = os.path.dirname(top)
        if parent == top:
            return []
        top = parent
    prefix = b"" if top == root else os.path.relpath(root, top).replace(os.sep.encode(), b"/") + b"/"
    lists: list[IgnoreList] = []
    exclude = _read_regular(os.path.join(top, b".git", b"info", b"exclude"))
    if exclude:
        lists.append(IgnoreList.from_bytes(exclude, b"", prefix))
    parts = prefix.rstrip(b"/").split(b"/") if prefix else []
    for depth in range(len(parts)):
        base = b"".join(part + b"/" for part in parts[:depth])
        data = _read_regular(os.path.join(top, base, GITIGNORE))
        if data:
            lists.append(IgnoreList.from_bytes(data, base, prefix))
    return lists


@dataclass(frozen=True)
class Listing:
    files: list[bytes]  # root-relative, '/'-separated, sorted bytewise like git's
    nested_repos: list[bytes]  # directories holding their own repository, as b"dir/"


def list_untracked(root: str | os.PathLike[str]) -> Listing:
    """What `git ls-files -o --exclude-standard` lists below root, computed without git:
    regular files and symlinks, not ignored, in directories that are not ignored."""
    base = os.fsencode(os.fspath(root))
    lists = list(reversed(_enclosing_lists(base)))  # highest precedence first
    files: list[bytes] = []
    nested: list[bytes] = []

    def visit(directory: bytes, rel_dir: bytes, stack: list[IgnoreList]) -> None:
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            return
        if any(e.name == GITIGNORE for e in entries):
            data = _read_regular(os.path.join(directory, GITIGNORE))
            if data:
                lst = IgnoreList.from_bytes(data, rel_dir)
                if lst:
                    stack = [lst, *stack]
        for entry in entries:
            name = entry.name
            if name == b".git":
                continue
            rel = rel_dir + name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if stack and decide(stack, rel, is_dir):
                continue
            if is_dir:
                if _is_nested_repo(entry.path):
                    nested.append(rel + b"/")
                else:
                    visit(entry.path, rel + b"/", stack)
            elif entry.is_symlink() or entry.is_file(follow_symlinks=False):
                files.append(rel)

    visit(base, b"", lists)
    files.sort()
    nested.sort()
    return Listing(files, nested)

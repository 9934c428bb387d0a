"""Walk a repository: which files go into a pack, and why the others do not.

In a git work tree one `git ls-files -co --exclude-standard -z` lists tracked files and
untracked files that are not ignored (fast, and exactly git's own ignore rules).
Elsewhere, or when git is missing, `ignore.list_untracked` walks the file system with the
same rules, byte for byte: `.gitignore` at every level and `.git/info/exclude`.  Then,
always: the built-in excludes, `.repopackignore`, include/exclude globs, symlink, size,
binary and readability checks.  Text is decoded as UTF-8 (BOM-aware) with invalid bytes
replaced.  Paths are display names (`repopack.util.names`): a name that is not valid UTF-8
is carried under a visible, reversible escape and mapped back whenever the disk is touched.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from repopack.errors import RepoError
from repopack.packing.ignore import TreeRules, list_untracked
from repopack.packing.known import FLAG_BINARY, FLAG_DECODE_ERRORS, KnownFiles
from repopack.packing.languages import language_for_path
from repopack.util.git import GitError, git_available, run_git_bytes
from repopack.util.lazy import defer, lazy_fields
from repopack.util.limits import MAX_FILE_BYTES
from repopack.util.names import display_name, fs_name, raw_name

# Skip reasons, as shown to users.
SKIP_IGNORED = "ignored"
SKIP_DEFAULT = "default exclude"
SKIP_SENSITIVE = "sensitive file name"
SKIP_EXCLUDED = "excluded by pattern"
SKIP_NOT_INCLUDED = "not matched by --include"
SKIP_BINARY = "binary"
SKIP_SIZE = "too large"
SKIP_SYMLINK = "symlink leaves the repository"
SKIP_SYMLINK_LOOP = "symlink loop"
SKIP_SYMLINK_BROKEN = "broken symlink"
SKIP_SYMLINK_DIR = "symlink to a directory"
SKIP_NESTED_REPO = "nested git repository"
SKIP_UNREADABLE = "unreadable"

DEFAULT_EXCLUDES = (
    ".git/", ".hg/", ".svn/", ".repopack/",
    "node_modules/", "bower_components/", "vendor/bundle/",
    ".venv/", "venv/", ".tox/", ".nox/", "__pypackages__/", ".conda/",
    "__pycache__/", "*.py[cod]", ".mypy_cache/", ".pytest_cache/", ".ruff_cache/", ".hypothesis/",
    "*.egg-info/", ".eggs/", "build/", "dist/", "target/", "out/", ".next/", ".nuxt/", ".svelte-kit/",
    ".gradle/", ".idea/", "coverage/", "htmlcov/", ".coverage", ".cache/", ".parcel-cache/", ".turbo/",
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "poetry.lock", "Pipfile.lock",
    "uv.lock", "Cargo.lock", "composer.lock", "Gemfile.lock", "go.sum", "*.lock",
    "*.min.js", "*.min.css", "*.min.mjs", "*.bundle.js", "*.js.map", "*.css.map", "*.map",
    "repopack-output.*", ".DS_Store",
)

# Never packed unless asked for by name: the usual homes of credentials.  These name *files*
# (a Go package directory called `credentials/` is code, not a credentials file).
SENSITIVE_EXCLUDES = (
    ".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "*.ppk", ".netrc", ".pgpass", ".htpasswd",
    "credentials", "credentials.json", "secrets.json", "*.kdbx", ".npmrc", ".pypirc",
)
SENSITIVE_ALLOW = ("!.env.example", "!.env.sample", "!.env.template")

BINARY_EXTENSIONS = frozenset(
    """png jpg jpeg gif bmp ico icns tif tiff webp avif psd ai eps svgz heic
    pdf doc docx xls xlsx ppt pptx odt ods odp epub
    zip gz tgz bz2 xz zst 7z rar tar jar war ear whl egg apk dmg iso deb rpm msi
    exe dll so dylib a o obj lib bin dat pyc pyo pyd class wasm
    ttf otf woff woff2 eot mp3 mp4 m4a wav ogg flac aac mov avi mkv webm
    sqlite sqlite3 db mdb npy npz pkl pickle parquet feather h5 hdf5 onnx pt pth ckpt safetensors
    lockb""".split()
)


@dataclass(frozen=True)
class WalkRules:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = MAX_FILE_BYTES
    default_excludes: bool = True
    include_sensitive: bool = False
    use_git: bool = True


class TextChanged(RepoError):
    """A file's bytes are not those its digest was taken from (it changed during the pack)."""


@dataclass(frozen=True)
class DiskText:
    """Reads a file's text when first needed, and only if its bytes still have the digest the
    walk vouched for (every cached verdict and part was looked up by that digest)."""

    path: str
    full: str
    digest: str

    def __call__(self) -> str:
        try:
            with open(self.full, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise TextChanged(f"{self.path} could not be read again: {exc.strerror or exc}; run again") from exc
        if content_digest(raw) != self.digest:
            raise TextChanged(f"{self.path} changed while it was being packed; run again")
        return decode_text(raw)[0]


@lazy_fields("text")
@dataclass(frozen=True, repr=False)
class SourceFile:
    """A file that goes into the pack, with its decoded text (read from disk on first use when the
    walk knew the file's digest from its stat: see packing/known.py)."""

    path: str  # repo-relative, posix separators
    text: str
    size: int
    digest: str  # blake2b of the raw bytes: the cache key
    language: str | None
    had_decode_errors: bool = False

    def __repr__(self) -> str:  # never reads the text
        return (f"SourceFile(path={self.path!r}, size={self.size}, digest={self.digest!r}, "
                f"language={self.language!r}, had_decode_errors={self.had_decode_errors})")

    @classmethod
    def unread(cls, path: str, read: Callable[[], str], size: int, digest: str, language: str | None,
               had_decode_errors: bool) -> SourceFile:
        """A file whose text `read` returns when first used."""
        f = cls(path, "", size, digest, language, had_decode_errors)
        defer(f, "text", read)
        return f


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str
    size: int = 0


@dataclass(frozen=True)
class WalkResult:
    root: Path
    files: tuple[SourceFile, ...]
    skipped: tuple[SkippedFile, ...]
    used_git: bool
    warnings: tuple[str, ...] = ()


def resolve_root(path: str | os.PathLike[str]) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise RepoError(f"path does not exist: {path}")
    if not root.is_dir():
        raise RepoError(f"not a directory: {path} (repopack packs a repository folder)")
    return root.resolve()


def decode_text(raw: bytes) -> tuple[str, bool]:
    """UTF-8 with BOM handling; invalid bytes become U+FFFD instead of failing."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), False
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True


def content_digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def has_binary_extension(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[-1].lower() in BINARY_EXTENSIONS


def looks_binary(path: str, data: bytes) -> bool:
    """A known binary extension, or a NUL byte anywhere (a UTF-16 file with a BOM has NULs by
    design: it is binary when a NUL character survives decoding)."""
    if has_binary_extension(path):
        return True
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return "\x00" in data.decode("utf-16")
        except UnicodeDecodeError:
            return True
    return b"\x00" in data


def _git_list(root: Path) -> list[str] | None:
    """Tracked plus untracked-not-ignored files below root, relative to root, as display names."""
    if not git_available():
        return None
    try:  # outside a work tree this fails: the file system walk takes over
        out = run_git_bytes(root, "-c", "core.quotepath=off", "ls-files", "-co", "--exclude-standard", "-z", "--", ".")
    except GitError:
        return None
    return sorted({display_name(n) for n in out.split(b"\0") if n})


def _read_ignore_file(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return []


def _fs_list(root: Path) -> list[str]:
    """What git would list below root, without git (see `ignore.list_untracked`)."""
    listing = list_untracked(root)
    return sorted([display_name(n) for n in listing.files] + [display_name(n) for n in listing.nested_repos])


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


class _FastSpec:
    """A gitignore spec for --include/--exclude globs that first asks one combined regex of its
    positive patterns (when none matches, no negation can matter)."""

    def __init__(self, lines: Iterable[str]) -> None:
        import pathspec  # only when there are globs: it takes a while to import

        self._spec = pathspec.GitIgnoreSpec.from_lines(list(lines))
        positives = [p.regex.pattern for p in self._spec.patterns if p.include and p.regex is not None]
        # Named groups would clash once joined; only the match matters here.
        joined = "|".join(f"(?:{_NAMED_GROUP.sub('(?:', r)})" for r in positives)
        self._any = re.compile(joined) if positives else None
        self._has_negation = any(p.include is False for p in self._spec.patterns)

    def match_file(self, path: str) -> bool:
        if self._any is None or not self._any.search(path):
            return False
        return self._spec.match_file(path) if self._has_negation else True


def _glob_spec(patterns: Iterable[str]) -> _FastSpec | None:
    pats = [p for p in patterns if p]
    return _FastSpec(pats) if pats else None


def _inside(root: Path, real: str) -> bool:
    top = str(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _symlink_skip(root: Path, rel: str, full: str) -> tuple[SkippedFile | None, os.stat_result | None]:
    """Why a symlink is not packed (None: it is a regular file inside the repository), and its target's stat."""
    try:
        st = os.stat(full)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return SkippedFile(rel, SKIP_SYMLINK_LOOP), None
        real = os.path.realpath(full)
        return SkippedFile(rel, SKIP_SYMLINK if not _inside(root, real) else SKIP_SYMLINK_BROKEN), None
    if not _inside(root, os.path.realpath(full)):
        return SkippedFile(rel, SKIP_SYMLINK), None
    if stat.S_ISDIR(st.st_mode):
        return SkippedFile(rel, SKIP_SYMLINK_DIR), None
    return None, st


def _classify(root: Path, rel: str, rules: WalkRules, known: KnownFiles | None = None,
              st: os.stat_result | None = None) -> tuple[SourceFile | None, SkippedFile | None, str | None]:
    full = os.path.join(root, fs_name(rel))  # os.path, not pathlib: this runs once per file of big trees
    if st is None:
        try:
            st = os.lstat(full)
        except OSError:
            return None, None, None  # deleted in the work tree but still in the index
    if stat.S_ISLNK(st.st_mode):
        skip, target = _symlink_skip(root, rel, full)
        if skip is not None or target is None:
            return None, skip, None
        st = target
    if stat.S_ISDIR(st.st_mode):
        return None, SkippedFile(rel.rstrip("/"), SKIP_NESTED_REPO), None  # submodule or nested repository
    if not stat.S_ISREG(st.st_mode):
        return None, None, None  # sockets, fifos
    if has_binary_extension(rel):
        return None, SkippedFile(rel, SKIP_BINARY, st.st_size), None
    if st.st_size > rules.max_file_bytes:
        return None, SkippedFile(rel, SKIP_SIZE, st.st_size), None
    if known is not None:
        hit = known.lookup(rel, st)
        if hit is not None:
            digest, flags = hit
            if flags & FLAG_BINARY:
                return None, SkippedFile(rel, SKIP_BINARY, st.st_size), None
            return SourceFile.unread(rel, DiskText(rel, full, digest), st.st_size, digest, language_for_path(rel),
                                     bool(flags & FLAG_DECODE_ERRORS)), None, None
    try:
        with open(full, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return None, SkippedFile(rel, SKIP_UNREADABLE, st.st_size), f"cannot read {rel}: {exc.strerror or exc}"
    if looks_binary(rel, raw):
        if known is not None:
            known.record(rel, st, "", FLAG_BINARY)
        return None, SkippedFile(rel, SKIP_BINARY, len(raw)), None
    text, bad = decode_text(raw)
    digest = content_digest(raw)
    if known is not None and len(raw) == st.st_size:  # a file growing while read is not recorded
        known.record(rel, st, digest, FLAG_DECODE_ERRORS if bad else 0)
    return SourceFile(rel, text, len(raw), digest, language_for_path(rel), bad), None, None


# Names that usually hold build output, but are also ordinary package names (pip's
# `operations/build/`, coverage.py's `coverage/`, a Go `dist` package).
OUTPUT_DIR_NAMES = frozenset({"build", "dist", "out", "target", "coverage"})


def _virtualenvs(names: Iterable[str]) -> set[bytes]:
    """Directories that are virtualenvs (whatever they are called: `.env/`, `py311/`): they hold `pyvenv.cfg`."""
    return {raw_name(n[:-len("/pyvenv.cfg")]) for n in names if n.endswith("/pyvenv.cfg")}


def _source_packages(names: Iterable[str]) -> set[bytes]:
    """Directories with an output-like name that are source packages (they hold `__init__.py` or
    Go files), which build tools never write: the built-in `build/`, `dist/`, … do not apply to them."""
    found = set()
    for n in names:
        if n.endswith(("/__init__.py", ".go")):
            directory, _, _ = n.rpartition("/")
            if directory.rpartition("/")[2] in OUTPUT_DIR_NAMES:
                found.add(raw_name(directory))
    return found


def list_candidates(root: Path, rules: WalkRules) -> tuple[list[str], bool]:
    """Paths below root after git/gitignore rules, and whether git produced them."""
    names = _git_list(root) if rules.use_git else None
    if names is not None:
        return names, True
    return _fs_list(root), False


def walk_repo(root: Path, rules: WalkRules = WalkRules(),
              listed: tuple[list[str], bool] | None = None,
              progress: Callable[[str, int, int], None] | None = None,
              known: KnownFiles | None = None, lstats: Mapping[str, os.stat_result] | None = None) -> WalkResult:
    """Classify and read every candidate; `listed` reuses a `list_candidates` result.  With `known`
    (digests by stat, see packing/known.py), files whose stat vouches for their digest are not
    read now: their text is read when first used.  `known` records what this walk saw.  `lstats`: the
    lstat of listed names taken just before (by reuse's fingerprint), so each file is stat'ed once."""
    names, used_git = listed if listed is not None else list_candidates(root, rules)
    defaults = (TreeRules(DEFAULT_EXCLUDES, dirs=_virtualenvs(names), keep=_source_packages(names))
                if rules.default_excludes else None)
    sensitive = None if rules.include_sensitive else TreeRules(SENSITIVE_EXCLUDES + SENSITIVE_ALLOW)
    repopackignore = TreeRules(_read_ignore_file(root / ".repopackignore"), git_semantics=True)
    include = _glob_spec(rules.include)
    exclude = _glob_spec(rules.exclude)

    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    warnings: list[str] = []
    for n, rel in enumerate(names, 1):
        if progress is not None and n % 1024 == 0:
            progress("read", n, len(names))
        reason = None
        if rel.startswith(".git/") or "/.git/" in rel:
            continue
        raw = raw_name(rel)
        if defaults is not None and defaults.match(raw):
            reason = SKIP_DEFAULT
        elif sensitive is not None and sensitive.match(raw):
            reason = SKIP_SENSITIVE
        elif repopackignore.match(raw):
            reason = SKIP_IGNORED
        elif exclude is not None and exclude.match_file(rel):
            reason = SKIP_EXCLUDED
        elif include is not None and not include.match_file(rel):
            reason = SKIP_NOT_INCLUDED
        if reason is not None:
            skipped.append(SkippedFile(rel, reason))
            continue
        kept, skip, warning = _classify(root, rel, rules, known, lstats.get(rel) if lstats is not None else None)
        if kept is not None:
            files.append(kept)
        if skip is not None:
            skipped.append(skip)
        if warning is not None:
            warnings.append(warning)
    if progress is not None:
        progress("read", len(names), len(names))
    return WalkResult(root, tuple(files), tuple(skipped), used_git, tuple(warnings))


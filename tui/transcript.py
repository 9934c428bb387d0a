"""The conversation as it happened: saved as Markdown on exit, with a JSON twin for --resume.

Transcripts go to `<repo>/.repopack/chat/` (git-ignored by a `.gitignore` written there),
or to the user data directory when the repository is not writable.  A transcript in the work
tree is resumed only if repopack wrote it: the digest of every JSON twin it saves is kept in the
user data directory, so a transcript committed to the repository (turns someone else wrote, to be
sent to the model as the conversation so far) is never loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from repopack.errors import RepoError
from repopack.util.fs import atomic_write
from repopack.util.paths import data_dir
from repopack.util.worktree import own_path

ROLES = ("user", "assistant", "notice", "error")
_HEADINGS = {"user": "## You", "assistant": "## Assistant"}


@dataclass
class Entry:
    role: str  # user | assistant | notice | error
    text: str


@dataclass
class Transcript:
    repo: str
    model: str
    entries: list[Entry] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)  # the messages sent, for --resume
    started: str = field(default_factory=lambda: datetime.now().strftime("%Y-%m-%d %H:%M:%S"))

    def add(self, role: str, text: str) -> None:
        self.entries.append(Entry(role, text))

    @property
    def has_questions(self) -> bool:
        return any(e.role == "user" for e in self.entries)

    def to_markdown(self) -> str:
        lines = [f"# repopack chat: {self.repo}", "", f"Model `{self.model}`, started {self.started}.", ""]
        for entry in self.entries:
            if entry.role in _HEADINGS:
                lines += [_HEADINGS[entry.role], "", entry.text.rstrip(), ""]
            else:
                lines += [f"> **{entry.role}:** {entry.text.strip()}", ""]
        return "\n".join(lines)

    def save(self, directory: Path) -> Path:
        """Write `<stamp>.md` and `<stamp>.json`; return the Markdown path."""
        directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        md = directory / f"{stamp}.md"
        n = 1
        while os.path.lexists(md) or os.path.lexists(md.with_suffix(".json")):
            n += 1
            md = directory / f"{stamp}-{n}.md"
        twin = json.dumps(asdict(self), indent=1)
        _write_new(md, self.to_markdown())
        _write_new(md.with_suffix(".json"), twin)
        _remember(twin.encode("utf-8"))
        return md

    @classmethod
    def load(cls, path: Path) -> Transcript:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = [Entry(e["role"], e["text"]) for e in data.get("entries", []) if e.get("role") in ROLES]
        return cls(data.get("repo", ""), data.get("model", ""), entries, list(data.get("history", [])),
                   data.get("started", ""))


def transcript_dir(root: Path) -> Path:
    """`<repo>/.repopack/chat`, or a per-repository folder in the user data dir."""
    try:
        local: Path | None = own_path(root, ".repopack/chat")  # never through a committed symlink
    except RepoError:
        local = None
    if local is not None and _writable(local):
        ignore = local / ".gitignore"
        if not os.path.lexists(ignore):
            _write_new(ignore, "*\n")
        return local
    digest = hashlib.blake2b(str(root).encode(), digest_size=4).hexdigest()
    return data_dir() / "chat" / f"{root.name}-{digest}"


def latest_transcript(root: Path) -> Path | None:
    """The newest transcript repopack saved for this repository, wherever it was saved."""
    digest = hashlib.blake2b(str(root).encode(), digest_size=4).hexdigest()
    found: list[Path] = []
    written: set[str] | None = None
    local = root / ".repopack" / "chat"
    for directory in (local, data_dir() / "chat" / f"{root.name}-{digest}"):
        if directory.is_dir() and not (root / ".repopack").is_symlink() and not directory.is_symlink():
            mine = [p for p in directory.glob("*.json") if p.is_file() and not p.is_symlink()]
            if directory == local:  # in the work tree: only what repopack wrote there
                written = _written() if written is None else written
                mine = [p for p in mine if _digest(p) in written]
            found += mine
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


_LEDGER_LINES = 2000  # digests of the transcripts saved last, across repositories


def _ledger() -> Path:
    return data_dir() / "chat" / "written"


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _written() -> set[str]:
    try:
        return set(_ledger().read_text(encoding="ascii", errors="replace").split())
    except OSError:
        return set()


def _remember(data: bytes) -> None:
    """Add a saved twin's digest to the ledger of transcripts repopack wrote (kept private)."""
    ledger = _ledger()
    try:
        ledger.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lines = ledger.read_text(encoding="ascii", errors="replace").split() if ledger.is_file() else []
        lines = [*lines[-(_LEDGER_LINES - 1):], hashlib.sha256(data).hexdigest()]
        atomic_write(ledger, ("\n".join(lines) + "\n").encode("ascii"), mode=0o600)
    except OSError:
        pass  # the transcript is saved; it just cannot be resumed


def _write_new(path: Path, text: str) -> None:
    """Create `path` (never through a symlink someone left there)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK)

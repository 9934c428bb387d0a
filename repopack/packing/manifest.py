"""Why each file is in a pack, at which fidelity, or why it was left out.

The same facts serve `pack --explain` (human lines) and `--manifest FILE` (JSON with a
hash of the prompt, so CI can diff what a model saw).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from repopack import __version__
from repopack.choices import Mode
from repopack.packing.pipeline import PackResult

_SIGNAL_WORDS = {
    "lexical": "question words in its text",
    "names": "question words in its path or names",
    "mention": "mentioned in question",
    "focus": "focus/changed file",
    "graph": "graph neighbour of relevant files",
    "git": "recently changed",
}


@dataclass(frozen=True)
class FileEntry:
    path: str
    mode: str  # a Mode, or "skipped"
    tokens: int
    rank: int | None
    score: float | None
    reason: str
    signals: dict[str, float]
    focused: tuple[str, ...] = ()  # the definitions a focused file shows whole, best first


MAX_NAMED = 6  # definitions named per focused file in --explain (the manifest lists all)


def _reason(mode: Mode, signals: dict[str, float], query_present: bool, focused: tuple[str, ...] = ()) -> str:
    top = sorted(((v, k) for k, v in signals.items() if v > 0.005), reverse=True)[:2]
    why = "; ".join(_SIGNAL_WORDS.get(k, k) for _, k in top) or ("structure" if not query_present else "low match")
    if mode == Mode.FULL:
        return f"full: {why}"
    if mode == Mode.FOCUSED:
        more = f" and {len(focused) - MAX_NAMED} more" if len(focused) > MAX_NAMED else ""
        return f"focused: {', '.join(focused[:MAX_NAMED])}{more}; {why}"
    if mode == Mode.SKELETON:
        return f"skeleton: {why}"
    if mode == Mode.PATH:
        return "path only: budget"
    return "dropped: budget"


def manifest_entries(result: PackResult) -> list[FileEntry]:
    ranked = {r.path: (i, r) for i, r in enumerate(result.ranking)}
    query_present = any(r.signals for r in result.ranking)
    entries = []
    for d in result.packed.decisions:
        pos, r = ranked.get(d.path, (None, None))
        signals = {k: round(v, 4) for k, v in (r.signals if r else {}).items()}
        entries.append(FileEntry(d.path, d.mode, d.tokens, pos, round(r.score, 6) if r else None,
                                 _reason(d.mode, signals, query_present, d.focused), signals, d.focused))
    attached = {i.path for i in result.images.images}
    for s in result.walk.skipped:
        if s.path in attached:
            continue  # listed under "images"
        entries.append(FileEntry(s.path, "skipped", 0, None, None, f"skipped: {s.reason}", {}))
    return entries


_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@host:owner/repo


def public_url(url: str) -> str | None:
    """A remote URL without what may be a credential: the user and password of a URL
    (https://TOKEN@host/...), its query and fragment.  An scp-like address keeps its user (git@host:...)."""
    url = url.strip()
    if not url or any(ord(c) < 32 for c in url):
        return None
    if _SCP_LIKE.match(url) and "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme:
        return url  # a local path
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        return None
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port else ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def git_origin(root: Path) -> dict[str, str | None]:
    """The commit the work tree is at and its `origin` remote (credentials removed); None outside git."""
    from repopack.util.git import GitError, run_git

    out: dict[str, str | None] = {"commit": None, "remote": None}
    try:
        out["commit"] = run_git(root, "rev-parse", "--verify", "-q", "HEAD", timeout=30).strip() or None
    except GitError:
        return out
    try:
        url = run_git(root, "config", "--get", "remote.origin.url", ok=(0, 1), timeout=30)
    except GitError:
        url = ""
    out["remote"] = public_url(url) if url.strip() else None
    return out


def build_manifest(result: PackResult) -> dict:
    packed = result.packed
    return {
        "repopack": __version__,
        "repository": result.root.name,
        "git": git_origin(result.root),
        "encoding": result.tokenizer.name,
        "budget": packed.budget,
        "tokens": packed.tokens,
        "sha256": hashlib.sha256(result.text.encode("utf-8")).hexdigest(),
        "format": packed.document.fmt,
        "counts": {m: len(packed.by_mode(m))
                   for m in (Mode.FULL, Mode.FOCUSED, Mode.SKELETON, Mode.PATH, Mode.DROPPED)},
        "secrets": [{"path": f.path, "line": f.line, "column": f.column, "type": f.type} for f in result.findings],
        "files": [asdict(e) for e in manifest_entries(result)],
        "images": [{"path": i.path, "width": i.width, "height": i.height, "bytes": i.bytes, "tokens": i.tokens,
                    "sent_width": i.sent_size[0], "sent_height": i.sent_size[1], "attached": i.sent, "why": i.why}
                   for i in result.images.images],
    }


def explain_lines(result: PackResult) -> list[str]:
    lines = []
    for e in manifest_entries(result):
        rank = f"#{e.rank + 1}" if e.rank is not None else "-"
        tokens = f"{e.tokens:>7,}" if e.tokens else " " * 7
        lines.append(f"{rank:>6} {e.mode:<8} {tokens}  {e.path}  ({e.reason})")
    return lines + result.images.explain_lines()

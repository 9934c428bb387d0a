"""The one way repopack runs git: `run_git` for commands, `git_toplevel`, and `extract_tree`
to materialise a commit in a directory (``git archive`` read with tarfile's safe filter)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from repopack.errors import RepoError

# Reading commands must not take index.lock behind the user's back (git status would refresh it).
_ENV = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
# A work tree's own .git/config is not trusted (an unpacked archive or a restored CI workspace
# brings its own): `core.fsmonitor` there would run a command on every status, diff or ls-files.
_UNTRUSTED_CONFIG = ("-c", "core.fsmonitor=false")


class GitError(RepoError):
    """A git command failed; the message is `<what>: <git's last stderr line>`."""


def git_available() -> bool:
    return shutil.which("git") is not None


def git_process(*args: str, root: Path | None = None, env: Mapping[str, str] | None = None,
                timeout: float = 300, config: Sequence[str] = ()) -> subprocess.CompletedProcess[bytes]:
    """Start ``git [-c ...] [-C root] ARGS`` the one way repopack does, and return the finished process.

    stdin is closed (git never waits for a prompt), the work tree's `core.fsmonitor` is off,
    `config` adds more ``-c`` pairs, `env` replaces the environment (default: ours with optional
    locks off). Raises OSError or subprocess.SubprocessError when git cannot run or times out;
    the caller judges the exit code.
    """
    where = ("-C", str(root)) if root is not None else ()
    return subprocess.run(["git", *_UNTRUSTED_CONFIG, *config, *where, *args], capture_output=True,
                          timeout=timeout, env=dict(env) if env is not None else _ENV, stdin=subprocess.DEVNULL)


def _checked(root: Path, args: tuple[str, ...], ok: tuple[int, ...], what: str | None, timeout: float) -> bytes:
    label = what or f"git {args[0] if args else ''}".strip()
    try:
        out = git_process(*args, root=root, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitError(f"{label}: cannot run git ({exc})") from None
    if out.returncode not in ok:
        lines = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"{label}: {lines[-1] if lines else f'git exited with {out.returncode}'}")
    return out.stdout


def run_git(root: Path, *args: str, ok: tuple[int, ...] = (0,), what: str | None = None,
            timeout: float = 300, text: bool = True) -> str:
    """Run ``git -C root ARGS`` and return its stdout (decoded as UTF-8 with surrogate escapes).

    An exit code outside `ok` raises `GitError` naming `what` (default ``git <subcommand>``) and
    git's own last line of stderr; a missing git or a time-out raises it too.
    """
    out = _checked(root, args, ok, what, timeout)
    return out.decode("utf-8", "surrogateescape") if text else out.decode("latin-1")


def run_git_bytes(root: Path, *args: str, what: str | None = None, timeout: float = 300) -> bytes:
    """Like `run_git` but returns raw stdout bytes (archives, NUL-separated lists)."""
    return _checked(root, args, (0,), what, timeout)


def git_toplevel(path: Path) -> Path | None:
    """The work tree's top directory, or None outside git (or without git)."""
    if not git_available():
        return None
    try:
        top = run_git(path, "rev-parse", "--show-toplevel", timeout=30).strip()
    except GitError:
        return None
    return Path(top).resolve() if top else None


def extract_tree(root: Path, commit: str, dest: Path, *, regular_only: bool = False) -> None:
    """Write the files of `commit` into `dest` (which must exist), as ``git archive`` has them.

    Each member passes tarfile's ``data`` filter: absolute paths, ``..`` and links that would
    leave `dest` are skipped, so a hostile history cannot write outside it. `regular_only`
    skips symlinks too.
    """
    import tarfile  # only here: it is slow to import and most runs never extract

    data = run_git_bytes(root, "archive", "--format=tar", commit, what=f"git archive {commit}", timeout=600)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            if regular_only and not (member.isfile() or member.isdir()):
                continue
            try:
                safe = tarfile.data_filter(member, str(dest))
            except tarfile.FilterError:
                continue
            tar.extract(safe, dest, filter="fully_trusted")

"""The one way repopack runs git: `run_git` for commands, `git_toplevel`, and `extract_tree`
to materialise a commit in a directory (``git archive`` read with tarfile's safe filter)."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from repopack.errors import RepoError

# Reading commands must not take index.lock behind the user's back (git status would refresh it).
_ENV = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
# A work tree's own .git/config is not trusted (an unpacked archive or a restored CI workspace
# brings its own): `core.fsmonitor` there would run a command on every status, diff or ls-files.
# `log.showSignature` there would have every log and show run `gpg.program` (a script the
# repository commits, say) on any commit that carries a signature.
_UNTRUSTED_CONFIG = ("-c", "core.fsmonitor=false", "-c", "log.showSignature=false")
# Other keys of that config name commands git runs while it reads: filter drivers (clean on diff
# and status, smudge on archive), diff drivers (textconv, external diff), signature checkers
# (gpg.program).  Each one the repository sets is overridden on our command line: a filter
# becomes `cat` (the bytes as committed), the rest run nothing.  The user's own (global, system)
# drivers, git-lfs's say, still apply.
_DRIVER_KEY = re.compile(r"(filter|diff)\.(.+)\.(clean|smudge|process|textconv|command)|gpg(\.[^.]+)?\.(program)",
                         re.IGNORECASE)
_NEUTRAL = {"clean": "cat", "smudge": "cat", "process": "", "textconv": "cat", "command": "", "program": ""}
_REPO_SCOPES = (b"local", b"worktree")
# What reading a work tree never needs, and what such a config could turn into a command:
# - a transport: a "partial clone" config fetches missing objects lazily, through a remote's
#   `uploadpack` command, `core.sshCommand` or an `ext::` URL (only fetching, in repopack's own
#   directories, talks to remotes: `network=True`);
# - hooks: `git diff REV` refreshes a stat-dirty index and runs `post-index-change`;
# - a submodule's own config and attributes: `--ignore-submodules=dirty` on our diffs and status
#   keeps git out of submodule work trees, and `diff.submodule=short` keeps it from diffing them.
_PROTOCOLS = ("file", "git", "ssh", "http", "https", "ext", "fd")
_OFFLINE_CONFIG = ("-c", "protocol.allow=never", *(x for p in _PROTOCOLS for x in ("-c", f"protocol.{p}.allow=never")),
                   "-c", "core.hooksPath=/dev/null", "-c", "diff.submodule=short")


class GitError(RepoError):
    """A git command failed; the message is `<what>: <git's last stderr line>`."""


def git_available() -> bool:
    return shutil.which("git") is not None


def git_process(*args: str, root: Path | None = None, env: Mapping[str, str] | None = None,
                timeout: float = 300, config: Sequence[str] = (), network: bool = False
                ) -> subprocess.CompletedProcess[bytes]:
    """Start ``git [-c ...] [-C root] ARGS`` the one way repopack does, and return the finished process.

    stdin is closed (git never waits for a prompt), the work tree's `core.fsmonitor` is off and so
    are the filter and diff drivers its own config sets (see `repo_overrides`); unless `network`
    (clone and fetch into repopack's own directories), no transport, hook or submodule diff runs
    either.  `config` adds more ``-c`` pairs, `env` replaces the environment (default: ours with
    optional locks off).  Raises OSError or subprocess.SubprocessError when git cannot run or times
    out; the caller judges the exit code.
    """
    where = ("-C", str(root)) if root is not None else ()
    pairs = repo_overrides(root) if root is not None else ()
    offline = () if network else _OFFLINE_CONFIG
    return subprocess.run(["git", *_UNTRUSTED_CONFIG, *offline, *config, *where, *args], capture_output=True,
                          timeout=timeout, env=_with_overrides(_ENV if env is None else env, pairs),
                          stdin=subprocess.DEVNULL)


def repo_overrides(root: Path) -> tuple[tuple[str, str], ...]:
    """(key, value) pairs that switch off every filter and diff driver the repository's own config
    sets.  Read before every command (about 1 ms; reading config runs nothing), so a config changed
    since is never missed.  They are passed in GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n, not as
    ``-c key=value``: a driver's name may hold a '='."""
    try:
        out = subprocess.run(["git", *_UNTRUSTED_CONFIG, "-C", str(root), "config", "--list", "--show-scope", "-z"],
                             capture_output=True, timeout=30, env=_ENV, stdin=subprocess.DEVNULL)
        listing = out.stdout if out.returncode == 0 else b""
    except (OSError, subprocess.SubprocessError):
        listing = b""
    pairs: dict[str, str] = {}
    fields = listing.split(b"\0")
    for scope, entry in zip(fields[0::2], fields[1::2], strict=False):
        if scope not in _REPO_SCOPES:
            continue
        name = entry.split(b"\n", 1)[0].decode("utf-8", "surrogateescape")
        m = _DRIVER_KEY.fullmatch(name)
        if m:
            pairs[name] = _NEUTRAL[(m.group(3) or m.group(5)).lower()]
        elif name.lower() == "diff.external":
            pairs[name] = ""
    return tuple(pairs.items())


def _with_overrides(env: Mapping[str, str], pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    out = dict(env)
    if pairs:
        try:
            base = max(0, int(out.get("GIT_CONFIG_COUNT", "0") or 0))
        except ValueError:
            base = 0  # not a count: git would reject it; ours replaces it
        for k, (name, value) in enumerate(pairs, base):
            out[f"GIT_CONFIG_KEY_{k}"], out[f"GIT_CONFIG_VALUE_{k}"] = name, value
        out["GIT_CONFIG_COUNT"] = str(base + len(pairs))
    return out


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

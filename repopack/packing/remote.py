"""Remote repositories: a URL or `github:OWNER/REPO[@REF]` becomes a checkout in the cache.

A checkout lives at `<cache>/remote/<url key>/<commit>/<name>`: the key is a hash of the URL
without any user name or password, so a token never reaches a path, the manifest or a log.
Refs are resolved with one `git ls-remote`; tags and full commit ids are remembered, so a
second pack of the same tag or commit touches the network not at all, and a branch costs one
`ls-remote` (no objects) when its commit is already checked out.  Fetches are shallow (the
depth `--include-log` needs), or a blob-less partial clone when a commit is not a ref tip.

Private repositories: the user's git credentials (credential helpers, ssh keys) work as
they do for `git clone`; `GITHUB_TOKEN` is sent, to github.com only, as an HTTP header passed
through git's environment (never on a command line, never in a URL or a file).  git never
prompts: a missing credential is an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from repopack.errors import RemoteAuthError, RemoteError, RemoteRefError, UsageError
from repopack.util.fs import atomic_write
from repopack.util.git import git_available, git_process
from repopack.util.paths import cache_dir

GITHUB_SHORT = re.compile(r"^github:(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?(?:@(?P<ref>.+))?$")
GITHUB_WEB = re.compile(r"^https?://(?:www\.)?github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?"
                        r"(?:/tree/(?P<ref>[^?#]+))?/?$")
SCP_LIKE = re.compile(r"^(?P<user>[\w.+-]+@)?(?P<host>[\w.-]+):(?P<path>(?!//)[^\s]+)$")
SCHEMES = ("https", "http", "ssh", "git", "file")
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
HEX = re.compile(r"^[0-9a-f]{4,40}$")
GIT_TIMEOUT = 600


@dataclass(frozen=True)
class RemoteSpec:
    url: str  # what git is given (may hold user info the user typed)
    display: str  # the URL without user name or password: for messages, keys and manifests
    name: str  # the repository's name, used as the pack's repo name
    ref: str | None = None


@dataclass(frozen=True)
class Checkout:
    root: Path
    spec: RemoteSpec
    commit: str
    fetched: bool  # False: served from the cache without a fetch


# No ext:: transport and no hooks from anything a remote brings.
_REMOTE_CONFIG = ("-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null")


def _strip_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _name_from(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = name[:-4] if name.endswith(".git") else name
    return re.sub(r"[^\w.-]", "_", name) or "repo"


def parse_remote(spec: str) -> RemoteSpec | None:
    """The remote repository `spec` names, or None for a local path."""
    text = spec.strip()
    if m := GITHUB_SHORT.match(text):
        url = f"https://github.com/{m['owner']}/{m['repo']}.git"
        return RemoteSpec(url, url, m["repo"], m["ref"])
    if m := GITHUB_WEB.match(text):
        url = f"https://github.com/{m['owner']}/{m['repo']}.git"
        return RemoteSpec(url, url, m["repo"], m["ref"])
    scheme = text.split("://", 1)[0].lower() if "://" in text else None
    if scheme is not None:
        if scheme not in SCHEMES:
            raise RemoteError(f"unsupported repository URL scheme {scheme!r} in {_strip_userinfo(text)} "
                              f"(use {', '.join(SCHEMES)} or github:OWNER/REPO)")
        parts = urllib.parse.urlsplit(text)
        if scheme != "file" and (not parts.hostname or parts.hostname.startswith("-")):
            raise RemoteError(f"no host in repository URL {_strip_userinfo(text)}")
        return RemoteSpec(text, _strip_userinfo(text), _name_from(parts.path))
    if "::" in text:
        raise RemoteError(f"unsupported repository URL {text!r} (git transport helpers are not run)")
    if (m := SCP_LIKE.match(text)) and not Path(text).exists() and not m["host"].startswith("-"):
        display = m["host"] + ":" + m["path"]
        return RemoteSpec(text, display, _name_from(m["path"]))
    return None


def is_remote(spec: str) -> bool:
    try:
        return parse_remote(spec) is not None
    except RemoteError:
        return True


def _git_env(spec: RemoteSpec) -> dict[str, str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "",
           "GCM_INTERACTIVE": "never", "LC_ALL": "C"}
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    token = os.environ.get("GITHUB_TOKEN")
    host = urllib.parse.urlsplit(spec.url).hostname if "://" in spec.url else None
    if token and host == "github.com" and spec.url.startswith("https://"):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        n = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
        env.update({"GIT_CONFIG_COUNT": str(n + 1), f"GIT_CONFIG_KEY_{n}": "http.https://github.com/.extraheader",
                    f"GIT_CONFIG_VALUE_{n}": f"Authorization: Basic {basic}"})
    return env


def _secrets_of(spec: RemoteSpec) -> list[str]:
    secrets = [s for s in (os.environ.get("GITHUB_TOKEN"),) if s]
    if "://" in spec.url:
        parts = urllib.parse.urlsplit(spec.url)
        secrets += [s for s in (parts.password, parts.username) if s]
    return secrets


def _scrub(text: str, spec: RemoteSpec) -> str:
    text = text.replace(spec.url, spec.display)
    for secret in _secrets_of(spec):
        text = text.replace(secret, "***")
    return text


def _host(spec: RemoteSpec) -> str:
    if "://" in spec.display:
        return urllib.parse.urlsplit(spec.display).hostname or spec.display
    return spec.display.split(":", 1)[0]


_UNREACHABLE = ("could not resolve host", "name or service not known", "temporary failure in name resolution",
                "connection refused", "unable to connect", "connection timed out", "no route to host",
                "network is unreachable", "could not connect", "failed to connect", "unable to look up",
                "nodename nor servname")
_AUTH = ("authentication failed", "could not read username", "could not read password", "permission denied",
         "terminal prompts disabled", "access denied", "http 401", "http 403", "error: 403", "returned error: 401",
         "returned error: 403", "invalid username or password", "repository not found")
_NOT_A_REPO = ("does not appear to be a git repository", "not found", "no such file or directory",
               "does not exist", "access denied or repository not exported")


def _fail(spec: RemoteSpec, stderr: str) -> RemoteError:
    detail = _scrub(stderr, spec).strip()
    lines = [ln.strip() for ln in detail.splitlines() if ln.strip() and not ln.startswith("hint:")]
    errors = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
    last = (errors or lines or ["git failed"])[0]
    last = re.sub(r"^(fatal|error): ", "", last)
    low = detail.lower()
    if any(s in low for s in _UNREACHABLE):
        return RemoteError(f"cannot reach {_host(spec)} for {spec.display}: {last}")
    if any(s in low for s in _AUTH):
        return RemoteAuthError(f"authentication failed or no access to {spec.display} "
                               f"(set GITHUB_TOKEN for GitHub, or configure git credentials): {last}")
    if any(s in low for s in _NOT_A_REPO):
        return RemoteError(f"no git repository at {spec.display}: {last}")
    return RemoteError(f"git could not fetch {spec.display}: {last}")


def _git(spec: RemoteSpec, *args: str, cwd: Path | None = None) -> str:
    if not git_available():
        raise RemoteError("remote repositories need git on PATH")
    try:
        out = git_process(*args, root=cwd, env=_git_env(spec), timeout=GIT_TIMEOUT, config=_REMOTE_CONFIG,
                          network=True)
    except subprocess.TimeoutExpired:
        raise RemoteError(f"git timed out after {GIT_TIMEOUT} s talking to {spec.display}") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise RemoteError(f"cannot run git: {exc}") from None
    if out.returncode != 0:
        raise _fail(spec, out.stderr.decode("utf-8", "replace"))
    return out.stdout.decode("utf-8", "replace")


def _local(spec: RemoteSpec, repo: Path, *args: str) -> str:
    return _git(spec, *args, cwd=repo)


def url_key(spec: RemoteSpec) -> str:
    return hashlib.sha256(spec.display.encode()).hexdigest()[:20]


def _store(spec: RemoteSpec) -> Path:
    return cache_dir() / "remote" / url_key(spec)


def _load_refs(store: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((store / "refs.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_refs(store: Path, refs: dict[str, dict[str, str]]) -> None:
    atomic_write(store / "refs.json", json.dumps(refs), mode=0o600)


def _ls_remote(spec: RemoteSpec) -> dict[str, str]:
    """refname -> commit (tags peeled), plus HEAD."""
    out = _git(spec, "ls-remote", "--", spec.url)
    refs: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name.endswith("^{}"):
            refs[name[:-3]] = sha  # the peeled commit of an annotated tag wins
        else:
            refs.setdefault(name, sha)
    return refs


def _pick(refs: dict[str, str], ref: str | None) -> tuple[str, str, str] | None:
    """(refname, commit, kind) for `ref` among the remote's refs."""
    if ref is None:
        return ("HEAD", refs["HEAD"], "branch") if "HEAD" in refs else None
    for name, kind in ((ref, "exact"), (f"refs/heads/{ref}", "branch"), (f"refs/tags/{ref}", "tag")):
        if name in refs:
            kind = "tag" if name.startswith("refs/tags/") else "branch" if kind == "exact" else kind
            return name, refs[name], kind
    return None


def _checkout_dir(store: Path, commit: str, spec: RemoteSpec) -> Path:
    return store / commit / spec.name


def _depth_ok(spec: RemoteSpec, root: Path, depth: int) -> bool:
    if depth <= 1 or _local(spec, root, "rev-parse", "--is-shallow-repository").strip() != "true":
        return True
    return int(_local(spec, root, "rev-list", "--count", "HEAD").strip() or 0) >= depth


def _pristine(spec: RemoteSpec, root: Path) -> Path:
    """A cached checkout is read-only by contract; anything changed in it (say by an applied
    edit) is put back, so the next pack of that commit is the commit."""
    if _local(spec, root, "status", "--porcelain", "--untracked-files=all").strip():
        _local(spec, root, "reset", "-q", "--hard")
        _local(spec, root, "clean", "-q", "-fdx")
    return root


def _materialise(spec: RemoteSpec, store: Path, commit: str | None, refname: str | None, depth: int) -> str:
    """Fetch into a temporary directory and move it into place; returns the commit checked out."""
    store.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=store, prefix=".fetch-"))
    try:
        work = tmp / spec.name
        work.mkdir()
        _local(spec, work, "init", "-q")
        want = refname or commit
        assert want is not None
        try:
            _git(spec, "fetch", "-q", "--no-tags", f"--depth={max(1, depth)}", "--", spec.url, want, cwd=work)
            got = _local(spec, work, "rev-parse", "FETCH_HEAD^{commit}").strip()
        except RemoteError:
            if refname is not None or commit is None:
                raise
            # Not a ref tip and the server will not serve a bare commit id: a blob-less clone,
            # then the commit's own blobs on checkout.
            shutil.rmtree(work)
            _git(spec, "clone", "-q", "--filter=blob:none", "--no-checkout", "--", spec.url, str(work))
            try:
                got = _local(spec, work, "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}").strip()
            except RemoteError:
                got = ""
            if not got:
                raise RemoteRefError(f"ref {commit!r} not found in {spec.display}") from None
            _local(spec, work, "remote", "set-url", "origin", spec.display)
        _local(spec, work, "-c", "advice.detachedHead=false", "checkout", "-q", "--detach", got)
        (work / ".git" / "FETCH_HEAD").unlink(missing_ok=True)  # it names the URL as typed
        dest = _checkout_dir(store, got, spec)
        if dest.exists():
            if not _depth_ok(spec, dest, depth):
                shutil.rmtree(dest)  # a deeper history replaces a shallower one
            else:
                return got
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(work, dest)
        except OSError:
            if not dest.exists():
                raise RemoteError(f"cannot store the checkout of {spec.display} in {store}") from None
        return got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_remote(spec: RemoteSpec, ref: str | None = None, depth: int = 1) -> Checkout:
    """A checkout of `spec` at `ref` (default: the spec's ref, else the remote's HEAD)."""
    ref = ref or spec.ref
    if ref is not None and (ref.startswith("-") or not ref.strip()):
        raise RemoteRefError(f"not a ref: {ref!r}")
    store = _store(spec)
    refs = _load_refs(store)
    known = refs.get(ref) if ref is not None else None
    if ref is not None and FULL_SHA.match(ref.lower()):
        known = {"commit": ref.lower(), "kind": "commit"}
    if known and known.get("kind") in ("tag", "commit"):
        dest = _checkout_dir(store, known["commit"], spec)
        if dest.is_dir() and _depth_ok(spec, dest, depth):
            return Checkout(_pristine(spec, dest), spec, known["commit"], fetched=False)
    picked = None
    if known is None or known.get("kind") != "commit":
        picked = _pick(_ls_remote(spec), ref)
    if picked is None and (ref is None or not HEX.match(ref.lower())):
        what = f"ref {ref!r}" if ref is not None else "a default branch (HEAD)"
        raise RemoteRefError(f"{what} not found in {spec.display}")
    if picked is not None:
        refname, commit, kind = picked
        dest = _checkout_dir(store, commit, spec)
        if not (dest.is_dir() and _depth_ok(spec, dest, depth)):
            commit = _materialise(spec, store, commit, refname, depth)
            fetched = True
        else:
            _pristine(spec, dest)
            fetched = False
    else:
        assert ref is not None
        kind = "commit"
        commit = _materialise(spec, store, ref.lower(), None, depth)
        fetched = True
    if ref is not None and kind in ("tag", "commit"):
        refs[ref] = {"commit": commit, "kind": kind}
        _save_refs(store, refs)
    return Checkout(_checkout_dir(store, commit, spec), spec, commit, fetched)


def resolve_source(path: str, ref: str | None = None, depth: int = 1) -> tuple[Path, Checkout | None]:
    """A local directory, or the cached checkout of a remote repository."""
    spec = parse_remote(path)
    if spec is None:
        if ref is not None:
            raise UsageError("--ref is for remote repositories (a URL or github:OWNER/REPO); "
                                 "for a local repository check the ref out with git")
        return Path(path), None
    checkout = fetch_remote(spec, ref, depth)
    return checkout.root, checkout

"""A work tree's own .git/config cannot make repopack run a command.

Built for real: an unpacked repository whose .git/config sets `core.fsmonitor` to a command
that creates a file (git runs it on status, diff and ls-files).  pack, rank, map and review
must not run it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import git
from helpers import run_cli


def test_core_fsmonitor_in_the_repository_never_runs(make_repo, tmp_path: Path, fake_openai) -> None:
    marker = tmp_path / "PWNED"
    root = make_repo({"app.py": "def main():\n    return 1\n"})
    git(root, "config", "core.fsmonitor", f"touch {marker}; false")
    (root / "app.py").write_text("def main():\n    return 2\n")
    fake_openai.script([json.dumps({"summary": "ok", "findings": []})])

    for args in (["pack", str(root), "-o", "-"], ["pack", str(root), "--diff", "HEAD", "-q", "main", "-o", "-"],
                 ["rank", str(root), "-q", "main"], ["map", str(root)],
                 ["review", "--base", "HEAD", str(root)]):
        result = run_cli(*args, env={"OPENAI_BASE_URL": fake_openai.base_url})
        assert result.returncode == 0, (args, result.stderr)
        assert not marker.exists(), f"repopack {args[0]} ran the repository's core.fsmonitor"


def test_filter_and_diff_drivers_of_the_repository_never_run(make_repo, tmp_path: Path, fake_openai) -> None:
    # .gitattributes is committed (anyone's); the drivers it names are defined in the work tree's
    # own .git/config, as an unpacked archive brings it.  One driver's name holds a '=' (it would
    # defeat an override written as `-c key=value`).
    markers = tmp_path / "markers"
    markers.mkdir()
    root = make_repo({"app.py": "def main():\n    return 1\n", "data.txt": "alpha\n",
                      ".gitattributes": "*.py filter=evil diff=evil\n*.txt filter=a=b diff=a=b\n"})
    for driver in ("evil", "a=b"):
        tag = driver.replace("=", "_")
        for key in ("clean", "smudge", "process", "textconv", "command"):
            section = "diff" if key in ("textconv", "command") else "filter"
            git(root, "config", f"{section}.{driver}.{key}", f"sh -c 'touch {markers}/{tag}-{key}; cat'")
    git(root, "config", "diff.external", f"sh -c 'touch {markers}/external'")
    (root / "app.py").write_text("def main():\n    return 2\n")
    (root / "data.txt").write_text("beta\n")
    git(root, "add", "data.txt")  # (git add runs the clean filter itself: clear what it left)
    for made in markers.iterdir():
        made.unlink()
    fake_openai.script([json.dumps({"summary": "ok", "findings": []})])

    runs = (["pack", str(root), "-o", "-"], ["pack", str(root), "--diff", "HEAD", "-q", "main", "-o", "-"],
            ["pack", str(root), "--include-diff", "--include-log", "3", "-o", "-"],
            ["rank", str(root), "-q", "main"], ["map", str(root)], ["scan", "--staged", str(root)],
            ["review", "--base", "HEAD", str(root)])
    for args in runs:
        result = run_cli(*args, env={"OPENAI_BASE_URL": fake_openai.base_url})
        assert result.returncode in (0, 1), (args, result.stderr)  # scan exits 1 when it finds something
        assert not list(markers.iterdir()), f"repopack {args[0]} ran {sorted(p.name for p in markers.iterdir())}"
    shown = run_cli("pack", str(root), "--include-diff", "-o", "-")
    assert "+    return 2" in shown.stdout and "+beta" in shown.stdout  # the diff as committed bytes, no textconv
    # git itself, without the overrides, does run them: the attack is real.
    subprocess.run(["git", "-C", str(root), "diff"], capture_output=True)
    assert list(markers.iterdir())


def test_only_the_repositorys_own_drivers_are_overridden(make_repo) -> None:
    from repopack.util.git import repo_overrides

    root = make_repo({"a.py": "x = 1\n"})
    assert repo_overrides(root) == ()
    git(root, "config", "filter.evil.clean", "evil-clean")  # set after a first read: still seen
    git(root, "config", "diff.evil.textconv", "evil-conv")
    git(root, "config", "diff.external", "evil-diff")
    git(root, "config", "core.editor", "vi")  # not a driver: left alone
    assert dict(repo_overrides(root)) == {"filter.evil.clean": "cat", "diff.evil.textconv": "cat", "diff.external": ""}


def test_a_signature_checker_the_repository_names_never_runs(make_repo, tmp_path: Path) -> None:
    # log.showSignature in the work tree's config has every `git log` run gpg.program on a signed
    # commit; the program is a script the repository commits, the signature a forged header.
    marker = tmp_path / "PWNED"
    root = make_repo({"app.py": "def main():\n    return 1\n",
                      "tools/verify": f"#!/bin/sh\ntouch {marker}\n"})
    (root / "tools" / "verify").chmod(0o755)
    raw = subprocess.run(["git", "-C", str(root), "cat-file", "commit", "HEAD"], capture_output=True, text=True,
                         check=True).stdout
    head, body = raw.split("\n\n", 1)
    signed = f"{head}\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAd\n -----END PGP SIGNATURE-----\n\n{body}"
    sha = subprocess.run(["git", "-C", str(root), "hash-object", "-t", "commit", "-w", "--stdin"], input=signed,
                         capture_output=True, text=True, check=True).stdout.strip()
    git(root, "update-ref", "HEAD", sha)
    git(root, "config", "log.showSignature", "true")
    git(root, "config", "gpg.program", "./tools/verify")
    for args in (["pack", str(root), "-q", "main", "--budget", "4k", "-o", "-"],
                 ["pack", str(root), "--include-log", "3", "-o", "-"], ["rank", str(root), "-q", "main"]):
        result = run_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert not marker.exists(), f"repopack {args[0]} ran the repository's gpg.program"
    subprocess.run(["git", "-C", str(root), "log", "-n1"], capture_output=True)
    assert marker.exists()  # plain git does: the attack is real


def _sh(root: Path, script: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["sh", "-ec", script], cwd=root, check=True, capture_output=True, env=env)


def _lazy_fetch_repo(root: Path, marker: Path) -> None:
    """A 'partial clone' config whose promisor remote runs a command to fetch missing objects."""
    _sh(root, f"""git init -q .
        seq 1 50 > x.txt; echo 'hello word' > a.txt; echo 'second word' > b.txt; git add .; git commit -qm one
        git mv x.txt y.txt; echo extra >> y.txt; git add .; git commit -qm two
        echo 'more word' >> a.txt; echo 'staged word' >> b.txt; git add b.txt
        git config core.repositoryformatversion 1; git config extensions.partialClone origin
        git config remote.origin.promisor true; git config remote.origin.url .
        git config remote.origin.uploadpack 'touch {marker}; false'
        for o in $(git rev-parse HEAD~1:x.txt HEAD:y.txt HEAD:a.txt HEAD:b.txt :b.txt); do
            rm -f .git/objects/$(echo $o | cut -c1-2)/$(echo $o | cut -c3-); done""")


def _hook_repo(root: Path, marker: Path) -> None:
    """A committed hooks directory named by core.hooksPath; `git diff REV` refreshes a stat-dirty index."""
    _sh(root, f"""git init -q .
        echo word > a.txt; echo b > b.txt; mkdir hooks
        printf '#!/bin/sh\\ntouch {marker}\\n' > hooks/post-index-change; chmod +x hooks/post-index-change
        git add .; git commit -qm one; echo more >> b.txt
        git config core.hooksPath hooks; touch -d 2020-01-01 a.txt""")


def _submodule_repo(root: Path, marker: Path) -> None:
    """An embedded repository with its own filter and external diff, which git runs inside it."""
    _sh(root, f"""git init -q .
        echo word > main.txt; git init -q inner
        (cd inner && echo 'word inner' > i.txt && echo '*.txt filter=x' > .gitattributes && git add . &&
         git commit -qm i)
        git add main.txt inner 2>/dev/null; git commit -qm m
        (cd inner && echo 'more word' >> i.txt && git commit -qam two)
        git config -f inner/.git/config filter.x.clean 'sh -c "touch {marker}; cat"'
        git config -f inner/.git/config diff.external 'touch {marker}'
        git config diff.submodule diff; touch -d 2020-01-01 inner/i.txt""")


@pytest.mark.parametrize("build", [_lazy_fetch_repo, _hook_repo, _submodule_repo],
                         ids=["lazy-fetch", "hook", "submodule"])
def test_transports_hooks_and_submodules_of_the_repository_never_run(build, tmp_path: Path) -> None:
    root, marker = tmp_path / "repo", tmp_path / "PWNED"
    root.mkdir()
    build(root, marker)
    marker.unlink(missing_ok=True)
    for args in (["pack", str(root), "-o", str(tmp_path / "p.xml")],
                 ["pack", str(root), "-q", "word", "--budget", "4k", "-o", "-"],
                 ["pack", str(root), "--include-diff", "--include-log", "3", "-o", "-"],
                 ["pack", str(root), "--diff", "HEAD", "-q", "word", "-o", "-"],
                 ["rank", str(root), "-q", "word"], ["map", str(root)], ["scan", "--staged", str(root)]):
        result = run_cli(*args)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert result.returncode in (0, 1, 4), (args, result.stderr)  # 4: git cannot read what is missing
        assert not marker.exists(), f"repopack {' '.join(args[:1])} ran the repository's command ({args})"
    # Plain git does run it, on the same repository built afresh (repopack's diff refreshed the
    # index of this one): the attack is real.
    again = tmp_path / "again"
    again.mkdir()
    build(again, marker)
    marker.unlink(missing_ok=True)
    subprocess.run(["git", "-C", str(again), "diff", "HEAD"], capture_output=True)
    subprocess.run(["git", "-C", str(again), "log", "--name-only", "-n3"], capture_output=True)
    assert marker.exists()

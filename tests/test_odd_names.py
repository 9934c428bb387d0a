"""A file whose name is not UTF-8, end to end through the console script: `pack` and `rank`
exit 0 and show it under its escape, and `ask --apply` of a diff to it edits that very file
(against the fake OpenAI server over real HTTP)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import git
from helpers import run_cli
from support.fake_openai import FakeOpenAI

RAW_NAME = b"latin1_\xe9.py"
SHOWN = "latin1_\\xe9.py"
SOURCE = b'def greeting():\n    return "bonjour"\n'


def make_odd_repo(tmp_path: Path, git_init: bool) -> Path:
    root = tmp_path / "odd"
    (root / "pkg").mkdir(parents=True)
    with open(os.path.join(os.fsencode(root), b"pkg", RAW_NAME), "wb") as fh:
        fh.write(SOURCE)
    (root / "pkg" / "main.py").write_text("from pkg import greeting\n\nprint(greeting())\n")
    if git_init:
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "odd names")
    return root


def test_pack_and_rank_show_the_escaped_name(tmp_path: Path) -> None:
    for git_init in (True, False):
        root = make_odd_repo(tmp_path / str(git_init), git_init)
        out, manifest = tmp_path / f"out{git_init}.xml", tmp_path / f"manifest{git_init}.json"
        packed = run_cli("pack", str(root), "-o", str(out), "--manifest", str(manifest))
        assert packed.returncode == 0, packed.stderr
        text = out.read_text(encoding="utf-8")
        assert f"pkg/\n  {SHOWN}\n" in text  # the directory tree
        assert f'<file path="pkg/{SHOWN}"' in text and 'return "bonjour"' in text
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        assert {f["path"]: f["mode"] for f in files}[f"pkg/{SHOWN}"] == "full"

        ranked = run_cli("rank", str(root), "-q", "where is greeting defined?", "--json")
        assert ranked.returncode == 0, ranked.stderr
        assert json.loads(ranked.stdout)[0]["path"] == f"pkg/{SHOWN}"


def test_ask_apply_edits_the_file_with_the_odd_name(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    root = make_odd_repo(tmp_path, git_init=True)
    diff = (f"--- a/pkg/{SHOWN}\n+++ b/pkg/{SHOWN}\n@@ -1,2 +1,2 @@\n def greeting():\n"
            f'-    return "bonjour"\n+    return "salut"\n')
    fake_openai.script([f"Here you go.\n\n```diff\n{diff}```\n"])
    result = run_cli("ask", str(root), "make greeting say salut", "--apply",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    assert f"applied: pkg/{SHOWN}" in result.stderr
    assert f"pkg/{SHOWN}" in fake_openai.requests[-1].prompt_text
    real = Path(os.fsdecode(os.path.join(os.fsencode(root), b"pkg", RAW_NAME)))
    assert real.read_bytes() == SOURCE.replace(b"bonjour", b"salut")
    assert sorted(os.listdir(os.fsencode(root / "pkg"))) == [RAW_NAME, b"main.py"]  # no file made under the escape

    undone = run_cli("undo", str(root))
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout == f"pkg/{SHOWN}\n"
    assert real.read_bytes() == SOURCE


def test_a_git_quoted_diff_path_names_the_same_file(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    root = make_odd_repo(tmp_path, git_init=True)
    diff = ('--- "a/pkg/latin1_\\351.py"\n+++ "b/pkg/latin1_\\351.py"\n@@ -1,2 +1,2 @@\n def greeting():\n'
            '-    return "bonjour"\n+    return "hola"\n')
    fake_openai.script([f"```diff\n{diff}```\n"])
    result = run_cli("ask", str(root), "make greeting say hola", "--apply",
                     env={"OPENAI_BASE_URL": fake_openai.base_url})
    assert result.returncode == 0, result.stderr
    assert (root / "pkg" / os.fsdecode(RAW_NAME)).read_bytes() == SOURCE.replace(b"bonjour", b"hola")


def test_diff_signals_name_the_odd_file_as_the_walk_does(tmp_path: Path) -> None:
    from repopack.packing.pipeline import changed_files, changed_hunks

    root = make_odd_repo(tmp_path, git_init=True)
    odd = os.path.join(os.fsencode(root), b"pkg", RAW_NAME)
    with open(odd, "ab") as fh:
        fh.write(b"\n\ndef farewell():\n    return 'au revoir'\n")
    with open(os.path.join(os.fsencode(root), b"pkg", b"new\tfile.py"), "wb") as fh:
        fh.write(b"x = 1\n")
    assert changed_files(root, "HEAD") == (f"pkg/{SHOWN}", "pkg/new\\x09file.py")
    assert changed_hunks(root, "HEAD") == ((f"pkg/{SHOWN}", 3, 6),)
    ranked = run_cli("rank", str(root), "--diff", "HEAD", "--json")
    assert ranked.returncode == 0, ranked.stderr
    assert json.loads(ranked.stdout)[0]["path"] == f"pkg/{SHOWN}"


def test_recent_commits_count_for_names_with_spaces_and_odd_bytes(tmp_path: Path) -> None:
    from repopack.packing.rank import git_activity

    root = make_odd_repo(tmp_path, git_init=True)
    (root / "pkg" / "with space.py").write_text("x = 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "spaces")
    activity = git_activity(root, [f"pkg/{SHOWN}", "pkg/with space.py", "pkg/main.py"])
    assert set(activity) == {f"pkg/{SHOWN}", "pkg/with space.py", "pkg/main.py"}

"""What repopack saves for itself inside a repository never goes through a committed symlink,
and `chat` names ignored repository settings too.

Built for real: a repository commits `.repopack` (or `.repopack/context.xml`, or
`.repopack/chat/.gitignore`) as a symlink to a directory or file outside; the chat app
copies its context (ctrl+s) and saves its transcript; nothing outside changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git
from repopack.tui.factory import create_app
from repopack.tui.transcript import Transcript, transcript_dir
from test_tui import SIZE, packed, wait_until

from repopack.errors import RepoError
from repopack.util.worktree import own_path


@pytest.fixture(autouse=True)
def _offline_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOPACK_ENCODING", "cl100k_base")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "victim.txt").write_text("the user's file\n")
    return directory


def test_own_path_refuses_links_and_special_files(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "repo"
    (root / ".repopack").mkdir(parents=True)
    assert own_path(root, ".repopack/chat") == root / ".repopack" / "chat"
    (root / ".repopack" / "context.xml").symlink_to(outside / "victim.txt")
    with pytest.raises(RepoError, match="is a symlink"):
        own_path(root, ".repopack/context.xml")
    (root / "linked").symlink_to(outside)
    with pytest.raises(RepoError, match="is a symlink"):
        own_path(root, "linked/chat")
    with pytest.raises(RepoError, match="not a path inside"):
        own_path(root, "../outside/victim.txt")


@pytest.mark.asyncio
async def test_copying_the_context_never_writes_through_a_committed_link(
        fixture_repo: Callable[[str], Path], outside: Path) -> None:
    repo = fixture_repo("pyapp")
    (repo / ".repopack").mkdir()
    (repo / ".repopack" / "context.xml").symlink_to(outside / "victim.txt")
    git(repo, "add", "-f", ".repopack/context.xml")
    git(repo, "commit", "-q", "-m", "a link")
    app = create_app(repo)
    async with app.run_test(size=SIZE) as pilot:
        await packed(pilot)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.clipboard == app.controller.context_text())
        await pilot.pause(0.2)
    assert (outside / "victim.txt").read_text() == "the user's file\n"
    assert (repo / ".repopack" / "context.xml").is_symlink()


def test_transcripts_never_go_through_a_committed_link(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".repopack").symlink_to(outside)
    directory = transcript_dir(root)
    assert root not in directory.parents and outside not in directory.parents
    Transcript("repo", "m", []).save(directory)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    # A link left at the .gitignore or at a transcript's name is not followed either.
    other = tmp_path / "other"
    (other / ".repopack" / "chat").mkdir(parents=True)
    (other / ".repopack" / "chat" / ".gitignore").symlink_to(outside / "victim.txt")
    saved = Transcript("other", "m", []).save(transcript_dir(other))
    assert saved.parent == other / ".repopack" / "chat"
    assert (outside / "victim.txt").read_text() == "the user's file\n"


def test_chat_names_ignored_repository_settings_once(fixture_repo: Callable[[str], Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from repopack.config import reset_warnings

    repo = fixture_repo("pyapp")
    (repo / ".repopack.toml").write_text('base_url = "http://127.0.0.1:9/v1"\nredact = false\n')
    reset_warnings()
    app = create_app(repo)
    err = capsys.readouterr().err
    assert err == (f"repopack: warning: ignored base_url, redact from {repo / '.repopack.toml'}: a repository's "
                   f"config may only shape the pack (add the repository to trusted_repos in "
                   f"{Path(os.environ['REPOPACK_CONFIG_DIR']) / 'config.toml'} to trust it)\n")
    assert app.controller.base.base_url is None and app.controller.base.redact is True

"""`-o` writes through special files and symlinks and never turns one into a regular file.

Built for real: character devices made with mknod (a null device and a full one), a FIFO
with a reader, symlinks (relative, chained, dangling, to /proc/self/fd/1 as /dev/stdout is),
a block device.  The real /dev/null and /dev/stdout are never a test's target: as root, a
regression would replace them on the machine (the old code did).
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from helpers import run_cli

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod of devices needs root")


@pytest.fixture
def repo(make_repo) -> Path:
    return make_repo({"app.py": "def main():\n    return 1\n", "README.md": "# app\n"})


def prompt_of(repo: Path) -> str:
    result = run_cli("pack", str(repo), "-o", "-")
    assert result.returncode == 0, result.stderr
    return result.stdout


def kind(path: Path) -> str:
    mode = path.lstat().st_mode
    for name, test in (("link", stat.S_ISLNK), ("char", stat.S_ISCHR), ("block", stat.S_ISBLK),
                       ("fifo", stat.S_ISFIFO), ("file", stat.S_ISREG), ("dir", stat.S_ISDIR)):
        if test(mode):
            return name
    return "other"


@needs_root
def test_a_character_device_stays_a_device(repo: Path, tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    result = run_cli("pack", str(repo), "-o", str(null))
    assert result.returncode == 0, result.stderr
    assert kind(null) == "char" and null.lstat().st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".null")] == []  # no temp file left
    # The pack remembered for reuse is the text, not a link to the device: the next pack is whole.
    again = run_cli("pack", str(repo), "-o", str(tmp_path / "out.xml"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out.xml").read_text(encoding="utf-8") == prompt_of(repo)


@needs_root
def test_a_full_device_is_a_one_line_error_and_stays_a_device(repo: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    result = run_cli("pack", str(repo), "-o", str(full))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"repopack: error: cannot write {full}: No space left on device"
    assert kind(full) == "char"


@needs_root
def test_a_block_device_is_refused(repo: Path, tmp_path: Path) -> None:
    block = tmp_path / "loop"
    os.mknod(block, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    result = run_cli("pack", str(repo), "-o", str(block))
    assert result.returncode == 4
    assert result.stderr.splitlines()[-1] == f"repopack: error: refusing to write to {block}: it is a block device"
    assert kind(block) == "block"


def test_a_symlink_stays_a_link_and_its_target_holds_the_prompt(repo: Path, tmp_path: Path) -> None:
    real = tmp_path / "prompts" / "real.xml"
    real.parent.mkdir()
    real.write_text("old\n")
    real.chmod(0o640)
    (tmp_path / "hop").symlink_to("prompts/real.xml")  # relative
    link = tmp_path / "link.xml"
    link.symlink_to(tmp_path / "hop")  # a chain of two
    result = run_cli("pack", str(repo), "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert kind(link) == "link" and kind(tmp_path / "hop") == "link" and kind(real) == "file"
    assert os.readlink(link) == str(tmp_path / "hop")
    assert real.read_text(encoding="utf-8") == prompt_of(repo)
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # replaced atomically, permissions kept


def test_a_dangling_symlink_gets_its_target_created(repo: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.xml"
    link.symlink_to("made.xml")
    assert run_cli("pack", str(repo), "-o", str(link)).returncode == 0
    assert kind(link) == "link" and (tmp_path / "made.xml").read_text(encoding="utf-8") == prompt_of(repo)


def test_a_fifo_is_written_through(repo: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run_cli("pack", str(repo), "-o", str(fifo))
    reader.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert kind(fifo) == "fifo"
    assert received == [prompt_of(repo).encode()]


def test_a_link_to_standard_output_writes_to_it(repo: Path, tmp_path: Path) -> None:
    # What /dev/stdout is (a link to /proc/self/fd/1), made here: a regression replaces this link, not /dev's.
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    result = run_cli("pack", str(repo), "-o", str(stdout))
    assert result.returncode == 0, result.stderr
    assert result.stdout == prompt_of(repo)
    assert kind(stdout) == "link"


def test_a_regular_file_is_replaced_keeping_its_mode(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.xml"
    out.write_text("old\n")
    out.chmod(0o600)
    assert run_cli("pack", str(repo), "-o", str(out)).returncode == 0
    assert kind(out) == "file" and stat.S_IMODE(out.stat().st_mode) == 0o600
    fresh = tmp_path / "new" / "fresh.xml"
    assert run_cli("pack", str(repo), "-o", str(fresh)).returncode == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

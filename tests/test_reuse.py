from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from repopack.config import Settings
from repopack.packing import reuse
from repopack.packing.pipeline import pack_repo as _pack_repo
from repopack.packing.reuse import remember


def pack_repo(root, settings, reuse: bool = False):
    """Pack as the CLI does: with reuse on, the pack is remembered once its text is written."""
    result = _pack_repo(root, settings, reuse=reuse)
    if reuse:
        remember(result, "-")
    return result


def age(root, seconds: float = 60) -> None:
    """Make every file look old, so none of them is 'racy'."""
    past = time.time() - seconds
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(dirpath, name), (past, past))


def test_unchanged_tree_reuses_the_last_pack(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    age(root)
    first = pack_repo(root, Settings(budget=2000), reuse=True)
    second = pack_repo(root, Settings(budget=2000), reuse=True)
    assert "reused" not in first.timings and second.timings == {"reused": 0.0}
    assert second.text == first.text
    assert [d.mode for d in second.packed.decisions] == [d.mode for d in first.packed.decisions]
    assert second.tokenizer.name == first.tokenizer.name
    # other settings are another pack
    other = pack_repo(root, Settings(budget=2500), reuse=True)
    assert "reused" not in other.timings


def test_an_edit_is_never_missed(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    age(root)
    pack_repo(root, Settings(), reuse=True)
    billing = root / "pyapp" / "billing.py"
    billing.write_text(billing.read_text() + "\nEDITED = True\n")
    age(root, 120)  # even with an old mtime: size and ctime differ
    again = pack_repo(root, Settings(), reuse=True)
    assert "reused" not in again.timings and "EDITED = True" in again.text


def test_racy_files_disable_reuse(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    (root / "pyapp" / "models.py").write_text("JUST_WRITTEN = 1\n")  # too close to the pack to trust
    pack_repo(root, Settings(), reuse=True)
    assert "reused" not in pack_repo(root, Settings(), reuse=True).timings


def test_stored_result_holds_no_secret_values(make_repo) -> None:
    root = make_repo({"conf.py": 'AWS_SECRET = "AKIAIOSFODNN7EXAMPLE"\n', "a.py": "A = 1\n"})
    age(root)
    first = pack_repo(root, Settings(), reuse=True)
    assert first.findings
    second = pack_repo(root, Settings(), reuse=True)
    assert second.timings == {"reused": 0.0}
    assert second.findings == first.findings and second.redactions == {}
    cache = Path(os.environ["REPOPACK_CACHE_DIR"])
    for path in cache.rglob("*"):
        if path.is_file():
            assert b"AKIAIOSFODNN7EXAMPLE" not in path.read_bytes()


def test_without_reuse_nothing_is_stored(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    age(root)
    pack_repo(root, Settings())
    assert "reused" not in pack_repo(root, Settings(), reuse=True).timings
    assert reuse.RACY_NS > 0


def test_output_file_is_read_back_not_copied_and_an_edit_or_deletion_is_noticed(fixture_repo, tmp_path) -> None:
    root = fixture_repo("pyapp")
    age(root)
    out = tmp_path / "out.xml"
    first = _pack_repo(root, Settings(), reuse=True)
    out.write_text(first.text, encoding="utf-8")
    remember(first, str(out))
    cache = Path(os.environ["REPOPACK_CACHE_DIR"])
    assert out.stat().st_nlink == 1 and not (cache / "packs").exists()  # no second copy of the prompt
    second = _pack_repo(root, Settings(), reuse=True)
    assert second.timings == {"reused": 0.0} and second.text == first.text
    with out.open("a", encoding="utf-8") as fh:  # an editor writing into the output in place
        fh.write("tampered\n")
    third = _pack_repo(root, Settings(), reuse=True)
    assert "reused" not in third.timings and "tampered" not in third.text
    out.write_text(third.text, encoding="utf-8")
    remember(third, str(out))
    for _ in range(2):  # a reused pack written out again stays reusable (the new stat is recorded)
        again = _pack_repo(root, Settings(), reuse=True)
        assert again.timings == {"reused": 0.0}
        out.unlink()
        out.write_text(again.text, encoding="utf-8")
        remember(again, str(out))
    out.unlink()  # the user deletes the prompt: nothing of it outlives that
    assert "reused" not in _pack_repo(root, Settings(), reuse=True).timings


def test_stdout_pack_is_kept_private_and_an_unredacted_pack_is_never_kept(make_repo) -> None:
    root = make_repo({"conf.py": 'AWS_SECRET = "AKIAIOSFODNN7EXAMPLE"\n', "a.py": "A = 1\n"})
    age(root)
    cache = Path(os.environ["REPOPACK_CACHE_DIR"])
    first = pack_repo(root, Settings(), reuse=True)
    assert pack_repo(root, Settings(), reuse=True).text == first.text  # kept: a private cache row
    assert sorted(p.name for p in cache.iterdir()) == ["cache-v2.sqlite", "cache-v2.sqlite-journal"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in cache.iterdir())
    raw = pack_repo(root, Settings(redact=False), reuse=True)
    assert "AKIAIOSFODNN7EXAMPLE" in raw.text
    assert "reused" not in pack_repo(root, Settings(redact=False), reuse=True).timings
    for path in cache.rglob("*"):
        if path.is_file():
            assert b"AKIAIOSFODNN7EXAMPLE" not in path.read_bytes()

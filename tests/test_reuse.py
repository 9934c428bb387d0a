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
        text = again.text  # read from the output file, which still is the one written
        out.unlink()
        out.write_text(text, encoding="utf-8")
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


def test_a_repeat_cli_pack_to_the_same_output_writes_nothing_and_another_output_gets_the_same_text(
        fixture_repo, tmp_path) -> None:
    from helpers import run_cli

    root = fixture_repo("pyapp")
    age(root)
    out = tmp_path / "out.xml"
    assert run_cli("pack", str(root), "-o", str(out)).returncode == 0
    first = out.read_bytes()
    before = out.stat()
    again = run_cli("pack", str(root), "-o", str(out))
    assert again.returncode == 0 and "Packed" in again.stderr
    after = out.stat()
    # the very file, untouched: it already held exactly this pack
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    other = tmp_path / "other.xml"
    assert run_cli("pack", str(root), "-o", str(other)).returncode == 0
    assert other.read_bytes() == first
    out.write_bytes(first.replace(b"<files>", b"<files>tampered", 1))  # edited by the user: packed afresh
    assert run_cli("pack", str(root), "-o", str(out)).returncode == 0
    assert out.read_bytes() == first


def test_split_output_after_a_remembered_pack_has_every_file_text(make_repo, tmp_path) -> None:
    from helpers import run_cli

    root = make_repo({f"m{i}.py": f"VALUE_{i} = {i}\n" * 60 for i in range(6)})
    age(root)
    assert run_cli("pack", str(root), "-o", str(tmp_path / "whole.xml")).returncode == 0
    assert run_cli("pack", str(root), "-o", str(tmp_path / "whole.xml")).returncode == 0  # now remembered
    done = run_cli("pack", str(root), "--split-output", "1000", "-o", str(tmp_path / "part.xml"))
    assert done.returncode == 0, done.stderr
    parts = "".join(p.read_text() for p in sorted(tmp_path.glob("part.*.xml")))
    for i in range(6):
        assert parts.count(f"VALUE_{i} = {i}") == 60


def test_other_code_never_reuses_a_pack(fixture_repo, monkeypatch) -> None:
    from repopack.packing import stamp

    root = fixture_repo("pyapp")
    age(root)
    pack_repo(root, Settings(), reuse=True)
    assert pack_repo(root, Settings(), reuse=True).timings == {"reused": 0.0}
    monkeypatch.setattr(stamp, "pack_stamp", lambda: "another build of repopack")
    assert "reused" not in pack_repo(root, Settings(), reuse=True).timings


def test_the_pack_stamp_follows_the_installed_files(tmp_path) -> None:
    import os

    from repopack.packing import stamp

    before = stamp.pack_stamp()
    module = os.path.join(os.path.dirname(stamp.__file__), "stamp.py")
    st = os.stat(module)
    try:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        stamp.pack_stamp.cache_clear()
        assert stamp.pack_stamp() != before
    finally:
        os.utime(module, ns=(st.st_atime_ns, st.st_mtime_ns))
        stamp.pack_stamp.cache_clear()
    assert stamp.pack_stamp() == before


def test_stored_packs_are_deflated_and_a_bad_row_is_a_miss(fixture_repo, monkeypatch) -> None:
    import zlib

    from repopack.packing.cache import Cache, encode

    root = fixture_repo("pyapp")
    age(root)
    first = pack_repo(root, Settings(budget=2000), reuse=True)
    slot = first.reuse_key[0]
    with Cache() as cache:
        row = cache.get(reuse.NS, slot, bytes)
    assert row is not None
    raw = zlib.decompress(row)  # deflated msgpack
    monkeypatch.setattr(reuse, "MAX_ROW_BYTES", len(raw) + 1000)
    assert pack_repo(root, Settings(budget=2000), reuse=True).timings == {"reused": 0.0}  # within the bound
    poisoned = (zlib.compress(raw + b"\0" * 100_000),  # inflates past the bound: a memory bomb in small
                b"not zlib at all", zlib.compress(encode({"fingerprint": 1})),  # deflated, wrong shape
                row[:-3])  # truncated
    for bad in poisoned:
        with Cache() as cache:
            cache.put(reuse.NS, slot, bad)
        again = pack_repo(root, Settings(budget=2000), reuse=True)
        assert "reused" not in again.timings and again.text == first.text
        age(root)

"""The cache stores data, never code; stays private and under its cap; snapshots derive incrementally."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sqlite3
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repopack.cli.app import cli
from repopack.config import Settings, load_settings
from repopack.packing import snapshot as snapshots
from repopack.packing.cache import Cache, cache_info, encode, parse_size
from repopack.packing.graph import build_graph
from repopack.packing.index import build_index
from repopack.packing.pipeline import pack_repo, rank_repo
from repopack.packing.rank import Signals
from repopack.packing.tokens import get_tokenizer
from repopack.packing.walk import walk_repo


def cache_path() -> Path:
    return Path(os.environ["REPOPACK_CACHE_DIR"])


def db() -> Path:
    return cache_path() / "cache-v2.sqlite"


class _RunsCode:
    """Unpickling this creates a file: proof that a cache row was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_and_random_bytes_in_the_cache_never_run_and_the_pack_succeeds(fixture_repo, tmp_path):
    root = fixture_repo("pyapp")
    settings_ = Settings(budget=3000)
    first = pack_repo(root, settings_, Signals(query="invoice total"))
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_RunsCode(marker))
    conn = sqlite3.connect(db())
    rows = conn.execute("SELECT rowid, ns FROM kv").fetchall()
    kinds = {ns.split(":")[0] for _r, ns in rows}
    assert {"symbols", "tokens", "terms", "secrets", "snapshot"} <= kinds
    rng = np.random.default_rng(7)
    for n, (rowid, _ns) in enumerate(rows):
        # a pickle that would run a command, random bytes, and valid msgpack of the wrong shape
        value = [evil, rng.bytes(40), encode({"path": 1, "defs": "x"})][n % 3]
        conn.execute("UPDATE kv SET value = ? WHERE rowid = ?", (value, rowid))
    conn.commit()
    conn.close()
    again = pack_repo(root, settings_, Signals(query="invoice total"))
    assert not marker.exists()
    assert again.text == first.text
    # and the bad rows were replaced by good ones
    with Cache() as cache:
        from repopack.packing.symbols import FileSymbols

        keys = [f.digest + ":" + (f.language or "") for f in again.walk.files if f.path.endswith(".py")]
        from repopack.packing.index import PARSE_VERSION

        assert len(cache.get_many(Cache.namespace("symbols", PARSE_VERSION), keys, FileSymbols)) == len(keys)


def test_no_pickle_or_marshal_anywhere_in_the_package() -> None:
    package = Path(__file__).resolve().parent.parent / "repopack"
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import pickle" not in text and "import marshal" not in text, path


def test_cache_directory_is_0700_and_its_files_0600(fixture_repo) -> None:
    old = os.umask(0o022)
    try:
        cache_path().mkdir(parents=True, mode=0o755)
        os.chmod(cache_path(), 0o755)  # an existing, too open directory is tightened
        root = fixture_repo("pyapp")
        pack_repo(root, Settings(budget=2000), Signals(query="invoice"))
        rank_repo(root, Settings(), Signals(query="invoice"))
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache_path().stat().st_mode) == 0o700
    files = [p for p in cache_path().rglob("*") if p.is_file()]
    assert db() in files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_locked_database_is_never_deleted(tmp_path: Path, monkeypatch) -> None:
    import repopack.packing.cache as cache_module

    monkeypatch.setattr(cache_module, "BUSY_SECONDS", 0.2)
    with Cache(tmp_path) as cache:
        cache.put("ns", "k", 1)
    holder = sqlite3.connect(tmp_path / "cache-v2.sqlite", timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        blocked = Cache(tmp_path)
        assert blocked.get("ns", "k", int) is None  # locked: a miss, not a crash
        blocked.close()
    finally:
        holder.rollback()
        holder.close()
    with Cache(tmp_path) as cache:
        assert cache.get("ns", "k", int) == 1  # and the data survived


def _writer(directory: str, n: int) -> None:
    with Cache(Path(directory), max_bytes=200_000) as cache:
        for k in range(30):
            cache.put_many("ns", {f"{n}-{k}-{j}": "x" * 200 for j in range(20)})
            cache.flush()
            cache.get_many("ns", [f"{n}-{k}-{j}" for j in range(20)], str)


def test_concurrent_writer_processes_with_eviction_do_not_crash_or_corrupt(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), n)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]  # a SIGBUS would be -7
    conn = sqlite3.connect(tmp_path / "cache-v2.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not (tmp_path / "cache-v2.sqlite-shm").exists()  # no shared memory mapped
    assert cache_info(tmp_path, 200_000).size <= 200_000 * 1.1


def test_lru_eviction_keeps_the_cache_under_its_cap_and_keeps_recent_rows(tmp_path: Path, monkeypatch) -> None:
    import repopack.packing.cache as cache_module

    monkeypatch.setattr(cache_module, "TOUCH_SECONDS", 0)  # every read counts as a use
    cap = 400_000
    for n in range(60):
        with Cache(tmp_path, max_bytes=cap) as cache:
            cache.put_many("ns", {f"{n}-{j}": os.urandom(300).hex() for j in range(40)})
            if n >= 1:
                assert cache.get("ns", "0-0", str) is not None  # read every time: never the least recent
        assert cache_info(tmp_path, cap).size <= cap
    with Cache(tmp_path, max_bytes=cap) as cache:
        assert len(cache.get_many("ns", [f"59-{j}" for j in range(40)], str)) == 40  # the newest stay
        assert cache.get_many("ns", [f"2-{j}" for j in range(40)], str) == {}  # old, unread: evicted


def test_cache_info_after_50_packs_of_different_snapshots_is_under_the_cap(make_repo, monkeypatch) -> None:
    monkeypatch.setenv("REPOPACK_CACHE_MAX", "600k")
    assert load_settings(None).cache_max == 600_000
    files = {f"pkg/mod{i}.py": f"def handler_{i}(request):\n    return render_{i}(request)\n" * 20
             for i in range(12)}
    root = make_repo(files)
    runner = CliRunner()
    for n in range(50):
        (root / "pkg" / f"mod{n % 12}.py").write_text(f"def changed_{n}():\n    return {n}\n" * (n + 5))
        result = runner.invoke(cli, ["pack", str(root), "-b", "2k", "-q", f"handler {n}", "-o", "-"],
                               catch_exceptions=False)
        assert result.exit_code == 0
        assert cache_info().size <= 600_000
    info = runner.invoke(cli, ["cache", "info"], catch_exceptions=False)
    assert info.exit_code == 0
    lines = info.output.splitlines()
    assert lines[0] == f"location  {cache_path()}"
    assert lines[1].startswith("size      ") and "(cap 600.0 kB" in lines[1]
    assert int(lines[2].split()[1].replace(",", "")) > 0
    assert any(line.split()[0] == "snapshot" for line in lines[3:])


def test_cache_clear_removes_everything_it_owns(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    pack_repo(root, Settings(budget=2000), Signals(query="invoice"))
    keep = cache_path() / "not-ours.txt"
    keep.write_text("user file")
    out = CliRunner().invoke(cli, ["cache", "clear"], catch_exceptions=False)
    assert out.exit_code == 0 and out.output.startswith(f"cleared {cache_path()}: ")
    assert sorted(p.name for p in cache_path().iterdir()) == ["not-ours.txt"]
    info = CliRunner().invoke(cli, ["cache", "info"], catch_exceptions=False)
    assert "entries   0" in info.output


def test_parse_size() -> None:
    assert parse_size("1G") == 10**9 and parse_size("500M") == 500 * 10**6 and parse_size("64kB") == 64_000
    assert parse_size("1234") == 1234
    with pytest.raises(ValueError):
        parse_size("lots")


def _index(files: dict[str, str], root: Path, cache: Cache, scope: str):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    walked = walk_repo(root).files
    return build_index(walked, get_tokenizer("cl100k_base"), cache, scope=scope)


def _same(a, b) -> None:
    assert a.paths == b.paths
    query = {"handler": 1.0, "render": 1.0, "value": 1.0, "mod": 1.0}
    assert np.allclose(a.content_bm25.scores(query), b.content_bm25.scores(query))
    assert np.allclose(a.name_bm25.scores(query), b.name_bm25.scores(query))
    assert abs(a.graph.matrix - b.graph.matrix).max() < 1e-9 if a.graph.matrix.nnz or b.graph.matrix.nnz else True
    assert np.allclose(a.graph.base_rank, b.graph.base_rank, atol=1e-8)
    assert dict(a.graph.definers) == dict(b.graph.definers)


_NAME = st.sampled_from(["handler", "render", "value", "Value", "_hidden", "__init__", "x", "loadConfigFile"])
_FILE = st.builds(lambda defs, uses, imp: "".join(f"def {d}():\n    return {u}()\n" for d, u in zip(defs, uses,
                                                                                                   strict=False))
                  + "".join(f"from pkg.mod{i} import value\n" for i in imp),
                  st.lists(_NAME, max_size=4), st.lists(_NAME, max_size=4), st.lists(st.integers(0, 5), max_size=2))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.dictionaries(st.integers(0, 5), _FILE, min_size=1), after=st.dictionaries(st.integers(0, 7), _FILE))
def test_a_derived_snapshot_equals_one_built_from_scratch(tmp_path_factory, before, after) -> None:
    base = tmp_path_factory.mktemp("snap")
    root = base / "repo"
    root.mkdir()
    files = {f"pkg/mod{i}.py": text for i, text in before.items()}
    with Cache(base / "c", max_bytes=10**8) as cache:
        _ = _index(files, root, cache, "r").graph
        for i, text in after.items():
            files[f"pkg/mod{i}.py"] = text
        if len(after) % 3 == 2 and len(files) > 1:  # deletions too
            gone = sorted(files)[0]
            (root / gone).unlink(missing_ok=True)
            del files[gone]
        derived = _index(files, root, cache, "r")
        _ = derived.graph
    with Cache(base / "fresh", max_bytes=10**8) as cache:
        scratch = _index(files, root, cache, "other")
        assert scratch.snapshot_stats[0] == 0
    _same(derived, scratch)
    assert build_graph(scratch.symbols).paths == scratch.paths


def test_one_edited_file_is_the_only_one_derived_again(make_repo) -> None:
    files = {f"pkg/m{i}.py": f"def f{i}(x):\n    return g{(i + 1) % 30}(x)\n" for i in range(30)}
    root = make_repo(files)
    first = rank_repo(root, Settings(), Signals(query="f3"))
    (root / "pkg" / "m3.py").write_text("def f3(x):\n    return f4(x) + 1\n")
    from repopack.packing.pipeline import index_repo

    _root, _walked, index = index_repo(root, Settings())
    _ = index.graph
    assert index.snapshot_stats == (29, 1)
    index.cache.close()
    again = rank_repo(root, Settings(), Signals(query="f3"))
    assert {r.path for r in again} == {r.path for r in first}


def test_another_checkout_of_the_same_project_starts_from_the_latest_snapshot(make_repo) -> None:
    files = {f"pkg/m{i}.py": f"def f{i}(x):\n    return f{(i + 1) % 20}(x)\n" for i in range(20)}
    one = make_repo(files, name="one")
    rank_repo(one, Settings(), Signals(query="f3"))
    files["pkg/m5.py"] = "def f5(y):\n    return 5\n"
    two = make_repo(files, name="two")
    from repopack.packing.pipeline import index_repo

    _root, _walked, index = index_repo(two, Settings())
    _ = index.graph
    assert index.snapshot_stats == (19, 1)
    index.cache.close()


def test_no_cache_still_packs_and_writes_nothing(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    result = pack_repo(root, Settings(budget=3000, cache=False), Signals(query="invoice"))
    assert result.packed.tokens <= 3000 and "pyapp/billing.py" in result.text
    assert not db().exists()


def test_a_damaged_snapshot_is_a_miss(make_repo) -> None:
    root = make_repo({"a.py": "def alpha():\n    return beta()\n", "b.py": "def beta():\n    return 1\n"})
    ranked = rank_repo(root, Settings(), Signals(query="alpha"))
    ns, key = snapshots.store_keys(str(root))
    with Cache() as cache:
        record = cache.get(ns, key, snapshots.SnapshotRecord)
        assert record is not None
        bad = snapshots.Sparse((2, 5), record.defs.indptr, record.defs.indices, record.defs.data)  # wrong width
        import dataclasses

        cache.put(ns, key, dataclasses.replace(record, defs=bad, fingerprint="other"))
    assert [r.path for r in rank_repo(root, Settings(), Signals(query="alpha"))] == [r.path for r in ranked]


def test_reads_touch_small_rows_hourly_and_big_rows_daily(tmp_path: Path) -> None:
    """Updating a row's last-used time rewrites the row: a 17 MB snapshot is touched once a day, not
    on every first question after a break; small rows once an hour."""
    import repopack.packing.cache as cache_module

    big = "x" * (cache_module.BIG_ROW_BYTES + 1)
    with Cache(tmp_path) as cache:
        cache.put_many("ns", {"small": "s", "big": big})
    conn = sqlite3.connect(tmp_path / "cache-v2.sqlite")
    now_ms = int(time.time() * 1000)

    def age(hours: float) -> None:
        conn.execute("UPDATE kv SET used = ?", (now_ms - int(hours * 3_600_000),))
        conn.commit()

    def read_back() -> dict[str, int]:
        with Cache(tmp_path) as cache:
            assert cache.get_many("ns", ["small", "big"], str) == {"small": "s", "big": big}
        return {k: now_ms - used for k, used in conn.execute("SELECT key, used FROM kv")}

    age(0.5)
    assert all(ago >= 1_700_000 for ago in read_back().values())  # half an hour old: neither touched
    age(2)
    ages = read_back()
    assert ages["small"] < 60_000 and ages["big"] >= 7_000_000  # small touched; big kept its time
    age(25)
    assert all(ago < 60_000 for ago in read_back().values())  # a day old: both touched

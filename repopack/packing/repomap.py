"""The skeleton map: every file's signatures and docstrings, most central files first."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from repopack.config import Settings
from repopack.packing.pipeline import index_repo
from repopack.util.progress import Progress


def skeleton_map(path: str | Path, settings: Settings, budget: int | None = None,
                 progress: Progress | None = None) -> str:
    root, _walked, index = index_repo(path, settings, progress=progress)
    order = sorted(range(len(index.files)), key=lambda i: (-float(index.graph.base_rank[i]), index.paths[i]))
    with_defs = [i for i in order if index.symbols[i].defs]
    skeletons = index.skeletons(with_defs)
    index.cache.close()
    header = f"# Skeleton map of {root.name}: {len(with_defs)} files with definitions\n"
    parts = [header]
    used = index.tokenizer.count(header)
    for i in with_defs:
        text, tokens = skeletons[i]
        block = f"\n{index.paths[i]}:\n{text.rstrip()}\n"
        cost = tokens + index.tokenizer.count(f"\n{index.paths[i]}:\n") + 1
        if budget is not None and used + cost > budget:
            continue
        parts.append(block)
        used += cost
    out = "".join(parts)
    if budget is not None:
        while index.tokenizer.count(out) > budget and len(parts) > 1:
            parts.pop()
            out = "".join(parts)
    return out


__all__ = ["skeleton_map", "np"]

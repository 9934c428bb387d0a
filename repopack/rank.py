"""Order files by relevance.

Without signals (no query, focus or diff) and without a graph, files are ordered by a
structural prior: READMEs and project manifests first, then entry points and package
roots, shallow before deep, then by path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

_README = re.compile(r"^readme(\.[a-z0-9]+)?$", re.IGNORECASE)
_MANIFESTS = frozenset({
    "pyproject.toml", "setup.py", "setup.cfg", "package.json", "cargo.toml", "go.mod", "pom.xml",
    "build.gradle", "build.gradle.kts", "gemfile", "composer.json", "cmakelists.txt", "makefile", "tsconfig.json",
})
_ENTRY_STEMS = frozenset({"__main__", "main", "cli", "app", "index", "server", "__init__", "lib", "mod"})
_DOCS = frozenset({"contributing", "architecture", "changelog", "changes", "license", "authors"})
_LOW_DIRS = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks",
                       "fixtures", "scripts", "spec", "__tests__"})


def structural_priority(path: str) -> tuple[int, int, str]:
    p = PurePosixPath(path)
    name = p.name.lower()
    depth = len(p.parts) - 1
    top = p.parts[0].lower() if depth else ""
    if _README.match(name):
        tier = 0 if depth == 0 else 5
    elif depth == 0 and name in _MANIFESTS:
        tier = 1
    elif p.stem.lower() in _ENTRY_STEMS and depth <= 2 and top not in _LOW_DIRS:
        tier = 2
    elif top in _LOW_DIRS or p.stem.lower().startswith("test_"):
        tier = 6
    elif depth == 0 and p.stem.lower() in _DOCS:
        tier = 7
    else:
        tier = 3
    return tier, depth, path


def structural_order(paths: Sequence[str]) -> list[str]:
    return sorted(paths, key=structural_priority)

"""The file graph: an edge from A to B when A uses a name B defines, or imports B.

Edge weights say how specific the evidence is: a name defined in one file is strong, a
name defined in many files (`get`, `run`, `__init__`) is weak and split between them,
short and private names count less.  Imports are resolved where it is cheap (Python
dotted and relative modules, JS/TS relative paths with extension and index resolution,
Go package directories, C/C++ quoted includes, Rust `crate::`/`mod` paths, Java packages)
through one index of path suffixes.  The question-independent PageRank is computed once
per graph and reused; a question only re-personalises.
"""

from __future__ import annotations

import math
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

MAX_DEFINERS = 40  # a name defined in more files than this carries no signal
IMPORT_WEIGHT = 3.0
_INDEX_STEMS = frozenset({"__init__", "index", "mod", "lib", "main"})
_CODE_EXT = (".py", ".pyi", ".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".vue", ".go", ".rs",
             ".java", ".kt", ".scala", ".c", ".h", ".cc", ".cpp", ".hpp", ".hh", ".cs", ".rb", ".php", ".lua",
             ".sh", ".swift")

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp

    from repopack.packing.parse import FileSymbols


@dataclass(frozen=True)
class RepoGraph:
    paths: tuple[str, ...]
    matrix: sp.csr_matrix = field(repr=False)  # matrix[a, b] = weight of "a uses b"
    definers: Mapping[str, tuple[int, ...]] = field(repr=False)  # symbol name -> defining files
    base_rank: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.paths)



def _strip_ext(path: str) -> str:
    base, dot, ext = path.rpartition(".")
    return base if dot and "/" not in ext else path


def build_suffix_index(paths: Sequence[str]) -> dict[str, list[int]]:
    """'a/b/c' (no extension) and every shorter suffix -> files; index files also stand for their dir."""
    index: dict[str, list[int]] = defaultdict(list)
    for i, path in enumerate(paths):
        if not path.endswith(_CODE_EXT):
            continue
        parts = _strip_ext(path).split("/")
        keys = ["/".join(parts[k:]) for k in range(len(parts))]
        if parts[-1] in _INDEX_STEMS and len(parts) > 1:
            dir_parts = parts[:-1]
            keys += ["/".join(dir_parts[k:]) for k in range(len(dir_parts))]
        for key in keys:
            index[key].append(i)
    return index


@lru_cache(maxsize=1)
def shared_suffix_index(paths: tuple[str, ...]) -> dict[str, list[int]]:
    """`build_suffix_index` of these paths, kept for the next caller (deriving a snapshot and ranking
    ask for the same tree's index).  Read-only: a plain dict, so a lookup never inserts."""
    return dict(build_suffix_index(paths))


def _normalise_js(base_dir: str, target: str) -> str:
    return posixpath.normpath(posixpath.join(base_dir, target))


def import_candidates(path: str, language: str | None, target: str) -> list[tuple[str, bool]]:
    """Suffix keys to try for one import, best first; the flag says 'exact path from the repo root'."""
    target = target.strip().strip("\"'<>")
    if not target:
        return []
    here = posixpath.dirname(path)
    if language == "python":
        if target.startswith("."):
            dots = len(target) - len(target.lstrip("."))
            base = here
            for _ in range(dots - 1):
                base = posixpath.dirname(base)
            rest = target[dots:].replace(".", "/")
            full = posixpath.join(base, rest) if rest else base
            return [(full, True), (posixpath.dirname(full), True)] if rest else [(full, True)]
        parts = target.split(".")
        return [("/".join(parts), False), ("/".join(parts[:-1]), False)] if len(parts) > 1 else [(parts[0], False)]
    if language in ("javascript", "typescript", "tsx", "vue"):
        if target.startswith("."):
            return [(_strip_ext(_normalise_js(here, target)), True)]
        bare = target.split("/")
        if bare[0].startswith("@") and len(bare) > 1:
            bare = bare[1:]
        return [("/".join(bare), False), (bare[-1], False)]
    if language == "rust":
        parts = [p for p in target.replace("::", "/").split("/") if p and p not in ("crate", "self", "super", "*")]
        parts = [p.strip("{} ") for p in parts]
        out = []
        for k in range(len(parts), 0, -1):
            out.append(("/".join(parts[:k]), False))
        return out
    if language in ("c", "cpp"):
        if target.startswith("."):
            return [(_strip_ext(_normalise_js(here, target)), True)]
        return [(_strip_ext(target), False)]
    if language == "go":
        parts = target.split("/")
        return [("/".join(parts[k:]), False) for k in range(len(parts)) if len(parts) - k <= 3]
    if language in ("java", "kotlin", "scala", "csharp"):
        parts = target.rstrip(".*").split(".")
        return [("/".join(parts), False), ("/".join(parts[:-1]), False)]
    if language in ("ruby", "php", "lua", "bash"):
        cleaned = target.replace("\\", "/").replace(".", "/") if language == "lua" else target.replace("\\", "/")
        if cleaned.startswith("."):
            return [(_strip_ext(_normalise_js(here, cleaned)), True)]
        return [(_strip_ext(cleaned), False)]
    return [(_strip_ext(target), False)]


def resolve_import(path: str, language: str | None, target: str, suffixes: dict[str, list[int]],
                   index: dict[str, int], go_dirs: dict[str, list[int]]) -> list[int]:
    for key, exact in import_candidates(path, language, target):
        if not key or key == ".":
            continue
        if language == "go":
            hits = [i for d, files in go_dirs.items() if d == key or d.endswith("/" + key) for i in files]
            if hits:
                return hits
            continue
        if exact:
            hits = [index[p] for p in _exact_variants(key) if p in index]
            if hits:
                return hits[:1]
            continue
        hits = suffixes.get(key, [])
        if 0 < len(hits) <= 4:
            return hits
    return []


def _exact_variants(stem: str) -> Iterable[str]:
    for ext in _CODE_EXT:
        yield stem + ext
    for name in ("index", "__init__", "mod"):
        for ext in _CODE_EXT:
            yield f"{stem}/{name}{ext}"


def _name_weight(name: str, n_definers: int, n_files: int) -> float:
    from repopack.packing.snapshot import name_multiplier

    return math.log(1 + n_files / n_definers) / n_definers * name_multiplier(name)


def import_matrix(paths: Sequence[str], languages: Sequence[str | None], targets: Sequence[str],
                  imported: sp.csr_matrix, rows: Sequence[int] | None = None) -> sp.csr_matrix:
    """files × files (or `rows` × files), IMPORT_WEIGHT split between the files each import resolves to."""
    import numpy as np
    import scipy.sparse as sp

    n = len(paths)
    index = {p: i for i, p in enumerate(paths)}
    suffixes = shared_suffix_index(tuple(paths))
    go_dirs: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(paths):
        if p.endswith(".go") and not p.endswith("_test.go"):
            go_dirs[posixpath.dirname(p)].append(i)
    memo: dict[tuple[str, str | None, str], list[int]] = {}
    out_rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    indptr, indices = imported.indptr, imported.indices
    wanted = range(n) if rows is None else rows
    for r, a in enumerate(wanted):
        path, language = paths[a], languages[a]
        for t in indices[indptr[a]:indptr[a + 1]]:
            target = targets[t]
            # Where an import leads depends on the importer's directory only for relative forms.
            relative = target.strip().strip("\"'<>").startswith(".")
            key = (posixpath.dirname(path) if relative else "", language, target)
            hits = memo.get(key)
            if hits is None:
                hits = memo[key] = resolve_import(path, language, target, suffixes, index, go_dirs)
            for b in hits:
                if b != a:
                    out_rows.append(r)
                    cols.append(b)
                    vals.append(IMPORT_WEIGHT / len(hits))
    matrix = sp.csr_matrix((np.asarray(vals, dtype=np.float64), (out_rows, cols)), shape=(len(wanted), n))
    matrix.sum_duplicates()
    return matrix


def edge_matrix(defs: sp.csr_matrix, refs: sp.csr_matrix, multipliers: np.ndarray,
                import_edges: sp.csr_matrix) -> sp.csr_matrix:
    """matrix[a, b]: sum over the names a uses that b defines of sqrt(uses) × the name's weight, plus imports.

    `defs` and `refs` are files × names (1 per defined name; reference counts); a name defined
    in more than MAX_DEFINERS files carries no signal.
    """
    import numpy as np
    import scipy.sparse as sp

    n = defs.shape[0]
    n_definers = np.bincount(defs.indices, minlength=defs.shape[1]).astype(np.float64)
    usable = (n_definers > 0) & (n_definers <= MAX_DEFINERS)
    weight = np.zeros(defs.shape[1])
    weight[usable] = np.log(1 + n / n_definers[usable]) / n_definers[usable] * multipliers[usable]
    uses = refs.astype(np.float64)  # a copy: the snapshot's own arrays are never changed
    uses.data = np.sqrt(uses.data) * weight[uses.indices]
    uses.eliminate_zeros()
    definer = sp.csr_matrix((np.ones(len(defs.indices)), defs.indices, defs.indptr), shape=defs.shape)
    names = (uses @ definer.T).tocsr()
    names.setdiag(0)
    matrix = (names + import_edges).tocsr()
    matrix.eliminate_zeros()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def build_graph(symbols: Sequence[FileSymbols]) -> RepoGraph:
    """The graph of these files alone (no cache): see `snapshot.derive` for the incremental path."""
    from repopack.packing.snapshot import derive, file_key

    keys = [file_key(s.path, str(i), s.language) for i, s in enumerate(symbols)]
    snap = derive(None, keys, "", lambda idx: ([{} for _ in idx], [symbols[i] for i in idx]))
    return snap.graph()


def pagerank(matrix: sp.csr_matrix, personalization: np.ndarray | None, alpha: float = 0.85,
             tol: float = 1e-9, max_iter: int = 200, start: np.ndarray | None = None) -> np.ndarray:
    """Power iteration on the row-normalised graph; dangling mass goes back to the personalization.

    `start` (say, the previous snapshot's ranks) only changes how fast it converges."""
    import numpy as np
    n = matrix.shape[0]
    if n == 0:
        return np.zeros(0)
    p = np.full(n, 1.0 / n) if personalization is None or personalization.sum() <= 0 else (
        personalization / personalization.sum())
    out = np.asarray(matrix.sum(axis=1)).ravel()
    dangling = out == 0
    inv = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out))
    import scipy.sparse as sp

    transition = sp.diags(inv) @ matrix  # row-stochastic where out > 0
    transition_t = transition.T.tocsr()
    x = p.copy() if start is None or start.shape != (n,) or start.sum() <= 0 else start / start.sum()
    for _ in range(max_iter):
        nxt = alpha * (transition_t @ x + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(nxt - x).sum() < tol:
            return nxt
        x = nxt
    return x

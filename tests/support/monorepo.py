"""A generated monorepo for scale tests: many services in several languages, realistic sizes.

`python tests/support/monorepo.py DIR --files 100000` writes one (and commits it when `--git`);
the tests use a few hundred files.  Deterministic for a seed.  Each service has a package of
modules that import each other and a shared library, tests, docs and config, so the graph,
the ranking and the fitter have real work; file sizes follow a long-tailed distribution
(median about 3 KB, a few over 100 KB) like the repositories repopack is used on.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from pathlib import Path

WORDS = ("account billing cache client config event handler invoice ledger metric order payment queue "
         "report retry schedule session shipment stock token tracker user webhook worker").split()

LANGS = (  # extension, weight
    ("py", 30), ("ts", 22), ("go", 16), ("rs", 8), ("java", 8), ("md", 8), ("json", 4), ("yaml", 4),
)


def _size(rng: random.Random) -> int:
    """Lines in a file: long-tailed (median about 90 lines, a few thousand at most)."""
    return max(3, min(6000, int(rng.lognormvariate(4.5, 1.0))))


def _ident(rng: random.Random, i: int) -> str:
    return f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{i}"


def _python(rng: random.Random, svc: str, mod: str, lines: int, peers: list[str]) -> str:
    out = [f'"""{svc}.{mod}: generated module."""', ""]
    for peer in rng.sample(peers, min(3, len(peers))):
        out.append(f"from {svc}.{peer} import {peer}_entry")
    out += ["from shared.core import shared_entry", "", ""]
    i = 0
    while len(out) < lines:
        name = _ident(rng, i)
        out += [f"def {name}(value, limit=10):", f'    """Compute {name.replace("_", " ")} for a value."""',
                "    total = 0", "    for step in range(limit):", "        total += shared_entry(value) + step",
                "    return total", "", ""]
        i += 1
    out += [f"def {mod}_entry(value):", f"    return {_ident(rng, 0)}(value)", ""]
    return "\n".join(out)


def _typescript(rng: random.Random, svc: str, mod: str, lines: int, peers: list[str]) -> str:
    out = [f"// {svc}/{mod}: generated module"]
    for peer in rng.sample(peers, min(3, len(peers))):
        out.append(f"import {{ {peer}Entry }} from './{peer}';")
    out.append("")
    i = 0
    while len(out) < lines:
        name = _ident(rng, i)
        out += [f"export function {name}(value: number, limit = 10): number {{", "  let total = 0;",
                "  for (let step = 0; step < limit; step++) {", "    total += value * step;", "  }",
                "  return total;", "}", ""]
        i += 1
    out += [f"export function {mod}Entry(value: number): number {{", f"  return {_ident(rng, 0)}(value);", "}", ""]
    return "\n".join(out)


def _go(rng: random.Random, svc: str, mod: str, lines: int, _peers: list[str]) -> str:
    out = [f"package {svc.replace('-', '')}", "", 'import "fmt"', ""]
    i = 0
    while len(out) < lines:
        name = "".join(w.capitalize() for w in _ident(rng, i).split("_"))
        out += [f"// {name} is generated.", f"func {name}(value int) int {{", "\ttotal := 0",
                "\tfor step := 0; step < 10; step++ {", "\t\ttotal += value * step", "\t}",
                '\tfmt.Sprint(total)', "\treturn total", "}", ""]
        i += 1
    return "\n".join(out)


def _rust(rng: random.Random, _svc: str, _mod: str, lines: int, _peers: list[str]) -> str:
    out = ["//! generated module", ""]
    i = 0
    while len(out) < lines:
        out += [f"pub fn {_ident(rng, i)}(value: i64) -> i64 {{", "    let mut total = 0;",
                "    for step in 0..10 {", "        total += value * step;", "    }", "    total", "}", ""]
        i += 1
    return "\n".join(out)


def _java(rng: random.Random, _svc: str, mod: str, lines: int, _peers: list[str]) -> str:
    out = [f"public class {mod.capitalize()} {{"]
    i = 0
    while len(out) < lines:
        name = "".join(w.capitalize() for w in _ident(rng, i).split("_"))
        out += [f"    public static int compute{name}(int value) {{", "        int total = 0;",
                "        for (int step = 0; step < 10; step++) { total += value * step; }",
                "        return total;", "    }", ""]
        i += 1
    out.append("}")
    return "\n".join(out)


def _markdown(rng: random.Random, svc: str, mod: str, lines: int, _peers: list[str]) -> str:
    out = [f"# {svc} {mod}", ""]
    while len(out) < lines:
        out.append(" ".join(rng.choice(WORDS) for _ in range(12)) + ".")
    return "\n".join(out)


def _json(rng: random.Random, svc: str, mod: str, lines: int, _peers: list[str]) -> str:
    items = [f'  "{_ident(rng, i)}": {rng.randint(0, 1000)}' for i in range(max(1, lines - 2))]
    return "{\n" + ",\n".join(items) + "\n}"


def _yaml(rng: random.Random, svc: str, mod: str, lines: int, _peers: list[str]) -> str:
    return "\n".join(f"{_ident(rng, i)}: {rng.randint(0, 1000)}" for i in range(lines))


WRITERS = {"py": _python, "ts": _typescript, "go": _go, "rs": _rust, "java": _java, "md": _markdown,
           "json": _json, "yaml": _yaml}


def generate(root: Path, files: int, seed: int = 7, per_service: int = 200) -> int:
    """Write `files` files below `root`; returns how many were written."""
    rng = random.Random(seed)
    exts = [e for e, _ in LANGS]
    weights = [w for _, w in LANGS]
    shared = root / "shared"
    shared.mkdir(parents=True, exist_ok=True)
    (shared / "__init__.py").write_text("")
    (shared / "core.py").write_text('"""Shared helpers."""\n\n\ndef shared_entry(value):\n    return value + 1\n')
    (root / "README.md").write_text("# Generated monorepo\n\nServices live in `services/`.\n")
    written = 3  # shared/__init__.py, shared/core.py, README.md
    services = max(1, (files - written) // per_service)
    for s in range(services):
        svc = f"svc{s:04d}"
        base = root / "services" / svc
        count = per_service if s < services - 1 else files - written
        mods = [f"{rng.choice(WORDS)}{i}" for i in range(count)]
        (base / svc).mkdir(parents=True, exist_ok=True)
        (base / svc / "__init__.py").write_text("")
        written += 1
        for i, mod in enumerate(mods[: count - 1]):
            ext = rng.choices(exts, weights)[0]
            sub = "tests" if i % 7 == 6 else "docs" if ext == "md" else svc
            path = base / sub / (f"test_{mod}.{ext}" if sub == "tests" else f"{mod}.{ext}")
            path.parent.mkdir(parents=True, exist_ok=True)
            peers = mods[max(0, i - 20): i] or [mod]
            path.write_text(WRITERS[ext](rng, svc, mod, _size(rng), peers))
            written += 1
        if written >= files:
            break
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--git", action="store_true", help="git init and commit the tree")
    a = ap.parse_args(argv)
    n = generate(a.dir, a.files, a.seed)
    if a.git:
        for cmd in (["init", "-q"], ["add", "-A"], ["-c", "user.name=gen", "-c", "user.email=gen@example.invalid",
                                                      "commit", "-qm", "generated"]):
            subprocess.run(["git", *cmd], cwd=a.dir, check=True)
    print(f"{n} files in {a.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

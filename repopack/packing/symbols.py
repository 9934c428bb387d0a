"""What parsing finds in one file: its definitions, references and imports.

Plain records, kept apart from the parser so that code which only reads them (the cache,
the graph, the fitter) never loads tree-sitter.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # function | method | class | interface | type | constant | variable | module | macro
    line: int  # 1-based first line of the definition
    end_line: int  # 1-based last line
    signature: str  # one line, whitespace collapsed
    parent: str | None = None  # enclosing container or written qualifier


@dataclass(frozen=True)
class FileSymbols:
    path: str
    language: str | None
    defs: tuple[Symbol, ...]
    refs: tuple[tuple[str, int], ...]  # (name, count), sorted by name
    imports: tuple[str, ...]  # raw targets, in file order, without duplicates
    has_errors: bool

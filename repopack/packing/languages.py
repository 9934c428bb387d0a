"""Which language a file is in, by name and extension.

One table serves the walker (fence names in Markdown output), the parser (which
tree-sitter grammar to load) and the lexical ranker.  Languages without a grammar
are still packed and ranked lexically.
"""

from __future__ import annotations

from pathlib import PurePosixPath

# extension -> language id.  Ids with a tree-sitter grammar are listed in parse.GRAMMARS.
EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp", ".ipp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby", ".rake": "ruby", ".gemspec": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".sh": "bash", ".bash": "bash", ".zsh": "bash",
    ".swift": "swift", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala",
    ".vue": "vue", ".svelte": "svelte",
    ".md": "markdown", ".markdown": "markdown", ".rst": "rst", ".txt": "text",
    ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".ini": "ini", ".cfg": "ini",
    ".xml": "xml", ".html": "html", ".htm": "html", ".css": "css", ".scss": "scss",
    ".sql": "sql", ".proto": "protobuf", ".graphql": "graphql",
}

FILENAMES: dict[str, str] = {
    "Makefile": "make", "makefile": "make", "GNUmakefile": "make",
    "Dockerfile": "dockerfile", "CMakeLists.txt": "cmake",
    "Rakefile": "ruby", "Gemfile": "ruby", "BUILD": "starlark", "WORKSPACE": "starlark",
}

# Markdown fence names where they differ from the id.
FENCE_NAMES: dict[str, str] = {"csharp": "csharp", "tsx": "tsx", "text": "", "make": "makefile"}


def language_for_path(path: str) -> str | None:
    """The language id of a repo-relative path, or None when unknown."""
    name = path[path.rfind("/") + 1:]
    if not name or name == "." or "//" in path or "/./" in path:
        name = PurePosixPath(path).name  # odd forms: PurePosixPath's normalisation (not in git's listings)
    if name in FILENAMES:
        return FILENAMES[name]
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:].lower()) if 0 < dot < len(name) - 1 else None  # PurePosixPath.suffix


def fence_name(language: str | None) -> str:
    if language is None:
        return ""
    return FENCE_NAMES.get(language, language)

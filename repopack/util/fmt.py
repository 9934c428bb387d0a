"""Formatting shared by the CLI, the TUI and reports: token counts and one-line errors."""

from __future__ import annotations

from repopack.errors import RepopackError


def format_tokens(n: int) -> str:
    """8000 -> '8k', 1048576 -> '1.05m', 500 -> '500': labels for budgets and sizes."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g}m"
    if n >= 1000:
        return f"{n / 1000:.4g}k"
    return str(n)


def format_count(n: int) -> str:
    """A token count for tables and trees: 950 -> '950', 12,345 -> '12.3k', 2,500,000 -> '2.50M'."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f}M"
    if n >= 10_000:
        return f"{n / 1000:.1f}k"
    return f"{n:,}"


def one_line(exc: BaseException) -> str:
    """An exception as one line: a RepopackError's message, else 'internal error: Type: message'."""
    text = " ".join(str(exc).split())
    if isinstance(exc, RepopackError):
        return text or exc.__class__.__name__
    return f"internal error: {exc.__class__.__name__}: {text}"


def error_line(exc: RepopackError) -> str:
    """What the CLI prints for an error: 'repopack: error: <message>' on one line."""
    return f"repopack: error: {one_line(exc)}"
